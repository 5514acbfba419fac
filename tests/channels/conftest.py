"""Fixtures of the Telegram channel's tests: the Bot API emulator and the running bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.content import Content
from bot.dialogue import Engine
from tests.channels.test_telegram import TOKEN, running
from tests.support.emulator import BotApiEmulator


@pytest.fixture
def warm_cache(engine: Engine, model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each Application builds an Engine; the session's trained model makes that quick."""
    monkeypatch.setenv("GUIDANCE_CACHE_DIR", str(model_cache))


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def app(
    emu: BotApiEmulator,
    content: Content,
    tmp_path: Path,
    warm_cache: None,
) -> AsyncIterator[Application]:
    async with running(emu, content, tmp_path / "data") as application:
        yield application
