"""The crisis detector: the labelled cases, long messages, and crisis winning in every state."""

from __future__ import annotations

import pytest
import yaml

from bot.dialogue import Press, State, Text
from bot.dialogue.callbacks import RESUME
from bot.matching.crisis import CrisisDetector
from bot.matching.normalise import fold
from tests.support import DATA

CASES = yaml.safe_load((DATA / "crisis_cases.yaml").read_text(encoding="utf-8"))
CRISIS = CASES["crisis"]
NOT_CRISIS = CASES["not_crisis"]
EMERGENCY = "999"


@pytest.fixture(scope="module")
def detector(content) -> CrisisDetector:
    return CrisisDetector(content.crisis)


def test_case_file_is_substantial() -> None:
    assert len(CRISIS) >= 20 and len(NOT_CRISIS) >= 20
    assert all(isinstance(t, str) and t.strip() for t in CRISIS + NOT_CRISIS)


@pytest.mark.parametrize("text", CRISIS, ids=[f"crisis-{i}" for i in range(len(CRISIS))])
def test_crisis_case_detected(detector, engine, text: str) -> None:
    assert detector.is_crisis(text)
    assert engine.classify(text).intent == "crisis"


@pytest.mark.parametrize(
    "text", NOT_CRISIS, ids=[f"not-crisis-{i}" for i in range(len(NOT_CRISIS))]
)
def test_not_crisis_case_not_detected(detector, text: str) -> None:
    assert not detector.is_crisis(text)


def test_emergency_number_comes_from_routes(content) -> None:
    assert any(r.phone == EMERGENCY for r in content.routes.values())


def _assert_crisis_reply(outcome) -> None:
    first = outcome.replies[0]
    assert first.kind == "crisis", (first.kind, first.text[:80])
    assert EMERGENCY in first.text


# ---------------------------------------------------------------- long messages

# A long, neutral question about Report Remove: no crisis words and no 'general' cues
# (which can cancel a danger pattern), so only the embedded sentence can make it a crisis.
FILLER = (
    "I work in a secondary school and I want to understand Report Remove properly before I "
    "speak to the young person again. Can a fifteen year old use it on their own, or does an "
    "adult need to be with them when they make the report? What proof of age do they need to "
    "give, and what happens to the images once they have been reported? "
)
CRISIS_SENTENCE = "He has just told me he is going to kill himself."


def _long_message(sentence: str, total: int, where: float) -> str:
    filler = (FILLER * (total // len(FILLER) + 2))[: total - len(sentence) - 2]
    cut = filler.rfind(" ", 0, int(len(filler) * where)) + 1
    return f"{filler[:cut]} {sentence} {filler[cut:]}"


def test_filler_is_neutral(detector, content) -> None:
    import re

    text = FILLER * 6
    assert not detector.is_crisis(text)
    assert not any(re.search(p, fold(text)) for p in content.crisis.general)
    assert detector.is_crisis(CRISIS_SENTENCE)


def test_crisis_in_the_middle_of_a_long_question(engine) -> None:
    text = _long_message(CRISIS_SENTENCE, 2000, 0.5)
    assert 1900 <= len(text) <= 2100
    outcome = engine.handle(State(), Text(text))
    _assert_crisis_reply(outcome)


@pytest.mark.parametrize("i", range(0, len(CRISIS), 7))
def test_crisis_cases_inside_a_long_question(engine, i: int) -> None:
    text = _long_message(CRISIS[i], 2000, 0.5)
    _assert_crisis_reply(engine.handle(State(), Text(text)))


def test_crisis_at_the_end_of_a_telegram_sized_message(engine) -> None:
    text = _long_message(CRISIS_SENTENCE, 4000, 1.0)
    assert len(text) <= 4096
    _assert_crisis_reply(engine.handle(State(), Text(text)))


@pytest.mark.parametrize(
    "text",
    [
        "what are the signs? my son says he wants to kill himself",
        "We had training on this last year. Now a boy in my class says he wants to kill himself.",
    ],
)
def test_general_words_elsewhere_do_not_cancel_a_crisis(detector, text: str) -> None:
    assert detector.is_crisis(text)


@pytest.mark.parametrize(
    "text",
    [
        "she hasn't been ok since the blackmail, barely talking",
        "not been fine since the pics went round. never leaves his room",
    ],
)
def test_recovery_denied_is_not_a_past_case(detector, engine, text: str) -> None:
    """A recovery denied ("not been ok since") is no past case: no frame, and a worrying sign."""
    assert not detector.read(text).framed
    assert engine.classify(text).risk is not None


# ---------------------------------------------------------------- every state


def _walk_to(engine, flow_id: str, presses) -> State:
    state = engine.handle(State(), Press(f"f:{flow_id}")).state
    for button in presses:
        state = engine.handle(state, Press(button.data)).state
    return state


def test_every_shown_node_was_reached(node_positions, content) -> None:
    """The positions used below cover every question and checklist of every flow."""
    want = {
        (fid, nid)
        for fid, flow in content.flows.items()
        for nid, node in flow.nodes.items()
        if node.type in ("question", "checklist")
    }
    assert want and want <= set(node_positions)


def test_crisis_wins_in_every_flow_position(engine, node_positions, flow_walks) -> None:
    # Every flow start, every node reached by presses, and a checklist with ticks.
    positions = [(fid, presses) for (fid, _), presses in node_positions.items()]
    for fid, walks in flow_walks.items():
        positions += [(fid, w.presses[:-1]) for w in walks if len(w.presses) > 2][:5]
    for n, (fid, presses) in enumerate(positions):
        state = _walk_to(engine, fid, presses)
        assert state.flow is not None
        shown = engine.handle(state, Press(RESUME)).replies[0]
        text = CRISIS[n % len(CRISIS)]
        outcome = engine.handle(state, Text(text))
        _assert_crisis_reply(outcome)
        assert outcome.state.flow == state.flow, "crisis must keep the flow position"
        buttons = [b for r in outcome.replies for row in r.buttons for b in row]
        back = [b for b in buttons if b.label.startswith("↩ Back to")]
        assert back, f"no 'Back to' button at {state.flow.flow}/{state.flow.node}"
        again = engine.handle(outcome.state, Press(back[0].data)).replies[0]
        assert (again.text, again.buttons) == (shown.text, shown.buttons)


def test_crisis_wins_after_a_result(engine, flow_walks) -> None:
    for walks in flow_walks.values():
        walk = walks[0]
        outcome = engine.handle(walk.final_state, Text(CRISIS[0]))
        _assert_crisis_reply(outcome)
        assert outcome.state.flow == walk.final_state.flow


def test_crisis_wins_over_a_strong_topic_match(engine, content) -> None:
    """A verbatim training example of another topic plus a crisis sentence is a crisis."""
    example = content.intents["image_removal"][0]
    outcome = engine.handle(State(), Text(f"{example} {CRISIS_SENTENCE}"))
    _assert_crisis_reply(outcome)


def test_a_reflexive_typed_as_two_words_is_read_as_one(detector) -> None:
    assert detector.is_crisis("she says she'll kill her self if they send it to her mum")
    assert not detector.is_crisis("she did it all by her self, the report went in today")


def test_just_now_breaks_a_frame(detector) -> None:
    framed = "im writing our schools online safety policy, a year 8 lad has a rope in his bag"
    assert not detector.is_crisis(framed)  # a case study
    assert detector.is_crisis(f"{framed} and wants it all over, he told me just now")


def test_a_sure_scorer_overrules_a_frame_only_in_a_long_message(engine) -> None:
    text = (
        "Was it on the news that these gangs are mostly abroad? I ask because my 14 year old "
        "son has swallowed most of a packet of my sleeping tablets and is very drowsy after "
        "they sent his pictures to his friends"
    )
    assert engine.triage.crisis.read(text).framed
    assert engine.classify(text).risk == "crisis"
    assert engine.classify("quiz: all my goodbyes are said").risk is None


def test_a_sure_scorer_overrules_a_pattern_only_in_a_message_it_can_judge_whole(
    engine, monkeypatch
) -> None:
    """The pattern veto: a statement of danger the scorer finds very plainly ordinary (a past
    case now well) is no alarm, unless the message is long enough to bury a danger sentence."""
    triage = engine.triage
    text = (
        "the photos thing two years back made him want to kill himself, he is happy at college now"
    )
    score = triage.scorer.score(text)
    assert score is not None and triage.crisis.read(text).reasons
    assert engine.classify(text).risk == "crisis"
    monkeypatch.setattr(triage, "pattern_veto", score + 0.01)
    vetoed = engine.classify(text)  # the other layers may still give the possible tier
    assert "patterns" not in vetoed.layers and vetoed.risk != "crisis"
    long = _long_message(text, 1000, 0.5)
    assert triage.scorer.score(long) < triage.pattern_veto
    assert engine.classify(long).risk == "crisis"
