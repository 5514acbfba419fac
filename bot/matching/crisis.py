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

from bot.content.records import CrisisRules
from bot.matching.needles import AnyOf, NeedleIndex
from bot.matching.normalise import fold


class CrisisDetector:
    def __init__(self, rules: CrisisRules) -> None:
        self.danger = AnyOf(rules.danger)
        self.topic = AnyOf(rules.topic)
        self.general = AnyOf(rules.general)
        self.urgent = AnyOf(rules.urgent)
        self.right_now = AnyOf(rules.right_now)
        self.frame = AnyOf(rules.frame)
        self.signs = AnyOf(rules.signs)
        # Emoji and symbols vanish when text is folded: coded language is also read raw.
        self.coded = AnyOf(rules.categories.get("coded_language", ()))
        self._categories = [(name, AnyOf(ps)) for name, ps in rules.categories.items()]
        # Every statement the danger's subject is read before, with its category, in one list.
        headed = [(name, p) for name, ps in rules.categories.items() for p in ps]
        headed += [("topic", p) for p in rules.topic] + [("signs", p) for p in rules.signs]
        self._heads = AnyOf(tuple(p for _, p in headed))
        self._head_names = [name for name, _ in headed]
        lists = (self.danger, self.topic, self.general, self.urgent, self.right_now, self.frame)
        lists += (self.signs,)
        self._index = NeedleIndex(frozenset().union(*(a.needles for a in lists)))  # once a text

    def is_crisis(self, text: str) -> bool:
        return self.read(text).reasons != ()

    def read(self, text: str, mended: str | None = None) -> Signals:
        """Every crisis signal of a message, its text folded and scanned for needles once;
        `mended`: the text with its typos mended, read for danger too."""
        folded = _fold(text)
        present = self._present(folded)
        versions = [(text, folded, present)]
        mended = mended and _joined(mended)
        if mended and mended != folded:
            versions.append((mended, mended, self._present(mended)))
        if any(self._framed(f, p) for _, f, p in versions):
            return Signals((), True, False, True)
        reasons = [self._reason(*version) for version in versions]
        general = not self._not_general(folded, present)
        signs = self.signs.search(folded, present) and self._in_a_plain_clause(
            self.signs, text, present
        )
        return Signals(tuple(r for r in reasons if r), False, signs, general)

    def _reason(self, text: str, folded: str, present: set[str]) -> str | None:
        """What makes the message a crisis: "danger", "coded", "urgent" (a topic word and
        an urgent cue) or "topic" (a topic word alone); None: nothing.

        Danger statements are judged sentence by sentence; topic words message-wide.
        So "what are the signs? my son says he wants to kill himself" is a
        crisis (the general word sits in another sentence), while "a pupil
        mentioned suicide in passing - what other signs go with it" is not.
        A topic word alone is the weakest of them: the risk scorer may
        overrule it (triage.py).
        """
        if self.coded.search(text.lower()) and self._not_general(folded, present):
            return "coded"
        if self.danger.search(folded, present) and self._in_a_plain_clause(
            self.danger, text, present, folded
        ):
            return "danger"
        if self.topic.search(folded, present) and self._not_general(folded, present):
            return "urgent" if self.urgent.search(folded, present) else "topic"
        return None

    def danger_heads(self, text: str) -> list[tuple[str, str, str]]:
        """Each clause stating danger, a topic word or a worrying sign, folded: cut after
        the first such statement, whole, and that statement's category (`topic`, `signs`
        or one of the taxonomy's). The danger's subject comes before it ("just want to
        sleep forever he still has them")."""
        heads = []
        for raw, folded in _clauses(text):
            if found := self._heads.first(folded):
                index, match = found
                heads.append((folded[: match.end()], folded, self._head_names[index]))
            elif self.coded.search(raw.lower()):
                heads.append((folded, folded, "coded_language"))
        return heads

    def without_danger(self, text: str) -> str:
        """The message without its clauses that state danger: what to answer after the
        crisis reply ("...he says he'll kill himself tonight. Who do I report to?")."""
        kept = [raw for raw, folded in _clauses(text) if not self.danger.search(folded)]
        return ". ".join(raw.strip() for raw in kept)

    def categories_fired(self, text: str) -> list[str]:
        """The taxonomy categories whose patterns match anywhere (for explanations only)."""
        folded = _fold(text)
        return [name for name, any_of in self._categories if any_of.search(folded)]

    def _in_a_plain_clause(
        self, patterns: AnyOf, text: str, present: set[str], folded: str | None = None
    ) -> bool:
        """Whether the patterns match the whole message or one of its clauses where no
        general cue (without an urgent one) sits."""
        parts = [f for _, f in _clauses(text)]
        for part in [folded, *parts] if folded is not None else parts:
            found = {n for n in present if n in part}
            if patterns.search(part, found) and self._not_general(part, found):
                return True
        return False

    def _present(self, folded: str) -> set[str]:
        return self._index.find(folded)

    def _framed(self, folded: str, present: set[str]) -> bool:
        """A frame is broken only by a `right_now` cue: "a workshop tonight" stays a workshop."""
        return self.frame.search(folded, present) and not self.right_now.search(folded, present)

    def _not_general(self, folded: str, present: set[str]) -> bool:
        return not self.general.search(folded, present) or self.urgent.search(folded, present)


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


def _joined(folded: str) -> str:
    return _SPLIT_REFLEXIVE.sub(r"\1\2", folded) if " sel" in folded else folded


def _fold(text: str) -> str:
    """Folded for the patterns: nothing cut off (a red flag at the end of a long message
    counts), split reflexives joined."""
    return _joined(fold(text, limit=None))
