"""The Telegram adapter end to end: a real PTB Application over real HTTP against the emulator.

Expected replies come from the engine itself (same event, same state), so these tests check
the adapter - rendering, buttons, editing, persistence, media safety, groups, inline mode,
faults and privacy - and keep passing while the content and matcher evolve.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from telegram.ext import Application

from bot.channels.telegram import html as tgformat
from bot.channels.telegram.app import UPDATES, build_application
from bot.channels.telegram.delivery import STORE_KEY, serving
from bot.channels.telegram.store import DB_NAME
from bot.content import Content
from bot.dialogue import Command, Engine, Media, Outcome, Press, Reply, State, Text
from tests.support import COMMANDS, REPO, TEXTS
from tests.support.emulator import MEDIA_KINDS, NOT_MODIFIED, BotApiEmulator

TOKEN = "123:TESTtoken_d41d8cd98f"  # distinctive, so a leak into logs or stderr is visible
CHAT, GROUP, USER = 5001, -100_700, 9001
JSON = dict

pytestmark = pytest.mark.e2e


# ---------------------------------------------------------------- fixtures and helpers


@contextlib.asynccontextmanager
async def running(
    emu: BotApiEmulator,
    content: Content,
    data_dir: Path,
) -> AsyncIterator[Application]:
    """The Application run_bot builds, served the way run_bot serves it (long polls of 1 s)."""
    app = build_application(
        content, TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url, data_dir=data_dir
    )
    async with serving(app, allowed_updates=UPDATES, poll_timeout=1):
        yield app


def plain(reply: Reply, **extra: str | None) -> str:
    """What a user sees of a reply once Telegram has parsed the HTML."""
    return "\n\n".join(b.text for b in tgformat.blocks(reply, **extra))


def keyboard_of(reply: Reply) -> list:
    markup = tgformat.keyboard(reply.buttons)
    return markup.to_dict()["inline_keyboard"] if markup else []


def keys(message: JSON) -> list:
    return message.get("reply_markup", {}).get("inline_keyboard", [])


def data_for(message: JSON, prefix: str) -> list[str]:
    return [
        b["callback_data"]
        for row in keys(message)
        for b in row
        if b.get("callback_data", "").startswith(prefix)
    ]


async def replies_to(
    emu: BotApiEmulator, chat: int, act: Callable[[], object], count: int = 1
) -> list[JSON]:
    """Do something as the user and return the bot's new messages in that chat."""
    before = len(emu.sent(chat))
    act()
    await emu.wait_for(lambda: len(emu.sent(chat)) >= before + count)
    return emu.sent(chat)[before:]


async def press(emu: BotApiEmulator, chat: int, message_id: int, data: str) -> JSON:
    """Press a button; return the edited message, or the new one if the bot sent one."""
    edits, sent = len(emu.calls_to("editMessageText")), len(emu.sent(chat))
    emu.user_presses_button(chat, message_id, data)
    await emu.wait_for(
        lambda: len(emu.calls_to("editMessageText")) > edits or len(emu.sent(chat)) > sent
    )
    await emu.wait_for(lambda: emu.callback_answers)
    if len(emu.sent(chat)) > sent:
        return emu.sent(chat)[-1]
    return next(m for m in emu.sent(chat) if m["message_id"] == message_id)


def db_rows(data_dir: Path, chat: int) -> tuple[list, list]:
    with contextlib.closing(sqlite3.connect(data_dir / DB_NAME)) as db:
        return (
            db.execute("SELECT state FROM chat_state WHERE chat_id = ?", (chat,)).fetchall(),
            db.execute(
                "SELECT message_id FROM chat_messages WHERE chat_id = ?", (chat,)
            ).fetchall(),
        )


# ---------------------------------------------------------------- commands and deep links


async def test_start_registers_commands_and_welcomes(
    emu: BotApiEmulator, app: Application, engine: Engine
) -> None:
    assert [c["command"] for c in emu.commands] == list(COMMANDS)
    groups = emu.commands_for({"type": "all_group_chats"})
    assert "clear" not in [c["command"] for c in groups] and groups
    [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "start"))
    [expected] = engine.handle(State(), Command("start")).replies
    assert msg["text"] == plain(expected)
    assert keys(msg) == keyboard_of(expected)
    assert msg["entities"][0]["type"] == "bold"  # the title, rendered in HTML
    sent = emu.calls_to("sendMessage")[-1]
    assert sent["parse_mode"] == "HTML" and sent["link_preview_options"]["is_disabled"]


async def test_deep_links_open_their_topic(
    emu: BotApiEmulator, app: Application, engine: Engine
) -> None:
    for i, arg in enumerate(["signs", "contact", "report", "links"]):
        chat = CHAT + i
        [msg] = await replies_to(
            emu, chat, lambda c=chat, a=arg: emu.user_sends_command(c, "start", a)
        )
        [expected] = engine.handle(State(), Command("start", arg)).replies
        assert msg["text"] == plain(expected), arg
        assert keys(msg) == keyboard_of(expected), arg
    assert "Quick links" in emu.sent(CHAT + 3)[0]["text"]


async def test_every_command_answers(emu: BotApiEmulator, app: Application, engine: Engine) -> None:
    for name in [*COMMANDS, "nosuchcommand"]:
        if name == "clear":
            continue
        [msg] = await replies_to(emu, CHAT, lambda n=name: emu.user_sends_command(CHAT, n))
        assert msg["text"] == plain(engine.handle(State(), Command(name)).replies[0]), name


# ---------------------------------------------------------------- questions and flows


async def test_typed_question_gets_answer_with_buttons(
    emu: BotApiEmulator, app: Application, engine: Engine
) -> None:
    question = "should i look at the pics he sent"
    [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_text(CHAT, question))
    [expected] = engine.handle(State(), Text(question)).replies
    assert expected.intent == "handling_images"
    assert msg["text"] == plain(expected)
    assert keys(msg) == keyboard_of(expected)
    assert any("url" in b for row in keys(msg) for b in row)  # route links
    assert any("callback_data" in b for row in keys(msg) for b in row)  # related topics, menu
    kinds = [e["type"] for e in msg["entities"]]
    assert kinds[0] == "bold" and (not expected.source or kinds[-1] == "italic")


async def test_contact_flow_walked_by_buttons(
    emu: BotApiEmulator, app: Application, engine: Engine
) -> None:
    [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "contact"))
    outcome: Outcome = engine.handle(State(), Command("contact"))
    expected, state, step = outcome.replies[0], outcome.state, 0
    while expected.kind != "result":
        choices = data_for(msg, "q:")
        data = choices[1] if step == 0 else choices[0]  # "No" to danger now, then the first
        outcome = engine.handle(state, Press(data))
        expected, state, step = outcome.replies[0], outcome.state, step + 1
        shown = await press(emu, CHAT, msg["message_id"], data)
        if expected.edit:
            assert shown["message_id"] == msg["message_id"]  # edited in place
        else:
            assert shown["message_id"] > msg["message_id"]  # a result is a new message
        assert shown["text"] == plain(expected)
        assert keys(shown) == keyboard_of(expected)
        msg = shown
    assert step >= 2 and len(emu.callback_answers) == step


async def test_checklist_toggles_edit_in_place(
    emu: BotApiEmulator, app: Application, engine: Engine
) -> None:
    [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "signs"))
    outcome = engine.handle(State(), Command("signs"))
    first = data_for(msg, "t:")[0]
    for _ in range(2):  # tick, then untick
        outcome = engine.handle(outcome.state, Press(first))
        shown = await press(emu, CHAT, msg["message_id"], first)
        assert shown["message_id"] == msg["message_id"]
        assert keys(shown) == keyboard_of(outcome.replies[0])
    assert keys(shown)[0][0]["text"] == keys(msg)[0][0]["text"]  # back to unticked
    assert len(emu.sent(CHAT)) == 1
    # Telegram's "message is not modified" counts as success: no error, no new message.
    emu.fail_next("editMessageText", status=400, description=NOT_MODIFIED)
    emu.user_presses_button(CHAT, msg["message_id"], first)
    # A message that can no longer be edited: the step arrives as a new message instead.
    emu.fail_next("editMessageText", status=400, description="Bad Request: message can't be edited")
    [shown] = await replies_to(
        emu, CHAT, lambda: emu.user_presses_button(CHAT, msg["message_id"], first)
    )
    assert data_for(shown, "t:") and len(emu.calls_to("editMessageText")) == 4
    assert not any("Sorry" in m["text"] for m in emu.sent(CHAT))
    done = data_for(shown, "d:")[0]
    result = await press(emu, CHAT, shown["message_id"], done)
    assert result["message_id"] > shown["message_id"] and not data_for(result, "t:")


async def test_stale_button_gets_expired_menu(
    emu: BotApiEmulator, app: Application, engine: Engine
) -> None:
    [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "menu"))
    before = len(emu.sent(CHAT))
    emu.user_presses_button(CHAT, msg["message_id"], "q:gone:nowhere:9", require_button=False)
    await emu.wait_for(lambda: len(emu.sent(CHAT)) > before)
    [expected] = engine.handle(State(), Press("q:gone:nowhere:9")).replies
    assert emu.sent(CHAT)[-1]["text"] == plain(expected)
    assert emu.callback_answers  # answered first, never left spinning


# ---------------------------------------------------------------- persistence


async def test_restart_mid_flow_keeps_position(
    emu: BotApiEmulator, content: Content, engine: Engine, tmp_path: Path, warm_cache: None
) -> None:
    data_dir = tmp_path / "data"
    async with running(emu, content, data_dir):
        [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "contact"))
        first = data_for(msg, "q:")[1]
        msg = await press(emu, CHAT, msg["message_id"], first)
    [(stored,)], _ = db_rows(data_dir, CHAT)
    assert json.loads(stored)["node"] != engine.content.flows["contact"].start

    async with running(emu, content, data_dir):  # a new process would see the same rows
        state = engine.handle(engine.handle(State(), Command("contact")).state, Press(first)).state
        second = data_for(msg, "q:")[0]
        [expected] = engine.handle(state, Press(second)).replies
        shown = await press(emu, CHAT, msg["message_id"], second)
        assert shown["text"] == plain(expected)
        assert "expired" not in shown["text"]


async def test_state_older_than_a_day_expires(
    emu: BotApiEmulator, app: Application, tmp_path: Path
) -> None:
    [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "contact"))
    await app.bot_data[STORE_KEY].settled()  # the turn's writes finish after its reply
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / DB_NAME)) as db:
        db.execute("UPDATE chat_state SET updated = updated - 25 * 3600")
        db.commit()
    shown = await press(emu, CHAT, msg["message_id"], data_for(msg, "q:")[1])
    assert "expired" in shown["text"] and shown["message_id"] != msg["message_id"]


async def test_forget_erases_the_state_and_keeps_what_clear_needs(
    emu: BotApiEmulator, app: Application, engine: Engine, tmp_path: Path
) -> None:
    """The issue's scenario: /start, a case, /forget, one more question, /clear: nothing
    deletable stays on screen (the user's description of the case included)."""
    mine = [emu.user_sends_command(CHAT, "start")]
    await emu.wait_for(lambda: len(emu.sent(CHAT)) == 1)
    mine.append(emu.user_sends_text(CHAT, "a year 9 boy paid £100 and he wants more"))
    await emu.wait_for(lambda: len(emu.sent(CHAT)) >= 2)
    await emu.wait_for(lambda: all(db_rows(tmp_path / "data", CHAT)))  # written after replying
    before = len(emu.sent(CHAT))
    [msg] = await replies_to(emu, CHAT, lambda: mine.append(emu.user_sends_command(CHAT, "forget")))
    assert msg["text"] == plain(engine.handle(State(), Command("forget")).replies[0])
    wanted = {*mine, msg["message_id"]}
    await emu.wait_for(lambda: {m for (m,) in db_rows(tmp_path / "data", CHAT)[1]} >= wanted)
    assert db_rows(tmp_path / "data", CHAT)[0] == []  # the guide position and case labels
    mine.append(emu.user_sends_text(CHAT, "what are the signs"))
    await emu.wait_for(lambda: len(emu.sent(CHAT)) > before + 1)
    mine.append(emu.user_sends_command(CHAT, "clear"))
    everything = {*mine, *(m["message_id"] for m in emu.sent(CHAT))}
    await emu.wait_for(lambda: set(emu.deleted(CHAT)) >= everything)
    await emu.wait_for(lambda: db_rows(tmp_path / "data", CHAT) == ([], []))


async def test_clear_deletes_the_chat_and_sends_nothing(
    emu: BotApiEmulator, app: Application, tmp_path: Path
) -> None:
    mine = [emu.user_sends_command(CHAT, "start")]
    await emu.wait_for(lambda: emu.sent(CHAT))
    mine.append(emu.user_sends_text(CHAT, "what are the signs"))
    await emu.wait_for(lambda: len(emu.sent(CHAT)) == 2)
    mine.append(emu.user_sends_command(CHAT, "clear"))
    everything = {*mine, *(m["message_id"] for m in emu.sent(CHAT))}
    await emu.wait_for(lambda: set(emu.deleted(CHAT)) >= everything)
    await emu.wait_for(lambda: db_rows(tmp_path / "data", CHAT) == ([], []))
    assert len(emu.sent(CHAT)) == 2  # nothing new: a quick exit leaves no trace

    # If the batch call fails, each message is deleted on its own.
    other = CHAT + 1
    await replies_to(emu, other, lambda: emu.user_sends_command(other, "help"))
    emu.fail_next("deleteMessages", status=400, description="Bad Request: MESSAGE_ID_INVALID")
    last = emu.user_sends_command(other, "clear")
    await emu.wait_for(lambda: len(emu.deleted(other)) == 3)
    assert last in emu.deleted(other) and len(emu.calls_to("deleteMessage")) == 3


# ---------------------------------------------------------------- media safety


async def test_media_is_deleted_unopened_with_explanation(
    emu: BotApiEmulator, app: Application, engine: Engine
) -> None:
    [expected] = engine.handle(State(), Media(deleted=True)).replies
    for i, kind in enumerate(MEDIA_KINDS):
        chat = CHAT + i
        caption = "caption" if kind in ("photo", "video", "document") else None
        mid = emu.user_sends_media(chat, kind, caption)
        [msg] = await replies_to(emu, chat, lambda: None)
        assert emu.deleted(chat) == [mid], kind
        assert msg["text"] == plain(expected), kind
        assert keys(msg) == keyboard_of(expected)
    assert emu.calls_to("getFile") == []


async def test_album_is_deleted_with_one_explanation(emu: BotApiEmulator, app: Application) -> None:
    album = [emu.user_sends_media(CHAT, "photo", media_group_id="album-1") for _ in range(3)]
    await emu.wait_for(lambda: len(emu.deleted(CHAT)) == 3)
    await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "menu"))
    assert emu.deleted(CHAT) == album and len(emu.sent(CHAT)) == 2
    assert emu.sent(CHAT)[0]["text"].startswith(TEXTS["media_deleted"])


async def test_media_that_cannot_be_deleted_asks_the_user(
    emu: BotApiEmulator, app: Application
) -> None:
    emu.fail_next("deleteMessage", status=400, description="Bad Request: message can't be deleted")
    [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_photo(CHAT))
    assert msg["text"].startswith(TEXTS["media_not_deleted"])
    assert emu.deleted(CHAT) == [] and emu.calls_to("getFile") == []


# ---------------------------------------------------------------- inline mode


async def test_inline_query_empty_and_question(
    emu: BotApiEmulator, app: Application, engine: Engine, content: Content
) -> None:
    emu.user_sends_inline_query(USER, "")
    [answer] = await emu.wait_for(lambda: emu.inline_answers)
    routes = [f"r-{rid}" for rid in content.links]
    assert [r["id"] for r in answer["results"]] == routes
    assert answer["is_personal"] is True and answer["cache_time"] == 30
    assert answer["button"]["start_parameter"] == "links"
    card = answer["results"][0]
    assert card["title"] == content.routes[content.links[0]].name
    assert card["description"] == content.routes[content.links[0]].for_whom

    for n, question in enumerate(
        ["should i look at the pics", "he says hes going to kill himself tonight"], start=2
    ):
        emu.user_sends_inline_query(USER, question)
        answers = await emu.wait_for(
            lambda n=n: len(emu.inline_answers) >= n and emu.inline_answers
        )
        ids = [r["id"] for r in answers[-1]["results"]]
        match = engine.classify(question)
        assert ids[0] == f"a-{match.intent}" and ids[-len(routes) :] == routes
        article = answers[-1]["results"][0]
        buttons = [
            b for row in article.get("reply_markup", {}).get("inline_keyboard", []) for b in row
        ]
        assert buttons and all("url" in b for b in buttons)  # no callbacks on inline messages
        assert len(ids) <= 50
    assert ids[0] == "a-crisis"


# ---------------------------------------------------------------- groups


async def test_groups_answer_only_when_addressed(
    emu: BotApiEmulator, app: Application, engine: Engine
) -> None:
    emu.user_sends_group_text(GROUP, "what are the signs")
    emu.user_sends_command(GROUP, "help@some_other_bot")
    emu.user_sends_photo(GROUP)
    question = emu.user_sends_group_text(GROUP, "what are the signs", mention_bot=True)
    [msg] = await replies_to(emu, GROUP, lambda: None)  # only the addressed one is answered
    [expected] = engine.handle(State(), Text("what are the signs")).replies
    assert msg["text"] == plain(expected, footer=TEXTS["group_footer"])
    assert msg["reply_to_message"]["message_id"] == question
    assert keys(msg)[-1] == [
        {"text": "Continue in a private chat", "url": "https://t.me/emulator_bot"}
    ]
    assert emu.deleted(GROUP) == []  # never deletes other people's messages

    await replies_to(
        emu,
        GROUP,
        lambda: emu.user_sends_group_text(
            GROUP, "and what if he paid", reply_to_bot_message_id=msg["message_id"]
        ),
    )
    await replies_to(emu, GROUP, lambda: emu.user_sends_command(GROUP, "help", address_bot=True))
    [cleared] = await replies_to(
        emu, GROUP, lambda: emu.user_sends_command(GROUP, "clear", address_bot=True)
    )
    assert "private chat" in cleared["text"] and emu.deleted(GROUP) == []


# ---------------------------------------------------------------- faults


async def test_chats_run_concurrently_but_each_in_order(
    emu: BotApiEmulator, app: Application, engine: Engine
) -> None:
    """A slow reply in one chat does not hold up another; within a chat, order is kept."""
    questions = ["what is sextortion", "should i look at the pics", "what are the signs", "thanks"]
    other = CHAT + 1

    def sends_to(chat: int) -> int:
        return sum(
            1 for m, p in emu.calls if m == "sendMessage" and str(p.get("chat_id")) == str(chat)
        )

    emu.delay_next("sendMessage", 2.0)  # the first reply, in CHAT, hangs for 2 s
    for q in questions:
        emu.user_sends_text(CHAT, q)
    await emu.wait_for(lambda: sends_to(CHAT) == 1)
    emu.user_sends_text(other, "what is sextortion")
    await emu.wait_for(lambda: len(emu.sent(other)) == 1, timeout=1.5)
    assert emu.sent(CHAT) == [] and sends_to(CHAT) == 1  # CHAT's queue waits its turn
    await emu.wait_for(lambda: len(emu.sent(CHAT)) == len(questions), timeout=10)
    got = [m["text"] for m in emu.sent(CHAT)]
    assert got == [plain(engine.handle(State(), Text(q)).replies[0]) for q in questions]


async def test_429_then_success_arrives_once(emu: BotApiEmulator, app: Application) -> None:
    emu.fail_next("sendMessage", status=429, retry_after=1)
    started = time.monotonic()
    await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "help"))
    assert time.monotonic() - started >= 1  # retry_after was honoured
    await asyncio.sleep(0.2)
    assert len(emu.sent(CHAT)) == 1 and len(emu.calls_to("sendMessage")) == 2


@pytest.mark.parametrize("fault", ["500", "502", "drop"])
async def test_server_error_then_success_arrives_once(
    emu: BotApiEmulator, app: Application, fault: str
) -> None:
    if fault == "drop":
        emu.drop_next("sendMessage")
    else:
        emu.fail_next("sendMessage", status=int(fault))
    await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "help"))
    await asyncio.sleep(0.1)
    assert len(emu.sent(CHAT)) == 1 and len(emu.calls_to("sendMessage")) == 2


async def test_persistent_failure_is_reported_and_bot_keeps_running(
    emu: BotApiEmulator, app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    emu.fail_next("sendMessage", status=500, times=3)  # every retry fails
    [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "help"))
    assert msg["text"].startswith("Sorry, something went wrong") and "999" in msg["text"]
    assert any("NetworkError" in r.getMessage() for r in caplog.records)
    [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "help"))
    assert not msg["text"].startswith("Sorry")


async def test_malformed_update_is_ignored(emu: BotApiEmulator, app: Application) -> None:
    emu.push_raw_update({"message": {"text": "no chat, no date"}})
    emu.push_raw_update({"callback_query": {"id": "1"}})
    emu.push_raw_update({"mystery_field": {"x": 1}})
    await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "help"))
    await emu.wait_for(lambda: not emu.pending_updates)  # confirmed, not re-fetched forever


# ---------------------------------------------------------------- privacy


async def test_user_text_never_leaves_a_trace(
    emu: BotApiEmulator,
    content: Content,
    tmp_path: Path,
    warm_cache: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    canary = f"zebracanary{secrets.token_hex(4)}"
    caplog.set_level(logging.DEBUG)
    data_dir = tmp_path / "data"
    async with running(emu, content, data_dir):
        question = f"what are the signs {canary}"
        await replies_to(emu, CHAT, lambda: emu.user_sends_text(CHAT, question))
        await replies_to(emu, CHAT, lambda: emu.user_sends_text(CHAT, canary))
        await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "start", canary))
        await replies_to(emu, CHAT, lambda: emu.user_sends_photo(CHAT, caption=canary))
        [msg] = await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "contact"))
        emu.user_presses_button(CHAT, msg["message_id"], f"q:{canary}", require_button=False)
        emu.push_raw_update({"message": {"text": canary, "chat": {"id": CHAT}}})
        emu.user_sends_group_text(GROUP, f"{canary} not for the bot")
        await replies_to(
            emu,
            GROUP,
            lambda: emu.user_sends_group_text(
                GROUP, f"what are the signs {canary}", mention_bot=True
            ),
        )
        emu.user_sends_inline_query(USER, f"should i look at the pics {canary}")
        await emu.wait_for(lambda: emu.inline_answers)
        emu.fail_next("sendMessage", status=500, times=3)  # through the error handler too
        await replies_to(emu, CHAT, lambda: emu.user_sends_text(CHAT, f"help {canary}"))
        await emu.wait_for(lambda: not emu.pending_updates)
    for method, params in emu.calls:
        assert canary not in json.dumps(params, ensure_ascii=False), method
    for path in data_dir.rglob("*"):
        assert canary.encode() not in path.read_bytes(), path
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records and canary not in logged and TOKEN not in logged
    assert emu.calls_to("getFile") == []


# ---------------------------------------------------------------- the real process


async def _cli(env: dict[str, str], *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        *extra,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.parametrize(
    ("token", "says"), [("bad", "does not look like"), ("999:WRONGtoken", "rejected")]
)
async def test_invalid_token_exits_1_with_one_line(
    emu: BotApiEmulator, cli_env: dict[str, str], tmp_path: Path, token: str, says: str
) -> None:
    env = dict(
        cli_env,
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_BASE_URL=emu.base_url,
        GUIDANCE_DATA_DIR=str(tmp_path),
    )
    proc = await _cli(env)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and says in lines[0], lines
    assert "Traceback" not in err.decode() and token not in err.decode()


async def test_polling_process_answers_and_stops_cleanly_on_sigterm(
    emu: BotApiEmulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(
        cli_env,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=emu.base_url,
        GUIDANCE_DATA_DIR=str(tmp_path / "data"),
    )
    proc = await _cli(env)
    try:
        await emu.wait_for(lambda: emu.calls_to("getUpdates"), timeout=30)
        assert [c["command"] for c in emu.commands] == list(COMMANDS)
        await replies_to(emu, CHAT, lambda: emu.user_sends_command(CHAT, "contact"))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode() and TOKEN not in err.decode()
    assert db_rows(tmp_path / "data", CHAT)[0]  # the flow position was written


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_process_rejects_forged_calls(
    emu: BotApiEmulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    env = dict(
        cli_env,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=emu.base_url,
        GUIDANCE_DATA_DIR=str(tmp_path),
        TELEGRAM_WEBHOOK_URL=url,
        TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
        TELEGRAM_WEBHOOK_PORT=str(port),
    )
    env.pop("TELEGRAM_WEBHOOK_SECRET", None)
    proc = await _cli(env)
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "T"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    try:
        await emu.wait_for(lambda: emu.webhook.get("url"), timeout=30)
        secret = emu.webhook["secret_token"]
        assert emu.webhook["url"] == url and len(secret) >= 32
        async with httpx.AsyncClient() as client:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "forged"}):
                forged = await client.post(url, json=update, headers=headers)
                assert forged.status_code == 403
            ok = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
            )
            assert ok.status_code == 200
        await emu.wait_for(lambda: emu.sent(CHAT))
        assert len(emu.sent(CHAT)) == 1  # only the genuine call was answered
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
