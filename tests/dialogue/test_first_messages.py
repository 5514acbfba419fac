"""First messages of our own (tests/data/first_messages.jsonl: every role, both age bands),
checked on the reply, not only the intent: the next step fits who is asking, no adult-only
route for a child, no child-only route for an adult, no staff procedure for a child, and
never "I can't help" for a case that is in scope."""

from __future__ import annotations

import json
import re

import pytest

from bot.channels.terminal import render
from bot.dialogue import State, Text
from tests.support import DATA

MESSAGES = [
    json.loads(line)
    for line in (DATA / "first_messages.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
ADULT_ONLY = re.compile(r"StopNCII|Revenge Porn", re.I)
CHILD_ONLY = re.compile(r"Report Remove|Childline", re.I)
STAFF = re.compile(r"\bDSL\b|safeguarding lead|your organisation|procedures", re.I)


def _reply(engine, text: str):
    outcome = engine.handle(State(), Text(text))
    return outcome.replies, "\n\n".join(render(r)[0] for r in outcome.replies)


@pytest.mark.parametrize("row", MESSAGES, ids=lambda r: f"{r['role']}-{r['text'][:40]}")
def test_first_message_reply_fits_the_case(engine, row: dict) -> None:
    replies, shown = _reply(engine, row["text"])
    assert all(r.kind != "fallback" for r in replies), shown[:600]
    if row["age_band"] == "under_18":
        assert not ADULT_ONLY.search(shown), shown[:800]
    else:
        assert not CHILD_ONLY.search(shown), shown[:800]
    if row["role"] == "young_person":
        assert not STAFF.search(shown), shown[:800]
    elif row["role"] != "school_staff":
        assert not re.search(r"\byour DSL\b", shown), shown[:800]
    if row["role"] == "police":
        assert not re.search(r"\b101\b", shown), shown[:800]


def test_first_messages_get_their_answer(engine) -> None:
    """The case answer (first_steps), the child's own card and the over-18s card go to the
    messages they are for: at least 90% each, and never to the wrong writer."""
    for intent in ("first_steps", "young_person", "adult_victims"):
        rows = [r for r in MESSAGES if r["intent"] == intent]
        got = [engine.classify(r["text"]).intent for r in rows]
        assert sum(g == intent for g in got) >= 0.9 * len(rows), (intent, got)
    for row in MESSAGES:
        got = engine.classify(row["text"]).intent
        if row["role"] != "young_person":
            assert got != "young_person", row["text"]
        if row["age_band"] == "under_18":
            assert got != "adult_victims", row["text"]
