"""The crisis detector: runs before matching and overrides it.

A message shows a child at immediate risk when a `danger` pattern matches
(suicide, self-harm, overdose, ligature, goodbye messages, missing and
at risk). A message that is plainly general (`general`: warning signs,
national figures, training, a past case) is not a crisis, unless it also
has an `urgent` cue (now, tonight, just told me). When in doubt it says
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
        self.general = _any_of(rules.general)
        self.urgent = _any_of(rules.urgent)

    def is_crisis(self, text: str) -> bool:
        folded = fold(text)
        if not self.danger.search(folded):
            return False
        return not self.general.search(folded) or bool(self.urgent.search(folded))


def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled alternation: a single pass over the text instead of one per pattern."""
    return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!x)x")
