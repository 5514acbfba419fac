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
from re import _constants, _parser  # type: ignore[attr-defined]  # the stdlib's own parser

from bot.content.records import CrisisRules
from bot.matching.normalise import fold


class CrisisDetector:
    def __init__(self, rules: CrisisRules) -> None:
        self.danger = AnyOf(rules.danger)
        self.topic = AnyOf(rules.topic)
        self.general = AnyOf(rules.general)
        self.urgent = AnyOf(rules.urgent)
        self.frame = AnyOf(rules.frame)
        self.signs = AnyOf(rules.signs)
        # Emoji and symbols vanish when text is folded: coded language is also read raw.
        self.coded = AnyOf(rules.categories.get("coded_language", ()))
        self._categories = [(name, AnyOf(ps)) for name, ps in rules.categories.items()]

    def is_crisis(self, text: str) -> bool:
        return self.reason(text) is not None

    def reason(self, text: str) -> str | None:
        """What makes the message a crisis: "danger", "coded", "urgent" (a topic word and
        an urgent cue) or "topic" (a topic word alone); None: nothing.

        Danger statements are judged sentence by sentence; topic words message-wide.
        So "what are the signs? my son says he wants to kill himself" is a
        crisis (the general word sits in another sentence), while "a pupil
        mentioned suicide in passing - what other signs go with it" is not.
        A topic word alone is the weakest of the three: the risk scorer may
        overrule it (triage.py).
        """
        folded = fold(text, limit=None)
        if self._framed(folded):
            return None
        if self.coded.search(text.lower()) and self._not_general(folded):
            return "coded"
        if self.danger.search(folded):
            parts = [folded, *(fold(p, limit=None) for p in _CLAUSES.split(text))]
            if any(self.danger.search(p) and self._not_general(p) for p in parts):
                return "danger"
        if self.topic.search(folded) and self._not_general(folded):
            return "urgent" if self.urgent.search(folded) else "topic"
        return None

    def shows_signs(self, text: str) -> bool:
        """Worrying signs without a statement of risk: the `possible` tier."""
        folded = fold(text, limit=None)
        return self.signs.search(folded) and not self._framed(folded)

    def framed(self, text: str) -> bool:
        """Training, fiction, "if my child ever", a past case now well: no alarm from any
        layer, unless an urgent cue says otherwise."""
        return self._framed(fold(text, limit=None))

    def _framed(self, folded: str) -> bool:
        return self.frame.search(folded) and not self.urgent.search(folded)

    def categories_fired(self, text: str) -> list[str]:
        """The taxonomy categories whose patterns match anywhere (for explanations only)."""
        folded = fold(text, limit=None)
        return [name for name, any_of in self._categories if any_of.search(folded)]

    def _not_general(self, folded: str) -> bool:
        return not self.general.search(folded) or self.urgent.search(folded)


# Sentence ends, commas, colons and spaced dashes ("self-harm" stays whole).
_CLAUSES = re.compile(r"[.!?;:,\n]+|\s[-\u2013\u2014]+\s")


class AnyOf:
    """Regular expressions tried only when a string every match must contain is present.

    Most messages hold none of the crisis vocabulary; a substring test per
    pattern is about a tenth of the cost of running the pattern.
    """

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = [(re.compile(p), required_strings(p)) for p in patterns]
        self.needles = frozenset().union(*(n for _, n in self.patterns if n))

    def search(self, text: str, present: frozenset[str] | set[str] | None = None) -> bool:
        """Whether any pattern matches; `present`: the needles found in `text` already
        (when several AnyOf search one text, find them once for all)."""
        if present is None:
            present = {n for n in self.needles if n in text}
        return any(
            pattern.search(text)
            for pattern, needles in self.patterns
            if needles is None or not needles.isdisjoint(present)
        )


def required_strings(pattern: str) -> frozenset[str] | None:
    """Strings of which every match contains at least one; None when none can be proved."""
    return _required(list(_parser.parse(pattern)))


def _required(items: list) -> frozenset[str] | None:
    candidates: list[frozenset[str]] = []
    run = ""
    for op, arg in [*items, (None, None)]:
        if op is _constants.LITERAL:
            run += chr(arg)
            continue
        if run:
            candidates.append(frozenset([run]))
            run = ""
        found: frozenset[str] | None = None
        if op is _constants.SUBPATTERN:
            found = _required(list(arg[-1]))
        elif op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT) and arg[0] >= 1:
            found = _required(list(arg[2]))
        elif op is _constants.BRANCH:
            alternatives = [_required(list(alt)) for alt in arg[1]]
            if all(a is not None for a in alternatives):
                found = frozenset().union(*alternatives)  # type: ignore[arg-type]
        if found:
            candidates.append(found)
    return max(candidates, key=lambda c: min(map(len, c)), default=None)
