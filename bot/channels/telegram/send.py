"""Sending to Telegram: retries, edits in place, splitting long replies, deleting for /clear.

How a reply reaches the chat, never what it says: the text and buttons
come from the dialogue, the HTML from html.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

T = TypeVar("T")
SEND_TRIES, BACKOFF = 3, 0.5


async def retry(call: Callable[[], Awaitable[T]]) -> T:
    """Retry network faults, time-outs, 5xx (PTB raises NetworkError) and answers that are not
    JSON or are cut short, with a short backoff.

    A 400 never improves on retry; 429s are retried by the rate limiter using retry_after.
    A retried call may have taken effect the first time: a duplicate is preferred to a loss.
    """
    for attempt in range(1, SEND_TRIES):
        try:
            return await call()
        except BadRequest:
            raise
        except TelegramError as exc:
            if not retryable(exc):
                raise
            await asyncio.sleep(BACKOFF * attempt)
    return await call()


def retryable(exc: TelegramError) -> bool:
    """A network fault, or an answer PTB could not read (it raises a bare TelegramError)."""
    return isinstance(exc, NetworkError) or type(exc) is TelegramError


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


async def delete_messages(bot: Bot, chat_id: int, message_ids: list[int]) -> list[int]:
    """Delete what Telegram still allows, newest first; return the ids dealt with for good.

    Deleted, or refused for good (too old, already gone: a 400), an id is done. One that
    met a network fault or a server error is not: it stays for the next /clear, and so do the
    batches after a batch that could not get through.
    """
    done: list[int] = []
    for start in range(0, len(message_ids), 100):  # deleteMessages takes up to 100 ids
        batch = message_ids[start : start + 100]
        try:
            await retry(partial(bot.delete_messages, chat_id, batch))
        except BadRequest:
            done += [m for m in batch if await _delete_one(bot, chat_id, m)]
        except TelegramError:
            return done  # an outage: try again at the next /clear
        else:
            done += batch
    return done


async def _delete_one(bot: Bot, chat_id: int, message_id: int) -> bool:
    try:
        await retry(partial(bot.delete_message, chat_id, message_id))
    except (BadRequest, Forbidden):
        return True  # can never be deleted by the bot: nothing to try again
    except TelegramError:
        return False
    return True
