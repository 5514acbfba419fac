"""Names the tests share, read from the content so that tests never restate it.

`REPO` is the repository root, `DATA` the labelled test sets (tests/data/) and `FIXTURES`
the small content files the broken-content cases start from (tests/fixtures/content/); test
files import these rather than climbing from their own `__file__`.
"""

from __future__ import annotations

from pathlib import Path

from bot.content import load

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
FIXTURES = REPO / "tests" / "fixtures" / "content"
_CONTENT = load(REPO)
COMMANDS = tuple(_CONTENT.commands)
TEXTS = _CONTENT.texts
DEEP_LINK_FLOWS = {
    c.name: c.target for c in _CONTENT.commands.values() if c.deep_link and c.does == "flow"
}
