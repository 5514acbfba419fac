"""The chat store and the daily counts, never blocking the event loop.

SQLite calls block. On a database locked by another process a write waits up to the
store's busy timeout, and run on the event loop that wait stalled every chat. Handing
every call to a thread was measured worse: under a burst the thread waited for the
interpreter lock behind the event loop, and replies went out long before their update
was entered in the ledger (a SIGKILL then answered them twice).

So reads run on the loop (with the write-ahead log a reader never waits for a writer's
lock), and so do writes, on a connection that never waits: a statement takes tens of
microseconds. A write that meets another process's lock is handed to the writer thread,
whose connection may wait; until that thread has caught up every later write goes there
too, so writes keep their order. A turn ends with `settled()`, inside its chat's lock, so
the chat's next turn sees what it wrote. The daily counts, never needed to answer, are
always written on a thread of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bot.channels.counts import DailyCounts
from bot.channels.telegram.store import Busy, ChatStore

log = logging.getLogger(__name__)


def _logged(call: Callable[..., Any], *args: Any) -> Any:
    """Run one store call on a thread; an unexpected error is logged by its type."""
    try:
        return call(*args)
    except Exception as exc:  # storage is best-effort: never stop an answer
        log.warning("storage call failed: %s", type(exc).__name__)
        return None


class OffLoopStore:
    """The ChatStore's calls for the event loop: reads at once, writes at once or queued."""

    def __init__(self, data_dir: Path, counts: DailyCounts | None = None) -> None:
        self.store = ChatStore(data_dir, busy_timeout=0)  # on the loop: never waits
        self._waiting = ChatStore(data_dir)  # on the writer thread: may wait for a lock
        self.counts = counts
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-write")
        self._counter = ThreadPoolExecutor(1, thread_name_prefix="store-counts")
        self._tail: Future | None = None  # the last write handed to the writer thread

    def _queued(self) -> bool:
        """Writes handed to the thread and not made yet (it runs them in order)."""
        return self._tail is not None and not self._tail.done()

    def _write(self, name: str, *args: Any) -> None:
        if not self._queued():
            try:
                getattr(self.store, name)(*args)
                return
            except Busy:
                pass  # another process holds the lock: the thread may wait for it
        self._tail = self._writer.submit(_logged, getattr(self._waiting, name), *args)

    # ------------------------------------------------------------ reads

    def state(self, chat_id: int) -> dict:
        return self.store.state(chat_id)

    def handled(self, update_id: int) -> bool:
        return self.store.handled(update_id)

    async def deletable_messages(self, chat_id: int) -> list[int]:
        """After the writes asked for before it, so every id remembered before is in it."""
        if not self._queued():
            return self.store.deletable_messages(chat_id)
        future = self._writer.submit(_logged, self._waiting.deletable_messages, chat_id)
        return await asyncio.wrap_future(future) or []

    # ------------------------------------------------------------ writes, in order

    def save_state(self, chat_id: int, state: dict) -> None:
        self._write("save_state", chat_id, state)

    def remember_message(self, chat_id: int, message_id: int) -> None:
        self._write("remember_message", chat_id, message_id)

    def forget_messages(self, chat_id: int, message_ids: Iterable[int]) -> None:
        self._write("forget_messages", chat_id, list(message_ids))

    def forget_state(self, chat_id: int) -> None:
        self._write("forget_state", chat_id)

    def mark_handled(self, update_id: int) -> None:
        self._write("mark_handled", update_id)

    def confirmed_below(self, update_id: int) -> None:
        self._write("confirmed_below", update_id)

    def count(self, counts: Iterable[tuple[str, str]]) -> None:
        """The anonymous daily counts of a turn (nothing when counting is off)."""
        if self.counts is not None:
            self._counter.submit(_logged, self.counts.add, list(counts))

    async def settled(self) -> None:
        """Wait until every write asked for so far is made (or has failed)."""
        if self._queued():
            await asyncio.wrap_future(self._writer.submit(lambda: None))

    async def counted(self) -> None:
        """Wait until the counts asked for so far are written (for tests and reports)."""
        await asyncio.wrap_future(self._counter.submit(lambda: None))

    def close(self) -> None:
        """Finish the queued writes, then close the files."""
        self._writer.shutdown(wait=True)
        self._counter.shutdown(wait=True)
        self.store.close()
        self._waiting.close()
        if self.counts is not None:
            self.counts.close()
