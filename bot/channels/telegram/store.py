"""Per-chat persistence in SQLite: the flow position and the message ids /clear may delete.

Why not PTB's persistence: rows are written the moment they change (nothing to
flush, nothing lost on a crash or SIGKILL), and the schema itself shows what is
kept - chat ids, message ids, the engine's small JSON state and timestamps.
Never message text, captions or queries.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

DB_NAME = "guidance.sqlite3"
STATE_TTL = 24 * 3600  # a flow left for a day starts afresh (PTB timeouts aren't persisted)
DELETE_WINDOW = 48 * 3600  # Telegram lets bots delete messages for 48 hours
MAX_MESSAGES = 200  # ids kept per private chat for /clear
PURGE_EVERY = 60  # seconds between sweeps for expired rows of all chats

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
"""


class ChatStore:
    """A tiny synchronous store: every call is one indexed statement on a local file."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = data_dir / DB_NAME
        self.path.touch(mode=0o600, exist_ok=True)  # chat ids are personal data: owner only
        self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit
        # Write-ahead log without a disk sync per statement: a few statements a message
        # cost ~2 ms each otherwise; a power cut can lose the last moments of flow positions.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not freed
        self._db.executescript(SCHEMA)
        self._purged = 0.0
        self._purge()

    def state(self, chat_id: int) -> dict:
        """The stored engine state, or {} if there is none or it has expired."""
        row = self._db.execute(
            "SELECT state, updated FROM chat_state WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        if row is None:
            return {}
        if row[1] < time.time() - STATE_TTL:
            self._db.execute("DELETE FROM chat_state WHERE chat_id = ?", (chat_id,))
            return {}
        try:
            data = json.loads(row[0])
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _purge(self) -> None:
        """Drop what has outlived the times /privacy promises, for every chat (once a minute)."""
        now = time.time()
        if now - self._purged < PURGE_EVERY:
            return
        self._purged = now
        self._db.execute("DELETE FROM chat_state WHERE updated < ?", (now - STATE_TTL,))
        self._db.execute("DELETE FROM chat_messages WHERE sent < ?", (now - DELETE_WINDOW,))

    def save_state(self, chat_id: int, state: dict) -> None:
        self._purge()
        if not state:
            self._db.execute("DELETE FROM chat_state WHERE chat_id = ?", (chat_id,))
            return
        self._db.execute(
            "INSERT INTO chat_state (chat_id, state, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(chat_id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            (chat_id, json.dumps(state, sort_keys=True), time.time()),
        )

    def remember_message(self, chat_id: int, message_id: int) -> None:
        """Keep a message id for /clear; only the newest MAX_MESSAGES per chat are kept."""
        self._purge()
        now = time.time()
        self._db.execute(
            "INSERT OR REPLACE INTO chat_messages (chat_id, message_id, sent) VALUES (?, ?, ?)",
            (chat_id, message_id, now),
        )
        self._db.execute(
            "DELETE FROM chat_messages WHERE chat_id = ? AND (sent < ? OR message_id NOT IN "
            "(SELECT message_id FROM chat_messages WHERE chat_id = ? "
            "ORDER BY message_id DESC LIMIT ?))",
            (chat_id, now - DELETE_WINDOW, chat_id, MAX_MESSAGES),
        )

    def deletable_messages(self, chat_id: int) -> list[int]:
        """Ids still inside Telegram's deletion window, newest first."""
        rows = self._db.execute(
            "SELECT message_id FROM chat_messages WHERE chat_id = ? AND sent >= ? "
            "ORDER BY message_id DESC",
            (chat_id, time.time() - DELETE_WINDOW),
        )
        return [mid for (mid,) in rows]

    def forget(self, chat_id: int) -> None:
        """Erase every row this chat has, from the database file and its write-ahead log."""
        self._db.execute("DELETE FROM chat_state WHERE chat_id = ?", (chat_id,))
        self._db.execute("DELETE FROM chat_messages WHERE chat_id = ?", (chat_id,))
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self._db.close()
