"""Dialogue: the pure ``handle(state, event) -> Outcome``; it decides everything the bot says."""

from bot.dialogue import callbacks
from bot.dialogue.engine import Engine
from bot.dialogue.events import Command, Event, Media, Press, Text
from bot.dialogue.reply import Button, Outcome, Reply
from bot.dialogue.state import FlowPos, State

__all__ = [
    "Button",
    "Command",
    "Engine",
    "Event",
    "FlowPos",
    "Media",
    "Outcome",
    "Press",
    "Reply",
    "State",
    "Text",
    "callbacks",
]
