"""Bot API faults against the emulator: 429, 500, time-outs, dropped connections and
non-JSON answers on sendMessage and getUpdates, injected at seeded random points of a
20-message conversation; every message is still answered (exactly once where possible).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

import bot.channels.telegram.app as bot_telegram
from bot.channels.telegram.send import SEND_TRIES
from bot.content import Content
from bot.content.text import fill
from bot.dialogue import Command, Engine, Reply, State, Text
from tests.channels.test_telegram import CHAT, TOKEN, plain, running
from tests.support import TEXTS
from tests.support.emulator import BotApiEmulator

pytestmark = pytest.mark.e2e

READ = 0.75  # the bot's 15 s read timeout, scaled down so a time-out costs under a second
SEND_DELAY = READ + 1.25  # longer than the read timeout: the client gives up first
POLL_DELAY = READ + 1 + 1.25  # getUpdates waits read timeout + the long-poll timeout (1 s)
BASE_CHAT = CHAT + 100


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
def short_timeouts(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, model_cache: Path
) -> dict[str, dict]:
    """build_application() exactly as written, but with READ as the read timeout; returns the
    timeouts it asked for."""
    monkeypatch.setenv("GUIDANCE_CACHE_DIR", str(model_cache))
    asked: dict[str, dict] = {}
    real = bot_telegram._DeadlineRequest

    def request(**kwargs: object) -> object:
        asked["requests"] = dict(kwargs)
        return real(**{**kwargs, "read_timeout": READ})

    class Updates(bot_telegram._UpdatesRequest):
        def __init__(self, **kwargs: object) -> None:
            asked["get_updates"] = dict(kwargs)
            super().__init__(**{**kwargs, "read_timeout": READ})  # type: ignore[arg-type]

    monkeypatch.setattr(bot_telegram, "_DeadlineRequest", request)
    monkeypatch.setattr(bot_telegram, "_UpdatesRequest", Updates)
    return asked


FAULTS: dict[str, Callable[[BotApiEmulator], None]] = {
    "send 429": lambda emu: emu.fail_next("sendMessage", status=429, retry_after=1),
    "send 500": lambda emu: emu.fail_next("sendMessage", status=500),
    "send timeout": lambda emu: emu.delay_next("sendMessage", SEND_DELAY),
    "send reset": lambda emu: emu.drop_next("sendMessage"),
    "send non-JSON 200": lambda emu: emu.malformed_next("sendMessage"),
    "send non-JSON 502": lambda emu: emu.malformed_next("sendMessage", status=502),
    "send truncated": lambda emu: emu.truncated_next("sendMessage"),
    "send lost": lambda emu: emu.fail_next("sendMessage", status=500, times=SEND_TRIES),
    "poll 429": lambda emu: emu.fail_next("getUpdates", status=429, retry_after=1),
    "poll 500": lambda emu: emu.fail_next("getUpdates", status=500),
    "poll timeout": lambda emu: emu.delay_next("getUpdates", POLL_DELAY),
    "poll reset": lambda emu: emu.drop_next("getUpdates"),
    "poll non-JSON 200": lambda emu: emu.malformed_next("getUpdates"),
    "poll truncated": lambda emu: emu.truncated_next("getUpdates"),
}
# The first copy may reach the chat although the client timed out, then the retry sends it
# again: the Bot API has no idempotency key, so at-least-once is the price of retrying.
MAY_DUPLICATE = {"send timeout"}
# No successful send after the retries: the error handler's apology is the answer, and the
# failure is logged.
APOLOGY = {"send lost"}
# A 200 whose body is not JSON (or is cut short) is retried like a network error: answered
# once. Kept as a set so a fault that may end in the apology can be named here.
APOLOGY_OR_ANSWER: set[str] = set()


def _single_reply_events(engine: Engine, content: Content) -> list[tuple[str, str]]:
    """(kind, payload) events whose engine outcome in a fresh chat is exactly one reply."""
    pool = [
        ("command", c)
        for c in (
            "help",
            "signs",
            "contact",
            "report",
            "links",
            "about",
            "privacy",
            "menu",
            "start",
        )
    ]
    pool += [
        ("text", examples[0])
        for intent, examples in sorted(content.intents.items())
        if intent != "crisis" and examples
    ]
    return [
        (k, p)
        for k, p in pool
        if len(engine.handle(State(), Command(p) if k == "command" else Text(p)).replies) == 1
    ]


async def test_faults_at_random_points_every_message_answered(
    emu: BotApiEmulator,
    content: Content,
    engine: Engine,
    tmp_path: Path,
    short_timeouts: dict[str, dict],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = random.Random(20_26)
    plan: list[str | None] = [*FAULTS, *[None] * (20 - len(FAULTS))]
    rng.shuffle(plan)
    events = rng.sample(_single_reply_events(engine, content), len(plan))
    update_ids: dict[int, int] = {}
    async with running(emu, content, tmp_path / "data"):
        assert short_timeouts["requests"]["read_timeout"] == 15.0
        assert short_timeouts["get_updates"]["read_timeout"] == 15.0
        for i, (fault, (kind, payload)) in enumerate(zip(plan, events, strict=True)):
            chat = BASE_CHAT + i
            if fault:
                FAULTS[fault](emu)
            if kind == "command":
                emu.user_sends_command(chat, payload)
            else:
                emu.user_sends_text(chat, payload)
            update_ids[chat] = emu.pending_updates[-1]["update_id"]
            await emu.wait_for(lambda c=chat: emu.sent(c), timeout=20)
        await asyncio.sleep(SEND_DELAY)  # the late first copy of a timed-out send lands
        await emu.wait_for(lambda: not emu.pending_updates)

    sorry = plain(Reply(fill(content, TEXTS["sorry"])))
    failed = {
        int(m[1]) for r in caplog.records if (m := re.match(r"update (\d+) failed", r.getMessage()))
    }
    seen = []
    for i, (fault, (kind, payload)) in enumerate(zip(plan, events, strict=True)):
        chat = BASE_CHAT + i
        event = Command(payload) if kind == "command" else Text(payload)
        [want] = engine.handle(State(), event).replies
        got = [m["text"] for m in emu.sent(chat)]
        seen.append((fault, len(got)))
        assert got, f"message {i} ({fault}) was never answered"  # no update is lost
        if fault in APOLOGY or (fault in APOLOGY_OR_ANSWER and got == [sorry]):
            assert got == [sorry], (fault, got)
            assert update_ids[chat] in failed, f"failure of update {update_ids[chat]} not logged"
        elif fault in MAY_DUPLICATE:
            assert 1 <= len(got) <= 2 and set(got) == {plain(want)}, (fault, got)
        else:
            assert got == [plain(want)], (fault, got)  # exactly once
            assert update_ids[chat] not in failed
    print("fault -> messages in that chat:", seen)  # `pytest -s` shows what happened


async def test_unreadable_poll_answer_is_logged_without_its_body(
    emu: BotApiEmulator,
    content: Content,
    tmp_path: Path,
    short_timeouts: dict[str, dict],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A non-JSON getUpdates answer: PTB logs the body it could not parse; the bot's filter
    keeps that body (which could hold message text) out of the log."""
    caplog.set_level(logging.DEBUG)
    async with running(emu, content, tmp_path / "data"):
        emu.malformed_next("getUpdates")
        await emu.wait_for(
            lambda: any("invalid JSON" in r.getMessage() for r in caplog.records), timeout=10
        )
        emu.user_sends_command(CHAT, "help")
        await emu.wait_for(lambda: emu.sent(CHAT), timeout=10)
    assert "502 Bad Gateway" not in caplog.text and "nginx" not in caplog.text
