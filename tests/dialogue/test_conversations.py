"""Scripted conversations (tests/data/conversations.yaml), written from the guidance and
the routes by someone who had not seen the code, run turn by turn through the engine the
terminal chat uses: follow-ups, typed answers in the guides, crisis mid-conversation,
"New case". Each turn's replies must match every `must` regex, none of `must_not`, and
`first` within the opening of the first reply."""

from __future__ import annotations

import re

import pytest
import yaml

from bot.channels.terminal import parse, render
from bot.dialogue import State
from tests.support import DATA

CONVERSATIONS = yaml.safe_load((DATA / "conversations.yaml").read_text(encoding="utf-8"))[
    "conversations"
]


def shown(reply) -> str:
    """What the terminal shows of a reply: lead, title, text, source and button labels."""
    text, _ = render(reply)
    return text


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=lambda c: c["name"][:60])
def test_conversation(engine, conversation: dict) -> None:
    state = State()
    for n, turn in enumerate(conversation["turns"], 1):
        event = parse(turn["say"], {}, engine.content.commands)
        outcome = engine.handle(state, event)
        state = outcome.state
        replies = [shown(r) for r in outcome.replies]
        everything = "\n\n".join(replies)
        where = f"turn {n} ({turn['say']!r}):\n{everything[:1500]}"
        assert replies, where
        for pattern in turn.get("must", []):
            assert re.search(pattern, everything, re.I), f"missing /{pattern}/ in {where}"
        for pattern in turn.get("must_not", []):
            assert not re.search(pattern, everything, re.I), f"unwanted /{pattern}/ in {where}"
        if turn.get("first"):
            assert re.search(turn["first"], replies[0][:200], re.I), f"not first: {where}"
