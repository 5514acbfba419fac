"""Case facts read from one message: who is writing and how old the child is.

Derived, never stored as text: the labels (a role, an age band) are all a
conversation may keep. The cues are editable patterns in intents/roles.yaml;
a young person writing about themselves is recognised here in code, because
it rests on grammar ("I", "my pics", nobody else named) more than on words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.content.records import EVENTS, NATIONS, ROLES, FactRules
from bot.matching.needles import AnyOf, NeedleIndex
from bot.matching.normalise import fold

IMPLIED_AGE = {"adult_self": "adult", "school_staff": "under_18", "foster_residential": "under_18"}
ADULT_ROLES = (
    "school_staff", "parent_carer", "foster_residential", "social_worker", "police", "health",
    "youth_sport",
)  # fmt: skip

_AGES = r"(1[0-7]|[89]|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)"
_OWN_AGE = re.compile(
    rf"\b(im|i am|iam|i m|me)\s+({_AGES}|in year (7|8|9|10|11|12|13))\b"
    r"|\b(year|yr|y)\s*(7|8|9|10|11|12|13)\s+here\b|\b{_AGES}\s+here\b".replace("{_AGES}", _AGES)
)
_FIRST = re.compile(r"\b(i|im|ive|id|ill|me|my|myself|mine)\b")
_OTHER = re.compile(
    r"\b(he|she|hes|shes|him|her|his|hers|himself|herself|son|daughter|"
    r"child|children|kid|kids|pupil|pupils|student|students|learner|boy|girl|lad|lass|teen|"
    r"teenager|grandson|granddaughter|nephew|niece|brother|sister|stepson|stepdaughter|"
    r"yp|young person|cyp|client|case|caseload|my class|our school|dsl|"
    r"safeguarding|colleague|year \d+ (boy|girl)|"
    r"project|club|group|centre|caseload|station|ward|clinic|unit|placement|"
    r"a \d+ ?(year old|yr old|yo|y o))\b"
    # a child's own adults are "my teacher", "my coach", "my carers", "my social worker"
    r"|(?<!my )(?<!my foster )(?<!my social )(?<!my youth )(?<!my key )"
    r"\b(parents?|carers?|teacher|officer|nurse|coach|worker|staff)\b"
)


# Someone else the message may be about (the writer is then not the one at risk); "he" and
# "she" alone are not here, nor brothers, sisters or "my class": in a young person's own
# message they are usually the offender or the people the images were sent to.
_SOMEONE_ELSE = re.compile(
    r"\b(sons?|daughters?|child|childs|children|kids?|pupils?|students?|learners?|boys?|girls?|"
    r"lads?|lass|teens?|teenagers?|grandsons?|granddaughters?|nephews?|nieces?|"
    r"stepsons?|stepdaughters?|yp|young person|cyp|clients?|tutees?|residents?|patients?|"
    r"victims?|missing person|misper|mfh|players?|swimmers?|u\d\d|himself|herself|themselves|"
    r"a \d+ ?(year old|yr old|yo|y o)|\d+ ?(yos?|y o|year old)|daug\w*|bairns?|weans?|"
    r"laddies?|lassies?|gymnasts?|under \d+s|\d+ ?year olds|"
    r"(hes|shes|he is|she is|theyre) (1[0-7]|[89])|(bro|sis|brother|sister|cousin|mate|friend) "
    r"(1[0-7]|[89])|one of (my|our)|a (year|yr|y) ?\d+)\b"
)
# Someone else speaking or acting in the danger clause ("she just told me she wants to die").
_THEY_SAY = re.compile(
    r"\b(he|she|they|hes|shes|theyre)\s+(just\s+)?(told|tells|said|says|saying|wants?|keeps|kept|"
    r"took|taken|cut|admitted)\b"
)
# Someone else as the subject or owner ("her arms"); "him" and "them" are usually what the
# offender or the images are ("already took them", "if he sends them at 9 im doing it").
_THIRD = re.compile(r"\b(he|she|they|hes|shes|theyre|her|his)\b")
# What the offender does to the writer, in a young person's own message.
_OFFENDER_ACTS = re.compile(
    r"\b(he|she|they|hes|shes|theyre|(the|this|that)\s+(\w+\s+)?(guy|man|bloke|account|person|scammer))"
    r"\s+(still\s+|just\s+|already\s+|now\s+)?"
    r"(got|has|have|sent|sends|sending|posted|posts|posting|shared|dropped|leaked|wont|wants|"
    r"threatened|threatening|screenshotted|is\s+sending|is\s+gonna|gonna|will|ll|"
    r"(can|could)\s+(post|send|share|leak)|"
    r"(said|says)\s+(if|unless)|"  # a threat ("he said if i dont pay"), not "he said hes doing it"
    # ...and the threat to share, told ("he said hes sending them to my whole form")
    r"(said|says|sed)\s+(hes|shes|theyre|he\s+is|she\s+is|they\s+are|hell|shell|theyll|"
    r"(he|she|they)\s+(ll|will))\s+(gonna\s+|going\s+to\s+)?"
    r"(send|sending|post|posting|share|sharing|leak|leaking|expose|exposing)|deletes?|"
    r"keeps\s+(messaging|asking|sending|texting|threatening|posting))\b"
)
# A head that starts with finding or being told is a witness's account ("found a rope under
# her mattress", "told counsellor by the morning none of this will matter").
_WITNESS = re.compile(
    r"^\s*(\w+\s+){0,2}(found|find|noticed|saw|spotted|discovered|searched|counted|checked|"
    r"reports?|reported|disclosed|told\s+(counsellor|tutor|teacher|staff|police|nurse|us))\b"
)


# The offender, named by where they met the child ("the lad on snap", "lad from discord") or by
# what they did ("the lad who got my pics"): not someone else the danger may be about.
_OFFENDER = re.compile(
    r"(?<!my )(?<!our )\b(lad|boy|girl|guy|man|bloke|person)\s+(on|from|off)\s+(snap\w*|insta\w*|"
    r"ig|tiktok|discord|roblox|xbox|playstation|ps\d|whatsapp|wizz|telegram|omegle|fortnite|"
    r"minecraft|facebook|fb|twitter|x|reddit|kik|yubo|online|the\s+(internet|app|game|group))\b"
    r"|(?<!my )(?<!our )\b(the|that|this)\s+(lad|boy|girl|guy|man|bloke)\s+(who|that|with|got|has|"
    r"had|sent|wants|keeps|leaked|posted)\b"
)


def names_someone_else(message: str) -> bool:
    """Whether the message names someone other than the writer (or the offender) whom its
    danger could be about: then no clause of it is the writer's own."""
    return _SOMEONE_ELSE.search(_OFFENDER.sub(" ", fold(message, limit=None))) is not None


def speaks_of_self(head: str, clause: str, aimed_at_writer: bool = False) -> bool:
    """True when the writer is the one the danger is about, in a message that does not
    name someone else (`names_someone_else`, asked once per message, not per clause).

    `head`: the danger clause up to its statement of danger; `clause`: all of it. The head
    must be in the first person with nobody else before it or speaking ("he posted it, i
    want to die"), or have no subject at all ("took the pills. all of them"). What the
    offender does ("he still has them") is not someone else to be about. The offender
    coming ("he says he knows where i live") is aimed at whoever the clause names: the
    writer when it is in the first person. A head that starts with finding or being told
    ("found a rope under her mattress") is a witness's account.
    """
    head, clause = (_OFFENDER_ACTS.sub(" ", fold(t, limit=None)) for t in (head, clause))
    if aimed_at_writer:
        return _FIRST.search(clause) is not None
    if first := _FIRST.search(head):
        # "she asked me whether it would hurt to stop living": someone else comes first
        return not _THEY_SAY.search(head) and not _THIRD.search(head, 0, first.start())
    return not _THIRD.search(head) and not _WITNESS.search(head)


def writer_is_child(text: str) -> bool:
    """True when the message reads as a young person writing about their own case."""
    folded = fold(text, limit=None)
    if _OWN_AGE.search(folded):
        return True
    return bool(_FIRST.search(folded)) and not _OTHER.search(folded)


@dataclass(frozen=True)
class Facts:
    """What the messages say about the case; `unknown` where they say nothing."""

    role: str = "unknown"
    age_band: str = "unknown"  # under_18, adult or unknown
    events: frozenset[str] = frozenset()  # paid, debt, threats, shared
    nation: str = "unknown"
    guessed: bool = False  # the role is only a guess from grammar ("I", nobody else named)

    def merged(self, newer: Facts) -> Facts:
        """A later message's facts override older ones where it states them; a role that is
        only a guess ("I" and nobody else named) does not override a known one."""
        ignored = newer.guessed and self.role != "unknown"
        role, band, guessed = self.role, self.age_band, self.guessed
        if newer.role != "unknown" and not ignored:
            role, guessed = newer.role, newer.guessed
        if newer.age_band != "unknown" and not ignored:
            band = newer.age_band
        nation = newer.nation if newer.nation != "unknown" else self.nation
        return Facts(role, band, self.events | newer.events, nation, guessed)

    def changes(self, older: Facts) -> bool:
        """Whether these facts state a role, age or nation other than the older ones
        (a guessed role changes nothing)."""
        role, band = ("unknown", "unknown") if self.guessed else (self.role, self.age_band)
        pairs = ((role, older.role), (band, older.age_band), (self.nation, older.nation))
        return any(new != "unknown" and new != old for new, old in pairs)

    def with_implied_age(self) -> Facts:
        """An age band the role implies when none was given: an adult writing about
        themselves is an adult; a pupil or a child in care is under 18."""
        if self.age_band != "unknown" or self.role not in IMPLIED_AGE:
            return self
        return replace(self, age_band=IMPLIED_AGE[self.role])

    def states_any(self) -> bool:
        """Whether these facts say anything about who, how old or where."""
        return not self.guessed and (self.role != "unknown" or self.age_band != "unknown")

    def to_dict(self) -> dict:
        return {"role": self.role, "age_band": self.age_band,
                "events": sorted(self.events), "nation": self.nation}  # fmt: skip

    @classmethod
    def from_dict(cls, data: object) -> Facts:
        """Stored labels back as facts; anything unexpected is dropped."""
        if not isinstance(data, dict):
            return cls()
        role = data.get("role") if data.get("role") in ROLES else "unknown"
        band = data.get("age_band") if data.get("age_band") in ("under_18", "adult") else "unknown"
        events = data.get("events") if isinstance(data.get("events"), list) else []
        nation = data.get("nation") if data.get("nation") in NATIONS else "unknown"
        return cls(role, band, frozenset(e for e in events if e in EVENTS), nation)


class FactReader:
    def __init__(self, rules: FactRules) -> None:
        self.roles = _compiled(rules.roles.items())
        self.ages = _compiled(rules.ages)
        self.events = _compiled(rules.events.items())
        self.nations = _compiled(rules.nations.items())
        groups = (self.roles, self.ages, self.events, self.nations)
        self._index = NeedleIndex(frozenset().union(*(a.needles for g in groups for _, a in g)))

    def read(self, text: str) -> Facts:
        folded = fold(text, limit=None)
        present = self._index.find(folded)
        role = _first(self.roles, folded, present)
        events = frozenset(n for n, patterns in self.events if patterns.search(folded, present))
        nation = _first(self.nations, folded, present)
        if _OWN_AGE.search(folded):
            return Facts("young_person", "under_18", events, nation)
        if role == "unknown" and writer_is_child(text):
            return Facts("young_person", "under_18", events, nation, guessed=True)
        band = _first(self.ages, folded, present)
        return Facts(role, band, events, nation)


def _compiled(pairs) -> list[tuple[str, AnyOf]]:
    return [(name, AnyOf(tuple(patterns), folded=True)) for name, patterns in pairs]


def _first(named: list[tuple[str, AnyOf]], folded: str, present: set[str]) -> str:
    return next((n for n, patterns in named if patterns.search(folded, present)), "unknown")
