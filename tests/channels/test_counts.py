"""The anonymous outcome funnel: daily counts that match a scripted run exactly, that no
row can tie to a chat, that are purged after their retention, and the stats report."""

from __future__ import annotations

import datetime
import re
import sqlite3
from collections import Counter

from bot.channels.counts import DB_NAME, DailyCounts, counting_on, retention_days
from bot.dialogue import Command, Press, State, Text, callbacks
from bot.stats import report_html, summarise, tables

DAY = datetime.date(2026, 12, 1)


def _run(engine, counts: DailyCounts, events) -> State:
    state = State()
    for event in events:
        outcome = engine.handle(state, event)
        counts.add(outcome.counts, today=DAY)
        state = outcome.state
    return state


def test_counts_match_a_scripted_run(engine, content, tmp_path) -> None:
    counts = DailyCounts(tmp_path)
    contact = content.flows["contact"]
    danger = contact.nodes[contact.start]
    yes = next(i for i, ch in enumerate(danger.choices) if ch.label.lower().startswith("yes"))
    state = _run(engine, counts, [Command("contact")])
    pos = state.flow
    press = callbacks.Callback("choose", pos.flow, pos.node, yes).encode()
    state = _run(engine, counts, [Command("contact"), Press(press), Press(callbacks.NOTE)])
    result = f"{state.flow.flow}/{state.flow.node}"
    result_routes = engine.flows.node(state.flow).routes
    _run(engine, counts, [Text("what is sextortion"), Press(callbacks.helpful("what_is_it", "up"))])
    _run(engine, counts, [Text("recipe for banana bread")])
    rows = counts.rows()
    got = Counter({(what, which): n for _, what, which, n in rows})
    assert got[("guide_start", "contact")] == 2
    assert got[("guide_result", result)] == 1
    assert got[("note", "contact")] == 1
    assert got[("answer", "what_is_it|answer")] == 1
    assert got[("helpful", "what_is_it|up")] == 1
    assert got[("answer", "out_of_scope|cant_answer")] == 1
    shown = Counter([*result_routes, *content.responses["what_is_it"].routes])
    assert {which: n for (what, which), n in got.items() if what == "route"} == dict(shown)
    assert all(day == DAY.isoformat() for day, *_ in rows)
    counts.close()


def test_no_row_can_be_joined_back_to_a_chat(engine, content, tmp_path) -> None:
    counts = DailyCounts(tmp_path)
    _run(engine, counts, [Text("my son is being sextorted zq-canary-9f2"), Command("report")])
    counts.close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    columns = [c[1] for c in db.execute("PRAGMA table_info(daily_counts)")]
    assert columns == ["day", "what", "which", "n"]
    ids = {*content.responses, *content.flows, *content.routes}
    for day, what, which, n in db.execute("SELECT * FROM daily_counts"):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) and n >= 1
        parts = re.split(r"[|/]", which)
        assert parts[0] in ids or what == "crisis", which
        assert "canary" not in which
    db.close()


def test_rows_past_their_retention_are_purged(tmp_path) -> None:
    counts = DailyCounts(tmp_path, retention=30)
    counts.add([("answer", "what_is_it|answer")], today=DAY - datetime.timedelta(days=31))
    counts.add([("answer", "what_is_it|answer")], today=DAY)
    assert [r[0] for r in counts.rows()] == [DAY.isoformat()]
    counts.close()


def test_switches() -> None:
    assert counting_on({}) and not counting_on({"GUIDANCE_COUNTS": "off"})
    assert retention_days({}) == 400 and retention_days({"GUIDANCE_COUNTS_DAYS": "90"}) == 90


def test_stats_report_has_its_charts(engine, tmp_path) -> None:
    counts = DailyCounts(tmp_path)
    _run(engine, counts, [Text("what is sextortion"), Text("banana bread"), Command("signs")])
    summary = summarise(counts.rows())
    counts.close()
    page = report_html(summary, "")
    assert page.count("<svg") >= 7 and "Answers per week" in page and "Routes shown" in page
    assert "Guide: indicators" in page and "answers shown: 2" in tables(summary)
