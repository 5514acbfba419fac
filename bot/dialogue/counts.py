"""What a turn adds to the anonymous daily counts: which answers, guides and routes were
shown, and how sure the bot was. Labels from the content only: never a chat, never text.

The channel that keeps counts (Telegram, in SQLite) adds one to each (what, which) pair.
"""

from __future__ import annotations

from bot.dialogue.reply import Outcome
from bot.dialogue.state import State

BANDS = {"answer": "answer", "suggest": "did_you_mean", "fallback": "cant_answer"}


def tally(before: State, outcome: Outcome) -> list[tuple[str, str]]:
    counts: list[tuple[str, str]] = []
    after = outcome.state.flow
    for reply in outcome.replies:
        if reply.kind in BANDS and reply.intent:
            counts.append(("answer", f"{reply.intent}|{BANDS[reply.kind]}"))
        elif reply.kind == "crisis":
            counts.append(("crisis", "crisis"))
        elif reply.kind == "note":
            counts.append(("note", before.flow.flow if before.flow else before.topic or "-"))
        elif reply.kind == "result" and after:
            counts.append(("guide_result", f"{after.flow}/{after.node}"))
        counts += [("route", r) for r in reply.routes]
    started = after and not after.history and (before.flow != after)
    if started and outcome.replies and outcome.replies[0].kind in ("flow", "result"):
        counts.append(("guide_start", after.flow))
    return counts
