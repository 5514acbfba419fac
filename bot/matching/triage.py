"""Crisis wins: the one place that decides whether a message shows a child at risk.

Four layers, any of which can raise the alarm: the patterns of the risk
taxonomy (crisis.py, run on the raw and on the respelt text), the
learned risk scorer (risk.py), the intent classifier itself, and the
nearest examples (nearest.py, the `possible` tier only). Two tiers:
`crisis` (the crisis reply comes first) and `possible` (the answer, with
the crisis lines in one line at its top). The matcher always runs, so a
crisis message still gets the answer to the rest of what it asked. Every
caller (the dialogue, `classify`, `eval`, inline mode, the benchmarks)
goes through `Triage.assess`, so they can never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from bot.content.records import Content
from bot.matching.crisis import CrisisDetector, Scan
from bot.matching.facts import (
    ADULT_ROLES,
    FactReader,
    Facts,
    names_someone_else,
    speaks_of_self,
)
from bot.matching.language import plainly_not_english
from bot.matching.matcher import Match, Matcher
from bot.matching.model_cache import kept_readings
from bot.matching.nearest import NearestExamples
from bot.matching.risk import RiskScorer, training_set

Risk = Literal["crisis", "possible"]
LONG_ENOUGH = 15  # words: below this the scorer alone raises `possible`, not `crisis`...
SHORT_ENOUGH = 10  # ...unless it has this many and states no role or age (not a correction)
# Up to this many words the scorer may overrule a statement of danger with no general cue.
# It scores a message whole, so in a longer one the rest outweighs a danger sentence: with the
# crisis cases inside ordinary questions, the lowest score fell below the veto from 82 words.
VETO_WORDS = 60


@dataclass(frozen=True)
class Assessment:
    """A message's risk and, whatever the risk, the best match for what it asks."""

    match: Match
    risk: Risk | None = None
    facts: Facts = Facts()
    layers: tuple[str, ...] = ()  # which layers raised the alarm, for `classify --explain`
    other: Match | None = None  # the best match other than `crisis`, when that was the top
    english: bool = True
    said: Facts = Facts()  # what this message alone says (`facts` adds the conversation's)
    self_at_risk: bool = False  # the danger is stated in the first person, by an unknown writer

    @property
    def child(self) -> bool:
        """A young person writing about themselves (or someone unknown writing of their own
        danger, "i want to die, he posted it"): answered as a child, never with the staff
        procedure."""
        return self.facts.role == "young_person" or self.self_at_risk

    @property
    def intent(self) -> str:
        """The intent to report: `crisis` whenever there is a crisis."""
        return "crisis" if self.risk == "crisis" else self.match.intent

    @property
    def rest(self) -> Match | None:
        """What to answer after the crisis reply, if the message asked anything else."""
        m = self.other or (None if self.match.intent == "crisis" else self.match)
        return None if m is None or m.band == "reject" else m


class Triage:
    def __init__(self, content: Content, matcher: Matcher | None = None) -> None:
        self.matcher = matcher or Matcher(content)
        with kept_readings():
            self.crisis = CrisisDetector(content.crisis)
            self.facts = FactReader(content.facts)
        # The matcher's words decide the scorer's terms: its model key covers them.
        key = (self.matcher.model_key, content.lexicon)
        rows = training_set(content)
        self.scorer = RiskScorer.train(rows, self.matcher.terms, key)
        self.nearest = NearestExamples.build(rows, self.matcher.terms, key)
        limits = content.crisis.thresholds
        self.crisis_at = limits.get("crisis", 0.5)
        self.possible_at = limits.get("possible", 0.0)
        # Below this score a topic word alone ("the link between sextortion and self-harm")
        # is taken as a general question, whatever cue the patterns missed.
        self.topic_veto = limits.get("topic_veto", -10.0)
        # Below this score a statement of danger in a message that also sounds general is
        # taken as a general question too.
        self.danger_veto = limits.get("danger_veto", -math.inf)
        # Below this score it is, whatever cue the patterns missed ("thought about ending it
        # in year 8, honestly fine now"; "about to throw myself out the window 😂").
        self.pattern_veto = limits.get("pattern_veto", -math.inf)
        # Below this score the nearest examples are not asked: the message is plainly ordinary.
        self.nearest_floor = limits.get("nearest_floor", -math.inf)
        # At or above this score the scorer overrules a frame: a policy question or a news
        # worry with a child's danger told after it ("...also he has taken tablets").
        self.frame_veto = limits.get("frame_veto", math.inf)

    def assess(self, text: str, known: Facts | None = None) -> Assessment:
        """`known`: the facts of the conversation so far; this message's facts override them."""
        said = self.facts.read(text)
        facts = (known.merged(said) if known else said).with_implied_age()
        ruled_out = self._ruled_out(facts)
        reading = self.matcher.read(text)
        match = self.matcher.match(text, ruled_out, reading)
        score = self.scorer.score(text, reading.terms)  # None: too short to judge
        scan = self.crisis.scan(text)  # read once by every crisis layer below
        signals = self.crisis.read(scan, self.matcher.respell(text) if reading.mended else None)
        words = len(text.split())  # the length rules of the layers below
        if signals.framed and not self._frame_overruled(words, score):
            score = -math.inf  # a quiz, a role-play, a past case now well: no layer alarms

        def overruled(limit: float) -> bool:
            return score is not None and score < limit

        judged = -math.inf if score is None else score  # what the scorer alone alarms on
        case = self._case_answer(said, facts)
        if case and match.band != "answer" and match.intent != case:
            # A case told in words the matcher could not place: the case answer for the writer.
            match = Match(case, match.score, match.alternatives, "answer")
        said_crisis = match.intent == "crisis"
        # A topic word alone counts only if the scorer does not plainly disagree; a statement
        # of danger, unless the message also sounds general and the scorer finds it plainly
        # ordinary ("are there times of day when victims are most at risk of harming themselves"),
        # or the scorer finds a message short enough to judge whole very plainly ordinary.
        veto = self.pattern_veto if words <= VETO_WORDS else -math.inf
        patterns = any(
            not overruled(self.topic_veto)
            if r == "topic"
            else not (signals.general and overruled(self.danger_veto) or overruled(veto))
            for r in signals.reasons
        )
        layers = tuple(
            name
            for name, fired in (
                ("patterns", patterns),
                # Alone, the scorer puts a short message in the crisis tier only with a
                # pattern's help: short corrections fooled it ("oh wait, I misread her notes,
                # she's 20"; "actually I'm not his mum, I'm his form tutor"). With each
                # writer's catalogue left out of its training in turn (N, O, S, T), ten words
                # put 93.6% of their crisis lines in the crisis tier, fifteen 90.2%, with no
                # more near misses there; under fifteen, a message that states who is writing
                # or an age is taken as such a correction.
                ("scorer", judged >= self.crisis_at and self._long_enough(words, said)),
                # The classifier alone decides only when the scorer does not disagree and
                # nothing in the message sounds general ("is giving stuff away a sign...").
                (
                    "intent",
                    said_crisis
                    and match.band == "answer"
                    and judged >= self.possible_at
                    and not signals.general,
                ),
            )
            if fired
        )
        # What to answer besides the crisis: the message without its danger clauses, else
        # the whole message's best answer other than the crisis card.
        other = self._rest(scan, ruled_out) if layers else None
        if other is None and said_crisis:
            other = self.matcher.match(text, ("crisis", *ruled_out), reading)
        english = not plainly_not_english(text, self.matcher.vocabulary)
        if layers:
            own = self._own(scan, facts)
            return Assessment(match, "crisis", facts, layers, other, english, said, own)
        # Worrying signs, unless the message sounds general and the scorer finds it ordinary
        # ("what would make a kid at lunchtime worth flagging, like not eating?").
        signs = signals.signs and not (signals.general and overruled(self.danger_veto))
        said_crisis = said_crisis and judged >= self.topic_veto
        near = english and self._near(score, reading.terms)
        scored = judged >= self.possible_at or said_crisis
        if scored or signs or near:  # the answer, crisis lines on top
            layer = "scorer" if scored else "nearest"
            layer = "signs" if signs and judged < self.possible_at else layer
            own = self._own(scan, facts)
            return Assessment(other or match, "possible", facts, (layer,), None, english, said, own)
        # No layer sees a risk (a past case now well): the best answer other than the crisis card.
        return Assessment(other or match, None, facts, (), None, english, said)

    def _near(self, score: float | None, terms: list[str]) -> bool:
        """Whether the examples most like the message show risk; not asked where the scorer
        finds it plainly ordinary (a framed message scores -inf)."""
        return (score is None or score >= self.nearest_floor) and self.nearest.alarms(terms)

    def _frame_overruled(self, words: int, score: float | None) -> bool:
        """Whether the scorer is sure enough to overrule a frame: only in a message long
        enough to tell a case after it ("quiz: all my goodbyes are said" stays a quiz)."""
        return score is not None and score >= self.frame_veto and words >= LONG_ENOUGH

    @staticmethod
    def _long_enough(words: int, said: Facts) -> bool:
        """Whether the scorer alone may put this message in the crisis tier."""
        states_facts = said.role != "unknown" or said.age_band != "unknown"
        return words >= LONG_ENOUGH or (words >= SHORT_ENOUGH and not states_facts)

    def _own(self, scan: Scan, facts: Facts) -> bool:
        """Whether an unknown writer states their own danger (answered as a child)."""
        text = scan.text
        if facts.role != "unknown" or names_someone_else(text):
            return False
        # Typos can hide the statement ("he sed hes outside my scool"): then read it mended.
        heads = self.crisis.danger_heads(scan) or self.crisis.danger_heads(
            self.matcher.respell(text)
        )
        if not heads:  # the scorer's alarm: the message is the clause
            return speaks_of_self(text, text)
        return any(
            speaks_of_self(head, clause, aimed_at_writer=name == "offender_in_person")
            for head, clause, name in heads
        )

    def _rest(self, scan: Scan, ruled_out: tuple[str, ...]) -> Match | None:
        """The best answer to what the message asks besides its statements of danger, if
        it asks anything the matcher can place."""
        rest = self.crisis.without_danger(scan)
        if not rest or rest == scan.text:
            return None
        m = self.matcher.match(rest, ("crisis", *ruled_out))
        return m if m.band == "answer" else None

    @staticmethod
    def _case_answer(said: Facts, facts: Facts) -> str | None:
        """The answer to a described case (a threat to share images): first steps for an
        adult writing about a child, the child's own card, or the over-18s card."""
        if "extortion" not in said.events:
            return None
        if facts.role == "young_person":
            return "young_person"
        if facts.role == "adult_self" or facts.age_band == "adult":
            return "adult_victims"
        if facts.role in ADULT_ROLES or facts.age_band == "under_18":
            return "first_steps"
        return None

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
