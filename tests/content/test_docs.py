"""The docs say what the content says: README's /setcommands list, the diagrams embedded in
docs/FLOWS.md and the intent table in docs/CONTENT.md are each compared with the content.

Regenerate the CONTENT.md table after adding or describing an intent with
`.venv/bin/python -m tests.content.test_docs` (it prints the table).
"""

from __future__ import annotations

import re

import pytest
import yaml

from bot.cli import main
from bot.content import CATALOGUE, Content, load
from tests.support import REPO

README = REPO / "README.md"
FLOWS_MD = REPO / "docs" / "FLOWS.md"
CONTENT_MD = REPO / "docs" / "CONTENT.md"
INTENTS_HEADING = "## Intents and where they live"


def _section(text: str, heading: str) -> str:
    """The text under a Markdown heading, up to the next heading of the same level."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n") + len(heading) + 1
    following = re.search(rf"^{level} ", text[start:], re.MULTILINE)
    return text[start : start + following.start()] if following else text[start:]


# ---------------------------------------------------------------- README: /setcommands


def readme_commands() -> list[tuple[str, str]]:
    """The `name - help` lines of the fenced block after "Send `/setcommands`"."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index("Send `/setcommands`") :]
    block = re.search(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", after, re.MULTILINE | re.DOTALL)
    assert block, "no fenced block after 'Send `/setcommands`' in README.md"
    lines = [line.strip() for line in block[1].splitlines() if line.strip()]
    pairs = [tuple(line.split(" - ", 1)) for line in lines]
    assert all(len(p) == 2 for p in pairs), f"a line is not `name - help`: {lines}"
    return pairs  # type: ignore[return-value]


def test_readme_setcommands_is_the_command_table(content: Content) -> None:
    want = [(c.name, c.help) for c in content.commands.values()]
    assert readme_commands() == want, "README.md's /setcommands list != responses/commands.yaml"


# ---------------------------------------------------------------- docs/FLOWS.md: diagrams


def embedded_diagrams() -> dict[str, str]:
    """flow id -> the ```mermaid block under its `## id` heading in docs/FLOWS.md."""
    text = FLOWS_MD.read_text(encoding="utf-8")
    out = {}
    for heading in re.findall(r"^## (\S+)$", text, re.MULTILINE):
        body = _section(text, f"## {heading}")
        blocks = re.findall(r"^```mermaid\n(.*?)^```$", body, re.MULTILINE | re.DOTALL)
        assert len(blocks) == 1, f"docs/FLOWS.md: '## {heading}' has {len(blocks)} mermaid blocks"
        out[heading] = blocks[0]
    return out


def _graph_output(capsys: pytest.CaptureFixture, flow_id: str) -> str:
    """What `guidance-bot graph --flow ID` prints, without its `%% title` comment line."""
    assert main(["graph", "--flow", flow_id]) == 0
    printed = capsys.readouterr().out
    return "".join(line for line in printed.splitlines(True) if not line.startswith("%%"))


def test_flows_md_embeds_what_graph_prints(content: Content, capsys) -> None:
    embedded = embedded_diagrams()
    assert sorted(embedded) == sorted(content.flows), "docs/FLOWS.md: one section per flow"
    for fid in content.flows:
        assert embedded[fid] == _graph_output(capsys, fid), (
            f"docs/FLOWS.md is out of date for flow '{fid}': regenerate it with "
            "`guidance-bot graph` (see the top of docs/FLOWS.md)"
        )


# ---------------------------------------------------------------- docs/CONTENT.md: intents


def intent_rows(content: Content) -> list[tuple[str, str, str, str]]:
    """(id, response title, file, description) for every intent, in catalogue order; the
    file and description are read from the YAML, wherever the intent is defined."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted((REPO / "intents").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("intents"), dict):
            for iid, body in data["intents"].items():
                assert iid not in found, f"intent {iid} in {found[iid][0]} and {path.name}"
                rel = path.relative_to(REPO).as_posix()
                found[iid] = (rel, " ".join(str(body.get("description") or "").split()))
    assert set(found) == set(content.intents) == set(CATALOGUE)
    return [(i, content.responses[i].title, *found[i]) for i in CATALOGUE]


def intents_table(content: Content) -> str:
    lines = ["| intent | answer title | file | description |", "|---|---|---|---|"]
    lines += [f"| `{i}` | {t} | `{f}` | {d} |" for i, t, f, d in intent_rows(content)]
    return "\n".join(lines) + "\n"


def documented_intents() -> list[tuple[str, ...]]:
    section = _section(CONTENT_MD.read_text(encoding="utf-8"), INTENTS_HEADING)
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    cells = [tuple(c.strip().strip("`") for c in row.strip("|").split(" | ")) for row in rows]
    assert all(len(c) == 4 for c in cells), [c for c in cells if len(c) != 4]
    return cells


def test_content_md_lists_every_intent_and_its_file(content: Content) -> None:
    documented = documented_intents()
    want = intent_rows(content)
    assert [r[0] for r in documented] == [r[0] for r in want], "intent ids differ"
    for doc, real in zip(documented, want, strict=True):
        assert doc == real, (
            f"docs/CONTENT.md row for {real[0]} is out of date; regenerate the table with "
            "`.venv/bin/python -m tests.content.test_docs`"
        )


def test_every_intent_file_is_named_after_its_intent(content: Content) -> None:
    for iid, _title, rel, description in intent_rows(content):
        assert rel == f"intents/{iid}.yaml"
        assert description and "\n" not in description, f"{rel} has no one-line description"


if __name__ == "__main__":
    print(intents_table(load(REPO)), end="")
