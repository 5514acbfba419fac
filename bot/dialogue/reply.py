"""What the dialogue hands a channel: replies with buttons, the new state and side effects.

Channels import this vocabulary from here only; they decide how a reply is
shown (HTML, numbered choices), never what it says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bot.dialogue.state import State

ReplyKind = Literal[
    "answer", "suggest", "fallback", "crisis", "menu", "links", "flow", "result", "forget", "clear",
    "note",
]  # fmt: skip
Action = Literal["forget", "clear"]


@dataclass(frozen=True)
class Button:
    """A reply button: a callback (`data`, see dialogue/callbacks.py) or a link (`url`)."""

    label: str
    data: str | None = None
    url: str | None = None


Rows = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Reply:
    """One message: plain text (channels escape and format), optional lead, title and source.

    `lead` is a line shown above the title: why the bot is saying this
    (a file was deleted, a crisis line, "I think you're asking about...").
    """

    text: str
    title: str | None = None
    source: str | None = None
    buttons: Rows = ()
    kind: ReplyKind = "answer"
    intent: str | None = None
    edit: bool = False  # a flow step the channel may show by editing the pressed message
    lead: str | None = None
    routes: tuple[str, ...] = ()  # the routes shown, for the anonymous counts


@dataclass
class Outcome:
    """What `handle` returns: replies, the new state, and side effects for the channel."""

    replies: list[Reply]
    state: State
    actions: list[Action] = field(default_factory=list)
    # Anonymous daily counts: (what, which), e.g. ("answer", "already_paid|answer").
    counts: list[tuple[str, str]] = field(default_factory=list)
