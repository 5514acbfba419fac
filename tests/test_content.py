"""Content validation: the real content loads, and each kind of broken content is reported
with the file (relative to the content root), the line and a message that says what to fix.

Every broken tree is a copy of the real intents/, responses/ and flows/ plus a few small
fixture files (tests/fixtures/content/) that load cleanly on their own; each case then breaks
exactly ONE thing and the expected line is found from the broken text itself.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.content import ContentError, load
from bot.content.text import render_node_text, render_response

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "content"
TELEGRAM_LIMIT = 4096

# Paths of the fixture files inside a content tree.
INTENTS = "intents/what_is_it.yaml"  # replaces the real file
RESPONSES = "responses/zz_fixture.yaml"
ROUTES = "responses/zz_fixture_routes.yaml"
FLOWS = "flows/zz_fixture.yaml"
FIXTURE_FILES = {
    INTENTS: "intents.yaml",
    RESPONSES: "responses.yaml",
    ROUTES: "routes.yaml",
    FLOWS: "flow.yaml",
}
FIXTURE_RESPONSE = "thanks"  # the fixture file defines this response instead of the real one


# ---------------------------------------------------------------- building trees


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def remove_entry(root: Path, folder: str, top_key: str, entry: str) -> list[str]:
    """Delete one entry (an intent, response...) from every real file that defines it."""
    changed = []
    for path in _yaml_files(root / folder):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and entry in (data.get(top_key) or {}):
            del data[top_key][entry]
            path.write_text(
                yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000),
                encoding="utf-8",
            )
            changed.append(str(path.relative_to(root)))
    assert changed, f"no file in {folder}/ defines {top_key} '{entry}'"
    return changed


def build_tree(root: Path) -> Path:
    """The real content plus the fixture files (which load cleanly)."""
    for d in ("intents", "responses", "flows"):
        shutil.copytree(REPO / d, root / d)
    remove_entry(root, "responses", "responses", FIXTURE_RESPONSE)
    for rel, name in FIXTURE_FILES.items():
        shutil.copyfile(FIXTURES / name, root / rel)
    return root


def edit(root: Path, rel: str, old: str, new: str) -> None:
    """Replace `old` (which must occur exactly once) by `new` in one file of the tree."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_with(root: Path, rel: str, marker: str, nth: int = 1) -> int:
    """1-based number of the nth line of `rel` containing `marker`."""
    hits = [
        n
        for n, line in enumerate((root / rel).read_text(encoding="utf-8").splitlines(), 1)
        if marker in line
    ]
    assert len(hits) >= nth, f"{marker!r} is not on {nth} line(s) of {rel}"
    return hits[nth - 1]


def block_lines(root: Path, rel: str, key_marker: str) -> range:
    """The lines of the YAML block that starts at the line containing `key_marker`."""
    lines = (root / rel).read_text(encoding="utf-8").splitlines()
    start = line_with(root, rel, key_marker)
    indent = len(lines[start - 1]) - len(lines[start - 1].lstrip())
    end = start
    for n in range(start + 1, len(lines) + 1):
        text = lines[n - 1]
        if text.strip() and len(text) - len(text.lstrip()) <= indent:
            break
        end = n
    return range(start, end + 1)


def problems_of(root: Path) -> list:
    with pytest.raises(ContentError) as info:
        load(root)
    problems = info.value.problems
    assert problems, "ContentError raised with no problems"
    return problems


def _show(problems: list) -> str:
    return "\n".join(str(p) for p in problems)


# ---------------------------------------------------------------- the real content


def test_real_content_validates(content) -> None:
    assert content.responses and content.intents and content.flows and content.routes


def test_fixture_tree_is_valid(tmp_path: Path) -> None:
    """The baseline the broken cases start from must itself load (else they prove nothing)."""
    c = load(build_tree(tmp_path))
    assert "zz_fixture" in c.flows
    assert "zz_route" in c.routes
    fixture = yaml.safe_load((FIXTURES / "responses.yaml").read_text(encoding="utf-8"))
    assert c.responses[FIXTURE_RESPONSE].title == fixture["responses"][FIXTURE_RESPONSE]["title"]


def test_every_response_renders_within_telegram_limit(content) -> None:
    for resp in content.responses.values():
        size = len(render_response(content, resp))
        assert size <= TELEGRAM_LIMIT, f"response {resp.id} renders to {size} characters"
    for flow in content.flows.values():
        for node in flow.nodes.values():
            size = len(render_node_text(content, node, None))
            assert size <= TELEGRAM_LIMIT, f"{flow.id}/{node.id} renders to {size} characters"


def _raw(folder: str, top_key: str) -> dict:
    out: dict = {}
    for path in _yaml_files(REPO / folder):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get(top_key), dict):
            out.update(data[top_key])
    return out


def test_every_route_url_is_https() -> None:
    routes = _raw("responses", "routes")
    assert routes, "no routes found in responses/"
    urls = {rid: r["url"] for rid, r in routes.items() if r.get("url")}
    assert urls, "no route has a url"
    for rid, url in urls.items():
        assert str(url).startswith("https://"), f"route {rid}: {url}"


def _all_texts() -> list[tuple[str, str]]:
    """(where, text) for every response text and every flow node / section text."""
    out = [
        (f"response {rid}", r.get("text") or "")
        for rid, r in _raw("responses", "responses").items()
    ]
    for fid, flow in _raw("flows", "flows").items():
        for nid, node in (flow.get("nodes") or {}).items():
            out.append((f"flow {fid}/{nid}", node.get("text") or ""))
            for i, section in enumerate(node.get("sections") or []):
                out.append((f"flow {fid}/{nid} section {i}", section.get("text") or ""))
    return out


URLISH = re.compile(r"https?://|\bwww\.|\b[\w-]+\.(?:org|com|uk|net|gov|police)\b|@[\w-]+\.")
PHONEISH = re.compile(r"\b0\d{2,4} ?\d{3} ?\d{3,4}\b|\b999\b|\b101\b|\b111\b|\b116 ?123\b")


def test_no_text_writes_a_phone_number_or_url() -> None:
    """Numbers and links live in routes.yaml; texts insert them with {route_id}."""
    routes = _raw("responses", "routes")
    phones = {" ".join(str(r["phone"]).split()) for r in routes.values() if r.get("phone")}
    texts = _all_texts()
    assert len(texts) > 30
    for where, text in texts:
        bare = re.sub(r"\{[a-z0-9_]+\}", "", text)
        flat = " ".join(bare.split())
        assert not URLISH.search(bare), f"{where} writes a web address: {URLISH.search(bare)}"
        assert not PHONEISH.search(bare), f"{where} writes a number: {PHONEISH.search(bare)}"
        for phone in phones:
            assert not re.search(rf"(?<!\d){re.escape(phone)}(?!\d)", flat), (
                f"{where} writes the phone number {phone}"
            )


# ---------------------------------------------------------------- broken content


@dataclass(frozen=True)
class Case:
    id: str
    file: str  # the file the problem must name (relative to the content root)
    breaks: Callable[[Path], None]
    words: tuple[str, ...]  # all must appear in the message (case-insensitive)
    line: Callable[[Path], int | range]  # the line (or block) the problem must point at


def replace_in(rel: str, old: str, new: str) -> Callable[[Path], None]:
    return lambda root: edit(root, rel, old, new)


def at_line(rel: str, marker: str, nth: int = 1) -> Callable[[Path], int]:
    return lambda root: line_with(root, rel, marker, nth)


def _block(rel: str, marker: str) -> Callable[[Path], range]:
    return lambda root: block_lines(root, rel, marker)


def _real_example_of_another_intent(root: Path) -> None:
    """Put a real example of another intent under `what_is_it` in the fixture file."""
    data = yaml.safe_load((REPO / "intents" / "report_concern.yaml").read_text(encoding="utf-8"))
    for iid, body in data["intents"].items():
        if iid != "what_is_it" and body.get("examples"):
            example = body["examples"][0]
            break
    else:
        raise AssertionError("no example found in intents/report_concern.yaml")
    edit(root, INTENTS, "      - zq fixture example two\n", f"      - {json.dumps(example)}\n")


def _non_utf8(root: Path) -> None:
    (root / INTENTS).write_bytes(
        b"intents:\n  what_is_it:\n    examples:\n      - zq caf\xe9 fixture example\n"
    )


def _delete_fixture_response(root: Path) -> None:
    (root / RESPONSES).unlink()


def _delete_real_intent(root: Path) -> None:
    remove_entry(root, "intents", "intents", FIXTURE_RESPONSE)


LONG_TEXT = "Glad to help. " + "This sentence only makes the message too long. " * 95


CASES = [
    # --- YAML syntax and file shape
    Case(
        "bad-indentation",
        INTENTS,
        replace_in(INTENTS, "      - zq fixture example two\n", "    - zq fixture example two\n"),
        ("yaml",),
        at_line(INTENTS, "    - zq fixture example two"),
    ),
    Case(
        "mapping-in-scalar",
        INTENTS,
        replace_in(INTENTS, "description: Fixture intent", "description: Fixture: intent: x"),
        ("yaml",),
        at_line(INTENTS, "description: Fixture: intent"),
    ),
    Case(
        "tab-indentation",
        INTENTS,
        replace_in(INTENTS, "      - zq fixture example two\n", "\t- zq fixture example two\n"),
        ("yaml",),
        at_line(INTENTS, "\t- zq fixture example two"),
    ),
    Case(
        "two-top-level-keys",
        INTENTS,
        lambda root: (root / INTENTS).write_text(
            (root / INTENTS).read_text(encoding="utf-8") + "responses: {}\n", encoding="utf-8"
        ),
        ("one top-level key",),
        lambda root: range(1, line_with(root, INTENTS, "responses: {}") + 1),
    ),
    Case(
        "unknown-top-level-key",
        INTENTS,
        replace_in(INTENTS, "intents:\n", "intnets:\n"),
        ("unknown top-level key", "intnets"),
        at_line(INTENTS, "intnets:"),
    ),
    Case("non-utf8", INTENTS, _non_utf8, ("utf-8",), lambda root: range(1, 5)),
    # --- intents
    Case(
        "examples-as-string",
        INTENTS,
        replace_in(
            INTENTS,
            "    examples:\n      - zq fixture example one\n      - zq fixture example two\n",
            "    examples: zq fixture example one\n",
        ),
        ("what_is_it", "examples"),
        at_line(INTENTS, "examples: zq"),
    ),
    Case(
        "examples-as-number",
        INTENTS,
        replace_in(
            INTENTS,
            "    examples:\n      - zq fixture example one\n      - zq fixture example two\n",
            "    examples: 42\n",
        ),
        ("what_is_it", "examples"),
        at_line(INTENTS, "examples: 42"),
    ),
    Case(
        "unknown-intent-id",
        INTENTS,
        replace_in(INTENTS, "  what_is_it:\n", "  what_is_itt:\n"),
        ("unknown intent", "what_is_itt", "catalogue"),
        at_line(INTENTS, "what_is_itt:"),
    ),
    Case(
        "empty-example",
        INTENTS,
        replace_in(
            INTENTS,
            "      - zq fixture example two\n",
            '      - zq fixture example two\n      - ""\n',
        ),
        ("what_is_it", "empty"),
        at_line(INTENTS, '- ""'),
    ),
    Case(
        "duplicate-example-in-fixture",
        INTENTS,
        replace_in(
            INTENTS,
            "      - zq fixture example three\n",
            "      - zq fixture example three\n      - zq fixture example one\n",
        ),
        ("zq fixture example one", "appears twice"),
        at_line(INTENTS, "zq fixture example one", nth=2),
    ),
    Case(
        "intent-in-another-intents-file",
        INTENTS,
        replace_in(
            INTENTS,
            "    description: Fixture intent\n",
            "    description: Fixture intent\n  terminology:\n    examples:\n"
            "      - zq fixture example four\n",
        ),
        ("terminology", "what_is_it.yaml", "intents/terminology.yaml"),
        at_line(INTENTS, "    examples:", nth=2),
    ),
    Case(
        "duplicate-of-real-example",
        INTENTS,
        _real_example_of_another_intent,
        ("also under intent",),
        lambda root: line_with(root, INTENTS, "zq fixture example one") + 1,
    ),
    Case(
        "unknown-key-in-intent",
        INTENTS,
        replace_in(INTENTS, "    description: Fixture", "    descripton: Fixture"),
        ("unknown key", "descripton"),
        at_line(INTENTS, "descripton:"),
    ),
    # --- responses
    Case(
        "unknown-key-txet",
        RESPONSES,
        replace_in(RESPONSES, "    text: |", "    txet: |"),
        ("unknown key", "txet", "text"),
        at_line(RESPONSES, "txet:"),
    ),
    Case(
        "title-too-long",
        RESPONSES,
        replace_in(
            RESPONSES,
            "    title: You're welcome",
            "    title: You're very welcome, and thank you for asking me about this",
        ),
        ("title", "40"),
        at_line(RESPONSES, "title:"),
    ),
    Case(
        "route-not-defined-in-response",
        RESPONSES,
        replace_in(RESPONSES, "routes: [zz_route]", "routes: [zz_route, zz_nowhere]"),
        ("zz_nowhere", "not defined"),
        at_line(RESPONSES, "routes:"),
    ),
    Case(
        "placeholder-not-defined-in-response",
        RESPONSES,
        replace_in(RESPONSES, "call {zz_route}", "call {zz_nowhere}"),
        ("zz_nowhere",),
        _block(RESPONSES, "text:"),
    ),
    Case(
        "phone-number-in-text",
        RESPONSES,
        replace_in(RESPONSES, "Glad to help.", "Glad to help. Or ring 0800 123 4567."),
        ("phone number", "routes"),
        _block(RESPONSES, "text:"),
    ),
    Case(
        "url-in-text",
        RESPONSES,
        replace_in(RESPONSES, "Glad to help.", "Glad to help. See https://example.org/more."),
        ("web", "routes"),
        _block(RESPONSES, "text:"),
    ),
    Case(
        "www-in-text",
        RESPONSES,
        replace_in(RESPONSES, "Glad to help.", "Glad to help. See www.example.org for more."),
        ("web", "routes"),
        _block(RESPONSES, "text:"),
    ),
    Case(
        "response-for-unknown-intent",
        RESPONSES,
        replace_in(RESPONSES, "  thanks:\n", "  thankz:\n"),
        ("unknown intent", "thankz"),
        at_line(RESPONSES, "thankz:"),
    ),
    # --- routes
    Case(
        "non-https-url",
        ROUTES,
        replace_in(ROUTES, "url: https://example.org/help", "url: http://example.org/help"),
        ("zz_route", "https://"),
        at_line(ROUTES, "url:"),
    ),
    Case(
        "malformed-url",
        ROUTES,
        replace_in(ROUTES, "url: https://example.org/help", "url: https://example org/help"),
        ("zz_route", "https://"),
        at_line(ROUTES, "url:"),
    ),
    Case(
        "url-without-scheme",
        ROUTES,
        replace_in(ROUTES, "url: https://example.org/help", "url: example.org/help"),
        ("zz_route", "https://"),
        at_line(ROUTES, "url:"),
    ),
    # --- flows: nodes
    Case(
        "route-not-defined-in-flow",
        FLOWS,
        replace_in(FLOWS, "routes: [zz_route]  # result_a", "routes: [zz_nowhere]  # result_a"),
        ("zz_nowhere", "not defined"),
        _block(FLOWS, "result_a:"),
    ),
    Case(
        "phone-number-in-flow-text",
        FLOWS,
        replace_in(FLOWS, "text: Is this a test?", "text: Is this a test? Ring 0800 123 4567."),
        ("phone number",),
        _block(FLOWS, "ask:"),
    ),
    Case(
        "checklist-without-options",
        FLOWS,
        replace_in(
            FLOWS,
            "        options:\n"
            "          - {id: opt_a, label: Option A}\n"
            "          - {id: opt_b, label: Option B}\n",
            "        options: []\n",
        ),
        ("checklist", "options"),
        _block(FLOWS, "tick:"),
    ),
    Case(
        "unknown-node-type",
        FLOWS,
        replace_in(FLOWS, "type: question", "type: questoin"),
        ("questoin", "question", "checklist", "branch", "result"),
        at_line(FLOWS, "type: questoin"),
    ),
    Case(
        "unknown-key-in-node",
        FLOWS,
        replace_in(FLOWS, "        done: decide", "        dnoe: decide"),
        ("unknown key", "dnoe"),
        at_line(FLOWS, "dnoe:"),
    ),
    # --- flows: the graph (reported somewhere inside the flow)
    Case(
        "goto-missing-node",
        FLOWS,
        replace_in(FLOWS, '{label: "No", goto: tick}', '{label: "No", goto: nowhere}'),
        ("nowhere", "ask"),
        _block(FLOWS, "zz_fixture:"),
    ),
    Case(
        "unreachable-node",
        FLOWS,
        lambda root: (root / FLOWS).write_text(
            (root / FLOWS).read_text(encoding="utf-8")
            + "      orphan:\n        type: result\n        text: Nobody gets here.\n"
            "        source: Test source\n",
            encoding="utf-8",
        ),
        ("orphan", "reached"),
        _block(FLOWS, "zz_fixture:"),
    ),
    Case(
        "loop",
        FLOWS,
        replace_in(FLOWS, '{label: "No", goto: tick}', '{label: "No", goto: ask}'),
        ("loop", "ask"),
        _block(FLOWS, "zz_fixture:"),
    ),
    Case(
        "flag-tested-never-set",
        FLOWS,
        replace_in(FLOWS, "if_any: [yes_flag, opt_a]", "if_any: [yes_flag, opt_zz]"),
        ("opt_zz",),
        _block(FLOWS, "zz_fixture:"),
    ),
    Case(
        "section-flag-never-set",
        FLOWS,
        replace_in(FLOWS, "when_any: [opt_b]", "when_any: [opt_bb]"),
        ("opt_bb",),
        _block(FLOWS, "zz_fixture:"),
    ),
    # --- rendered length (checked once everything else is clean)
    Case(
        "message-too-long",
        "responses",
        replace_in(RESPONSES, "Glad to help.", LONG_TEXT),
        ("thanks", "4096"),
        lambda root: range(1, 10**6),  # the exact place is checked by a test below
    ),
    # --- cross-file: something missing altogether
    Case(
        "intent-with-no-response",
        "responses",
        _delete_fixture_response,
        ("thanks", "no response"),
        lambda root: range(1, 10**6),
    ),
    Case(
        "missing-in-scope-intent",
        "intents",
        _delete_real_intent,
        ("thanks", "no examples"),
        lambda root: range(1, 10**6),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_content_is_reported(case: Case, tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    case.breaks(root)
    problems = problems_of(root)
    expected = case.line(root)
    lines = expected if isinstance(expected, range) else range(expected, expected + 1)
    hits = [
        p
        for p in problems
        if p.file.startswith(case.file) and all(w.lower() in p.message.lower() for w in case.words)
    ]
    assert hits, f"no problem in {case.file} mentioning {case.words}:\n{_show(problems)}"
    assert any(p.line in lines for p in hits), (
        f"expected line {expected} in {case.file}, got:\n{_show(hits)}"
    )
    for p in hits:
        assert not Path(p.file).is_absolute(), f"absolute path in {p}"
        assert len(p.message) > 20, f"message too short to be useful: {p}"


def test_every_problem_is_listed_not_just_the_first(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    edit(root, RESPONSES, "    text: |", "    txet: |")
    edit(root, ROUTES, "url: https://example.org/help", "url: http://example.org/help")
    edit(root, FLOWS, '{label: "No", goto: tick}', '{label: "No", goto: nowhere}')
    files = {p.file for p in problems_of(root)}
    assert {RESPONSES, ROUTES, FLOWS} <= files


def test_syntax_error_does_not_hide_other_files(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    edit(root, INTENTS, "      - zq fixture example two\n", "    - zq fixture example two\n")
    edit(root, RESPONSES, "    text: |", "    txet: |")
    files = {p.file for p in problems_of(root)}
    assert {INTENTS, RESPONSES} <= files


# Known imprecisions: the message is right but the line is not where the problem is.


def test_bad_goto_points_at_its_node(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    edit(root, FLOWS, '{label: "No", goto: tick}', '{label: "No", goto: nowhere}')
    hits = [p for p in problems_of(root) if "nowhere" in p.message]
    assert hits
    assert any(p.line in block_lines(root, FLOWS, "ask:") for p in hits), _show(hits)


def test_message_too_long_points_at_its_file(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    edit(root, RESPONSES, "Glad to help.", LONG_TEXT)
    hits = [p for p in problems_of(root) if "4096" in p.message]
    assert hits
    assert any(
        p.file == RESPONSES and p.line in block_lines(root, RESPONSES, "thanks:") for p in hits
    ), _show(hits)


# ---------------------------------------------------------------- `guidance-bot validate`

LOCATED = re.compile(r"^(?P<file>[\w./-]+\.ya?ml|intents|responses|flows):(?P<line>\d+): \S")


def test_validate_cli_lists_problems_and_exits_1(tmp_path: Path, run_cli) -> None:
    root = build_tree(tmp_path)
    edit(root, RESPONSES, "    text: |", "    txet: |")
    edit(root, INTENTS, "  what_is_it:\n", "  what_is_itt:\n")
    edit(root, FLOWS, '{label: "No", goto: tick}', '{label: "No", goto: nowhere}')
    proc = run_cli("--content", str(root), "validate")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    located = [line for line in lines if LOCATED.match(line)]
    others = [line for line in lines if not LOCATED.match(line)]
    assert len(others) == 1 and "problem" in others[0], others  # one summary line
    assert str(len(located)) in others[0]
    files = {LOCATED.match(line)["file"] for line in located}
    assert {RESPONSES, INTENTS, FLOWS} <= files
    txet = [line for line in located if "txet" in line]
    assert txet and txet[0].startswith(f"{RESPONSES}:{line_with(root, RESPONSES, 'txet:')}:")
    assert "content OK" not in out


def test_validate_cli_accepts_content_after_subcommand(tmp_path: Path, run_cli) -> None:
    root = build_tree(tmp_path)
    edit(root, RESPONSES, "    text: |", "    txet: |")
    proc = run_cli("validate", "--content", str(root))
    assert proc.returncode == 1 and "txet" in proc.stderr, proc.stderr


def test_validate_cli_ok_on_real_content(run_cli) -> None:
    proc = run_cli("validate")
    assert proc.returncode == 0, proc.stderr
    assert "content OK" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_validate_cli_on_fixture_tree_ok(tmp_path: Path, run_cli) -> None:
    proc = run_cli("--content", str(build_tree(tmp_path)), "validate")
    assert proc.returncode == 0, proc.stderr
    assert "content OK" in proc.stdout
