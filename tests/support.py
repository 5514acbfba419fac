"""Names the tests share, read from the content so that tests never restate it."""

from __future__ import annotations

from pathlib import Path

from bot.content import load

REPO = Path(__file__).resolve().parent.parent
_CONTENT = load(REPO)
COMMANDS = tuple(_CONTENT.commands)
TEXTS = _CONTENT.texts
DEEP_LINK_FLOWS = {
    c.name: c.target for c in _CONTENT.commands.values() if c.deep_link and c.does == "flow"
}
