"""Telegram handlers: updates become dialogue events, replies become HTML messages.

As thin as the terminal channel where it can be. What only Telegram needs
lives here: per-chat locks and persistence, deleting media (and contact cards) unopened,
group etiquette, inline articles and the /clear quick exit. Every update that touches a chat
takes that chat's lock before its first request to Telegram (a button press before its
acknowledgement), so a chat's updates are handled one at a time, in the order they came.
Every sentence comes from the dialogue or responses/ui.yaml. Message text, captions and
inline queries are never logged, stored, forwarded or echoed back; files are never
downloaded.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from contextlib import suppress
from datetime import datetime
from functools import partial

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    Chat,
    InlineQuery,
    InlineQueryResultsButton,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, InlineQueryLimit
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.channels.telegram import html as tgformat
from bot.channels.telegram import inline
from bot.channels.telegram.offloop import OffLoopStore
from bot.channels.telegram.send import delete_messages, edit_in_place, retry, send_parts
from bot.content import Content
from bot.dialogue import Button, Command, Engine, Event, Media, Press, Reply, State, Text
from bot.matching.explain import explain_text

log = logging.getLogger(__name__)

INLINE_CACHE_SECONDS = 30
MEDIA = (filters.PHOTO | filters.VIDEO | filters.ANIMATION | filters.Document.ALL | filters.VOICE
         | filters.VIDEO_NOTE | filters.Sticker.ALL | filters.AUDIO
         | filters.CONTACT)  # fmt: skip  # a contact card identifies someone: removed like media
MAX_LOCKS = 10_000


class ChatLocks:
    """Updates run concurrently across chats but one at a time, in order, within a chat."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}

    def get(self, chat_id: int) -> asyncio.Lock:
        if len(self._locks) > MAX_LOCKS:  # forget idle chats' locks
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(chat_id, asyncio.Lock())


async def publish_commands(bot: Bot, content: Content) -> None:
    """Publish the command menu; a failure here must not stop the bot answering."""
    specs = content.commands.values()
    try:
        await bot.set_my_commands([BotCommand(c.name, c.help) for c in specs])
        await bot.set_my_commands(
            [BotCommand(c.name, c.help) for c in specs if not c.private_only],
            scope=BotCommandScopeAllGroupChats(),
        )
    except TelegramError as exc:
        log.warning("could not set the command menu: %s", type(exc).__name__)


def register(app: Application, handlers: TelegramHandlers) -> None:
    """Route each kind of update to its handler; order matters (/why before other commands)."""
    h = handlers
    new, private = filters.UpdateType.MESSAGE, filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("why", h.on_why, filters=new & private))
    app.add_handler(CommandHandler(list(h.content.commands), h.on_command, filters=new))
    app.add_handler(MessageHandler(new & private & filters.COMMAND, h.on_command))
    app.add_handler(MessageHandler(new & private & filters.TEXT, h.on_text))
    app.add_handler(
        MessageHandler(
            new & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND, h.on_group_text
        )
    )
    app.add_handler(MessageHandler(new & private & MEDIA, h.on_media))
    app.add_handler(MessageHandler(new & private, h.on_other))  # locations, polls, ...
    app.add_handler(CallbackQueryHandler(h.on_press))
    app.add_handler(InlineQueryHandler(h.on_inline))
    app.add_error_handler(h.on_error)


def why_reply(engine: Engine, message: Message) -> Reply:
    texts = engine.replies.texts
    _, _, arg = (message.text or "").partition(" ")
    replied = message.reply_to_message
    text = arg.strip() or (replied.text if replied and replied.text else "")
    if not text:
        return Reply(texts["why_usage"], texts["why_title"], kind="note")
    return Reply(explain_text(engine.triage, text), texts["why_title"], kind="note")


class TelegramHandlers:
    """The update handlers, with the engine and chat store they share."""

    def __init__(
        self,
        engine: Engine,
        store: OffLoopStore,
        editors: frozenset[int] = frozenset(),
    ) -> None:
        self.engine, self.content, self.store = engine, engine.content, store
        self.editors = editors  # chats that may ask /why
        self.texts = engine.replies.texts
        self._explained_albums: deque[str] = deque(maxlen=50)
        self._locks = ChatLocks()

    async def post_init(self, app: Application) -> None:
        await publish_commands(app.bot, self.content)
        log.info("running as @%s", app.bot.username)

    async def post_shutdown(self, app: Application) -> None:
        self.store.close()
        log.info("stopped")

    # ------------------------------------------------------------ handlers

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = _message(update)
        head, *arg = (message.text or "/").split(maxsplit=1)
        name = head[1:].partition("@")[0].lower()
        private = message.chat.type == ChatType.PRIVATE
        if private:
            self.store.remember_message(message.chat_id, message.message_id)
        event = Command(name, arg[0] if arg else "", group=not private)
        await self._run(context.bot, message.chat, event, source=message)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = _message(update)
        self.store.remember_message(message.chat_id, message.message_id)
        await self._run(context.bot, message.chat, Text(message.text or ""), source=message)

    async def on_group_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Groups: answer only what mentions the bot or replies to it; stay silent otherwise."""
        message = _message(update)
        text = addressed_text(message, context.bot)
        if text is not None:
            await self._run(context.bot, message.chat, Text(text, group=True), source=message)

    async def on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Delete any image, file or contact card unopened (never get_file); the dialogue says
        why. Its id is kept for /clear until the delete is known to have worked."""
        message = _message(update)
        self.store.remember_message(message.chat_id, message.message_id)
        async with self._locks.get(message.chat_id):
            deleted = await _delete_unopened(message)
            if deleted:
                self.store.forget_messages(message.chat_id, [message.message_id])
            album = message.media_group_id
            if deleted and album and album in self._explained_albums:
                return  # one explanation per album
            if album:
                self._explained_albums.append(album)
            await self._turn(context.bot, message.chat, Media(deleted), source=None, edit=None)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Locations, venues, polls, dice and every other kind: kept for /clear and answered
        with the menu's short prompt; service messages (pins and the like) only kept."""
        message = _message(update)
        self.store.remember_message(message.chat_id, message.message_id)
        if not filters.StatusUpdate.ALL.check_update(update):
            await self._run(context.bot, message.chat, Text(""), source=message)

    async def on_why(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/why for editors' chats: why the bot answers a text as it does (the text after
        /why, or the message replied to), computed now and never stored."""
        message = _message(update)
        if message.chat_id not in self.editors:
            await self.on_command(update, context)  # to anyone else, an unknown command
            return
        self.store.remember_message(message.chat_id, message.message_id)
        reply = why_reply(self.engine, message)
        await self._send(context.bot, message.chat, reply, record=True, source=message)

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        if query.message is None:  # a button under an inline-mode message: only links there
            with suppress(TelegramError):
                await retry(query.answer)
            return
        edit = query.message if isinstance(query.message, Message) else None
        group = query.message.chat.type != ChatType.PRIVATE
        event = Press(query.data or "", group=group, when=local_time())
        async with self._locks.get(query.message.chat.id):  # before the acknowledgement
            with suppress(TelegramError):  # answered, too old or unreachable: still act on it
                await retry(query.answer)
            await self._turn(context.bot, query.message.chat, event, source=None, edit=edit)

    async def on_inline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.inline_query is not None:
            await _answer_inline(update.inline_query, self.engine)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log only the error type and update id, tell the user where possible, keep running."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed: %s", update_id, type(context.error).__name__)
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            return
        sorry = self.engine.replies.text("sorry")
        with suppress(TelegramError):
            sent = await context.bot.send_message(chat.id, tgformat.Block(sorry).html())
            if chat.type == ChatType.PRIVATE:
                self.store.remember_message(chat.id, sent.message_id)

    # ------------------------------------------------------------ one turn

    async def _run(
        self,
        bot: Bot,
        chat: Chat,
        event: Event,
        *,
        source: Message | None = None,
        edit: Message | None = None,
    ) -> None:
        async with self._locks.get(chat.id):
            await self._turn(bot, chat, event, source=source, edit=edit)

    async def _turn(
        self, bot: Bot, chat: Chat, event: Event, *, source: Message | None, edit: Message | None
    ) -> None:
        """One engine turn for a chat: load state, handle, persist, act, reply; then wait
        for the writes (the chat's lock is held), so its next turn sees them."""
        private = chat.type == ChatType.PRIVATE
        before = self.store.state(chat.id)
        outcome = self.engine.handle(State.from_dict(before), event)
        self.store.count(outcome.counts)
        clear = "clear" in outcome.actions
        to_delete = await self.store.deletable_messages(chat.id) if clear else []
        forget = "forget" in outcome.actions
        after = outcome.state.to_dict()
        if forget:
            self.store.forget_state(chat.id)  # the message ids stay: /clear still needs them
        elif after != before:
            self.store.save_state(chat.id, after)
        if clear:
            # Ids are erased only once their deletes have worked: a failed /clear can be
            # repeated. A quick exit leaves nothing behind, not even a confirmation.
            done = await delete_messages(bot, chat.id, to_delete)
            self.store.forget_messages(chat.id, done)
        else:
            for reply in outcome.replies:
                await self._send(bot, chat, reply, source=source, edit=edit, record=private)
        await self.store.settled()

    async def _send(
        self,
        bot: Bot,
        chat: Chat,
        reply: Reply,
        *,
        record: bool,
        source: Message | None = None,
        edit: Message | None = None,
    ) -> None:
        """Send (or edit in place) one reply, split if long; buttons go on the last part."""
        rows, footer = reply.buttons, None
        group = chat.type != ChatType.PRIVATE
        if group:
            footer = self.texts["group_footer"]
            private_chat = Button(
                self.texts["private_chat_button"], url=f"https://t.me/{bot.username}"
            )
            rows = (*rows, (private_chat,))
        parts = tgformat.render(reply, footer=footer)
        markup = tgformat.keyboard(rows)
        if (
            reply.edit
            and edit
            and len(parts) == 1
            and await edit_in_place(bot, edit, parts[0], markup)
        ):
            return
        anchor = source or edit
        thread = anchor.message_thread_id if anchor and anchor.is_topic_message else None
        quote = (
            ReplyParameters(source.message_id, allow_sending_without_reply=True)
            if source and group
            else None
        )

        def on_sent(message_id: int) -> None:
            if record:
                self.store.remember_message(chat.id, message_id)

        await send_parts(bot, chat.id, parts, markup, on_sent=on_sent, quote=quote, thread=thread)


# ---------------------------------------------------------------- helpers


async def _answer_inline(query: InlineQuery, engine: Engine) -> None:
    results = inline.articles(engine.inline(query.query), engine.content)
    label = engine.replies.texts["inline_open_button"]
    button = InlineQueryResultsButton(label, start_parameter="links")
    await retry(
        partial(
            query.answer,
            results[: InlineQueryLimit.RESULTS],
            cache_time=INLINE_CACHE_SECONDS,
            is_personal=True,
            button=button,
        )
    )


async def _delete_unopened(message: Message) -> bool:
    """True if the message is gone: deleted now, or already gone after an answer that was lost
    on the way back (the retry then hears "not found")."""
    try:
        await retry(message.delete)
    except BadRequest as exc:
        return "not found" in exc.message.lower()
    except TelegramError:
        return False
    return True


def local_time() -> str:
    """The server's local date and time, for a note for the record."""
    return datetime.now().astimezone().strftime("%d %B %Y, %H:%M %Z")


def _message(update: Update) -> Message:
    message = update.effective_message
    if message is None:  # the filters only route updates that carry a message here
        raise TypeError("update without a message")
    return message


def addressed_text(message: Message, bot: Bot) -> str | None:
    """The text meant for the bot, its @mention removed; None if the bot wasn't addressed."""
    mention = f"@{bot.username}".lower()
    mentioned = any(
        v.lower() == mention for v in message.parse_entities([MessageEntity.MENTION]).values()
    )
    reply = message.reply_to_message
    replied = bool(reply and reply.from_user and reply.from_user.id == bot.id)
    if not (mentioned or replied):
        return None
    text = re.sub(rf"(?<!\w){re.escape(mention)}(?!\w)", " ", message.text or "", flags=re.I)
    return " ".join(text.split())
