"""The linear model kept on disk: read back, it must score exactly as when trained, or a
cached model would answer differently from a freshly trained one."""

from __future__ import annotations

import json
from array import array

import pytest

from bot.matching import classifier
from bot.matching.classifier import LinearModel

PHRASES = [
    ("how do i report an image", "report"),
    ("report the account to the platform", "report"),
    ("he wants money or he will share it", "payment"),
    ("should we pay the money they want", "payment"),
    ("can the picture be taken down", "removal"),
    ("get the photo removed from the site", "removal"),
]
EXAMPLES = [(text.split(), label) for text, label in PHRASES]
TEXTS = ["report it to the site", "they want money", "remove the picture", "unknown words"]


def _again(model: LinearModel) -> LinearModel:
    return LinearModel.from_json(json.loads(json.dumps(model.to_json())))


@pytest.mark.parametrize("classes", [3, 2])
def test_a_model_read_back_scores_exactly_the_same(classes: int) -> None:
    kept = {label for _, label in EXAMPLES[: 2 * classes]}
    model = LinearModel.train([e for e in EXAMPLES if e[1] in kept])
    again = _again(model)
    assert again.classes == model.classes and again.idf == model.idf
    for text in TEXTS:
        assert again.scores(text.split()) == model.scores(text.split())
    assert any(any(model.scores(t.split())) for t in TEXTS), "no text scored: proved little"


def test_a_damaged_model_is_refused() -> None:
    data = LinearModel.train(EXAMPLES).to_json()
    data["weights"] = data["weights"][: len(data["weights"]) // 2]
    with pytest.raises(ValueError):
        LinearModel.from_json(data)


def test_two_classes_learn_exactly_what_the_general_rule_learns() -> None:
    """The two-class shortcut keeps one weight per feature; the general rule, run on the
    same vectors, must give that weight for the second class and its negation for the
    first, bit for bit."""
    vectors = [
        (array("l", [j % 7, j % 5 + 7, 12]), array("d", [0.5, 0.25 + j / 100, 0.1]), j % 2)
        for j in range(40)
    ]
    general, general_totals, step = classifier._learn([*vectors], 2, seed=3)
    two, two_totals, two_step = classifier._learn_two([*vectors], seed=3)
    assert step == two_step and two
    assert {f: row[1] for f, row in general.items() if row} == two
    assert all(row[0] == -row[1] for row in general.values() if row)
    assert {f: t[1] for f, t in general_totals.items() if t} == two_totals
