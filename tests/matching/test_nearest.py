"""The nearest-examples layer: judged by the examples most like a message."""

from __future__ import annotations

import pytest

from bot.dialogue.events import Text
from bot.dialogue.state import State
from bot.matching.nearest import SHARE, NearestExamples

RISK_LINES = [
    "gave away my guitar and my games to my cousin",
    "gave all his games away to his little cousin",
    "she gave her guitar away and said goodbye",
    "packed his games into boxes with names on",
    "left my guitar to my cousin in a letter",
]
ORDINARY = [
    "how do i report a fake account",
    "can i report the account to the police",
    "who do i tell at school about the account",
    "how do i block him on the app",
    "can the police trace a deleted account",
    "where do i report images of a child",
    "should i keep the messages as evidence",
    "how do i get the pictures taken down",
    "do i tell his school about the messages",
    "what happens when you report to the police",
] * 3  # enough ordinary examples that the cut-off is not set by one of them


def _terms(text: str) -> list[str]:
    return text.split()


def _model() -> NearestExamples:
    rows = [(t.split(), True) for t in RISK_LINES] + [(t.split(), False) for t in ORDINARY]
    return NearestExamples.train(rows, max_df=0.5)  # a tiny set: its terms are all frequent


def test_a_message_like_the_risk_examples_alarms_and_one_like_the_ordinary_does_not() -> None:
    model = _model()
    assert model.alarms(_terms("gave my guitar away to my cousin"))
    assert not model.alarms(_terms("how do i report the account to the police"))


def test_no_telling_term_in_common_gives_no_opinion() -> None:
    model = _model()
    assert model.score(_terms("lasagne recipe tonight")) is None
    assert not model.alarms(_terms("lasagne recipe tonight"))


def test_the_cut_off_lets_only_a_small_share_of_ordinary_examples_alarm() -> None:
    model = _model()
    alarmed = [t for t in ORDINARY if model.alarms(t.split())]
    # scored with themselves among the examples they can only score lower than without
    assert len(alarmed) <= SHARE * len(ORDINARY) + 1, alarmed


def test_without_ordinary_examples_it_never_alarms() -> None:
    model = NearestExamples.train([(t.split(), True) for t in RISK_LINES], max_df=0.5)
    assert not model.alarms(_terms("gave my guitar away to my cousin"))


def test_a_saved_model_scores_the_same() -> None:
    model = _model()
    again = NearestExamples.from_json(model.to_json())
    for text in ["gave my guitar away to my cousin", "how do i block him", "packed my games"]:
        assert again.score(text.split()) == pytest.approx(model.score(text.split()), abs=1e-4)
    assert again.cut == model.cut


def test_it_raises_the_possible_tier_where_no_other_layer_does(engine) -> None:
    """A short message the patterns and the scorer pass over, like several risk examples."""
    found = engine.classify("all my goodbyes are said")
    assert found.risk == "possible" and found.layers == ("nearest",), found.layers
    first = engine.handle(State(), Text("all my goodbyes are said")).replies[0]
    assert first.lead and "999" in first.lead


def test_a_framed_message_is_not_judged_by_its_nearest_examples(engine) -> None:
    text = "quiz: all my goodbyes are said"
    reading = engine.triage.matcher.read(text)
    assert engine.triage.nearest.alarms(reading.terms)  # it would, but a quiz is no case
    assert engine.classify(text).risk is None
