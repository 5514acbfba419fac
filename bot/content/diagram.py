"""Flows as diagrams (Mermaid text, or Graphviz DOT for a picture).

Content editors see a flow's shape without reading YAML; docs/FLOWS.md
embeds both the Mermaid source and pictures rendered from the DOT output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.content.records import Content, Flow, Node

MERMAID_SHAPES = {
    "question": ('{"', '"}'),
    "checklist": ('[/"', '"/]'),
    "branch": ('{{"', '"}}'),
    "result": ('(["', '"])'),
}
DOT_SHAPES = {"question": "diamond", "checklist": "box", "branch": "hexagon", "result": "note"}


def _label(text: str, limit: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace('"', "'")


def _head(node: Node) -> str:
    return _label(node.text or (node.sections[0].text if node.sections else node.id))


def edges(flow: Flow) -> Iterator[tuple[str, str, str]]:
    """(from, label, to) for every way out of every node."""
    for node in flow.nodes.values():
        for choice in node.choices:
            yield node.id, _label(choice.label, 30), choice.goto
        if node.done:
            yield node.id, "Done", node.done
        for rule in node.rules:
            yield (
                node.id,
                _label(" or ".join(rule.if_any) or " and ".join(rule.if_all), 30),
                rule.goto,
            )
        if node.otherwise:
            yield node.id, "otherwise", node.otherwise


def flow_mermaid(flow: Flow) -> str:
    lines = [f"%% {flow.title}", "flowchart TD"]
    for node in flow.nodes.values():
        opening, closing = MERMAID_SHAPES[node.type]
        lines.append(f"  {node.id}{opening}{_head(node)}{closing}")
    lines += [f"  {a} -->|{label}| {b}" for a, label, b in edges(flow)]
    return "\n".join(lines)


def flow_dot(flow: Flow) -> str:
    lines = [
        f'digraph "{flow.id}" {{',
        f'  label="{_label(flow.title)}"; labelloc=t;',
        '  node [fontname="Helvetica", fontsize=10]; edge [fontsize=9];',
    ]
    for node in flow.nodes.values():
        lines.append(f'  {node.id} [shape={DOT_SHAPES[node.type]}, label="{_head(node)}"];')
    lines += [f'  {a} -> {b} [label="{label}"];' for a, label, b in edges(flow)]
    return "\n".join([*lines, "}"])


def diagram(content: Content, flow_id: str | None = None, fmt: str = "mermaid") -> str:
    flows = [content.flows[flow_id]] if flow_id else list(content.flows.values())
    one = flow_dot if fmt == "dot" else flow_mermaid
    return "\n\n".join(one(f) for f in flows) + "\n"
