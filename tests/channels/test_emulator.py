"""End-to-end checks that the Bot API emulator speaks PTB v22's dialect over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import time
import warnings
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from tests.support.emulator import MEDIA_KINDS, BotApiEmulator, polling

TOKEN = "123:ABC"
CHAT = 4242

pytestmark = pytest.mark.e2e


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{emu.url}/bot", base_file_url=f"{emu.url}/file/bot") as b:
        yield b


@contextlib.asynccontextmanager
async def running_app(emu: BotApiEmulator, *handlers: object) -> AsyncIterator[Application]:
    """A real PTB Application long-polling the emulator."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{emu.url}/bot")
        .base_file_url(f"{emu.url}/file/bot")
        .build()
    )
    for handler in handlers:
        app.add_handler(handler)  # type: ignore[arg-type]
    async with polling(app):
        yield app


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        f"echo: {update.effective_message.text}", do_quote=True
    )


# ------------------------------------------------------------------------------------ basics
async def test_get_me_via_ptb_bot(emu: BotApiEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == 123 and me.username == "emulator_bot"
    assert me.first_name == "Emulator Bot" and me.supports_inline_queries
    assert me.can_join_groups is True and me.can_read_all_group_messages is False
    assert emu.calls_to("getMe")


async def test_unknown_token_and_method_raw_http(emu: BotApiEmulator) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{emu.url}/bot999:WRONG/getMe")
        assert r.status_code == 401
        assert r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        r = await client.post(f"{emu.url}/bot{TOKEN}/noSuchMethod")
        assert r.status_code == 404
        assert r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        # JSON body and GET query strings are accepted too; real-but-unemulated methods -> true.
        r = await client.post(
            f"{emu.url}/bot{TOKEN}/sendMessage", json={"chat_id": 7, "text": "hi"}
        )
        assert r.json()["ok"] and r.json()["result"]["text"] == "hi"
        assert isinstance(r.json()["result"]["date"], int)
        r = await client.get(f"{emu.url}/bot{TOKEN}/setMyName", params={"name": "x"})
        assert r.json() == {"ok": True, "result": True}
    assert emu.calls_to("setMyName") == [{"name": "x"}]


async def test_invalid_token_surfaces_in_ptb(emu: BotApiEmulator) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:NOPE", base_url=f"{emu.url}/bot"):
            pass


# ------------------------------------------------------------------------------ long polling
async def test_long_polling_echo_application(emu: BotApiEmulator) -> None:
    async with running_app(emu, MessageHandler(filters.TEXT & ~filters.COMMAND, echo)):
        user_mid = emu.user_sends_text(CHAT, "hello bot")
        await emu.wait_for(lambda: emu.sent(CHAT))
    [reply] = emu.sent(CHAT)
    assert reply["text"] == "echo: hello bot"
    assert reply["from"]["is_bot"] and reply["chat"]["id"] == CHAT
    assert reply["message_id"] == user_mid + 1  # one id sequence per private chat
    assert reply["reply_to_message"]["message_id"] == user_mid
    assert emu.pending_updates == []  # the updater confirmed the update via offset
    assert emu.calls_to("deleteWebhook")  # PTB bootstraps polling by deleting the webhook


async def test_get_updates_semantics(emu: BotApiEmulator, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert time.monotonic() - started >= 0.9  # really waited for the long-poll timeout

    async def later() -> None:
        await asyncio.sleep(0.2)
        emu.user_sends_text(CHAT, "late")

    task = asyncio.create_task(later())
    started = time.monotonic()
    [update] = await bot.get_updates(timeout=5)
    assert time.monotonic() - started < 2  # returned as soon as the update arrived
    assert update.message is not None and update.message.text == "late"
    await task

    for i in range(3):
        emu.user_sends_text(CHAT, f"m{i}")
    assert len(await bot.get_updates(limit=2)) == 2
    everything = await bot.get_updates(offset=update.update_id + 1)
    assert [u.message.text for u in everything if u.message] == ["m0", "m1", "m2"]
    assert await bot.get_updates(offset=everything[-1].update_id + 1) == ()

    await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict):
        await bot.get_updates()
    await bot.delete_webhook()


async def test_concurrent_get_updates_conflict(emu: BotApiEmulator, bot: Bot) -> None:
    """Two bot instances polling at once: the older poll gets Telegram's 409."""
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as other:
        with pytest.raises(Conflict):
            await asyncio.gather(first, other.get_updates(timeout=1))


async def test_raw_malformed_update_does_not_kill_polling(emu: BotApiEmulator) -> None:
    async with running_app(emu, MessageHandler(filters.TEXT, echo)):
        emu.push_raw_update({"mystery_field": {"x": 1}})
        emu.user_sends_text(CHAT, "still alive")
        await emu.wait_for(lambda: emu.sent(CHAT))
    assert emu.sent(CHAT)[0]["text"] == "echo: still alive"


# ----------------------------------------------------------------------------------- editing
async def test_edit_not_modified_and_not_found(emu: BotApiEmulator, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    msg = await bot.send_message(CHAT, "<b>Hi</b>", parse_mode="HTML", reply_markup=markup)
    assert msg.text == "Hi" and msg.entities[0].type == "bold"
    assert msg.reply_markup == markup

    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>Hi</b>", CHAT, msg.message_id, parse_mode="HTML", reply_markup=markup
        )
    assert emu.calls_to("editMessageText")  # the failing call is still recorded

    edited = await bot.edit_message_text("Bye", CHAT, msg.message_id)
    assert isinstance(edited, object) and emu.sent(CHAT)[0]["text"] == "Bye"
    assert "reply_markup" not in emu.sent(CHAT)[0]  # omitting reply_markup removes it
    await bot.edit_message_reply_markup(CHAT, msg.message_id, reply_markup=markup)
    assert emu.sent(CHAT)[0]["reply_markup"] == markup.to_dict()
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(CHAT, msg.message_id, reply_markup=markup)

    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", CHAT, 9999)


# --------------------------------------------------------------------------- fault injection
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_surfaces_as_retry_after(emu: BotApiEmulator, bot: Bot) -> None:
    emu.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as exc_info:
        await bot.send_message(CHAT, "hi")
    assert retry_after_seconds(exc_info.value) == 3
    assert (await bot.send_message(CHAT, "hi")).text == "hi"  # only the next call failed
    assert len(emu.calls_to("sendMessage")) == 2 and len(emu.sent(CHAT)) == 1


@pytest.mark.parametrize("status", [500, 502])
async def test_5xx_surfaces_as_network_error(emu: BotApiEmulator, bot: Bot, status: int) -> None:
    emu.fail_next("sendMessage", status=status)
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "hi")
    assert emu.sent(CHAT) == []


async def test_drop_malformed_delay_and_wildcard(emu: BotApiEmulator, bot: Bot) -> None:
    emu.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "dropped")
    emu.malformed_next("sendMessage")
    with pytest.raises(TelegramError, match="Invalid server response"):
        await bot.send_message(CHAT, "malformed")
    emu.delay_next("sendMessage", 0.3)
    started = time.monotonic()
    await bot.send_message(CHAT, "slow")
    assert time.monotonic() - started >= 0.3
    emu.delay_next("sendMessage", 3)
    with pytest.raises(TimedOut):
        await bot.send_message(CHAT, "too slow", read_timeout=0.5)
    emu.fail_next("*", status=403)
    with pytest.raises(TelegramError, match="blocked"):
        await bot.send_chat_action(CHAT, "typing")
    # Like Telegram, the server still delivers a message whose response the client gave up on.
    await emu.wait_for(lambda: len(emu.sent(CHAT)) == 2)
    assert [m["text"] for m in emu.sent(CHAT)] == ["slow", "too slow"]


# ------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "text",
    [
        "a < b",
        "<b>unclosed",
        "<b>x</i>",
        "x</b>",
        "Tom & Jerry",
        "&nbsp;",
        "<br/>",
        "<span>x</span>",
        "<div>x</div>",
    ],
)
async def test_bad_html_rejected(bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(CHAT, text, parse_mode="HTML")


async def test_good_html_parsed_into_entities(bot: Bot) -> None:
    html = (
        '<b>b</b><i>i</i><u>u</u><s>s</s><a href="https://e.org">l</a><code>c</code>'
        '<pre><code class="language-py">p</code></pre><span class="tg-spoiler">x</span>'
        "<tg-spoiler>y</tg-spoiler><blockquote>q</blockquote> &lt;&gt;&amp;&quot;&#33;&#x41; 😀"
    )
    msg = await bot.send_message(CHAT, html, parse_mode="HTML")
    assert msg.text == 'biuslcpxyq <>&"!A 😀'
    types = [e.type for e in msg.entities]
    assert types == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "text_link",
        "code",
        "pre",
        "spoiler",
        "spoiler",
        "blockquote",
    ]
    assert msg.entities[6].language == "py"


async def test_text_limits_and_button_data(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    await bot.send_message(CHAT, "x" * 4096)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(CHAT, "")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode="HTML")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(CHAT, "hi", reply_markup=too_long)


# ------------------------------------------------------------------- delete / inline / callback
async def test_delete_messages(emu: BotApiEmulator, bot: Bot) -> None:
    user_mid = emu.user_sends_text(CHAT, "secret")
    msg = await bot.send_message(CHAT, "hi")
    assert await bot.delete_message(CHAT, msg.message_id) is True
    assert emu.deleted(CHAT) == [msg.message_id]
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(CHAT, msg.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(CHAT, 777)
    assert await bot.delete_message(CHAT, user_mid)  # incoming messages can be deleted too
    assert emu.deleted(CHAT) == [msg.message_id, user_mid]
    assert emu.sent(CHAT, include_deleted=False) == [] and len(emu.sent(CHAT)) == 1


async def test_inline_answer_recorded(emu: BotApiEmulator) -> None:
    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.inline_query is not None
        q = update.inline_query.query
        await update.inline_query.answer(
            [
                InlineQueryResultArticle(
                    "1", f"About {q}", InputTextMessageContent(f"<b>{q}</b>", parse_mode="HTML")
                )
            ]
        )

    async with running_app(emu, InlineQueryHandler(answer)):
        query_id = emu.user_sends_inline_query(555, "sextortion")
        await emu.wait_for(lambda: emu.inline_answers)
    [ans] = emu.inline_answers
    assert ans["inline_query_id"] == query_id
    assert ans["results"][0]["title"] == "About sextortion"


async def test_unknown_inline_query_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_inline_query("123", [])


async def test_callback_answered_and_message_edited(emu: BotApiEmulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more")]])
        await update.effective_message.reply_text("Menu", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text(f"You chose {update.callback_query.data}")

    async with running_app(emu, CommandHandler("start", start), CallbackQueryHandler(pressed)):
        emu.user_sends_command(CHAT, "start")
        [menu] = await emu.wait_for(lambda: emu.sent(CHAT))
        with pytest.raises(ValueError):
            emu.user_presses_button(CHAT, menu["message_id"], "not-a-button")
        query_id = emu.user_presses_button(CHAT, menu["message_id"], "more")
        await emu.wait_for(lambda: emu.calls_to("editMessageText"))
    assert emu.callback_answers == [{"callback_query_id": query_id, "text": "ok"}]
    assert emu.sent(CHAT)[0]["text"] == "You chose more"
    assert "edit_date" in emu.sent(CHAT)[0]


async def test_unknown_callback_query_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("42")


# ---------------------------------------------------------------------------- groups / media
async def test_group_command_with_bot_username(emu: BotApiEmulator) -> None:
    group = -100500
    async with running_app(emu, CommandHandler("help", echo)):
        emu.user_sends_command(group, "help", "me", address_bot=True, chat_type="supergroup")
        emu.user_sends_command(group, "help", chat_type="supergroup")
        await emu.wait_for(lambda: len(emu.sent(group)) == 2)
    assert [m["text"] for m in emu.sent(group)] == ["echo: /help@emulator_bot me", "echo: /help"]
    assert emu.sent(group)[0]["chat"]["type"] == "supergroup"


async def test_group_mention_and_reply(emu: BotApiEmulator, bot: Bot) -> None:
    group = -42
    bot_msg = await bot.send_message(group, "I am a bot")
    emu.user_sends_group_text(
        group, "hi", mention_bot=True, reply_to_bot_message_id=bot_msg.message_id
    )
    [update] = await bot.get_updates()
    msg = update.message
    assert msg is not None and msg.text == "@emulator_bot hi" and msg.chat.type == "group"
    assert msg.entities[0].type == "mention" and msg.entities[0].length == len("@emulator_bot")
    assert (
        msg.reply_to_message is not None and msg.reply_to_message.message_id == bot_msg.message_id
    )


async def test_media_updates_parse_in_ptb(emu: BotApiEmulator, bot: Bot) -> None:
    for kind in MEDIA_KINDS:
        emu.user_sends_media(
            CHAT, kind, caption="c" if kind not in {"sticker", "video_note"} else None
        )
    updates = await bot.get_updates()
    assert len(updates) == len(MEDIA_KINDS)
    for kind, update in zip(MEDIA_KINDS, updates, strict=True):
        assert update.message is not None
        attachment = update.message.effective_attachment
        assert attachment, kind
        first = attachment[-1] if isinstance(attachment, tuple) else attachment
        assert first.file_id and first.file_unique_id and first.file_size
    photo = updates[0].message.photo[-1]  # type: ignore[union-attr]
    file = await bot.get_file(photo.file_id)
    assert file.file_path and emu.calls_to("getFile")
    sent = await bot.send_photo(CHAT, photo.file_id, caption="<i>ok</i>", parse_mode="HTML")
    assert sent.photo and sent.caption == "ok"


async def test_multipart_upload_and_json_encoded_fields(emu: BotApiEmulator, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Open", url="https://example.org")]])
    msg = await bot.send_document(CHAT, b"hello", filename="a.txt", reply_markup=markup)
    assert msg.document is not None and msg.reply_markup == markup
    [params] = emu.calls_to("sendDocument")
    assert params["document"]["filename"] == "a.txt" and params["document"]["size"] == 5
    assert params["chat_id"] == CHAT  # form fields are JSON-decoded back to their types
    assert params["reply_markup"] == markup.to_dict()
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("x", url="javascript:alert(1)")]])
    with pytest.raises(BadRequest, match="is invalid"):
        await bot.send_message(CHAT, "hi", reply_markup=bad_url)


async def test_commands_chat_and_misc(emu: BotApiEmulator, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    assert [c["command"] for c in emu.commands] == ["start", "help"]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    await bot.delete_my_commands()
    assert emu.commands == []
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Bad-Command", "x")])
    emu.user_sends_text(CHAT, "hi", first_name="Alice")
    chat = await bot.get_chat(CHAT)
    assert chat.type == "private" and chat.first_name == "Alice"
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(-999)
    assert await bot.send_chat_action(CHAT, "typing")
    assert await bot.log_out() and await bot.close()
    assert [m for m, _ in emu.calls][-2:] == ["logOut", "close"]
    calls = await emu.wait_for_calls("sendChatAction")
    assert calls[0]["action"] == "typing"
    with pytest.raises(TimeoutError):
        await emu.wait_for(lambda: emu.calls_to("sendPoll"), timeout=0.2)
