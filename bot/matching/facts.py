"""Case facts read from one message: who is writing and how old the child is.

Derived, never stored as text: the labels (a role, an age band) are all a
conversation may keep. The cues are editable patterns in intents/roles.yaml;
a young person writing about themselves is recognised here in code, because
it rests on grammar ("I", "my pics", nobody else named) more than on words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.content.records import FactRules
from bot.matching.normalise import fold

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
    r"yp|young person|cyp|client|case|caseload|my class|our school|parent|carer|teacher|dsl|"
    r"safeguarding|social worker|officer|nurse|coach|worker|staff|colleague|year \d+ (boy|girl))\b"
)


def writer_is_child(text: str) -> bool:
    """True when the message reads as a young person writing about their own case."""
    folded = fold(text, limit=None)
    if _OWN_AGE.search(folded):
        return True
    return bool(_FIRST.search(folded)) and not _OTHER.search(folded)


@dataclass(frozen=True)
class Facts:
    """What a message says about the case; `unknown` where it says nothing."""

    role: str = "unknown"
    age_band: str = "unknown"  # under_18, adult or unknown

    def merged(self, newer: Facts) -> Facts:
        """A later message's facts override older ones where it states them."""
        return Facts(
            newer.role if newer.role != "unknown" else self.role,
            newer.age_band if newer.age_band != "unknown" else self.age_band,
        )


class FactReader:
    def __init__(self, rules: FactRules) -> None:
        self.roles = [(role, [re.compile(p) for p in ps]) for role, ps in rules.roles.items()]
        self.ages = [(band, [re.compile(p) for p in ps]) for band, ps in rules.ages]

    def read(self, text: str) -> Facts:
        folded = fold(text, limit=None)
        role = next((r for r, ps in self.roles if any(p.search(folded) for p in ps)), "unknown")
        if _OWN_AGE.search(folded) or (role == "unknown" and writer_is_child(text)):
            return Facts("young_person", "under_18")
        band = next((b for b, ps in self.ages if any(p.search(folded) for p in ps)), "unknown")
        if role == "adult_self" and band == "unknown":
            band = "adult"
        return Facts(role, band)
