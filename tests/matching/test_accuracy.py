"""Accuracy floors on the labelled sets, measured as `guidance-bot eval` does.

Floors: in-scope top-1 accuracy >= 0.90, out-of-scope rejection >= 0.85, crisis recall 1.0.
"""

from __future__ import annotations

import pytest

from bot.matching.evaluate import metrics, read_jsonl
from tests.support import DATA

IN_SCOPE_FLOOR = 0.90
REJECTION_FLOOR = 0.85


@pytest.fixture(scope="module", params=["public_dev.jsonl", "holdout.jsonl"])
def measured(request, engine) -> tuple[str, dict]:
    items = read_jsonl(DATA / request.param)
    m = metrics(items, lambda text: engine.classify(text).intent)
    print(
        f"\n{request.param}: {m['lines']} lines, in-scope {m['in_scope_accuracy']}, "
        f"out-of-scope rejection {m['out_of_scope_rejection']}, "
        f"crisis recall {m['crisis_recall']}, crisis precision {m['crisis_precision']}"
    )
    return request.param, m


def test_set_has_every_kind_of_line(measured) -> None:
    name, m = measured
    assert m["in_scope_accuracy"] is not None, f"{name} has no in-scope lines"
    assert m["out_of_scope_rejection"] is not None, f"{name} has no out-of-scope lines"
    assert m["crisis_recall"] is not None, f"{name} has no crisis lines"


def test_in_scope_accuracy(measured) -> None:
    name, m = measured
    assert m["in_scope_accuracy"] >= IN_SCOPE_FLOOR, (name, m["top_confusions"])


def test_out_of_scope_rejection(measured) -> None:
    name, m = measured
    assert m["out_of_scope_rejection"] >= REJECTION_FLOOR, name


def test_crisis_recall(measured) -> None:
    name, m = measured
    assert m["crisis_recall"] == 1.0, (name, [e for e in m["errors"] if e["gold"] == "crisis"])
