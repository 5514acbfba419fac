"""All a conversation keeps between turns: labels, never message text.

The position in a guide (flow, node, ticked flags and the way back), the
case facts the messages established (who is asking, the child's age band,
whether a payment, a debt, threats or shared images were mentioned, the UK
nation) and the last topic answered, so a follow-up can be read against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.matching.facts import Facts


@dataclass(frozen=True)
class FlowPos:
    flow: str
    node: str
    flags: frozenset[str] = frozenset()
    history: tuple[tuple[str, frozenset[str]], ...] = ()


@dataclass(frozen=True)
class State:
    """Where the chat is in a guide, what it knows about the case, and its last topic."""

    flow: FlowPos | None = None
    facts: Facts = field(default_factory=Facts)
    topic: str | None = None
    aside: bool = False  # a question was answered inside the guide: "back" resumes it

    def to_dict(self) -> dict:
        out: dict = {}
        if self.flow:
            f = self.flow
            out |= {
                "flow": f.flow,
                "node": f.node,
                "flags": sorted(f.flags),
                "history": [[n, sorted(fl)] for n, fl in f.history],
            }
        if self.facts != Facts():
            out["case"] = self.facts.to_dict()
        if self.topic:
            out["topic"] = self.topic
        if self.aside:
            out["aside"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict | None) -> State:
        """Rebuild a stored state; anything malformed becomes a fresh state."""
        if not data or not isinstance(data, dict):
            return cls()
        facts = Facts.from_dict(data.get("case"))
        topic = data.get("topic") if isinstance(data.get("topic"), str) else None
        return cls(_flow_pos(data), facts, topic, data.get("aside") is True)


def _flow_pos(data: dict) -> FlowPos | None:
    if "flow" not in data:
        return None
    try:
        if not all(isinstance(data.get(k, []), list) for k in ("flags", "history")):
            return None
        hist = tuple((str(n), frozenset(map(str, fl))) for n, fl in data.get("history", []))
        flags = frozenset(map(str, data.get("flags", [])))
        return FlowPos(str(data["flow"]), str(data["node"]), flags, hist)
    except (KeyError, TypeError, ValueError):
        return None
