"""What a channel hands the dialogue: typed text, a button press, a command, a file.

`group` marks a group chat, where the bot never deletes anyone's messages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    text: str
    group: bool = False


@dataclass(frozen=True)
class Press:
    data: str
    group: bool = False
    when: str = ""  # local date and time of the press, for a note for the record


@dataclass(frozen=True)
class Command:
    name: str
    arg: str = ""
    group: bool = False


@dataclass(frozen=True)
class Media:
    """An image or file arrived; the channel deleted it unopened if it could."""

    deleted: bool
    group: bool = False


Event = Text | Press | Command | Media
