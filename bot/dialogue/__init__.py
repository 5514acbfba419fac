"""Dialogue: the pure ``handle(state, event) -> Outcome``; it decides everything the bot says."""

from bot.dialogue.engine import Command, Engine, Event, Outcome, Press, Reply, State, Text

__all__ = ["Command", "Engine", "Event", "Outcome", "Press", "Reply", "State", "Text"]
