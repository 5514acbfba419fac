"""Anonymous daily counts in the bot's SQLite file: which answers, guides and routes were
shown, per day, and nothing else.

A row is (day, what, which, n): no chat id, no time finer than a day, no text, so no row
can be joined back to a conversation. Rows older than the retention are purged. Counting
is off with GUIDANCE_COUNTS=off; GUIDANCE_COUNTS_DAYS sets the retention (default 400).
"""

from __future__ import annotations

import datetime
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

DB_NAME = "guidance.sqlite3"
RETENTION_DAYS = 400
SCHEMA = """
CREATE TABLE IF NOT EXISTS daily_counts (
    day TEXT NOT NULL,      -- YYYY-MM-DD, UTC
    what TEXT NOT NULL,     -- answer, crisis, guide_start, guide_result, route, note, helpful
    which TEXT NOT NULL,    -- a content id: intent|band, flow, flow/node, route, intent|vote
    n INTEGER NOT NULL,
    PRIMARY KEY (day, what, which)
);
"""


def counting_on(env: Mapping[str, str] = os.environ) -> bool:
    return env.get("GUIDANCE_COUNTS", "on").strip().lower() not in ("off", "0", "no", "false")


def retention_days(env: Mapping[str, str] = os.environ) -> int:
    value = env.get("GUIDANCE_COUNTS_DAYS", "")
    return int(value) if value.isdigit() and int(value) > 0 else RETENTION_DAYS


class DailyCounts:
    def __init__(self, data_dir: Path, retention: int = RETENTION_DAYS) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        # The bot writes on its store's writer thread (offloop.py), not the one that opened it.
        self.db = sqlite3.connect(data_dir / DB_NAME, timeout=1.0, check_same_thread=False)
        self.db.executescript(SCHEMA)
        self.retention = retention
        self._purged_on = ""

    def add(self, counts: Iterable[tuple[str, str]], today: datetime.date | None = None) -> None:
        """One more for each (what, which) today; best effort: a counting fault never
        stops an answer."""
        day = (today or datetime.datetime.now(datetime.UTC).date()).isoformat()
        rows = [(day, what, which) for what, which in counts]
        if not rows:
            return
        try:
            with self.db:
                self.db.executemany(
                    "INSERT INTO daily_counts VALUES (?, ?, ?, 1) "
                    "ON CONFLICT (day, what, which) DO UPDATE SET n = n + 1",
                    rows,
                )
                if self._purged_on != day:
                    self.purge(datetime.date.fromisoformat(day))
                    self._purged_on = day
        except sqlite3.Error:
            pass

    def purge(self, today: datetime.date) -> None:
        oldest = (today - datetime.timedelta(days=self.retention)).isoformat()
        self.db.execute("DELETE FROM daily_counts WHERE day < ?", (oldest,))

    def rows(self, since: str = "") -> list[tuple[str, str, str, int]]:
        query = (
            "SELECT day, what, which, n FROM daily_counts WHERE day >= ? ORDER BY day, what, which"
        )
        return list(self.db.execute(query, (since,)))

    def close(self) -> None:
        self.db.close()
