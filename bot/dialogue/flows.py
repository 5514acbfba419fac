"""Stepping through a guide: positions in, positions out, nothing rendered.

A position is the node shown, the flags ticked so far and the way back.
Branch nodes never rest: `settle` follows them to the next node that shows
something, so a stored position is always a question, checklist or result.
"""

from __future__ import annotations

from dataclasses import replace

from bot.content.records import Flow, Node
from bot.dialogue.state import FlowPos


class FlowRunner:
    def __init__(self, flows: dict[str, Flow]) -> None:
        self.flows = flows

    def node(self, pos: FlowPos) -> Node:
        return self.flows[pos.flow].nodes[pos.node]

    def is_stale(self, pos: FlowPos) -> bool:
        """A stored position today's content no longer has (or a branch, which never rests)."""
        flow = self.flows.get(pos.flow)
        nodes = flow.nodes if flow else {}
        if pos.node not in nodes or nodes[pos.node].type == "branch":
            return True
        return any(node not in nodes for node, _ in pos.history)

    def start(self, flow_id: str) -> FlowPos:
        return self.settle(FlowPos(flow_id, self.flows[flow_id].start))

    def settle(self, pos: FlowPos) -> FlowPos:
        """Follow branch nodes until a node that shows something."""
        flow = self.flows[pos.flow]
        node = flow.nodes[pos.node]
        while node.type == "branch":
            target = next((r.goto for r in node.rules if r.matches(pos.flags)), node.otherwise)
            pos = replace(pos, node=target or flow.start)
            node = flow.nodes[pos.node]
        return pos

    def choose(self, pos: FlowPos, index: int | None) -> FlowPos | None:
        """Answer a question node; None if there is no such answer."""
        node = self.node(pos)
        if node.type != "question" or index is None or index >= len(node.choices):
            return None
        choice = node.choices[index]
        return self._go(pos, choice.goto, pos.flags | {choice.set} if choice.set else pos.flags)

    def toggle(self, pos: FlowPos, index: int | None) -> FlowPos | None:
        """Tick or untick a checklist option; None if there is no such option."""
        node = self.node(pos)
        if node.type != "checklist" or index is None or index >= len(node.options):
            return None
        return replace(pos, flags=pos.flags ^ {node.options[index].id})

    def done(self, pos: FlowPos) -> FlowPos | None:
        node = self.node(pos)
        if node.type != "checklist" or not node.done:
            return None
        return self._go(pos, node.done, pos.flags)

    def back(self, pos: FlowPos) -> FlowPos | None:
        if not pos.history:
            return None
        node, flags = pos.history[-1]
        return FlowPos(pos.flow, node, flags, pos.history[:-1])

    def _go(self, pos: FlowPos, target: str, flags: frozenset[str]) -> FlowPos:
        history = (*pos.history, (pos.node, pos.flags))
        return self.settle(FlowPos(pos.flow, target, flags, history))
