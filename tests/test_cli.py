"""Each `guidance-bot` subcommand in a subprocess (`python -m bot ...` from the repo root)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml

from bot.content import CATALOGUE
from bot.matching.evaluate import metrics, read_jsonl
from tests.support import DATA, REPO

DEV = DATA / "public_dev.jsonl"
KEYS = {"text", "intent", "score", "risk", "alternatives"}

pytestmark = pytest.mark.e2e


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _check_classified(row: dict) -> None:
    assert set(row) == KEYS, row
    assert row["intent"] in CATALOGUE
    assert 0 <= row["score"] <= 100
    assert isinstance(row["alternatives"], list) and len(row["alternatives"]) <= 3
    for alt in row["alternatives"]:
        assert set(alt) == {"intent", "score"} and alt["intent"] in CATALOGUE


def test_help(run_cli) -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for sub in ("validate", "chat", "run", "classify", "examples", "eval", "tune", "graph"):
        assert sub in proc.stdout


def test_classify_argument(run_cli, engine) -> None:
    text = "what is sextortion"
    proc = run_cli("classify", text)
    assert proc.returncode == 0, proc.stderr
    rows = _json_lines(proc.stdout)
    assert len(rows) == 1
    _check_classified(rows[0])
    assert rows[0]["text"] == text
    assert rows[0]["intent"] == engine.classify(text).intent


def test_classify_stdin(run_cli, engine) -> None:
    texts = ["what is sextortion", "he has paid them £200", "recipe for banana bread", "🙂", ""]
    proc = run_cli("classify", stdin="\n".join(texts) + "\n")
    assert proc.returncode == 0, proc.stderr
    rows = _json_lines(proc.stdout)
    assert [r["text"] for r in rows] == texts
    for row in rows:
        _check_classified(row)
        assert row["intent"] == engine.classify(row["text"]).intent


def test_classify_ten_thousand_lines(run_cli) -> None:
    # Speed is measured by `make bench` (per-message p50/p99), not asserted here: a timed
    # test under coverage measures the coverage tracer. The first run trains and caches.
    start = time.perf_counter()
    assert run_cli("classify", "warm the model cache").returncode == 0
    print(f"classify: start-up {time.perf_counter() - start:.2f}s")
    texts = [it.text for it in read_jsonl(DEV)]
    lines = (texts * (10_000 // len(texts) + 1))[:10_000]
    start = time.perf_counter()
    proc = run_cli("classify", stdin="\n".join(lines) + "\n")
    took = time.perf_counter() - start
    print(f"classify: 10,000 lines in {took:.2f}s wall (start-up included)")
    assert proc.returncode == 0, proc.stderr
    rows = _json_lines(proc.stdout)
    assert len(rows) == 10_000
    assert [r["text"] for r in rows] == lines


def _yaml_examples() -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in sorted((REPO / "intents").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("intents"), dict):
            for iid, body in data["intents"].items():
                counts[iid] = counts.get(iid, 0) + len(body.get("examples") or [])
    return counts


def test_examples(run_cli) -> None:
    proc = run_cli("examples")
    assert proc.returncode == 0, proc.stderr
    rows = _json_lines(proc.stdout)
    assert all(set(r) == {"text", "intent"} for r in rows)
    assert {r["intent"] for r in rows} == set(CATALOGUE)
    want = _yaml_examples()
    got: dict[str, int] = {}
    for r in rows:
        got[r["intent"]] = got.get(r["intent"], 0) + 1
    assert got == want


def test_eval_report(run_cli) -> None:
    proc = run_cli("eval", str(DEV))
    assert proc.returncode == 0, proc.stderr
    n = len(read_jsonl(DEV))
    assert f"lines: {n}" in proc.stdout
    for label in ("in-scope top-1 accuracy", "out-of-scope rejection", "crisis recall"):
        assert label in proc.stdout


def _predictions(run_cli) -> dict[str, str]:
    """What `classify` says for every dev line (the same content the eval run sees)."""
    texts = [it.text for it in read_jsonl(DEV)]
    proc = run_cli("classify", stdin="\n".join(texts) + "\n")
    assert proc.returncode == 0, proc.stderr
    return {r["text"]: r["intent"] for r in _json_lines(proc.stdout)}


def test_eval_json_agrees_with_classify(run_cli) -> None:
    proc = run_cli("eval", "tests/data/public_dev.jsonl", "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    predicted = _predictions(run_cli)
    want = metrics(read_jsonl(DEV), predicted.__getitem__)
    for key in ("lines", "in_scope_accuracy", "out_of_scope_rejection", "crisis_recall"):
        assert got[key] == want[key], key
    assert isinstance(got["seconds"], float)


def test_eval_errors_lists_wrong_lines(run_cli) -> None:
    proc = run_cli("eval", str(DEV), "--errors")
    assert proc.returncode == 0, proc.stderr
    predicted = _predictions(run_cli)
    wrong = {
        f"  [{it.intent} -> {predicted[it.text]}] {it.text}"
        for it in read_jsonl(DEV)
        if predicted[it.text] != it.intent
    }
    assert "\nerrors:\n" in proc.stdout
    listed = proc.stdout.split("\nerrors:\n", 1)[1].splitlines()
    assert set(listed) == wrong


def test_eval_missing_file(run_cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    proc = run_cli("eval", str(missing))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert str(missing) in proc.stderr


def test_eval_malformed_file(run_cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "intent": "greeting"}\nnot json\n', encoding="utf-8")
    proc = run_cli("eval", str(bad))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert ":2:" in proc.stderr


def test_validate(run_cli) -> None:
    proc = run_cli("validate")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("content OK")


def _titles() -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted((REPO / "responses").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("responses"), dict):
            out.update({k: v["title"] for k, v in data["responses"].items()})
    return out


def test_chat_piped_question(run_cli) -> None:
    """The welcome, then the answer about signs, then a clean exit at end of input."""
    proc = run_cli("chat", stdin="what are the signs\n")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    titles = _titles()
    welcome, answer = f"== {titles['greeting']} ==", f"== {titles['indicators']} =="
    assert proc.stdout.startswith(welcome)
    assert answer in proc.stdout, proc.stdout[-800:]


def test_chat_number_presses_a_button_and_link_prints_address(run_cli, engine) -> None:
    from bot.dialogue import Command, State

    welcome = engine.handle(State(), Command("start")).replies[0]
    flat = [b for row in welcome.buttons for b in row]
    n = next(i for i, b in enumerate(flat, 1) if b.data == "x:links")
    links = engine.handle(State(), Command("links")).replies[0]
    flat_links = [b for row in links.buttons for b in row]
    m = next(i for i, b in enumerate(flat_links, 1) if b.url)
    proc = run_cli("chat", stdin=f"{n}\n{m}\n/quit\nnot read\n")
    assert proc.returncode == 0, proc.stderr
    assert f"== {links.title} ==" in proc.stdout
    assert f"Open: {flat_links[m - 1].url}" in proc.stdout


def test_run_without_token_falls_back_to_chat(run_cli) -> None:
    proc = run_cli("run", stdin="")
    assert proc.returncode == 0, proc.stderr
    assert "TELEGRAM_BOT_TOKEN" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tune_prints_thresholds_from_held_out_examples(run_cli) -> None:
    proc = run_cli("tune", "--folds", "1")
    assert proc.returncode == 0, proc.stderr
    values = dict(re.findall(r"^\s+(high|low|scale): ([\d.]+)$", proc.stdout, re.MULTILINE))
    assert set(values) == {"high", "low", "scale"}, proc.stdout
    assert 0 <= float(values["low"]) <= float(values["high"]) <= 100
    accuracy = re.search(
        r"in-scope accuracy ([\d.]+), out-of-scope rejection ([\d.]+)", proc.stdout
    )
    assert accuracy and 0.5 < float(accuracy[1]) <= 1 and 0.5 < float(accuracy[2]) <= 1


def test_train_caches_the_model(run_cli, cli_env) -> None:
    proc = run_cli("train")
    assert proc.returncode == 0, proc.stderr
    assert "nearest examples ready" in proc.stdout and cli_env["GUIDANCE_CACHE_DIR"] in proc.stdout
    for kind in ("model", "risk", "nearest"):
        assert list(Path(cli_env["GUIDANCE_CACHE_DIR"]).glob(f"{kind}-*.json")), kind


def test_classify_explain_says_why(run_cli) -> None:
    text = "teacher here, y10 lad being sextroted on snap, he says he wants to end it"
    proc = run_cli("classify", "--explain", text)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    parts = ("normalised:", "typo mends: sextroted -> sextortion", "crisis: crisis",
             "layers: patterns", "top intents:", "band", "facts: role=school_staff")  # fmt: skip
    for part in parts:
        assert part in out, (part, out)


def test_stats_prints_tables_and_writes_the_report(run_cli, tmp_path) -> None:
    from bot.channels.counts import DailyCounts

    counts = DailyCounts(tmp_path)
    counts.add([("answer", "what_is_it|answer"), ("guide_start", "contact"), ("route", "ceop")])
    counts.close()
    page = tmp_path / "report.html"
    proc = run_cli("stats", "--data-dir", str(tmp_path), "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    assert "answers shown: 1" in proc.stdout and "ceop" in proc.stdout
    assert page.read_text(encoding="utf-8").count("<svg") >= 7
    missing = run_cli("stats", "--data-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "no counts yet" in missing.stderr
