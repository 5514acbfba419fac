"""Telegram handlers: updates become engine events, replies become HTML messages.

As thin as bot/terminal.py where it can be: updates become engine events and
replies become HTML messages. What only Telegram needs lives here: per-chat
persistence, media safety, group etiquette, inline mode, the /clear quick exit
and fault handling. Message text, captions and inline queries are never
logged, stored, forwarded or echoed back; files are never downloaded.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from functools import partial
from typing import Any, TypeVar

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    Chat,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, InlineQueryLimit, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
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
from bot.channels.telegram.store import Store
from bot.content.records import Content
from bot.content.text import Button, fill
from bot.dialogue.engine import COMMANDS, Command, Engine, Event, Press, Reply, State, Text

log = logging.getLogger(__name__)
T = TypeVar("T")

SEND_TRIES, BACKOFF = 3, 0.5
INLINE_CACHE_SECONDS = 30
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

COMMAND_HELP = {
    "start": "Welcome and the main topics",
    "help": "What this bot covers",
    "menu": "Main menu",
    "signs": "Could these be warning signs?",
    "contact": "Is it safe to break off contact?",
    "report": "Where to report or get help",
    "links": "Key reporting and removal links",
    "privacy": "What this bot keeps (no message text)",
    "about": "Where the guidance comes from",
    "forget": "Erase your place in any guide",
    "clear": "Quick exit: delete this chat's messages",
}
PRIVATE_ONLY = {"clear"}

MEDIA = (filters.PHOTO | filters.VIDEO | filters.ANIMATION | filters.Document.ALL | filters.VOICE
         | filters.VIDEO_NOTE | filters.Sticker.ALL | filters.AUDIO)  # fmt: skip
_MEDIA_RULE = (
    "Professionals must not view, copy, share or store images of a child, or forward "
    "them to anyone, including this bot. What to do instead is below."
)
MEDIA_DELETED = (
    "I have deleted the file you sent without opening it: I never download, keep "
    f"or forward images or files. {_MEDIA_RULE}"
)
MEDIA_NOT_DELETED = (
    "I could not delete the file you sent, so please delete it yourself now "
    "(press and hold it, then Delete). I have not opened, downloaded or kept "
    f"it. {_MEDIA_RULE}"
)
GROUP_FOOTER = (
    "For anything about a specific child, please continue in a private chat with "
    "me, not in this group."
)
GROUP_CLEAR = Reply(
    "In a group I never delete anyone's messages, so /clear works only in a "
    "private chat with me. I have erased this group's place in any guide.",
    "Quick exit",
    kind="clear",
)
MAX_LOCKS = 10_000
SORRY = "Sorry, something went wrong — please try again; if a child is in danger call {emergency}."


class Adapter:
    """The handlers, with the engine and store they share."""

    def __init__(self, content: Content, store: Store) -> None:
        self.content = content
        self.engine = Engine(content)
        self.store = store
        self.sorry = fill(content, SORRY)
        self._explained_albums: deque[str] = deque(maxlen=50)
        self._locks: dict[int, asyncio.Lock] = {}

    def register(self, app: Application) -> None:
        new, private = filters.UpdateType.MESSAGE, filters.ChatType.PRIVATE
        app.add_handler(CommandHandler(list(COMMANDS), self.on_command, filters=new))
        app.add_handler(MessageHandler(new & private & filters.COMMAND, self.on_command))
        app.add_handler(MessageHandler(new & private & filters.TEXT, self.on_text))
        app.add_handler(
            MessageHandler(
                new & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND, self.on_group_text
            )
        )
        app.add_handler(MessageHandler(new & private & MEDIA, self.on_media))
        app.add_handler(CallbackQueryHandler(self.on_press))
        app.add_handler(InlineQueryHandler(self.on_inline))
        app.add_error_handler(self.on_error)

    # ------------------------------------------------------------ lifecycle

    async def post_init(self, app: Application) -> None:
        """Publish the command menu; a failure here must not stop the bot answering."""
        commands = [BotCommand(name, COMMAND_HELP[name]) for name in COMMANDS]
        try:
            await app.bot.set_my_commands(commands)
            await app.bot.set_my_commands(
                [c for c in commands if c.command not in PRIVATE_ONLY],
                scope=BotCommandScopeAllGroupChats(),
            )
        except TelegramError as exc:
            log.warning("could not set the command menu: %s", type(exc).__name__)
        log.info("running as @%s", app.bot.username)

    async def post_shutdown(self, app: Application) -> None:
        self.store.close()
        log.info("stopped")

    # ------------------------------------------------------------ handlers

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = _message(update)
        head, *arg = (message.text or "/").split(maxsplit=1)
        name = head[1:].partition("@")[0].lower()
        if message.chat.type == ChatType.PRIVATE:
            self.store.remember_message(message.chat_id, message.message_id)
        event = Command(name, arg[0] if arg else "")
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
            await self._run(context.bot, message.chat, Text(text), source=message)

    async def on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Delete any image or file unopened (never get_file) and explain why."""
        message = _message(update)
        try:
            await _retry(message.delete)
            deleted = True
        except TelegramError:
            deleted = False
            self.store.remember_message(message.chat_id, message.message_id)
        album = message.media_group_id
        if deleted and album and album in self._explained_albums:
            return  # one explanation per album
        if album:
            self._explained_albums.append(album)
        state = State.from_dict(self.store.state(message.chat_id))
        reply = self.engine.answer("handling_images", state)
        await self._send(
            context.bot,
            message.chat,
            reply,
            record=True,
            lead=MEDIA_DELETED if deleted else MEDIA_NOT_DELETED,
        )

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        with suppress(BadRequest):  # already answered or too old: still act on the press
            await _retry(query.answer)
        if query.message is None:
            return  # a button under an inline-mode message; those only carry links
        edit = query.message if isinstance(query.message, Message) else None
        await self._run(context.bot, query.message.chat, Press(query.data or ""), edit=edit)

    async def on_inline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        if query is None:
            return
        results = [*self._inline_answers(query.query.strip()), *self._route_articles()]
        button = InlineQueryResultsButton(
            "Open the full guide in a private chat", start_parameter="links"
        )
        await _retry(
            partial(
                query.answer,
                results[: InlineQueryLimit.RESULTS],
                cache_time=INLINE_CACHE_SECONDS,
                is_personal=True,
                button=button,
            )
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log only the error type and update id, tell the user where possible, keep running."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed: %s", update_id, type(context.error).__name__)
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            return
        with suppress(TelegramError):
            sent = await context.bot.send_message(chat.id, tgformat.Block(self.sorry).html())
            if chat.type == ChatType.PRIVATE:
                self.store.remember_message(chat.id, sent.message_id)

    # ------------------------------------------------------------ dialogue

    def _lock(self, chat_id: int) -> asyncio.Lock:
        """Updates run concurrently across chats but one at a time, in order, within a chat."""
        if len(self._locks) > MAX_LOCKS:  # forget idle chats' locks
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(chat_id, asyncio.Lock())

    async def _run(
        self,
        bot: Bot,
        chat: Chat,
        event: Event,
        *,
        source: Message | None = None,
        edit: Message | None = None,
    ) -> None:
        async with self._lock(chat.id):
            await self._turn(bot, chat, event, source=source, edit=edit)

    async def _turn(
        self, bot: Bot, chat: Chat, event: Event, *, source: Message | None, edit: Message | None
    ) -> None:
        """One engine turn for a chat: load state, handle, persist, act, reply."""
        private = chat.type == ChatType.PRIVATE
        before = self.store.state(chat.id)
        outcome = self.engine.handle(State.from_dict(before), event)
        clear = "clear" in outcome.actions
        to_delete = self.store.deletable_messages(chat.id) if clear and private else []
        forget = "forget" in outcome.actions
        after = outcome.state.to_dict()
        if forget:
            self.store.forget(chat.id)
        elif after != before:
            self.store.save_state(chat.id, after)
        if clear and private:
            await _delete_messages(bot, chat.id, to_delete)
            return  # a quick exit leaves nothing behind, not even a confirmation
        for reply in [GROUP_CLEAR] if clear else outcome.replies:
            await self._send(
                bot, chat, reply, source=source, edit=edit, record=private and not forget
            )

    async def _send(
        self,
        bot: Bot,
        chat: Chat,
        reply: Reply,
        *,
        record: bool,
        source: Message | None = None,
        edit: Message | None = None,
        lead: str | None = None,
    ) -> None:
        """Send (or edit in place) one reply, split if long; buttons go on the last part."""
        rows = reply.buttons
        footer = None
        if chat.type != ChatType.PRIVATE:
            footer = GROUP_FOOTER
            rows = (
                *rows,
                (Button("Continue in a private chat", url=f"https://t.me/{bot.username}"),),
            )
        parts = tgformat.render(reply, lead=lead, footer=footer)
        markup = tgformat.keyboard(rows)
        if (
            reply.edit
            and edit is not None
            and len(parts) == 1
            and await _edit(bot, edit, parts[0], markup)
        ):
            return
        anchor = source or edit
        thread = anchor.message_thread_id if anchor and anchor.is_topic_message else None
        quote = (
            ReplyParameters(source.message_id, allow_sending_without_reply=True)
            if source and chat.type != ChatType.PRIVATE
            else None
        )
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            sent = await _retry(
                partial(
                    bot.send_message,
                    chat.id,
                    part,
                    reply_markup=markup if last else None,
                    reply_parameters=quote if i == 0 else None,
                    message_thread_id=thread,
                )
            )
            if record:
                self.store.remember_message(chat.id, sent.message_id)

    # ------------------------------------------------------------ inline mode

    def _inline_answers(self, query: str) -> list[InlineQueryResultArticle]:
        """The best answer (the crisis answer first when it is one) and the alternatives."""
        if not query:
            return []
        match = self.engine.classify(query)
        intents = [match.intent] if match.band != "reject" else []
        intents += [i for i, _ in match.alternatives if i not in intents]
        articles = []
        for intent in intents:
            reply = self.engine.answer(intent, State())
            links = [row for row in (tuple(b for b in r if b.url) for r in reply.buttons) if row]
            articles.append(
                InlineQueryResultArticle(
                    id=f"a-{intent}",
                    title=reply.title or intent,
                    description=reply.text.split("\n", 1)[0][:120],
                    input_message_content=_inline_text(tgformat.render(reply)[0]),
                    reply_markup=tgformat.keyboard(links),
                )
            )
        return articles

    def _route_articles(self) -> list[InlineQueryResultArticle]:
        """One article per quick-link route: who it is for, its number, its link."""
        articles = []
        for rid in self.content.links:
            route = self.content.routes[rid]
            button = Button(route.button_label, url=route.url) if route.url else None
            articles.append(
                InlineQueryResultArticle(
                    id=f"r-{rid}",
                    title=route.name,
                    description=route.for_whom,
                    input_message_content=_inline_text(tgformat.route_html(route)),
                    reply_markup=tgformat.keyboard([(button,)] if button else []),
                )
            )
        return articles


# ---------------------------------------------------------------- helpers


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


def _inline_text(text: str) -> InputTextMessageContent:
    return InputTextMessageContent(text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)


async def _retry(call: Callable[[], Awaitable[T]]) -> T:
    """Retry network faults, time-outs and 5xx (PTB raises NetworkError) with a short backoff.

    A 400 never improves on retry; 429s are retried inside AIORateLimiter using retry_after.
    """
    for attempt in range(1, SEND_TRIES):
        try:
            return await call()
        except BadRequest:
            raise
        except NetworkError:
            await asyncio.sleep(BACKOFF * attempt)
    return await call()


async def _edit(bot: Bot, message: Message, text: str, markup: Any) -> bool:
    """Edit a pressed message in place; False if it can't be edited (then send anew)."""
    try:
        await _retry(
            partial(
                bot.edit_message_text,
                text,
                chat_id=message.chat_id,
                message_id=message.message_id,
                reply_markup=markup,
            )
        )
    except BadRequest as exc:
        return "not modified" in exc.message.lower()
    return True


async def _delete_messages(bot: Bot, chat_id: int, message_ids: list[int]) -> None:
    """Delete what Telegram still allows, newest first; failures are expected and ignored."""
    for start in range(0, len(message_ids), 100):  # deleteMessages takes up to 100 ids
        batch = message_ids[start : start + 100]
        try:
            await _retry(partial(bot.delete_messages, chat_id, batch))
        except TelegramError:
            for message_id in batch:
                with suppress(TelegramError):
                    await bot.delete_message(chat_id, message_id)
