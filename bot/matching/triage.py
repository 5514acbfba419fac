"""Crisis wins: the one place that decides whether a message shows a child at risk.

Three layers, any of which can raise the alarm: the patterns of the risk
taxonomy (crisis.py, run on the raw and on the typo-mended text), the
learned risk scorer (risk.py) and the intent classifier itself. Two tiers:
`crisis` (the crisis reply comes first) and `possible` (the answer, with
the crisis lines in one line at its top). The matcher always runs, so a
crisis message still gets the answer to the rest of what it asked. Every
caller (the dialogue, `classify`, `eval`, inline mode, the benchmarks)
goes through `Triage.assess`, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.content.records import Content
from bot.matching.crisis import CrisisDetector
from bot.matching.facts import ADULT_ROLES, FactReader, Facts
from bot.matching.language import plainly_not_english
from bot.matching.matcher import Match, Matcher
from bot.matching.risk import RiskScorer, training_set

Risk = Literal["crisis", "possible"]


@dataclass(frozen=True)
class Assessment:
    """A message's risk and, whatever the risk, the best match for what it asks."""

    match: Match
    risk: Risk | None = None
    facts: Facts = Facts()
    layers: tuple[str, ...] = ()  # which layers raised the alarm, for `classify --explain`
    other: Match | None = None  # the best match other than `crisis`, when that was the top
    english: bool = True

    @property
    def child(self) -> bool:
        """A young person writing about themselves: answered as a child."""
        return self.facts.role == "young_person"

    @property
    def intent(self) -> str:
        """The intent to report: `crisis` whenever there is a crisis."""
        return "crisis" if self.risk == "crisis" else self.match.intent

    @property
    def rest(self) -> Match | None:
        """What to answer after the crisis reply, if the message asked anything else."""
        m = self.other if self.match.intent == "crisis" else self.match
        return None if m is None or m.band == "reject" else m


class Triage:
    def __init__(self, content: Content, matcher: Matcher | None = None) -> None:
        self.matcher = matcher or Matcher(content)
        self.crisis = CrisisDetector(content.crisis)
        self.scorer = RiskScorer.train(training_set(content), self.matcher.terms)
        self.facts = FactReader(content.facts)
        limits = content.crisis.thresholds
        self.crisis_at = limits.get("crisis", 0.5)
        self.possible_at = limits.get("possible", 0.0)

    def assess(self, text: str) -> Assessment:
        facts = self.facts.read(text)
        ruled_out = self._ruled_out(facts)
        match = self.matcher.match(text, exclude=ruled_out)
        mended = " ".join(self.matcher.query_words(text))
        score = self.scorer.score(text)
        said_crisis = match.intent == "crisis"
        layers = tuple(
            name
            for name, fired in (
                ("patterns", self.crisis.is_crisis(text) or self.crisis.is_crisis(mended)),
                ("scorer", score >= self.crisis_at),
                # The classifier alone decides only when the scorer does not disagree.
                ("intent", said_crisis and match.band == "answer" and score >= self.possible_at),
            )
            if fired
        )
        other = self.matcher.match(text, exclude=("crisis", *ruled_out)) if said_crisis else None
        english = not plainly_not_english(text, self.matcher.vocabulary)
        if layers:
            return Assessment(match, "crisis", facts, layers, other, english)
        if score >= self.possible_at or said_crisis:  # the answer, crisis lines on top
            return Assessment(other or match, "possible", facts, ("scorer",), english=english)
        return Assessment(match, facts=facts, english=english)

    @staticmethod
    def _ruled_out(facts: Facts) -> tuple[str, ...]:
        """Answers the facts rule out: the child's own card for an adult writing about a
        child, the over-18s card for a child under 18, and the first
        steps for a case (an adult's account of a child's) to someone writing about themselves."""
        out = []
        adult_writing = facts.role in (*ADULT_ROLES, "adult_self")
        if adult_writing or (facts.role == "unknown" and facts.age_band == "under_18"):
            out.append("young_person")
        if facts.age_band == "under_18":
            out.append("adult_victims")
        if facts.role in ("young_person", "adult_self") or facts.age_band == "adult":
            out.append("first_steps")  # a case about a child, told by an adult
        return tuple(out)
