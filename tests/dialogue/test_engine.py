"""The dialogue engine: commands, deep links, buttons, flows' navigation, state, privacy."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import CATALOGUE
from bot.dialogue import Command, FlowPos, Press, State, Text, callbacks
from bot.dialogue.callbacks import BACK, MENU, RESTART, RESUME
from tests.support import COMMANDS, DEEP_LINK_FLOWS, REPO


def raw_responses() -> dict:
    out: dict = {}
    for path in sorted((REPO / "responses").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("responses"), dict):
            out.update(data["responses"])
    return out


def buttons(reply) -> list:
    return [b for row in reply.buttons for b in row]


def datas(reply) -> set[str]:
    return {b.data for b in buttons(reply) if b.data}


def one(outcome):
    assert outcome.replies, "no reply"
    return outcome.replies[0]


def is_menu(reply, content) -> bool:
    """A reply that carries the whole main menu."""
    want = set()
    for kind, target in content.menu:
        encode = {"flow": callbacks.flow, "intent": callbacks.intent}.get(kind, callbacks.command)
        want.add(encode(target))
    return bool(want) and want <= datas(reply)


def is_expired(reply, content) -> bool:
    return "expired" in reply.text.lower() and is_menu(reply, content)


# ---------------------------------------------------------------- /start and deep links


def test_start_is_welcome_with_menu(engine, content) -> None:
    reply = one(engine.handle(State(), Command("start")))
    assert reply.title == raw_responses()["greeting"]["title"]
    assert is_menu(reply, content)


@pytest.mark.parametrize("payload", sorted(DEEP_LINK_FLOWS))
def test_deep_link_starts_its_flow(engine, content, payload: str) -> None:
    flow_id = DEEP_LINK_FLOWS[payload]
    flow = content.flows[flow_id]
    outcome = engine.handle(State(), Command("start", payload))
    reply = one(outcome)
    assert outcome.state.flow and outcome.state.flow.flow == flow_id
    assert reply.kind == "flow" and reply.title == flow.title
    assert reply == one(engine.handle(State(), Command(payload)))
    assert one(engine.handle(State(), Command("start", payload.upper()))) == reply


def test_deep_link_links(engine) -> None:
    reply = one(engine.handle(State(), Command("start", "links")))
    assert reply == one(engine.handle(State(), Command("links")))
    assert reply.kind == "links"


@pytest.mark.parametrize("payload", ["", "nonsense", "i:what_is_it", "../../etc", "x" * 64, "🙂"])
def test_unknown_deep_link_is_welcome(engine, payload: str) -> None:
    welcome = one(engine.handle(State(), Command("start")))
    outcome = engine.handle(State(), Command("start", payload))
    assert one(outcome) == welcome
    assert outcome.state == State()


# ---------------------------------------------------------------- commands


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_replies(engine, name: str) -> None:
    for state in (State(), one_flow_state(engine)):
        outcome = engine.handle(state, Command(name))
        assert outcome.replies and all(r.text.strip() for r in outcome.replies)


def one_flow_state(engine) -> State:
    return engine.handle(State(), Press(f"f:{next(iter(engine.content.flows))}")).state


def question_step(engine):
    """A flow whose start is a question with a flag-setting button leading to another
    question: (start outcome, that button, the outcome of pressing it)."""
    for fid, flow in engine.content.flows.items():
        node = flow.nodes[flow.start]
        if node.type != "question":
            continue
        for i, choice in enumerate(node.choices):
            if choice.set and flow.nodes[choice.goto].type == "question":
                start = engine.handle(State(), Press(f"f:{fid}"))
                button = [b for b in buttons(one(start)) if b.data and b.data.startswith("q:")][i]
                assert button.label == choice.label
                return start, button, engine.handle(start.state, Press(button.data))
    raise AssertionError("no flow starts with a question leading to another question")


@pytest.mark.parametrize(
    ("name", "intent"), [("help", "help"), ("privacy", "privacy"), ("about", "about_source")]
)
def test_topic_commands(engine, name: str, intent: str) -> None:
    assert one(engine.handle(State(), Command(name))).title == raw_responses()[intent]["title"]


def test_menu_command(engine, content) -> None:
    reply = one(engine.handle(State(), Command("menu")))
    assert is_menu(reply, content)


def test_links_command_lists_every_quick_link(engine, content) -> None:
    reply = one(engine.handle(State(), Command("links")))
    urls = {b.url for b in buttons(reply) if b.url}
    for rid in content.links:
        route = content.routes[rid]
        assert (route.url in urls) or (route.phone and route.phone in reply.text), rid
    assert MENU in datas(reply)


def test_unknown_command_gives_menu(engine, content) -> None:
    outcome = engine.handle(State(), Command("frobnicate"))
    assert is_menu(one(outcome), content)


def test_commands_are_case_insensitive(engine) -> None:
    assert one(engine.handle(State(), Command("HELP"))) == one(
        engine.handle(State(), Command("help"))
    )


def test_help_text_names_only_real_commands(engine) -> None:
    text = one(engine.handle(State(), Command("help"))).text
    named = set(re.findall(r"(?<![\w/])/([a-z]+)\b", text))
    assert named, "help names no commands"
    assert named <= set(COMMANDS)


def test_forget(engine) -> None:
    state = one_flow_state(engine)
    assert state.flow is not None
    outcome = engine.handle(state, Command("forget"))
    assert outcome.actions == ["forget"]
    assert outcome.state == State() and outcome.state.to_dict() == {}


def test_clear(engine) -> None:
    outcome = engine.handle(one_flow_state(engine), Command("clear"))
    assert "clear" in outcome.actions
    assert outcome.state == State()


# ---------------------------------------------------------------- buttons


def test_menu_buttons_each_lead_somewhere_valid(engine, content) -> None:
    menu = one(engine.handle(State(), Command("menu")))
    pressed = 0
    for button in buttons(menu):
        outcome = engine.handle(State(), Press(button.data))
        reply = one(outcome)
        pressed += 1
        assert not is_expired(reply, content), button
        kind, _, target = button.data.partition(":")
        if kind == "f":
            assert reply.kind == "flow" and outcome.state.flow.flow == target
            assert reply.title == content.flows[target].title
        elif kind == "i":
            assert reply.title == raw_responses()[target]["title"]
        else:
            assert reply.kind in ("links", "menu", "answer")
    assert pressed == sum(1 for _ in content.menu)


@pytest.mark.parametrize("intent", CATALOGUE)
def test_topic_button_for_every_intent(engine, intent: str) -> None:
    reply = one(engine.handle(State(), Press(f"i:{intent}")))
    assert reply.title == raw_responses()[intent]["title"]
    assert reply.text.strip() and "{" not in reply.text
    assert sum(len(x or "") + 2 for x in (reply.title, reply.text, reply.source)) <= 4096
    assert MENU in datas(reply)


def test_topic_buttons_offered_lead_to_their_topic(engine, content) -> None:
    """Every i: button any answer offers opens that topic (related and suggestions)."""
    titles = {k: v["title"] for k, v in raw_responses().items()}
    for intent in CATALOGUE:
        for b in buttons(one(engine.handle(State(), Press(f"i:{intent}")))):
            if b.data and b.data.startswith("i:"):
                assert b.label == titles[b.data[2:]]
                assert one(engine.handle(State(), Press(b.data))).title == b.label


EXPIRED = [
    "",
    ":",
    "zz",
    "i:",
    "i:not_an_intent",
    "f:not_a_flow",
    "x:not_a_command",
    "q:contact:danger_now:0",
    "t:indicators:signs:0",
    "d:indicators:signs",
    BACK,
    RESTART,
    RESUME,
    "q:" + "x" * 200,
    "i:what_is_it:extra",
    "🙂",
]


@pytest.mark.parametrize("data", EXPIRED)
def test_expired_or_unknown_callback_without_state(engine, content, data: str) -> None:
    outcome = engine.handle(State(), Press(data))
    assert is_expired(one(outcome), content)
    assert outcome.state == State()


def test_stale_flow_button_is_expired(engine, content) -> None:
    """A button from an earlier step (another node) or another flow is treated as expired."""
    start, first, moved = question_step(engine)
    assert moved.state.flow.node != start.state.flow.node
    stale = engine.handle(moved.state, Press(first.data))
    assert is_expired(one(stale), content)
    assert stale.state == moved.state
    for fid, flow in content.flows.items():
        if fid != moved.state.flow.flow:
            other = engine.handle(moved.state, Press(f"q:{fid}:{flow.start}:0"))
            assert is_expired(one(other), content)


@pytest.mark.parametrize("arg", ["99", "-1", "x", "", "0.5"])
def test_bad_choice_on_current_node_rerenders_it(engine, arg: str) -> None:
    start, _, _ = question_step(engine)
    pos = start.state.flow
    outcome = engine.handle(start.state, Press(f"q:{pos.flow}:{pos.node}:{arg}"))
    assert outcome.state == start.state
    assert one(outcome).text == one(start).text


def _some_states(engine, flow_walks) -> list[State]:
    states = [State()]
    for walks in flow_walks.values():
        states += list(walks[0].states) + list(walks[-1].states)
    return states


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.one_of(st.text(max_size=80), st.from_regex(r"[qtdifxbrcm]:[a-z_:0-9]{0,30}")))
def test_any_callback_data_never_raises(engine, flow_walks, data: str) -> None:
    for state in _some_states(engine, flow_walks)[:8]:
        outcome = engine.handle(state, Press(data))
        assert outcome.replies


# ---------------------------------------------------------------- flows: text, back, menu


def test_text_question_inside_a_flow(engine, content) -> None:
    _, _, step = question_step(engine)
    state = step.state
    example = content.intents["evidence_police"][0]
    outcome = engine.handle(state, Text(example))
    reply = one(outcome)
    assert reply.intent == "evidence_police"
    assert outcome.state.flow == state.flow  # the guide waits; the topic is remembered
    assert outcome.state.topic == "evidence_police" and outcome.state.aside
    back = [b for b in buttons(reply) if b.label.startswith("↩ Back to")]
    assert back and content.flows[state.flow.flow].title in back[0].label
    assert back[0].data == RESUME
    resumed = one(engine.handle(outcome.state, Press(RESUME)))
    assert (resumed.text, resumed.buttons) == (one(step).text, one(step).buttons)


def test_text_outside_a_flow_has_no_back_to(engine, content) -> None:
    reply = one(engine.handle(State(), Text(content.intents["evidence_police"][0])))
    assert not any(b.label.startswith("↩") for b in buttons(reply))


def test_back_start_over_and_menu(engine, content) -> None:
    start, _, step = question_step(engine)
    s0, s1 = start.state, step.state
    assert s1.flow.flags and s1.flow.node != s0.flow.node
    # Back: previous node, previous flags
    back = engine.handle(s1, Press(BACK))
    assert back.state.flow.node == s0.flow.node and back.state.flow.flags == s0.flow.flags
    assert one(back).text == one(start).text
    # Start over: the start, nothing remembered
    s2 = engine.handle(s1, Press(buttons(one(engine.handle(s1, Press(RESUME))))[0].data)).state
    again = engine.handle(s2, Press(RESTART))
    assert again.state == s0 and one(again).text == one(start).text
    # Menu: the menu, and the place in the flow is kept
    menu = engine.handle(s1, Press(MENU))
    assert is_menu(one(menu), content)
    assert menu.state == s1
    assert (
        one(engine.handle(menu.state, Press(RESUME))).text
        == one(engine.handle(s1, Press(RESUME))).text
    )


def test_back_at_the_start_stays(engine) -> None:
    start, _, _ = question_step(engine)
    outcome = engine.handle(start.state, Press(BACK))
    assert outcome.state == start.state
    assert one(outcome).text == one(start).text


# ---------------------------------------------------------------- state


def test_state_round_trip(flow_walks) -> None:
    states = [s for walks in flow_walks.values() for w in walks for s in w.states]
    assert any(s.flow and s.flow.flags and s.flow.history for s in states)
    for state in states:
        stored = json.loads(json.dumps(state.to_dict()))
        assert State.from_dict(stored) == state
    assert State.from_dict(State().to_dict()) == State()


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"flow": "contact"},
        {"node": "paid"},
        {"flow": "contact", "node": "paid", "history": 5},
        {"flow": "contact", "node": "paid", "history": [["paid"]]},
        {"flow": "contact", "node": "paid", "history": [[1, 2]]},
        {"flow": "contact", "node": "paid", "flags": 7},
    ],
)
def test_garbage_dict_state_is_fresh(data) -> None:
    assert State.from_dict(data) == State()


@pytest.mark.parametrize("data", ["garbage", [1, 2], 42])
def test_garbage_non_dict_state_is_fresh(data) -> None:
    assert State.from_dict(data) == State()


@pytest.mark.parametrize(
    "pos",
    [
        FlowPos("contact", "no_such_node"),
        FlowPos("no_such_flow", "danger_now"),
        FlowPos("", ""),
    ],
)
def test_state_pointing_nowhere_is_fresh(engine, content, pos: FlowPos) -> None:
    state = State(pos)
    for event in (Text("what is sextortion"), Press(RESUME), Press(BACK), Command("menu")):
        outcome = engine.handle(state, event)
        assert outcome.replies
        assert outcome.state.flow is None
    assert is_expired(one(engine.handle(state, Press(RESUME))), content)
    reply = one(engine.handle(state, Text("what is sextortion")))
    assert not any(b.label.startswith("↩") for b in buttons(reply))


def test_state_with_vanished_history_node_survives_back(engine, content) -> None:
    fid, flow = next(iter(content.flows.items()))
    state = State(FlowPos(fid, flow.start, frozenset(), (("no_such_node", frozenset()),)))
    outcome = engine.handle(state, Press(BACK))
    assert outcome.replies


# ---------------------------------------------------------------- privacy: no echo


def _all_strings(outcome) -> list[str]:
    out = [json.dumps(outcome.state.to_dict()), *outcome.actions]
    for r in outcome.replies:
        out += [r.text, r.title or "", r.source or "", r.intent or ""]
        out += [x for b in buttons(r) for x in (b.label, b.data or "", b.url or "")]
    return out


def test_user_text_is_never_echoed(engine, content, flow_walks) -> None:
    canary = "zq" + uuid.uuid4().hex[:10]
    questions = [content.intents[i][0] for i in ("what_is_it", "report_concern", "already_paid")]
    questions += [
        "how do i report {} to ceop",
        "{}",
        "my name is {} and he wants to kill himself",
        "what is {}?",
    ]
    states = [State()] + [w.states[0] for walks in flow_walks.values() for w in walks[:1]]
    checked = 0
    for q in questions:
        text = q.format(canary) if "{}" in q else f"{q} {canary}"
        for state in states:
            outcome = engine.handle(state, Text(text))
            checked += 1
            for s in _all_strings(outcome):
                assert canary not in s, (text, s[:120])
    assert checked >= 10
