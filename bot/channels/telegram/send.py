"""Sending to Telegram: retries, edits in place, splitting long replies, deleting for /clear.

How a reply reaches the chat, never what it says: the text and buttons
come from the dialogue, the HTML from html.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from functools import partial
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, NetworkError, TelegramError

T = TypeVar("T")
SEND_TRIES, BACKOFF = 3, 0.5


async def retry(call: Callable[[], Awaitable[T]]) -> T:
    """Retry network faults, time-outs and 5xx (PTB raises NetworkError) with a short backoff.

    A 400 never improves on retry; 429s are retried inside AIORateLimiter using retry_after.
    """
    for attempt in range(1, SEND_TRIES):
        try:
            return await call()
        except BadRequest:
            raise
        except NetworkError:
            await asyncio.sleep(BACKOFF * attempt)
    return await call()


async def edit_in_place(
    bot: Bot, message: Message, text: str, markup: InlineKeyboardMarkup | None
) -> bool:
    """Edit a pressed message in place; False if it can't be edited (then send anew)."""
    try:
        await retry(
            partial(
                bot.edit_message_text,
                text,
                chat_id=message.chat_id,
                message_id=message.message_id,
                reply_markup=markup,
            )
        )
    except BadRequest as exc:
        return "not modified" in exc.message.lower()
    return True


async def send_parts(
    bot: Bot,
    chat_id: int,
    parts: list[str],
    markup: InlineKeyboardMarkup | None,
    *,
    on_sent: Callable[[int], None],
    quote: ReplyParameters | None = None,
    thread: int | None = None,
) -> None:
    """Send a reply's parts in order, buttons on the last; `on_sent` gets each new id at once."""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        sent = await retry(
            partial(
                bot.send_message,
                chat_id,
                part,
                reply_markup=markup if last else None,
                reply_parameters=quote if i == 0 else None,
                message_thread_id=thread,
            )
        )
        on_sent(sent.message_id)


async def delete_messages(bot: Bot, chat_id: int, message_ids: list[int]) -> None:
    """Delete what Telegram still allows, newest first; failures are expected and ignored."""
    for start in range(0, len(message_ids), 100):  # deleteMessages takes up to 100 ids
        batch = message_ids[start : start + 100]
        try:
            await retry(partial(bot.delete_messages, chat_id, batch))
        except TelegramError:
            for message_id in batch:
                with suppress(TelegramError):
                    await bot.delete_message(chat_id, message_id)
