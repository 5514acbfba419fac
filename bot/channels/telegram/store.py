"""Per-chat persistence in SQLite: the flow position, the message ids /clear may delete, and
a short ledger of handled update ids.

Why not PTB's persistence: rows are written the moment they change (nothing to
flush, nothing lost on a crash or SIGKILL), and the schema itself shows what is
kept - chat ids, message ids, update ids, the engine's small JSON state and timestamps.
Never message text, captions or queries.

Storage is best-effort for what is not needed to answer: a write that fails (a full disk, a
database locked by another process) is logged by its error type and the bot answers anyway.
Reads and writes use separate connections: with the write-ahead log a reader never waits
for a writer's lock. With `busy_timeout=0` a write that meets another connection's lock
raises Busy at once, so the caller (`offloop.py`) can hand it to a thread that may wait.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "guidance.sqlite3"
STATE_TTL = 24 * 3600  # a flow left for a day starts afresh (PTB timeouts aren't persisted)
DELETE_WINDOW = 48 * 3600  # Telegram lets bots delete messages for 48 hours
MAX_MESSAGES = 200  # ids kept per private chat for /clear
LEDGER_TTL = 24 * 3600  # Telegram keeps an unconfirmed update for 24 hours at most
PURGE_EVERY = 60  # seconds between sweeps for expired rows of all chats
BUSY_TIMEOUT = 0.5  # seconds a statement waits for a lock held by another process
READ_WAIT = 0.05  # a reader waits only out a checkpoint (WAL readers take no lock otherwise)

SCHEMA = """
CREATE TABLE IF NOT EXISTS chat_state (
    chat_id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chat_messages (
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    sent REAL NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE TABLE IF NOT EXISTS handled_updates (
    update_id INTEGER PRIMARY KEY,
    handled REAL NOT NULL
);
"""


class Busy(Exception):
    """Another connection holds the database's lock: the write was not made."""


def _locked(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def owner_only(data_dir: Path) -> None:
    """Tighten the folder to 0700 and the database files to 0600, whatever they were."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = data_dir / f"{DB_NAME}{suffix}"
        if path.exists():
            os.chmod(path, 0o600)


class ChatStore:
    """A tiny synchronous store: every call is one indexed statement on a local file.

    `state` and `handled` are reads on their own connection; the rest, `deletable_messages`
    included, use the writer's. A store may be used from one thread other than its maker's.
    """

    def __init__(self, data_dir: Path, busy_timeout: float = BUSY_TIMEOUT) -> None:
        """`busy_timeout` 0: a write that meets another connection's lock raises Busy at
        once instead of waiting (so the caller can hand it to a thread that may wait)."""
        self.busy_timeout = busy_timeout
        owner_only(data_dir)
        self.path = data_dir / DB_NAME
        old_umask = os.umask(0o077)  # the -wal and -shm files SQLite creates: owner only too
        try:
            self.path.touch(mode=0o600, exist_ok=True)  # chat ids are personal data
            self._db = self._connect()
            # Write-ahead log without a disk sync per statement: a few statements a message
            # cost ~2 ms each otherwise; a power cut can lose the last moments of positions.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten
            self._db.executescript(SCHEMA)
            self._reader = self._connect(max(self.busy_timeout, READ_WAIT))
        finally:
            os.umask(old_umask)
        owner_only(data_dir)
        self._purged = 0.0
        self._purge()

    def _connect(self, timeout: float | None = None) -> sqlite3.Connection:
        timeout = self.busy_timeout if timeout is None else timeout
        return sqlite3.connect(
            self.path, isolation_level=None, timeout=timeout, check_same_thread=False
        )

    def _read(self, sql: str, args: tuple, db: sqlite3.Connection | None = None) -> list[tuple]:
        """One read (on the reader's connection unless told); no rows (and a log line with
        the error type) if it failed."""
        try:
            return (db or self._reader).execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            log.warning("storage read failed: %s", type(exc).__name__)
            return []

    def _write(self, sql: str, args: tuple = ()) -> bool:
        """One best-effort write: False (and a log line with the error type) if it failed."""
        try:
            self._db.execute(sql, args)
        except sqlite3.OperationalError as exc:
            if self.busy_timeout == 0 and _locked(exc):
                raise Busy from exc
            log.warning("storage write failed: %s", type(exc).__name__)
            return False
        except sqlite3.Error as exc:
            log.warning("storage write failed: %s", type(exc).__name__)
            return False
        return True

    def state(self, chat_id: int) -> dict:
        """The stored engine state, or {} if there is none, it has expired or can't be read.
        (An expired row is erased by the next sweep, within PURGE_EVERY seconds.)"""
        rows = self._read("SELECT state, updated FROM chat_state WHERE chat_id = ?", (chat_id,))
        if not rows or rows[0][1] < time.time() - STATE_TTL:
            return {}
        try:
            data = json.loads(rows[0][0])
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _purge(self) -> None:
        """Drop what has outlived the times /privacy promises, for every chat (once a minute)."""
        now = time.time()
        if now - self._purged < PURGE_EVERY:
            return
        self._purged = now
        self._write("DELETE FROM chat_state WHERE updated < ?", (now - STATE_TTL,))
        self._write("DELETE FROM chat_messages WHERE sent < ?", (now - DELETE_WINDOW,))
        self._write("DELETE FROM handled_updates WHERE handled < ?", (now - LEDGER_TTL,))

    def save_state(self, chat_id: int, state: dict) -> None:
        self._purge()
        if not state:
            self._write("DELETE FROM chat_state WHERE chat_id = ?", (chat_id,))
            return
        self._write(
            "INSERT INTO chat_state (chat_id, state, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(chat_id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            (chat_id, json.dumps(state, sort_keys=True), time.time()),
        )

    def remember_message(self, chat_id: int, message_id: int) -> None:
        """Keep a message id for /clear; only the newest MAX_MESSAGES per chat are kept."""
        self._purge()
        now = time.time()
        self._write(
            "INSERT OR REPLACE INTO chat_messages (chat_id, message_id, sent) VALUES (?, ?, ?)",
            (chat_id, message_id, now),
        )
        self._write(
            "DELETE FROM chat_messages WHERE chat_id = ? AND (sent < ? OR message_id NOT IN "
            "(SELECT message_id FROM chat_messages WHERE chat_id = ? "
            "ORDER BY message_id DESC LIMIT ?))",
            (chat_id, now - DELETE_WINDOW, chat_id, MAX_MESSAGES),
        )

    def deletable_messages(self, chat_id: int) -> list[int]:
        """Ids still inside Telegram's deletion window, newest first. Read on the writer's
        connection, in turn with the writes, so it sees every id remembered before it."""
        rows = self._read(
            "SELECT message_id FROM chat_messages WHERE chat_id = ? AND sent >= ? "
            "ORDER BY message_id DESC",
            (chat_id, time.time() - DELETE_WINDOW),
            self._db,
        )
        return [mid for (mid,) in rows]

    def forget_messages(self, chat_id: int, message_ids: Iterable[int]) -> None:
        """Erase the ids /clear (or a media delete) has dealt with, from the file and its log."""
        ids = list(message_ids)
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            self._write(
                f"DELETE FROM chat_messages WHERE chat_id = ? AND message_id IN ({marks})",
                (chat_id, *batch),
            )
        if ids:
            self._write("PRAGMA wal_checkpoint(TRUNCATE)")

    def forget_state(self, chat_id: int) -> None:
        """/forget: erase the guide position and case labels; keep what /clear must delete."""
        self._write("DELETE FROM chat_state WHERE chat_id = ?", (chat_id,))
        self._write("PRAGMA wal_checkpoint(TRUNCATE)")

    def forget(self, chat_id: int) -> None:
        """Erase every row this chat has, from the database file and its write-ahead log."""
        self._write("DELETE FROM chat_state WHERE chat_id = ?", (chat_id,))
        self._write("DELETE FROM chat_messages WHERE chat_id = ?", (chat_id,))
        self._write("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------------ the update ledger

    def handled(self, update_id: int) -> bool:
        """True if this update was handled already (a redelivery must then be a no-op)."""
        return bool(self._read("SELECT 1 FROM handled_updates WHERE update_id = ?", (update_id,)))

    def mark_handled(self, update_id: int) -> None:
        self._write(
            "INSERT OR REPLACE INTO handled_updates (update_id, handled) VALUES (?, ?)",
            (update_id, time.time()),
        )

    def confirmed_below(self, update_id: int) -> None:
        """Telegram confirmed every update below this id: it will never send them again."""
        self._write("DELETE FROM handled_updates WHERE update_id < ?", (update_id,))

    def close(self) -> None:
        self._reader.close()
        self._db.close()
