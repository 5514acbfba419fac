"""Terminal chat on the same engine: buttons become numbered choices.

Reads stdin a line at a time, so it works interactively and from a pipe
(`printf 'what are the signs\n' | guidance-bot chat`). Typing the number
of a choice presses it; a choice that is a link prints the address.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import TextIO

from bot.dialogue import Button, Command, Engine, Event, Press, Reply, State, Text


def render(reply: Reply, start: int = 1) -> tuple[str, dict[int, Button]]:
    """Plain-text rendering of a reply and the numbers given to its buttons."""
    lines = [reply.lead] if reply.lead else []
    if reply.title:
        lines.append(f"== {reply.title} ==")
    lines.append(reply.text)
    if reply.source:
        lines.append(reply.source)
    choices: dict[int, Button] = {}
    n = start
    for row in reply.buttons:
        for button in row:
            suffix = f"  <{button.url}>" if button.url else ""
            lines.append(f"  [{n}] {button.label}{suffix}")
            choices[n] = button
            n += 1
    return "\n".join(lines), choices


def parse(line: str, choices: dict[int, Button], commands: Iterable[str] = ()) -> Event | None:
    """Turn a typed line into an engine event (None for a link that was only printed)."""
    stripped = line.strip()
    if stripped.isdigit() and int(stripped) in choices:
        button = choices[int(stripped)]
        return Press(button.data, when=_now()) if button.data else None
    if stripped.startswith("/"):
        name, _, arg = stripped[1:].partition(" ")
        if name.lower() in commands:
            return Command(name.lower(), arg)
    return Text(line)


def _now() -> str:
    """Local date and time, for a note for the record."""
    return datetime.now().astimezone().strftime("%d %B %Y, %H:%M %Z")


def chat(engine: Engine, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    if isinstance(stdin, io.TextIOWrapper):  # bytes that are not UTF-8 must not end the chat
        stdin.reconfigure(errors="replace")
    state = State()
    interactive = stdin.isatty()
    out, choices = _show(engine.handle(state, Command("start")).replies)
    print(out, file=stdout)
    if interactive:
        print(engine.replies.texts["terminal_hint"], file=stdout)
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line or line.strip() in ("/quit", "/exit"):
            return 0
        event = parse(line.rstrip("\n"), choices, engine.content.commands)
        if event is None:
            button = choices[int(line.strip())]
            print(f"Open: {button.url}", file=stdout)
            continue
        outcome = engine.handle(state, event)
        state = outcome.state
        if "clear" in outcome.actions:
            print("\n" * 60, file=stdout)
        out, choices = _show(outcome.replies)
        print("\n" + out, file=stdout, flush=True)


def _show(replies: list[Reply]) -> tuple[str, dict[int, Button]]:
    texts, choices = [], {}
    for reply in replies:
        text, more = render(reply, start=len(choices) + 1)
        texts.append(text)
        choices.update(more)
    return "\n\n".join(texts), choices
