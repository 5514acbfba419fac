"""Over real HTTP against the Bot API emulator: the note for the record arrives as one
copyable message, the anonymous counts reach SQLite, /why answers only editors' chats,
and scripted conversations run through Telegram as they do through the engine."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from bot.channels.counts import DB_NAME
from bot.channels.telegram.delivery import STORE_KEY
from bot.dialogue import callbacks
from tests.channels.test_telegram import CHAT, keys, press, replies_to, running
from tests.support import DATA

pytestmark = pytest.mark.e2e


def _data_for(message: dict, label_start: str) -> str:
    return next(
        b["callback_data"]
        for row in keys(message)
        for b in row
        if b.get("text", "").startswith(label_start) and "callback_data" in b
    )


async def _walk_contact(emu) -> dict:
    [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "contact"))
    for label in ("Yes", "No", "No", "No"):
        if not any(b.get("text", "").startswith(label) for row in keys(msg) for b in row):
            break
        msg = await press(emu, CHAT, msg["message_id"], _data_for(msg, label))
    return msg


async def test_note_is_one_preformatted_message_and_counts_reach_sqlite(
    emu, app, tmp_path: Path
) -> None:
    result = await _walk_contact(emu)
    note_data = _data_for(result, "📋")
    assert note_data == callbacks.NOTE
    before = len(emu.sent(CHAT))
    emu.user_presses_button(CHAT, result["message_id"], note_data)
    await emu.wait_for(lambda: len(emu.sent(CHAT)) > before)
    [note] = emu.sent(CHAT)[before:]
    assert "Questions and answers" in note["text"] and "Routes given" in note["text"]
    assert any(e["type"] == "pre" for e in note.get("entities", [])), note.get("entities")
    await app.bot_data[STORE_KEY].counted()  # counts are written on a thread of their own
    db = sqlite3.connect(tmp_path / "data" / DB_NAME)
    rows = db.execute("SELECT what, which, n FROM daily_counts").fetchall()
    db.close()
    whats = {what for what, _, _ in rows}
    assert {"guide_start", "guide_result", "note"} <= whats, rows
    assert all(str(CHAT) not in which for _, which, _ in rows)


async def test_why_answers_only_editor_chats(emu, content, tmp_path, warm_cache, monkeypatch):
    monkeypatch.setenv("GUIDANCE_EDITOR_CHAT_IDS", f"{CHAT}")
    async with running(emu, content, tmp_path / "data"):
        [msg] = await replies_to(
            emu, CHAT, lambda: emu.user_sends_command(CHAT, "why", "lad sextorted on snap")
        )
        assert "normalised:" in msg["text"] and "top intents:" in msg["text"]
        other = CHAT + 1
        [msg] = await replies_to(
            emu, other, lambda: emu.user_sends_command(other, "why", "lad sextorted on snap")
        )
        assert "normalised:" not in msg["text"]


CONVERSATIONS = yaml.safe_load((DATA / "conversations.yaml").read_text(encoding="utf-8"))[
    "conversations"
]
OVER_TELEGRAM = [c for c in CONVERSATIONS if not any(t["say"].startswith("/") for t in c["turns"])]


@pytest.mark.parametrize("conversation", OVER_TELEGRAM[:4], ids=lambda c: c["name"][:50])
async def test_conversation_over_telegram(emu, app, conversation) -> None:
    for turn in conversation["turns"]:
        shown = await _all_replies(emu, turn["say"])
        for pattern in turn.get("must", []):
            assert re.search(pattern, shown, re.I), (pattern, turn["say"], shown[:800])
        for pattern in turn.get("must_not", []):
            assert not re.search(pattern, shown, re.I), (pattern, turn["say"], shown[:800])


async def _all_replies(emu, text: str) -> str:
    """Send a message and collect every reply (a crisis turn sends two), buttons included."""
    before = len(emu.sent(CHAT))
    emu.user_sends_text(CHAT, text)
    await emu.wait_for(lambda: len(emu.sent(CHAT)) > before)
    await emu.wait_for(lambda: not emu.pending_updates)
    new = emu.sent(CHAT)[before:]
    buttons = [b.get("text", "") for m in new for row in keys(m) for b in row]
    return "\n\n".join([*(m["text"] for m in new), *buttons])


async def test_case_labels_are_stored_then_erased_by_forget(emu, app, tmp_path: Path) -> None:
    """The labels a case message leaves are in the SQLite file; /forget takes them out of
    the file itself (the WAL included), and they are the only trace of the case."""
    db_file = tmp_path / "data" / DB_NAME
    await replies_to(
        emu, CHAT, lambda: emu.user_sends_text(CHAT, "my son is being sextorted on snap, help")
    )
    store = app.bot_data[STORE_KEY]
    await store.settled()  # the turn's writes finish after its reply is sent
    db = sqlite3.connect(db_file)
    [(state,)] = db.execute("SELECT state FROM chat_state WHERE chat_id = ?", (CHAT,)).fetchall()
    db.close()
    assert '"role": "parent_carer"' in state and "sextorted" not in state
    await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "forget"))
    await store.settled()
    db = sqlite3.connect(db_file)
    assert db.execute("SELECT * FROM chat_state WHERE chat_id = ?", (CHAT,)).fetchall() == []
    db.close()
    on_disk = b"".join(p.read_bytes() for p in db_file.parent.glob(f"{DB_NAME}*"))
    assert b"parent_carer" not in on_disk
