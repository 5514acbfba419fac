"""The button-data grammar, written down once and used by the engine, terminal and tests.

    m              the menu
    b  r  c        back one step, start the guide over, resume the guide left to ask
    n              a note of this case for the safeguarding record
    i:INTENT       an intent's answer
    f:FLOW         start a flow
    x:COMMAND      run a command
    q:FLOW:NODE:N  choose answer N of a question node
    t:FLOW:NODE:N  tick or untick option N of a checklist node
    d:FLOW:NODE    a checklist is done
    h:INTENT:up    was this answer helpful? (up or down)

Strings rather than PTB's callback cache: they survive restarts, work in
the terminal, and fit Telegram's 64 bytes. Flow steps carry their flow and
node, so a press on an old message is recognised as stale, not obeyed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "menu", "back", "restart", "resume", "note", "intent", "flow", "command", "choose", "toggle",
    "done", "helpful",
]  # fmt: skip
_BARE = {"menu": "m", "back": "b", "restart": "r", "resume": "c", "note": "n"}
_TARGET = {"intent": "i", "flow": "f", "command": "x"}
_STEP = {"choose": "q", "toggle": "t", "done": "d", "helpful": "h"}
_KINDS = {v: k for k, v in (_BARE | _TARGET | _STEP).items()}


@dataclass(frozen=True)
class Callback:
    kind: Kind
    target: str = ""  # an intent, flow or command; for flow steps, the flow
    node: str = ""
    index: int | None = None

    def encode(self) -> str:
        code = (_BARE | _TARGET | _STEP)[self.kind]
        if self.kind in _BARE:
            return code
        if self.kind in _TARGET:
            return f"{code}:{self.target}"
        tail = "" if self.index is None else f":{self.index}"
        return f"{code}:{self.target}:{self.node}{tail}"


def decode(data: str) -> Callback | None:
    """The callback a button carries, or None for data this grammar does not know."""
    code, sep, rest = data.partition(":")
    kind = _KINDS.get(code)
    if kind is None or (kind in _BARE) == bool(sep):
        return None
    if kind in _BARE:
        return Callback(kind)
    if kind in _TARGET:
        return Callback(kind, rest) if rest else None
    flow, _, tail = rest.partition(":")
    node, _, arg = tail.partition(":")
    # A forged or garbled index still names its step; the engine shows that step again.
    valid = kind != "done" and arg.isascii() and arg.isdigit()  # '²' is a digit to Python
    return Callback(kind, flow, node, int(arg) if valid else None)


MENU = Callback("menu").encode()
BACK = Callback("back").encode()
RESTART = Callback("restart").encode()
RESUME = Callback("resume").encode()
NOTE = Callback("note").encode()


def intent(intent_id: str) -> str:
    return Callback("intent", intent_id).encode()


def flow(flow_id: str) -> str:
    return Callback("flow", flow_id).encode()


def command(name: str) -> str:
    return Callback("command", name).encode()


def helpful(intent_id: str, vote: str) -> str:
    return Callback("helpful", intent_id, vote).encode()
