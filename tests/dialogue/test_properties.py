"""Properties of the pure core (hypothesis): whatever arrives, the engine answers safely.

Any text gets at least one non-empty reply that never echoes the input and renders as
well-formed Telegram HTML in parts of at most 4096 characters; the matcher always returns a
catalogue intent and a score in 0..100; arbitrary button data, commands and stored states
never raise. The strategies and the reply checks are in tests/support/hostile.py.

Each edge case here was a real bug once; the tests keep it fixed.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.content import CATALOGUE, Content
from bot.dialogue import Command, Engine, Press, State, Text
from bot.dialogue.callbacks import RESUME
from tests.support import COMMANDS
from tests.support.hostile import (
    HUNDRED_K,
    PROPERTY,
    check_replies,
    reply_strings,
    texts,
)


@pytest.fixture(scope="module")
def states(flow_walks) -> list[State]:
    """A fresh state and every state a flow walk passes through."""
    seen = {State()}
    for walks in flow_walks.values():
        for walk in walks:
            seen.update(walk.states)
    return sorted(seen, key=repr)


@pytest.fixture(scope="module")
def corpus(engine: Engine, content: Content, flow_walks) -> str:
    """Everything the engine can say (case-folded): a token not in here is the user's own."""
    replies = [engine.answer(i, State()) for i in content.responses]
    replies += [r for c in COMMANDS for r in engine.handle(State(), Command(c)).replies]
    replies += [r for walks in flow_walks.values() for w in walks for r in w.shown]
    return "\n".join(reply_strings(replies)).casefold()


# ---------------------------------------------------------------- engine and matcher


@PROPERTY
@given(text=texts())
@example(text="")
@example(text=HUNDRED_K[:100_000])
@example(text="\x00" * 100_000)
def test_any_text_gets_a_safe_reply(engine: Engine, text: str) -> None:
    outcome = engine.handle(State(), Text(text))
    check_replies(outcome.replies)


@PROPERTY
@given(
    prefix=texts(),
    token=st.text(st.characters(categories=("Lu", "Ll", "Lo", "Nd")), min_size=12, max_size=30),
    suffix=texts(),
)
def test_distinctive_input_is_never_echoed(
    engine: Engine, corpus: str, states: list[State], prefix: str, token: str, suffix: str
) -> None:
    if token.casefold() in corpus:
        return  # not distinctive: the bot may well say it (hypothesis rarely finds one)
    for state in (State(), states[len(states) // 2]):
        outcome = engine.handle(state, Text(f"{prefix} {token} {suffix}"))
        for said in reply_strings(outcome.replies):
            assert token.casefold() not in said.casefold(), (token, said[:200])


@PROPERTY
@given(text=texts())
@example(text=HUNDRED_K)
def test_matcher_always_gives_a_catalogue_intent(engine: Engine, text: str) -> None:
    match = engine.triage.matcher.match(text)
    assert match.intent in CATALOGUE and 0 <= match.score <= 100
    assert match.band in ("answer", "suggest", "reject")
    for intent, score in match.alternatives:
        assert intent in CATALOGUE and 0 <= score <= 100


def press_data(content: Content) -> st.SearchStrategy[str]:
    """Arbitrary callback data (Telegram allows 64 bytes), and data shaped like the engine's
    own: kind, a real flow and node, then anything."""
    flows = sorted(content.flows)
    nodes = sorted({n for f in content.flows.values() for n in f.nodes})
    junk = st.text(max_size=20)
    shaped = st.builds(
        lambda *p: ":".join(p),
        st.sampled_from(["q", "t", "d", "f", "i", "x", "b", "r", "c", "m", ""]),
        st.sampled_from(flows) | junk,
        st.sampled_from(nodes) | junk,
        st.from_regex(r"-?[0-9]{1,3}", fullmatch=True) | junk,
    )
    return st.one_of(st.text(max_size=64), shaped.map(lambda s: s[:64]))


@PROPERTY
@given(data=st.data())
def test_any_button_data_never_raises(
    engine: Engine, content: Content, states: list[State], data: st.DataObject
) -> None:
    state = data.draw(st.sampled_from(states))
    pressed = data.draw(press_data(content))
    check_replies(engine.handle(state, Press(pressed)).replies)


@PROPERTY
@given(
    data=st.data(),
    name=st.one_of(
        st.sampled_from(COMMANDS),
        st.text(max_size=40),
        st.sampled_from([c.upper() for c in COMMANDS]),
    ),
    arg=st.one_of(
        st.text(max_size=300),
        st.sampled_from(["signs", " LINKS ", "contact", "report", "x:links", "\x00"]),
    ),
)
def test_any_command_never_raises(
    engine: Engine, states: list[State], data: st.DataObject, name: str, arg: str
) -> None:
    state = data.draw(st.sampled_from(states))
    check_replies(engine.handle(state, Command(name, arg)).replies)


def stored_states(content: Content) -> st.SearchStrategy[object]:
    """Whatever a damaged or tampered store could hand back, incl. plausible-looking ids."""
    ids = sorted(
        {
            *content.flows,
            *(n for f in content.flows.values() for n in f.nodes),
            *(
                c.set
                for f in content.flows.values()
                for n in f.nodes.values()
                for c in n.choices
                if c.set
            ),
        }
    )
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=10),
        st.sampled_from(ids),
    )
    json_like = st.recursive(
        scalar,
        lambda kids: st.one_of(
            st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=6), kids, max_size=4)
        ),
        max_leaves=15,
    )
    shaped = st.fixed_dictionaries(
        {},
        optional={
            "flow": st.sampled_from(sorted(content.flows)) | json_like,
            "node": st.sampled_from(ids) | json_like,
            "flags": st.lists(st.sampled_from(ids) | st.text(max_size=5), max_size=4) | json_like,
            "history": st.lists(
                st.tuples(
                    st.sampled_from(ids) | json_like,
                    st.lists(st.sampled_from(ids), max_size=3) | json_like,
                ).map(list),
                max_size=3,
            )
            | json_like,
            "extra": json_like,
        },
    )
    return st.one_of(json_like, shaped)


@PROPERTY
@given(raw=st.data())
def test_any_stored_state_is_safe(engine: Engine, content: Content, raw: st.DataObject) -> None:
    data = raw.draw(stored_states(content))
    state = State.from_dict(data)  # type: ignore[arg-type]
    assert isinstance(state, State)
    assert State.from_dict(state.to_dict()) == state
    for event in (
        Text("what now"),
        Press(RESUME),
        Press("b"),
        Press("r"),
        Press("m"),
        Command("menu"),
        Press(f"d:{state.flow.flow}:{state.flow.node}" if state.flow else "d:x:y"),
    ):
        outcome = engine.handle(state, event)
        check_replies(outcome.replies)


# Engine edge cases ---------------------------------------------------------------------------


@pytest.mark.parametrize("arg", ["²", "①"])
def test_button_index_written_with_a_superscript_digit(engine: Engine, arg: str) -> None:
    for command, kind in (("contact", "q"), ("signs", "t")):
        start = engine.handle(State(), Command(command))
        pos = start.state.flow
        assert pos is not None
        outcome = engine.handle(start.state, Press(f"{kind}:{pos.flow}:{pos.node}:{arg}"))
        check_replies(outcome.replies)


def test_stored_position_at_a_branch_node(engine: Engine, content: Content) -> None:
    branches = [
        (f.id, n.id) for f in content.flows.values() for n in f.nodes.values() if n.type == "branch"
    ]
    assert branches
    for fid, nid in branches:
        state = State.from_dict({"flow": fid, "node": nid, "flags": [], "history": []})
        for event in (Press(RESUME), Press(f"d:{fid}:{nid}")):
            check_replies(engine.handle(state, event).replies)
