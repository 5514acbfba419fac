"""Flows as Mermaid diagrams, so content editors can see a flow's shape."""

from __future__ import annotations

import re

from bot.model import Content, Flow

SHAPES = {
    "question": ('{"', '"}'),
    "checklist": ('[/"', '"/]'),
    "branch": ('{{"', '"}}'),
    "result": ('(["', '"])'),
}


def _label(text: str, limit: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace('"', "'")


def flow_mermaid(flow: Flow) -> str:
    lines = [f"%% {flow.title}", "flowchart TD"]
    for node in flow.nodes.values():
        opening, closing = SHAPES[node.type]
        head = node.text or (node.sections[0].text if node.sections else node.id)
        lines.append(f"  {node.id}{opening}{_label(head)}{closing}")
    for node in flow.nodes.values():
        for choice in node.choices:
            lines.append(f"  {node.id} -->|{_label(choice.label, 30)}| {choice.goto}")
        if node.done:
            lines.append(f"  {node.id} -->|Done| {node.done}")
        for rule in node.rules:
            cond = " or ".join(rule.if_any) or " and ".join(rule.if_all)
            lines.append(f"  {node.id} -->|{_label(cond, 30)}| {rule.goto}")
        if node.otherwise:
            lines.append(f"  {node.id} -->|otherwise| {node.otherwise}")
    return "\n".join(lines)


def mermaid(content: Content, flow_id: str | None = None) -> str:
    flows = [content.flows[flow_id]] if flow_id else list(content.flows.values())
    return "\n\n".join(flow_mermaid(f) for f in flows) + "\n"
