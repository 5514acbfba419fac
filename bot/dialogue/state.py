"""All a conversation keeps between turns: labels, never message text.

Today that is the position in a guide (flow, node, ticked flags and the way
back). Case facts carried across turns belong here too, as labels.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlowPos:
    flow: str
    node: str
    flags: frozenset[str] = frozenset()
    history: tuple[tuple[str, frozenset[str]], ...] = ()


@dataclass(frozen=True)
class State:
    """Where the chat is in a guide, if anywhere."""

    flow: FlowPos | None = None

    def to_dict(self) -> dict:
        if not self.flow:
            return {}
        f = self.flow
        return {
            "flow": f.flow,
            "node": f.node,
            "flags": sorted(f.flags),
            "history": [[n, sorted(fl)] for n, fl in f.history],
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> State:
        """Rebuild a stored state; anything malformed becomes a fresh state."""
        try:
            if not data or not isinstance(data, dict):
                return cls()
            if not all(isinstance(data.get(k, []), list) for k in ("flags", "history")):
                return cls()
            hist = tuple((str(n), frozenset(map(str, fl))) for n, fl in data.get("history", []))
            pos = FlowPos(
                str(data["flow"]),
                str(data["node"]),
                frozenset(map(str, data.get("flags", []))),
                hist,
            )
            return cls(pos)
        except (KeyError, TypeError, ValueError):
            return cls()
