"""Crisis wins: the one place that decides whether a message shows a child at risk.

The matcher always runs, so a crisis message still gets the answer to the
rest of what it asked; the risk decides what comes first. Every caller
(the dialogue, `classify`, `eval`, inline mode, the benchmarks) goes
through `Triage.assess`, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.content.records import Content
from bot.matching.crisis import CrisisDetector
from bot.matching.matcher import Match, Matcher

Risk = Literal["crisis", "possible"]


@dataclass(frozen=True)
class Assessment:
    """A message's risk and, whatever the risk, the best match for what it asks."""

    match: Match
    risk: Risk | None = None

    @property
    def intent(self) -> str:
        """The intent to report: `crisis` whenever there is a crisis."""
        return "crisis" if self.risk == "crisis" else self.match.intent

    @property
    def rest(self) -> Match | None:
        """What to answer after the crisis reply, if the message asked anything else."""
        m = self.match
        return None if m.band == "reject" or m.intent == "crisis" else m


class Triage:
    def __init__(self, content: Content, matcher: Matcher | None = None) -> None:
        self.matcher = matcher or Matcher(content)
        self.crisis = CrisisDetector(content.crisis)

    def assess(self, text: str) -> Assessment:
        match = self.matcher.match(text)
        said_crisis = match.intent == "crisis" and match.band != "reject"
        if said_crisis or self.crisis.is_crisis(text):
            return Assessment(match, "crisis")
        return Assessment(match)
