"""Is a message plainly not English? Then say so honestly instead of "I only cover…".

A measured heuristic, not a model: most letters outside the Latin script, or
several words of which few are English (function words or words our examples
use). Text-speak ("wot do i do", "sum1 got his pic") stays English because its
words are known; Welsh, Polish, Spanish or Urdu is not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from bot.matching.normalise import fold

MIN_WORDS = 4  # shorter messages are too short to judge
MIN_KNOWN = 0.4  # share of words that must be English for Latin-script text
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "so",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "about",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "i",
        "me",
        "my",
        "mine",
        "you",
        "your",
        "he",
        "him",
        "his",
        "she",
        "her",
        "we",
        "us",
        "our",
        "they",
        "them",
        "their",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "what",
        "who",
        "whom",
        "which",
        "when",
        "where",
        "why",
        "how",
        "not",
        "no",
        "yes",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "there",
        "here",
        "all",
        "any",
        "some",
        "just",
        "now",
        "then",
        "than",
        "too",
        "very",
        "up",
        "down",
        "out",
        "over",
        "after",
        "before",
        "again",
        "more",
        "most",
        "other",
        "such",
        "only",
        "own",
        "same",
        "don",
        "t",
        "s",
        "im",
        "ive",
        "id",
        "ill",
        "youre",
        "hes",
        "shes",
        "theyre",
        "wont",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "pls",
        "please",
        "help",
        "thanks",
        "hi",
        "hello",
        "ok",
        "okay",
    ]
)


def plainly_not_english(text: str, vocabulary: Collection[str]) -> bool:
    if not text.isascii():  # otherwise every letter is Latin
        letters = _LETTERS.findall(text)
        if not letters:
            return False
        latin = sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN"))
        if latin / len(letters) < 0.5:
            return True
    words = [w for w in fold(text).split() if w.isalpha()]
    if len(words) < MIN_WORDS:
        return False
    known = sum(1 for w in words if w in FUNCTION_WORDS or w in vocabulary)
    return known / len(words) < MIN_KNOWN
