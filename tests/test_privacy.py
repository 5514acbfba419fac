"""Privacy proof: a unique canary typed into every kind of message leaves no trace anywhere.

The canary goes into questions, free text typed mid-flow, crisis text, command arguments,
unknown commands, captions, inline queries, group messages (addressed to the bot and not),
forged button data, edited and unreadable updates, and a message whose answer fails to send.
It is then looked for in every file the code could have written (data directory, SQLite
journal files, model cache, HOME, the working directory), in every log record of every logger
at DEBUG, in stdout/stderr and warnings, in the store's rows, and in everything the bot sent
to the Bot API. Telegram itself quotes the user's message in a group reply
(`reply_to_message`); that is Telegram's echo, so the bot's own requests are what is checked.

Also here: /privacy says what is stored and for how long, read against the constants of
bot/channels/telegram/store.py, and /forget really erases.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest

import bot.channels.telegram.app as bot_telegram
import bot.channels.telegram.store as store_mod
from bot.channels.telegram.store import (
    DB_NAME,
    DELETE_WINDOW,
    LEDGER_TTL,
    MAX_MESSAGES,
    STATE_TTL,
    ChatStore,
)
from bot.channels.terminal import chat
from bot.content import Content
from bot.content.records import EVENTS, NATIONS, ROLES
from bot.dialogue import Command, Engine, Press, State
from tests.channels.test_telegram import (
    CHAT,
    GROUP,
    TOKEN,
    USER,
    db_rows,
    keys,
    plain,
    replies_to,
    running,
)
from tests.support.emulator import BotApiEmulator

JSON = dict


def new_canary() -> str:
    """32 hex digits behind a prefix no content word starts with: unique to one test run."""
    return "zq" + uuid.uuid4().hex


def messages_with(canary: str) -> list[str]:
    """Free text of every shape a user might type, each carrying the canary."""
    return [
        canary,
        f"what are the signs {canary}",
        f"my name is {canary} and he is blackmailing me",
        f"he says he's going to kill himself tonight {canary}",  # crisis
        f"he's paid £200 already. {canary}. what now?",
        f"<b>{canary}</b> *_[ &amp; </i> <a href=x>",
        f"كيف أبلغ عن {canary} ‏שלום",  # right-to-left
        f"👩\u200d👩\u200d👧 {canary} \u200b\u200d\ufeff",
        f"{canary} " * 40 + "what do i do",  # a long message
        f"{canary}\n\nsecond paragraph\n{canary}",
    ]


# ---------------------------------------------------------------- where a trace could hide


@dataclass
class Sandbox:
    """Every place the code under test may write: nothing else is writable by it."""

    root: Path
    data: Path
    cache: Path
    home: Path
    cwd: Path


@pytest.fixture
def sandbox(
    tmp_path: Path, engine: Engine, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Sandbox:
    """A private copy of the session's trained model cache, HOME and working directory."""
    box = Sandbox(
        tmp_path, tmp_path / "data", tmp_path / "cache", tmp_path / "home", tmp_path / "cwd"
    )
    shutil.copytree(model_cache, box.cache)
    box.home.mkdir()
    box.cwd.mkdir()
    monkeypatch.setenv("GUIDANCE_CACHE_DIR", str(box.cache))
    monkeypatch.setenv("HOME", str(box.home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(box.home / ".cache"))
    monkeypatch.chdir(box.cwd)
    return box


def files_with(root: Path, canary: str) -> list[str]:
    """Every file under root whose bytes hold the canary (UTF-8 or UTF-16, as SQLite may)."""
    needles = (canary.encode(), canary.encode("utf-16-le"), canary.encode("utf-16-be"))
    hits = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if any(n in data for n in needles):
                hits.append(str(path.relative_to(root)))
    return hits


def all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def store_dump(data_dir: Path) -> list[tuple]:
    """Every row of every table in the store, read straight from the SQLite file."""
    with contextlib.closing(sqlite3.connect(data_dir / DB_NAME)) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [(t, *row) for t in tables for row in db.execute(f'SELECT * FROM "{t}"')]


class KeepEverything(logging.Handler):
    """Keeps each record as handlers see it: formatted (with traceback) and all its fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []
        self._format = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{self._format.format(record)}\n{vars(record)!r}")


@pytest.fixture
def logs(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> Iterator[KeepEverything]:
    """Root and every library logger at DEBUG, a record keeper on the root (and on any logger
    that does not propagate), and caplog at DEBUG too.

    build_application() turns httpx/httpcore/telegram down to WARNING (quiet_library_logs):
    that is wrapped so the bot's filters are still installed but every logger is turned back
    up to DEBUG - the strongest setting an operator could choose.
    """
    keep = KeepEverything()
    saved: dict[logging.Logger, int] = {}
    attached: list[logging.Logger] = []

    def all_debug() -> None:
        for logger in [
            logging.getLogger(),
            *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict)),
        ]:
            saved.setdefault(logger, logger.level)
            logger.setLevel(logging.DEBUG)
            if not logger.propagate and keep not in logger.handlers:
                logger.addHandler(keep)
                attached.append(logger)

    quiet = bot_telegram.quiet_library_logs

    def quiet_then_debug() -> None:
        quiet()
        all_debug()

    monkeypatch.setattr(bot_telegram, "quiet_library_logs", quiet_then_debug)
    caplog.set_level(logging.DEBUG)
    all_debug()
    logging.getLogger().addHandler(keep)
    try:
        yield keep
    finally:
        logging.getLogger().removeHandler(keep)
        for logger in attached:
            logger.removeHandler(keep)
        for logger, level in saved.items():
            logger.setLevel(level)


def assert_no_log_trace(
    canary: str,
    keep: KeepEverything,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert keep.records, "the record keeper saw nothing: the logging set-up is broken"
    leaked = [r for r in keep.records if canary in r]
    assert not leaked, leaked[:3]
    assert canary not in caplog.text
    for record in caplog.records:
        assert canary not in f"{record.getMessage()} {record.exc_text or ''} {vars(record)!r}"


# ---------------------------------------------------------------- the terminal chat


def terminal_lines(canary: str) -> list[str]:
    return [
        f"/start {canary}",
        *messages_with(canary),
        "/contact",
        "1",  # a real choice: into the flow
        f"{canary} typed in the middle of a guide",
        f"/help {canary}",
        f"/{canary}",
        f"/nosuchcommand {canary}",
        f"999{canary}",
        "/privacy",
        f"/forget {canary}",
        f"/clear {canary}",
        canary,
        "/quit",
    ]


@pytest.mark.e2e
def test_terminal_process_keeps_no_trace(cli_env: dict[str, str], sandbox: Sandbox) -> None:
    canary = new_canary()
    cache_before = all_files(sandbox.cache)
    env = dict(
        cli_env,
        GUIDANCE_CACHE_DIR=str(sandbox.cache),
        HOME=str(sandbox.home),
        XDG_CACHE_HOME=str(sandbox.home / ".cache"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        cwd=sandbox.cwd,
        env=env,
        input="\n".join(terminal_lines(canary)) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "What I store" in proc.stdout  # /privacy was answered: the session really ran
    assert canary not in proc.stdout and canary not in proc.stderr
    assert files_with(sandbox.root, canary) == []
    assert all_files(sandbox.cache) == cache_before  # no new file in the model cache
    assert all_files(sandbox.cwd) == set() and all_files(sandbox.home) == set()


def test_terminal_in_process_keeps_no_trace(
    engine: Engine,
    sandbox: Sandbox,
    logs: KeepEverything,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture,
) -> None:
    canary = new_canary()
    out = StringIO()
    assert chat(engine, StringIO("\n".join(terminal_lines(canary)) + "\n"), out) == 0
    shown = out.getvalue()
    assert "== Forgotten ==" in shown and "What I store" in shown
    assert canary not in shown
    captured = capfd.readouterr()
    assert canary not in captured.out + captured.err
    assert files_with(sandbox.root, canary) == []
    logging.getLogger("tests.privacy").debug("record keeper check")  # proves capture works
    assert_no_log_trace(canary, logs, caplog)


# ---------------------------------------------------------------- the Telegram bot


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


def raw_message(chat_id: int, text: str, **extra: object) -> JSON:
    user = {"id": chat_id, "is_bot": False, "first_name": "T"}
    return {
        "message_id": 900,
        "date": int(time.time()),
        "from": user,
        "chat": {"id": chat_id, "type": "private", "first_name": "T"},
        "text": text,
        **extra,
    }


async def forge_press(emu: BotApiEmulator, chat_id: int, message_id: int, data: str) -> None:
    """Press a button that is not on the message (a modified client); wait for the answer."""
    answered = len(emu.callback_answers)
    before = len(emu.calls)
    emu.user_presses_button(chat_id, message_id, data, require_button=False)
    await emu.wait_for(lambda: len(emu.callback_answers) > answered)
    await emu.wait_for(
        lambda: any(m in ("sendMessage", "editMessageText") for m, _ in emu.calls[before:])
    )


async def settle(emu: BotApiEmulator, *chats: int) -> None:
    """A /menu in each chat, answered: each chat's earlier updates are all handled."""
    for chat_id in chats:
        await replies_to(
            emu, chat_id, lambda c=chat_id: emu.user_sends_command(c, "menu", address_bot=c < 0)
        )


async def step_into_guide(emu: BotApiEmulator, engine: Engine, chat_id: int, flow: JSON) -> None:
    """Press the first answer on the /contact message that leads to another question (so
    the chat is mid-guide, with history); the bot edits the message in place."""
    start = engine.handle(State(), Command("contact"))
    data = next(
        b["callback_data"]
        for row in keys(flow)
        for b in row
        if b.get("callback_data", "").startswith("q:")
        and engine.handle(start.state, Press(b["callback_data"])).replies[0].kind == "flow"
    )
    edits = len(emu.calls_to("editMessageText"))
    emu.user_presses_button(chat_id, flow["message_id"], data)
    await emu.wait_for(lambda: len(emu.calls_to("editMessageText")) > edits)


def bot_authored(message: JSON) -> JSON:
    """A sent message without Telegram's own quote of the message it replies to."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


@pytest.mark.e2e
async def test_telegram_keeps_no_trace(
    emu: BotApiEmulator,
    content: Content,
    engine: Engine,
    sandbox: Sandbox,
    logs: KeepEverything,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture,
    recwarn: pytest.WarningsRecorder,
) -> None:
    canary = new_canary()
    other = CHAT + 1
    cache_before = all_files(sandbox.cache)
    async with running(emu, content, sandbox.data):
        # Commands with the canary as argument, and an unknown command made of it.
        for name in ("start", "privacy", "help", "links", "menu"):
            await replies_to(emu, CHAT, lambda n=name: emu.user_sends_command(CHAT, n, canary))
        await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, f"x{canary}", canary))

        # Questions and free text of every shape (crisis text gets its answers too).
        for text in messages_with(canary):
            await replies_to(emu, CHAT, lambda t=text: emu.user_sends_text(CHAT, t))

        # Inside a flow: a real press, free text mid-flow, then forged button data.
        [flow] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "contact"))
        await step_into_guide(emu, engine, CHAT, flow)
        await replies_to(
            emu, CHAT, lambda: emu.user_sends_text(CHAT, f"{canary} can i just block him")
        )
        [state] = db_rows(sandbox.data, CHAT)[0]
        node = json.loads(state[0])["node"]
        forged = [
            f"q:contact:{node}:{canary}",
            f"t:contact:{node}:{canary}",
            f"d:contact:{canary}",
            f"i:{canary}",
            f"f:{canary}",
            f"x:{canary}",
            canary,
            f"{canary}:{canary}",
        ]
        for data in forged:
            await forge_press(emu, CHAT, flow["message_id"], data[:64])

        # Media with captions: deleted unopened, never downloaded.
        for kind in ("photo", "document", "video"):
            await replies_to(emu, CHAT, lambda k=kind: emu.user_sends_media(CHAT, k, canary))
        emu.user_sends_media(CHAT, "photo", canary, media_group_id=f"album-{canary}")
        emu.user_sends_media(CHAT, "photo", media_group_id=f"album-{canary}")

        # Inline mode.
        for n, query in enumerate(
            [
                canary,
                f"should i look at the pics {canary}",
                f"he says he will kill himself tonight {canary}",
            ],
            start=1,
        ):
            emu.user_sends_inline_query(USER, query)
            await emu.wait_for(lambda n=n: len(emu.inline_answers) >= n)

        # Groups: silent unless addressed; answered (and quoted by Telegram) when addressed.
        emu.user_sends_group_text(GROUP, f"{canary} not for the bot")
        emu.user_sends_group_text(GROUP, f"@some_other_bot {canary}")
        emu.user_sends_command(GROUP, "start@some_other_bot", canary)
        emu.user_sends_media(GROUP, "photo", canary)
        [answer] = await replies_to(
            emu,
            GROUP,
            lambda: emu.user_sends_group_text(
                GROUP, f"what are the signs {canary}", mention_bot=True
            ),
        )
        await replies_to(
            emu,
            GROUP,
            lambda: emu.user_sends_group_text(
                GROUP, f"and if he paid {canary}", reply_to_bot_message_id=answer["message_id"]
            ),
        )
        await replies_to(
            emu, GROUP, lambda: emu.user_sends_command(GROUP, "help", canary, address_bot=True)
        )

        # Updates the bot must ignore: an edit, an unreadable message, an inline-message press.
        emu.push_raw_update({"edited_message": raw_message(CHAT, canary, edit_date=1)})
        emu.push_raw_update({"message": {"text": canary, "chat": {"id": CHAT}}})
        emu.push_raw_update(
            {
                "callback_query": {
                    "id": "77",
                    "chat_instance": "1",
                    "inline_message_id": canary,
                    "data": canary,
                    "from": {"id": USER, "is_bot": False, "first_name": "T"},
                }
            }
        )

        # An answer that cannot be sent: through the retries and the error handler. (A /menu
        # in each chat first: a chat's updates are handled in order, so nothing else is
        # still sending when the fault is armed.)
        await settle(emu, CHAT, GROUP)
        emu.fail_next("sendMessage", status=500, times=3)
        [sorry] = await replies_to(emu, CHAT, lambda: emu.user_sends_text(CHAT, f"help {canary}"))
        assert sorry["text"].startswith("Sorry")

        # A second chat leaves with /forget and /clear, both with the canary as argument.
        await replies_to(emu, other, lambda: emu.user_sends_text(other, f"signs {canary}"))
        await replies_to(emu, other, lambda: emu.user_sends_command(other, "forget", canary))
        await replies_to(emu, other, lambda: emu.user_sends_text(other, f"{canary} again"))
        quick_exit = emu.user_sends_command(other, "clear", canary)
        await emu.wait_for(lambda: quick_exit in emu.deleted(other))

        # Everything above handled, then look while the bot is still running.
        await settle(emu, CHAT, GROUP)
        await emu.wait_for(lambda: not emu.pending_updates)
        assert files_with(sandbox.root, canary) == []
        rows = store_dump(sandbox.data)
    assert emu.calls_to("getFile") == []

    # Nothing the bot asked of the Bot API carries the canary: messages, edits, inline answers.
    assert emu.calls_to("answerInlineQuery") and emu.calls_to("editMessageText")
    for method, params in emu.calls:
        assert canary not in json.dumps(params, ensure_ascii=False), method
    for chat_id in (CHAT, other, GROUP):
        for message in emu.sent(chat_id):
            assert canary not in json.dumps(bot_authored(message), ensure_ascii=False)
    for answer in emu.inline_answers:
        assert canary not in json.dumps(answer, ensure_ascii=False)
    assert any(canary in json.dumps(m.get("reply_to_message", {})) for m in emu.sent(GROUP)), (
        "expected Telegram's own quote of the group question (the check above excludes it)"
    )

    # No file, no store row, no log record, no output, no warning.
    assert files_with(sandbox.root, canary) == []
    assert all_files(sandbox.cache) == cache_before
    assert all_files(sandbox.cwd) == set() and all_files(sandbox.home) == set()
    assert rows and canary not in repr(rows)
    assert db_rows(sandbox.data, other) == ([], [])  # /clear erased that chat's rows
    assert_state_rows_hold_only_content_ids(rows, content)
    assert_no_log_trace(canary, logs, caplog)
    captured = capfd.readouterr()
    assert canary not in captured.out + captured.err
    assert all(canary not in str(w.message) for w in recwarn.list)


def assert_state_rows_hold_only_content_ids(rows: list[tuple], content: Content) -> None:
    """A stored state holds flow ids, node ids and flags from the content - nothing typed."""
    flags = {
        ch.set
        for f in content.flows.values()
        for n in f.nodes.values()
        for ch in n.choices
        if ch.set
    }
    flags |= {o.id for f in content.flows.values() for n in f.nodes.values() for o in n.options}
    states = [json.loads(r[2]) for r in rows if r[0] == "chat_state"]
    assert states, "no flow position was stored: the flow steps above did not run"
    for state in states:
        assert set(state) <= {"flow", "node", "flags", "history", "case", "topic", "aside"}
        if "flow" in state:
            nodes = content.flows[state["flow"]].nodes
            assert state["node"] in nodes and set(state["flags"]) <= flags
            for node, ticked in state["history"]:
                assert node in nodes and set(ticked) <= flags
        assert state.get("topic") in (None, *content.responses), state
        assert state.get("aside") in (None, True), state
        case = state.get("case", {})
        assert set(case) <= {"role", "age_band", "events", "nation"}, case
        assert case.get("role", "unknown") in ROLES and case.get("nation", "unknown") in (
            "unknown",
            *NATIONS,
        )
        assert case.get("age_band", "unknown") in ("unknown", "under_18", "adult")
        assert set(case.get("events", [])) <= set(EVENTS), case


# ---------------------------------------------------------------- /privacy tells the truth


# What /privacy must say for each label a stored state can hold.
CASE_LABELS_NAMED = (
    "who is asking",  # role
    "under 18 or an adult",  # age_band
    "threat to share images",  # events: extortion
    "a payment",  # paid
    '"debt"',  # debt
    "threats of harm",  # threats
    "images already shared",  # shared
    "the UK nation",  # nation
    "the last topic",  # topic
)
assert len(EVENTS) == 5, "a new event label must be named in /privacy and above"


def _hours(seconds: int) -> str:
    assert seconds % 3600 == 0, "the privacy statement speaks in whole hours"
    return f"{seconds // 3600} hours"


def check_privacy_statement(text: str) -> None:
    """What is stored and for how long, as bot/channels/telegram/store.py defines it."""
    flat = " ".join(text.split())
    bullets = [b.strip() for b in flat.split("•")[1:]]
    guide = [b for b in bullets if "guide" in b]
    numbers = [b for b in bullets if "numbers" in b]
    labels = [b for b in bullets if "labels about the case" in b]
    ledger = [b for b in bullets if b.startswith("update numbers")]
    assert guide and numbers and labels and ledger, bullets
    assert "not which chat" in ledger[0] and _hours(LEDGER_TTL) in ledger[0]
    assert "where you are" in guide[0] and _hours(STATE_TTL) in guide[0]
    # Every label a state may hold (bot/dialogue/state.py, bot/matching/facts.py) is named.
    assert _hours(STATE_TTL) in labels[0]
    for named in CASE_LABELS_NAMED:
        assert named in labels[0], f"/privacy does not mention {named!r}"
    assert "never the contents" in numbers[0] and _hours(DELETE_WINDOW) in numbers[0]
    assert f"last {MAX_MESSAGES} messages" in numbers[0]
    assert "/forget" in flat and "/clear" in flat
    assert "never store or log the text" in flat
    # What the anonymous daily counts hold (bot/channels/counts.py), named in full.
    counted = flat[flat.index("Counted") :].split(".")[0]
    for named in ("per day", "no chat", "no text", "400 days", "answers", "guides", "routes",
                  "notes", "👍/👎"):  # fmt: skip
        assert named in counted, f"/privacy does not say {named!r} about the counts"
    assert "keeps only the message numbers" in flat  # /forget leaves what /clear needs
    stated = {int(h) for h in re.findall(r"(\d+) hours", flat)}
    assert stated == {STATE_TTL // 3600, DELETE_WINDOW // 3600, LEDGER_TTL // 3600}


def test_privacy_statement_matches_the_store(engine: Engine) -> None:
    [reply] = engine.handle(State(), Command("privacy")).replies
    check_privacy_statement(reply.text)


def test_schema_holds_only_what_privacy_says(tmp_path: Path) -> None:
    """Chat ids, message ids, the small state and timestamps: no column could hold text."""
    ChatStore(tmp_path).close()
    with contextlib.closing(sqlite3.connect(tmp_path / DB_NAME)) as db:
        tables = {
            t: [c[1] for c in db.execute(f'PRAGMA table_info("{t}")')]
            for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert tables == {
        "chat_state": ["chat_id", "state", "updated"],
        "chat_messages": ["chat_id", "message_id", "sent"],
        "handled_updates": ["update_id", "handled"],  # ids only: no chat, no text
    }


@pytest.mark.e2e
async def test_telegram_privacy_and_forget(
    emu: BotApiEmulator, content: Content, engine: Engine, sandbox: Sandbox
) -> None:
    data = sandbox.data
    bystander = CHAT + 7
    async with running(emu, content, data):
        [privacy] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "privacy"))
        [expected] = engine.handle(State(), Command("privacy")).replies
        assert privacy["text"] == plain(expected)
        check_privacy_statement(privacy["text"])

        # A chat in the middle of a guide, with message ids kept for /clear.
        await replies_to(emu, bystander, lambda: emu.user_sends_command(bystander, "signs"))
        [flow] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "contact"))
        await step_into_guide(emu, engine, CHAT, flow)
        await replies_to(emu, CHAT, lambda: emu.user_sends_text(CHAT, "what are the signs"))
        await emu.wait_for(lambda: all(db_rows(data, CHAT)))  # written as the reply goes out
        states, ids = db_rows(data, CHAT)
        position = json.loads(states[0][0])
        assert position["flow"] == "contact" and position["history"]

        [done] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "forget"))
        assert done["text"].startswith("Forgotten")
        await emu.wait_for(lambda: done["message_id"] in {m for (m,) in db_rows(data, CHAT)[1]})
        states, kept = db_rows(data, CHAT)
        assert states == [] and set(kept) >= set(ids)  # what /clear needs stays
        assert db_rows(data, bystander)[0]  # only this chat is forgotten

        # The old guide's buttons are now stale: the expired reply, not a step of the guide.
        pressed = next(m for m in emu.sent(CHAT) if m["message_id"] == flow["message_id"])
        stale = keys(pressed)[0][0]["callback_data"]
        [expired] = await replies_to(
            emu, CHAT, lambda: emu.user_presses_button(CHAT, flow["message_id"], stale)
        )
        [want] = engine.handle(State(), Press(stale)).replies
        assert expired["text"] == plain(want)
        assert expired["text"].startswith("Menu\n\nThat menu has expired")


def test_forget_leaves_no_bytes_on_disk(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    position = {"flow": "contact", "node": "paid", "flags": ["zq_forgotten_flag"], "history": []}
    store.save_state(CHAT, position)
    store.remember_message(CHAT, 41)
    assert files_with(tmp_path, "zq_forgotten_flag")  # the position is on disk...
    store.forget(CHAT)  # ...and /forget runs while the bot keeps running
    assert store.state(CHAT) == {} and db_rows(tmp_path, CHAT) == ([], [])
    try:
        assert files_with(tmp_path, "zq_forgotten_flag") == []
    finally:
        store.close()


# ---------------------------------------------------------------- how long rows really stay


def _aged_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, age: float) -> Path:
    """A chat that used the bot and went quiet; the bot restarts `age` seconds later and
    another chat uses it. Returns the database file."""
    quiet, active = CHAT, CHAT + 1
    store = ChatStore(tmp_path)
    store.save_state(quiet, {"flow": "contact", "node": "paid", "flags": [], "history": []})
    store.remember_message(quiet, 1)
    store.close()
    later = time.time() + age
    monkeypatch.setattr(store_mod, "time", SimpleNamespace(time=lambda: later))
    store = ChatStore(tmp_path)
    store.save_state(active, {"flow": "report", "node": "need", "flags": [], "history": []})
    store.remember_message(active, 1)
    assert store.state(active)
    store.close()
    return tmp_path


def test_state_of_a_quiet_chat_is_gone_after_the_stated_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _aged_store(tmp_path, monkeypatch, STATE_TTL + 3600)
    assert db_rows(data, CHAT)[0] == []


def test_message_ids_of_a_quiet_chat_are_gone_after_the_stated_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _aged_store(tmp_path, monkeypatch, DELETE_WINDOW + 3600)
    assert db_rows(data, CHAT)[1] == []
