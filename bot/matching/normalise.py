"""Text normalisation shared by the matcher and the crisis detector.

Messages arrive with typos, slang, emoji and curly quotes; examples are
written more cleanly. Both go through the same steps so they meet in the
middle: Unicode folding, lower case, punctuation to spaces, the lexicon's
variants to one canonical form, and a light suffix stemmer.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_CHARS = 2000  # longer messages are cut: matching cost stays bounded

_APOSTROPHES = re.compile(r"[\u2018\u2019\u02bc`´']")
_NON_WORD = re.compile(r"[^a-z0-9£]+")
_SUFFIXES = ("ingly", "edly", "ings", "ing", "ers", "ies", "ied", "ed", "es", "er", "ly", "s")


def fold(text: str, limit: int | None = MAX_CHARS) -> str:
    """Unicode-fold and lower-case; strip accents, control characters and emoji.

    `limit` bounds the matcher's work; the crisis detector passes None so a
    red flag at the end of a long message is never cut off.
    """
    text = text[:limit] if limit else text
    if not text.isascii():
        text = _OTHER.sub(_unless_combining, unicodedata.normalize("NFKD", text))
    text = _APOSTROPHES.sub("", text.lower())
    return " ".join(_NON_WORD.sub(" ", text).split())


# Characters outside ASCII: only these can be combining marks ("e" + acute accent).
_OTHER = re.compile(r"[^\x00-\x7f]+")


def _unless_combining(found: re.Match[str]) -> str:
    """A run of non-ASCII characters without its combining marks: looked at one by one
    only where the text has them, as a message of emoji and curly quotes is common."""
    return "".join(ch for ch in found.group() if not unicodedata.combining(ch))


@lru_cache(maxsize=50_000)
def stem(token: str) -> str:
    """A deliberately crude stemmer: enough to meet 'blocking'/'blocked'/'blocks'."""
    if len(token) <= 4 or token.isdigit():
        return token
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            base = token[: -len(suffix)]
            if suffix in ("ies", "ied"):
                return base + "y"
            if len(base) > 3 and base[-1] == base[-2]:  # stopped -> stop
                return base[:-1]
            return base
    return token


class Lexicon:
    """Maps variants (single words or phrases) to canonical words."""

    def __init__(self, replace: dict[str, str]) -> None:
        self.words = {k: v for k, v in replace.items() if " " not in k}
        self.phrases = {k: v for k, v in replace.items() if " " in k}
        longest_first = sorted(self.phrases, key=len, reverse=True)
        alternation = "|".join(re.escape(p) for p in longest_first) or r"(?!x)x"
        self._phrase_re = re.compile(rf"\b(?:{alternation})\b")

    def apply(self, folded: str) -> list[str]:
        folded = self._phrase_re.sub(lambda m: self.phrases[m.group(0)], folded)
        out: list[str] = []
        for token in folded.split():
            out.extend(self.words.get(token, token).split())
        return out
