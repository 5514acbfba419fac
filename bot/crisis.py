"""The crisis detector: runs before matching and overrides it.

A message shows a child at immediate risk when a `danger` statement
matches (kill himself, took pills, ligature, goodbye messages, missing) in
a sentence that is not plainly general, or a `topic` word (suicide,
self-harm, overdose) in a message that is not plainly general. General
means a `general` cue (warning signs, national figures, training, a past
case) and no `urgent` one (now, tonight, just told me). When in doubt it says
crisis: a false alarm costs a few lines, a miss can cost a life.
The patterns live in intents/crisis.yaml and run on folded text (lower
case, no punctuation, apostrophes removed: "he's" is "hes").
"""

from __future__ import annotations

import re

from bot.model import CrisisRules
from bot.normalise import fold


class CrisisDetector:
    def __init__(self, rules: CrisisRules) -> None:
        self.danger = _any_of(rules.danger)
        self.topic = _any_of(rules.topic)
        self.general = _any_of(rules.general)
        self.urgent = _any_of(rules.urgent)

    def is_crisis(self, text: str) -> bool:
        """Danger statements are judged sentence by sentence; topic words message-wide.

        So "what are the signs? my son says he wants to kill himself" is a
        crisis (the general word sits in another sentence), while "a pupil
        mentioned suicide in passing - what other signs go with it" is not.
        """
        folded = fold(text, limit=None)
        if self.topic.search(folded) and self._not_general(folded):
            return True
        if not self.danger.search(folded):
            return False
        parts = [folded, *(fold(p, limit=None) for p in _CLAUSES.split(text))]
        return any(self.danger.search(p) and self._not_general(p) for p in parts)

    def _not_general(self, folded: str) -> bool:
        return not self.general.search(folded) or bool(self.urgent.search(folded))


# Sentence ends, commas, colons and spaced dashes ("self-harm" stays whole).
_CLAUSES = re.compile(r"[.!?;:,\n]+|\s[-–—]+\s")


def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled alternation: a single pass over the text instead of one per pattern."""
    return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!x)x")
