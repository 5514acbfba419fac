"""The note for the safeguarding record: after every path through every guide it holds
each question with the answer chosen, the advice and the routes given, the case labels and
the source, and never anything the user typed."""

from __future__ import annotations

import pytest

from bot.dialogue import Press, State, Text, callbacks
from tests.dialogue.test_flows import FLOW_IDS, buttons

CANARY = "zq-canary-Ellie-Smith-07700900123"


def _note(engine, state):
    [reply] = engine.handle(state, Press(callbacks.NOTE, when="1 December 2026, 21:00")).replies
    return reply


@pytest.mark.parametrize("fid", FLOW_IDS)
def test_note_after_every_guide_path(engine, content, flow_walks, fid) -> None:
    for walk in flow_walks[fid]:
        assert any(b.data == callbacks.NOTE for b in buttons(walk.final)), walk.labels
        note = _note(engine, walk.final_state)
        assert note.kind == "note" and "1 December 2026, 21:00" in note.text
        assert content.flows[fid].title in note.text
        for label in walk.labels:
            if not label.startswith(("☐", "☑", "Done")):
                assert f"- {label}" in note.text, (label, walk.labels)
        for rid in walk.final.routes:
            assert content.routes[rid].name in note.text
        for heading in ("note_steps", "note_advice", "note_facts", "note_source"):
            assert content.texts[heading] in note.text


def test_note_holds_no_typed_text(engine, flow_walks) -> None:
    walk = flow_walks["contact"][0]
    state = walk.states[-2]
    aside = engine.handle(state, Text(f"my pupil {CANARY} wants to know what to do"))
    final = engine.handle(aside.state, Press(walk.presses[-1].data)).state
    note = _note(engine, final)
    assert CANARY.lower() not in note.text.lower() and "Ellie" not in note.text


def test_note_for_a_described_case_uses_its_facts(engine, content) -> None:
    first = engine.handle(
        State(), Text("head of year here, a year 9 girl is being sextorted on snap")
    )
    assert any(b.data == callbacks.NOTE for b in buttons(first.replies[-1]))
    note = _note(engine, first.state)
    assert content.labels["school_staff"] in note.text and content.labels["under_18"] in note.text
    assert content.routes["ceop"].name in note.text


def test_note_with_nothing_to_note_says_so(engine, content) -> None:
    [reply] = engine.handle(State(), Press(callbacks.NOTE)).replies
    assert reply.kind != "note" and reply.text == content.texts["note_nothing"]
