"""The chat store on its own (no Telegram): it keeps only the most recent message ids."""

from __future__ import annotations

from pathlib import Path

from bot.channels.telegram.store import ChatStore

CHAT = 5001


def test_store_keeps_only_recent_ids(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    for mid in range(1, 251):
        store.remember_message(CHAT, mid)
    assert store.deletable_messages(CHAT) == list(range(250, 50, -1))
    store.save_state(CHAT, {})
    assert store.state(CHAT) == {}
    store.close()
