"""Broken content: each kind of mistake is reported with the file (relative to the content
root), the line and a message that says what is wrong and how to fix it.

Every broken tree is a copy of the real intents/, responses/ and flows/ plus a few small
fixture files (tests/fixtures/content/) that load cleanly on their own; each case then breaks
exactly ONE thing and the expected line is found from the broken text itself.

There is one table, `CASES`. Every case runs in-process through `load()`; the cases named in
`THROUGH_CLI` (one of each kind) also run through `guidance-bot validate` in a subprocess,
which must exit 1 without a traceback and print every problem as `file:line: ...`. A
type-confusion sweep then puts a wrong type in every value of a small content tree.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.content import ContentError, load
from tests.support import FIXTURES, REPO

# Paths of the fixture files inside a content tree.
INTENTS = "intents/what_is_it.yaml"  # replaces the real file
RESPONSES = "responses/zz_fixture.yaml"
ROUTES = "responses/zz_fixture_routes.yaml"
FLOWS = "flows/zz_fixture.yaml"
MENU, LINKS = "responses/menu.yaml", "responses/links.yaml"
FIXTURE_FILES = {
    INTENTS: "intents.yaml",
    RESPONSES: "responses.yaml",
    ROUTES: "routes.yaml",
    FLOWS: "flow.yaml",
}
FIXTURE_RESPONSE = "thanks"  # the fixture file defines this response instead of the real one

# Every problem, in-process (str(problem)) and on validate's stderr, looks like this.
LOCATED = re.compile(r"^(?P<file>[\w./-]+\.ya?ml|intents|responses|flows):(?P<line>\d+): \S")


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


def test_fixture_tree_is_valid(tmp_path: Path) -> None:
    """The baseline the broken cases start from must itself load (else they prove nothing)."""
    c = load(build_tree(tmp_path))
    assert "zz_fixture" in c.flows
    assert "zz_route" in c.routes
    fixture = yaml.safe_load((FIXTURES / "responses.yaml").read_text(encoding="utf-8"))
    assert c.responses[FIXTURE_RESPONSE].title == fixture["responses"][FIXTURE_RESPONSE]["title"]


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    id: str
    file: str  # the file the problem must name (relative to the content root)
    breaks: Callable[[Path], None]
    words: tuple[str, ...]  # all in one message (case-insensitive): what is wrong and the fix
    line: Callable[[Path], int | range]  # the exact line, or the block it must fall in


def replace_in(rel: str, old: str, new: str) -> Callable[[Path], None]:
    return lambda root: edit(root, rel, old, new)


def append_to(rel: str, text: str) -> Callable[[Path], None]:
    def append(root: Path) -> None:
        path = root / rel
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    return append


def write(rel: str, data: bytes) -> Callable[[Path], None]:
    return lambda root: (root / rel).write_bytes(data)


def at_line(rel: str, marker: str, nth: int = 1) -> Callable[[Path], int]:
    return lambda root: line_with(root, rel, marker, nth)


def in_block(rel: str, marker: str) -> Callable[[Path], range]:
    return lambda root: block_lines(root, rel, marker)


def line_one(root: Path) -> int:
    return 1


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


def _delete_fixture_response(root: Path) -> None:
    (root / RESPONSES).unlink()


def _delete_real_intent(root: Path) -> None:
    remove_entry(root, "intents", "intents", FIXTURE_RESPONSE)


LONG_TEXT = "Glad to help. " + "This sentence only makes the message too long. " * 95
EXAMPLES = "    examples:\n      - zq fixture example one\n      - zq fixture example two\n"
ASK_BUTTONS = (
    "        buttons:\n"
    '          - {label: "Yes", goto: tick, set: yes_flag}\n'
    '          - {label: "No", goto: tick}\n'
)
OPTIONS = "          - {id: opt_a, label: Option A}\n          - {id: opt_b, label: Option B}\n"
TWO = "      - zq fixture example two\n"


CASES = [
    # --- YAML syntax, encoding and file shape
    Case(
        "bad-indentation",
        INTENTS,
        replace_in(INTENTS, TWO, "    - zq fixture example two\n"),
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
        replace_in(INTENTS, TWO, "\t- zq fixture example two\n"),
        ("yaml", "fix"),
        at_line(INTENTS, "\t- zq fixture example two"),
    ),
    Case(
        "unclosed-quote",
        INTENTS,
        replace_in(INTENTS, TWO, '      - "zq fixture example two\n'),
        ("yaml", "fix"),
        at_line(INTENTS, '- "zq'),
    ),
    Case(
        "nul-byte",
        INTENTS,
        write(INTENTS, b"intents:\n  what_is_it:\x00\n"),
        ("yaml",),
        at_line(INTENTS, "what_is_it:"),
    ),
    Case(
        "two-top-level-keys",
        INTENTS,
        append_to(INTENTS, "responses: {}\n"),
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
    Case("empty-file", INTENTS, write(INTENTS, b""), ("one top-level key",), line_one),
    Case(
        "file-is-a-list",
        INTENTS,
        write(INTENTS, b"- what_is_it\n- examples\n"),
        ("one top-level key",),
        line_one,
    ),
    Case(
        "non-utf8",
        INTENTS,
        write(INTENTS, b"intents:\n  what_is_it:\n    examples:\n      - zq caf\xe9 example\n"),
        ("utf-8",),
        lambda root: range(1, 5),
    ),
    Case("binary-file", INTENTS, write(INTENTS, bytes(range(256)) * 4), ("utf-8",), line_one),
    Case(
        "duplicate-key",
        RESPONSES,
        replace_in(
            RESPONSES,
            "    source: About this bot\n",
            "    source: About this bot\n    title: A second title\n",
        ),
        ("title", "twice"),
        at_line(RESPONSES, "title: A second title"),
    ),
    # --- intents
    Case(
        "examples-as-string",
        INTENTS,
        replace_in(INTENTS, EXAMPLES, "    examples: zq fixture example one\n"),
        ("what_is_it", "examples"),
        at_line(INTENTS, "examples: zq"),
    ),
    Case(
        "examples-as-number",
        INTENTS,
        replace_in(INTENTS, EXAMPLES, "    examples: 42\n"),
        ("what_is_it", "examples", "add"),
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
        replace_in(INTENTS, TWO, f'{TWO}      - ""\n'),
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
        "routes-a-string",
        RESPONSES,
        replace_in(RESPONSES, "routes: [zz_route]", 'routes: "x"'),
        ("route 'x'", "not defined", "fix the name"),
        at_line(RESPONSES, 'routes: "x"'),
    ),
    Case(
        "placeholder-not-defined-in-response",
        RESPONSES,
        replace_in(RESPONSES, "call {zz_route}", "call {zz_nowhere}"),
        ("zz_nowhere",),
        in_block(RESPONSES, "text:"),
    ),
    Case(
        "phone-number-in-text",
        RESPONSES,
        replace_in(RESPONSES, "Glad to help.", "Glad to help. Or ring 0800 123 4567."),
        ("phone number", "routes"),
        in_block(RESPONSES, "text:"),
    ),
    Case(
        "https-url-in-text",
        RESPONSES,
        replace_in(RESPONSES, "Glad to help.", "Glad to help. See https://example.org/more."),
        ("web", "routes"),
        in_block(RESPONSES, "text:"),
    ),
    Case(
        "http-url-in-text",
        RESPONSES,
        replace_in(RESPONSES, "Glad to help.", "Glad to help. See http://example.org."),
        ("web", "routes.yaml"),
        in_block(RESPONSES, "text:"),
    ),
    Case(
        "www-in-text",
        RESPONSES,
        replace_in(RESPONSES, "Glad to help.", "Glad to help. See www.example.org for more."),
        ("web", "routes"),
        in_block(RESPONSES, "text:"),
    ),
    Case(
        "response-for-unknown-intent",
        RESPONSES,
        replace_in(RESPONSES, "  thanks:\n", "  thankz:\n"),
        ("unknown intent", "thankz"),
        at_line(RESPONSES, "thankz:"),
    ),
    Case(
        "response-starts-missing-flow",
        RESPONSES,
        replace_in(
            RESPONSES, "    routes: [zz_route]\n", "    routes: [zz_route]\n    flow: nope\n"
        ),
        ("flow 'nope'", "does not exist"),
        at_line(RESPONSES, "flow: nope"),
    ),
    # --- routes
    Case(
        "non-https-url",
        ROUTES,
        replace_in(ROUTES, "url: https://example.org/help", "url: http://example.org/help"),
        ("zz_route", "http://example.org/help", "https://"),
        at_line(ROUTES, "url: http:"),
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
    # --- menu and quick links
    Case(
        "menu-entry-a-list",
        MENU,
        write(MENU, b"menu:\n  - flow: [contact]\n"),
        ("menu",),
        at_line(MENU, "- flow: [contact]"),
    ),
    Case("menu-not-a-list", MENU, write(MENU, b"menu: 5\n"), ("menu", "list"), line_one),
    Case("links-not-a-list", LINKS, write(LINKS, b"links: 5\n"), ("links", "list"), line_one),
    Case(
        "quick-link-a-list",
        LINKS,
        write(LINKS, b"links: [[emergency]]\n"),
        ("quick link",),
        line_one,
    ),
    # --- flows: nodes
    Case(
        "route-not-defined-in-flow",
        FLOWS,
        replace_in(FLOWS, "routes: [zz_route]  # result_a", "routes: [zz_nowhere]  # result_a"),
        ("zz_nowhere", "not defined"),
        in_block(FLOWS, "result_a:"),
    ),
    Case(
        "phone-number-in-flow-text",
        FLOWS,
        replace_in(FLOWS, "text: Is this a test?", "text: Is this a test? Ring 0800 123 4567."),
        ("phone number",),
        in_block(FLOWS, "ask:"),
    ),
    Case(
        "buttons-a-string",
        FLOWS,
        replace_in(FLOWS, ASK_BUTTONS, "        buttons: Yes or No\n"),
        ("button", "key: value"),
        at_line(FLOWS, "buttons: Yes or No"),
    ),
    Case(
        "buttons-a-mapping",
        FLOWS,
        replace_in(FLOWS, ASK_BUTTONS, "        buttons: {label: Yes, goto: tick}\n"),
        ("button", "key: value"),
        at_line(FLOWS, "buttons: {label"),
    ),
    Case(
        "buttons-a-number",
        FLOWS,
        replace_in(FLOWS, ASK_BUTTONS, "        buttons: 5\n"),
        ("button", "key: value"),
        at_line(FLOWS, "buttons: 5"),
    ),
    Case(
        "checklist-without-options",
        FLOWS,
        replace_in(FLOWS, f"        options:\n{OPTIONS}", "        options: []\n"),
        ("checklist", "options"),
        in_block(FLOWS, "tick:"),
    ),
    Case(
        "options-a-number",
        FLOWS,
        replace_in(FLOWS, OPTIONS, "          5\n"),
        ("option", "key: value"),
        at_line(FLOWS, "options:"),
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
    # --- flows: the graph
    Case(
        "goto-missing-node",
        FLOWS,
        replace_in(FLOWS, '{label: "No", goto: tick}', '{label: "No", goto: nowhere}'),
        ("nowhere", "ask", "does not exist", "fix the name"),
        in_block(FLOWS, "ask:"),
    ),
    Case(
        "unreachable-node",
        FLOWS,
        append_to(
            FLOWS,
            "      orphan:\n        type: result\n        text: Nobody gets here.\n"
            "        source: Test source\n",
        ),
        ("orphan", "reached"),
        in_block(FLOWS, "zz_fixture:"),
    ),
    Case(
        "loop",
        FLOWS,
        replace_in(FLOWS, '{label: "No", goto: tick}', '{label: "No", goto: ask}'),
        ("loop", "ask"),
        in_block(FLOWS, "zz_fixture:"),
    ),
    Case(
        "flag-tested-never-set",
        FLOWS,
        replace_in(FLOWS, "if_any: [yes_flag, opt_a]", "if_any: [yes_flag, opt_zz]"),
        ("opt_zz",),
        in_block(FLOWS, "zz_fixture:"),
    ),
    Case(
        "section-flag-never-set",
        FLOWS,
        replace_in(FLOWS, "when_any: [opt_b]", "when_any: [opt_bb]"),
        ("opt_bb",),
        in_block(FLOWS, "zz_fixture:"),
    ),
    # --- rendered length (checked once everything else is clean)
    Case(
        "message-too-long",
        RESPONSES,
        replace_in(RESPONSES, "Glad to help.", LONG_TEXT),
        ("thanks", "4096", "shorten"),
        in_block(RESPONSES, "thanks:"),
    ),
    Case(
        "answer-longer-than-a-phone-screen-and-a-half",
        RESPONSES,
        replace_in(RESPONSES, "Glad to help.", "Glad to help. " + "Keep going. " * 110),
        ("thanks", "1200", "phone screens"),
        in_block(RESPONSES, "thanks:"),
    ),
    # --- cross-file: something missing altogether
    Case(
        "intent-with-no-response",
        "responses",
        _delete_fixture_response,
        ("thanks", "no response"),
        line_one,  # a folder-level problem: the folder, line 1
    ),
    Case(
        "missing-in-scope-intent",
        "intents",
        _delete_real_intent,
        ("thanks", "no examples"),
        line_one,
    ),
]
# One of each kind, also run through `guidance-bot validate` in a subprocess.
THROUGH_CLI = (
    "tab-indentation",  # YAML syntax
    "binary-file",  # not UTF-8 at all
    "buttons-a-string",  # a wrong type
    "goto-missing-node",  # the flow graph
    "message-too-long",  # rendered length
    "intent-with-no-response",  # missing across files
)


def _hits(case: Case, problems: list) -> list:
    """The problems in the case's file whose message has every one of the case's words."""
    return [
        p
        for p in problems
        if p.file.startswith(case.file) and all(w.lower() in p.message.lower() for w in case.words)
    ]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_broken_content_is_reported(case: Case, tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    case.breaks(root)
    problems = problems_of(root)
    for p in problems:
        shown = str(p)
        assert LOCATED.match(shown) and "\n" not in shown, shown  # file:line: on one line
        assert not Path(p.file).is_absolute(), f"absolute path in {p}"
    hits = _hits(case, problems)
    assert hits, f"no problem in {case.file} mentioning {case.words}:\n{_show(problems)}"
    expected = case.line(root)
    lines = expected if isinstance(expected, range) else range(expected, expected + 1)
    assert any(p.line in lines for p in hits), (
        f"expected line {expected} in {case.file}, got:\n{_show(hits)}"
    )
    for p in hits:
        assert len(p.message) > 20, f"message too short to be useful: {p}"


def test_cases_are_distinct() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
    assert set(THROUGH_CLI) <= {c.id for c in CASES}


# ---------------------------------------------------------------- `guidance-bot validate`


def _validate(root: Path, cli_env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *(args or ("--content", str(root), "validate"))],
        cwd=REPO,
        env=cli_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
    )


@pytest.mark.e2e
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES if c.id in THROUGH_CLI])
def test_broken_content_gives_a_clear_validate_error(
    case: Case, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    root = build_tree(tmp_path)
    case.breaks(root)
    proc = _validate(root, cli_env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out[-2000:]
    assert "content OK" not in out
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    *printed, summary = lines
    assert "problem" in summary and str(len(printed)) in summary, summary
    unlocated = [line for line in printed if not LOCATED.match(line)]
    assert not unlocated, unlocated  # every line starts with file:line:
    assert printed == [str(p) for p in problems_of(root)]  # exactly what load() reports
    expected = case.line(root)
    lines_ok = expected if isinstance(expected, range) else range(expected, expected + 1)
    hits = [
        m
        for line in printed
        if (m := LOCATED.match(line))
        and m["file"].startswith(case.file)
        and all(w.lower() in line.lower() for w in case.words)
    ]
    assert any(int(m["line"]) in lines_ok for m in hits), (expected, proc.stderr)


@pytest.mark.e2e
def test_validate_cli_lists_problems_and_exits_1(tmp_path: Path, cli_env: dict[str, str]) -> None:
    root = build_tree(tmp_path)
    edit(root, RESPONSES, "    text: |", "    txet: |")
    edit(root, INTENTS, "  what_is_it:\n", "  what_is_itt:\n")
    edit(root, FLOWS, '{label: "No", goto: tick}', '{label: "No", goto: nowhere}')
    proc = _validate(root, cli_env)
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


@pytest.mark.e2e
def test_validate_cli_accepts_content_after_subcommand(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    root = build_tree(tmp_path)
    edit(root, RESPONSES, "    text: |", "    txet: |")
    proc = _validate(root, cli_env, "validate", "--content", str(root))
    assert proc.returncode == 1 and "txet" in proc.stderr, proc.stderr


@pytest.mark.e2e
def test_validate_cli_ok_on_real_content(run_cli) -> None:
    proc = run_cli("validate")
    assert proc.returncode == 0, proc.stderr
    assert "content OK" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.e2e
def test_validate_cli_on_fixture_tree_ok(tmp_path: Path, run_cli) -> None:
    proc = run_cli("--content", str(build_tree(tmp_path)), "validate")
    assert proc.returncode == 0, proc.stderr
    assert "content OK" in proc.stdout


# ---------------------------------------------------------------- several problems at once


def test_every_problem_is_listed_not_just_the_first(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    edit(root, RESPONSES, "    text: |", "    txet: |")
    edit(root, ROUTES, "url: https://example.org/help", "url: http://example.org/help")
    edit(root, FLOWS, '{label: "No", goto: tick}', '{label: "No", goto: nowhere}')
    files = {p.file for p in problems_of(root)}
    assert {RESPONSES, ROUTES, FLOWS} <= files


def test_syntax_error_does_not_hide_other_files(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    edit(root, INTENTS, TWO, "    - zq fixture example two\n")
    edit(root, RESPONSES, "    text: |", "    txet: |")
    files = {p.file for p in problems_of(root)}
    assert {INTENTS, RESPONSES} <= files


# ---------------------------------------------------------------- wrong types anywhere

SMALL_TREE = {
    **{rel: (FIXTURES / name).read_text(encoding="utf-8") for rel, name in FIXTURE_FILES.items()},
    "intents/matcher.yaml": "matcher:\n  high: 48\n  low: 26\n  scale: 8\n",
    "intents/crisis_patterns.yaml": "crisis:\n  danger: ['kill (him|her)self']\n"
    "  topic: [suicide]\n  general: [signs]\n  urgent: [now]\n",
    "intents/lexicon.yaml": "lexicon:\n  replace:\n    pics: pictures\n    nude pics: nudes\n",
    MENU: "menu:\n  - flow: zz_fixture\n  - intent: thanks\n  - command: links\n",
    LINKS: "links: [zz_route]\n",
}
WRONG = [5, True, None, "x", [], {"a": 1}, [[1]]]


def _paths(node: object, here: tuple = ()) -> list[tuple]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


def _replaced(data: object, path: tuple, value: object) -> object:
    if not path:
        return copy.deepcopy(value)
    data = copy.deepcopy(data)
    node = data
    for step in path[:-1]:
        node = node[step]  # type: ignore[index]
    node[path[-1]] = copy.deepcopy(value)  # type: ignore[index]
    return data


def test_wrong_types_anywhere_give_problems_not_crashes(tmp_path: Path) -> None:
    for rel, text in SMALL_TREE.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    tried = 0
    for rel, text in SMALL_TREE.items():
        original = yaml.safe_load(text)
        for path in _paths(original):
            for value in WRONG:
                broken = _replaced(original, path, value)
                (tmp_path / rel).write_text(yaml.safe_dump(broken), encoding="utf-8")
                tried += 1
                try:
                    load(tmp_path)
                except ContentError as exc:
                    for problem in exc.problems:
                        shown = str(problem)
                        assert LOCATED.match(shown) and "\n" not in shown, (rel, path, shown)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    assert tried > 500
