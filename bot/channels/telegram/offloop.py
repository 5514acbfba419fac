"""The chat store and the daily counts, off the event loop.

SQLite calls block. On a database locked by another process each write waits up to the
store's busy timeout, and run on the event loop that wait stalled every chat. Here reads run
on one thread and writes on another, in the order they were asked for. A turn reads its
chat's state (a reader never waits for a writer's lock in WAL mode), sends its replies and
only then waits for its writes, inside its chat's lock: a slow or locked database delays
that chat's next message, never an answer or another chat's reading.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.channels.counts import DailyCounts
from bot.channels.telegram.store import ChatStore

log = logging.getLogger(__name__)


def _logged(call: Callable[..., Any], *args: Any) -> Any:
    """Run one store call; an unexpected error is logged by its type, never raised."""
    try:
        return call(*args)
    except Exception as exc:  # storage is best-effort: never stop an answer
        log.warning("storage call failed: %s", type(exc).__name__)
        return None


class OffLoopStore:
    """The ChatStore's calls as coroutines (reads) and queued writes (asked for, not awaited).

    `settled()` waits for every write asked for so far: a turn ends with it, so the next
    update of the chat sees what this one wrote.
    """

    def __init__(self, store: ChatStore, counts: DailyCounts | None = None) -> None:
        self.store, self.counts = store, counts
        self._reads = ThreadPoolExecutor(1, thread_name_prefix="store-read")
        self._writes = ThreadPoolExecutor(1, thread_name_prefix="store-write")

    async def _read(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.wrap_future(self._reads.submit(_logged, call, *args))

    def _write(self, call: Callable[..., Any], *args: Any) -> None:
        self._writes.submit(_logged, call, *args)

    # ------------------------------------------------------------ reads

    async def state(self, chat_id: int) -> dict:
        return await self._read(self.store.state, chat_id) or {}

    async def handled(self, update_id: int) -> bool:
        return bool(await self._read(self.store.handled, update_id))

    async def deletable_messages(self, chat_id: int) -> list[int]:
        """Queued behind the writes, so every id remembered before is in it."""
        future = self._writes.submit(_logged, self.store.deletable_messages, chat_id)
        return await asyncio.wrap_future(future) or []

    # ------------------------------------------------------------ writes, in order

    def save_state(self, chat_id: int, state: dict) -> None:
        self._write(self.store.save_state, chat_id, state)

    def remember_message(self, chat_id: int, message_id: int) -> None:
        self._write(self.store.remember_message, chat_id, message_id)

    def forget_messages(self, chat_id: int, message_ids: Iterable[int]) -> None:
        self._write(self.store.forget_messages, chat_id, list(message_ids))

    def forget_state(self, chat_id: int) -> None:
        self._write(self.store.forget_state, chat_id)

    def mark_handled(self, update_id: int) -> None:
        self._write(self.store.mark_handled, update_id)

    def confirmed_below(self, update_id: int) -> None:
        self._write(self.store.confirmed_below, update_id)

    def count(self, counts: Iterable[tuple[str, str]]) -> None:
        """The anonymous daily counts of a turn (nothing when counting is off)."""
        if self.counts is not None:
            self._write(self.counts.add, list(counts))

    async def settled(self) -> None:
        await asyncio.wrap_future(self._writes.submit(lambda: None))

    def close(self) -> None:
        """Finish the queued writes, then close the files."""
        self._writes.shutdown(wait=True)
        self._reads.shutdown(wait=True)
        self.store.close()
        if self.counts is not None:
            self.counts.close()
