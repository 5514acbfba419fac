"""The crisis detector: runs before matching and overrides it.

A message shows a child at immediate risk when a `danger` statement
matches (kill himself, took pills, ligature, goodbye messages, missing) in
a sentence that is not plainly general, or a `topic` word (suicide,
self-harm, overdose) in a message that is not plainly general. General
means a `general` cue (warning signs, national figures, training, a past
case) and no `urgent` one (now, tonight, just told me). A `frame` cue
(a quiz, a role-play, "if my child ever", a past case now well) makes the
whole message general, whatever sentence the danger is in. `signs`
(stopped eating, hates herself, numb) raise the `possible` tier. When in
doubt it says crisis: a false alarm costs a few lines, a miss can cost a life.
The patterns live in intents/crisis_patterns.yaml and run on folded text (lower
case, no punctuation, apostrophes removed: "he's" is "hes").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, partial

from bot.content.records import CrisisRules
from bot.matching.needles import AnyOf, NeedleIndex, needs_non_ascii, top_level_split
from bot.matching.normalise import fold


class CrisisDetector:
    def __init__(self, rules: CrisisRules) -> None:
        self.danger = _folded(rules.danger)
        self.topic = _folded(rules.topic)
        self.general = _folded(rules.general)
        self.urgent = _folded(rules.urgent)
        self.right_now = _folded(rules.right_now)
        self.frame = _folded(rules.frame)
        self.signs = _folded(rules.signs)
        # Emoji and symbols vanish when text is folded: those of the coded language are also
        # looked for in the raw text (its words are read folded, with the danger list).
        self.coded = AnyOf(_symbolic(rules.categories.get("coded_language", ())))
        self._categories = [(name, _folded(ps)) for name, ps in rules.categories.items()]
        # Every statement the danger's subject is read before, with its category, in one list.
        headed = [(name, p) for name, ps in rules.categories.items() for p in ps]
        headed += [("topic", p) for p in rules.topic] + [("signs", p) for p in rules.signs]
        self._heads = _folded(tuple(p for _, p in headed))
        self._head_names = [name for name, _ in headed]
        lists = (self.danger, self.topic, self.general, self.urgent, self.right_now, self.frame)
        lists += (self.signs,)
        self._index = NeedleIndex(frozenset().union(*(a.needles for a in lists)))  # once a text

    def is_crisis(self, text: str) -> bool:
        return self.read(text).reasons != ()

    def scan(self, text: str) -> Scan:
        """The message read once for every list of patterns (see `Scan`)."""
        return Scan(text, self._index)

    def read(self, text: str | Scan, mended: str | None = None) -> Signals:
        """Every crisis signal of a message; `mended`: the text with its typos mended,
        read for danger too."""
        scan = self._scanned(text)
        versions = [scan]
        mended = mended and _joined(mended)
        if mended and mended != scan.folded:
            versions.append(self.scan(mended))  # folded already: one clause
        if any(self._framed(v) for v in versions):
            return Signals((), True, False, True)
        reasons = [self._reason(version) for version in versions]
        general = not self._not_general(scan)
        signs = scan.has(self.signs) and self._in_a_plain_clause(self.signs, scan, whole=False)
        return Signals(tuple(r for r in reasons if r), False, signs, general)

    def _reason(self, scan: Scan) -> str | None:
        """What makes the message a crisis: "danger", "coded", "urgent" (a topic word and
        an urgent cue) or "topic" (a topic word alone); None: nothing.

        Danger statements are judged sentence by sentence; topic words message-wide.
        So "what are the signs? my son says he wants to kill himself" is a
        crisis (the general word sits in another sentence), while "a pupil
        mentioned suicide in passing - what other signs go with it" is not.
        A topic word alone is the weakest of them: the risk scorer may
        overrule it (triage.py).
        """
        if _coded(self.coded, scan.text) and self._not_general(scan):
            return "coded"
        if scan.has(self.danger) and self._in_a_plain_clause(self.danger, scan):
            return "danger"
        if scan.has(self.topic) and self._not_general(scan):
            return "urgent" if scan.has(self.urgent) else "topic"
        return None

    def danger_heads(self, text: str | Scan) -> list[tuple[str, str, str]]:
        """Each clause stating danger, a topic word or a worrying sign, folded: cut after
        the first such statement, whole, and that statement's category (`topic`, `signs`
        or one of the taxonomy's). The danger's subject comes before it ("just want to
        sleep forever he still has them")."""
        heads = []
        for raw, folded, present in self._scanned(text).clauses:
            if found := self._heads.first(folded, present):
                index, match = found
                heads.append((folded[: match.end()], folded, self._head_names[index]))
            elif _coded(self.coded, raw):
                heads.append((folded, folded, "coded_language"))
        return heads

    def without_danger(self, text: str | Scan) -> str:
        """The message without its clauses that state danger: what to answer after the
        crisis reply ("...he says he'll kill himself tonight. Who do I report to?")."""
        scan = self._scanned(text)
        kept = [clause[0] for clause in scan.clauses if not scan.has(self.danger, clause)]
        return ". ".join(raw.strip() for raw in kept)

    def categories_fired(self, text: str) -> list[str]:
        """The taxonomy categories whose patterns match anywhere (for explanations only)."""
        folded = _fold(text)
        return [name for name, any_of in self._categories if any_of.search(folded)]

    def _scanned(self, text: str | Scan) -> Scan:
        return self.scan(text) if isinstance(text, str) else text

    def _in_a_plain_clause(self, patterns: AnyOf, scan: Scan, whole: bool = True) -> bool:
        """Whether the patterns match the whole message (unless `whole` is False) or one of
        its clauses where no general cue (without an urgent one) sits."""
        parts: list[Clause | None] = [None] if whole else []
        parts += scan.clauses
        return any(scan.has(patterns, part) and self._not_general(scan, part) for part in parts)

    def _framed(self, scan: Scan) -> bool:
        """A frame is broken only by a `right_now` cue: "a workshop tonight" stays a workshop."""
        return scan.has(self.frame) and not scan.has(self.right_now)

    def _not_general(self, scan: Scan, part: Clause | None = None) -> bool:
        """Whether the message (or one clause of it) has no general cue, or an urgent one."""
        return not scan.has(self.general, part) or scan.has(self.urgent, part)


def _symbolic(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """The alternatives every match of which holds a character folding removes (an emoji),
    so a plain-ASCII text never needs them tried."""
    parts = (part for pattern in patterns for part in top_level_split(pattern))
    return tuple(part for part in parts if needs_non_ascii(part))


def _coded(symbols: AnyOf, raw: str) -> bool:
    return not raw.isascii() and symbols.search(raw.lower())


# Patterns searched only in folded text (every list but the raw coded one).
_folded = partial(AnyOf, folded=True)


Clause = tuple[str, str, set[str]]  # raw, folded, and the message's needles it holds


class Scan:
    """A message folded, its needles found and its clauses cut once, for every list of
    patterns: finding the needles cost more than most patterns, and a long message was
    searched for them again in each clause, three times over."""

    def __init__(self, text: str, index: NeedleIndex) -> None:
        self.text = text
        self.folded = _fold(text)
        self.present = index.find(self.folded)
        self._hits: dict[AnyOf, tuple[int, ...]] = {}

    def has(self, patterns: AnyOf, clause: Clause | None = None) -> bool:
        """Whether the patterns match the message, or one of its clauses: each list's
        matches in the whole message are found once, and a clause tried only for those
        (see `AnyOf.search_part`)."""
        hits = self._hits.get(patterns)
        if hits is None:
            hits = self._hits[patterns] = patterns.hits(self.folded, self.present)
        if clause is None or clause[1] == self.folded:
            return bool(hits)
        return patterns.search_part(clause[1], clause[2], hits)

    @cached_property
    def clauses(self) -> list[Clause]:
        """Each non-empty clause raw and folded, with those of the message's needles it
        holds (a clause's folded text is part of the message's)."""
        found = self.present
        return [(raw, f, {n for n in found if n in f}) for raw, f in _clauses(self.text)]


@dataclass(frozen=True)
class Signals:
    """What the patterns see in a message: the reasons for a crisis (of the raw and the
    mended text), whether it is framed as general (training, fiction, a past case now
    well), whether it shows worrying signs (the `possible` tier) and whether any of it
    sounds general (a `general` or `frame` cue, no urgent one)."""

    reasons: tuple[str, ...] = ()
    framed: bool = False
    signs: bool = False
    general: bool = False


# Sentence ends, commas, colons and spaced dashes ("self-harm" stays whole).
_CLAUSES = re.compile(r"[.!?;:,\n]+|\s[-\u2013\u2014]+\s")


def _clauses(text: str) -> list[tuple[str, str]]:
    """The message's non-empty clauses, each raw and folded."""
    return [(p, _fold(p)) for p in _CLAUSES.split(text) if p.strip()]


# "kill her self": a reflexive typed as two words is read as the one the patterns hold.
_SPLIT_REFLEXIVE = re.compile(r"\b(my|him|her|them|your|our)\s(self|selves)\b")
# Scots and northern English reflexives ("toppin mesel", "killin himsel") likewise.
_DIALECT_REFLEXIVES = {
    "mesel": "myself", "masel": "myself", "mysel": "myself", "himsel": "himself",
    "hissel": "himself", "hisself": "himself", "hersel": "herself", "theirsel": "themselves",
    "theirselves": "themselves", "thersel": "themselves",
}  # fmt: skip
_DIALECT_REFLEXIVE = re.compile(rf"\b({'|'.join(_DIALECT_REFLEXIVES)})\b")
# A dropped g on the verbs of danger ("killin", "toppin", "endin"): the patterns hold "-ing".
_DROPPED_G = re.compile(
    r"\b(kill|topp|cutt|hang|end|harm|hurt|think|jump|tak|overdos|unaliv|threaten|slitt)in\b"
)


def _joined(folded: str) -> str:
    if " sel" in folded:
        folded = _SPLIT_REFLEXIVE.sub(r"\1\2", folded)
    if "sel" in folded:
        folded = _DIALECT_REFLEXIVE.sub(lambda m: _DIALECT_REFLEXIVES[m.group(1)], folded)
    return _DROPPED_G.sub(r"\1ing", folded) if "in" in folded else folded


def _fold(text: str) -> str:
    """Folded for the patterns: nothing cut off (a red flag at the end of a long message
    counts), reflexives joined and in their standard spelling, a dropped g put back."""
    return _joined(fold(text, limit=None))
