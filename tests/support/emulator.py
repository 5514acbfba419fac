"""A small Telegram Bot API emulator for end-to-end tests.

Why this exists: the npm ``telegram-test-api`` does not work with PTB v22, and mocking ``Bot``
methods skips the layer where real bugs live (serialisation, parse modes, error mapping, polling
offsets).  This module serves the Bot API over real HTTP on 127.0.0.1, so a real PTB
``Application`` can be pointed at it with ``base_url=emu.base_url`` (``f"{emu.url}/bot"``) and
``base_file_url=emu.base_file_url``; PTB appends the token itself.

Deliberate fidelity choices:

* Responses are shaped like Telegram's (``{"ok": true, "result": ...}``, dates in seconds, error
  descriptions copied from the real server) because PTB maps status code + description onto its
  exception classes (400 -> BadRequest, 429 + retry_after -> RetryAfter, 5xx -> NetworkError).
* PTB's ``HTTPXRequest`` posts form data in which every non-string value is JSON-encoded and every
  string is sent raw, so form values are JSON-decoded unless the parameter is string-typed.
* HTML parse mode is validated *more strictly* than Telegram (a bare ``&`` or an unknown named
  entity is rejected) so missing escaping is caught by tests rather than by users.  As in Telegram,
  stored/returned messages carry the *parsed* text plus ``entities``.
* As in Telegram, only inline keyboards appear in returned messages; reply keyboards can be
  inspected through :attr:`BotApiEmulator.calls`.
* A real Bot API method that is not emulated returns ``true`` (and is recorded); a name that is
  not a Bot API method gets Telegram's 404.  Unknown positive chat ids are accepted as private
  chats so tests may send before the "user" has written.
* ``setWebhook`` with a url really delivers: each pending update is POSTed to it and leaves the
  queue only on a 2xx answer, as Telegram does (see :meth:`BotApiEmulator._push`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
import secrets
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

JSON = dict[str, Any]

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MEDIA_KINDS = ("photo", "video", "animation", "document", "voice", "video_note", "sticker", "audio")
_CAPTIONABLE = {"photo", "video", "animation", "document", "voice", "audio"}
# fmt: off
# Parameters the Bot API types as String: PTB sends them raw, so they must not be JSON-decoded.
_STRING_PARAMS = {
    "text", "caption", "query", "parse_mode", "callback_query_id", "inline_query_id", "url",
    "secret_token", "next_offset", "action", "file_id", "description", "short_description", "name",
    "language_code", "title", "emoji", "inline_message_id", "business_connection_id", "ip_address",
    *MEDIA_KINDS,
}
_OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}
_BUTTON_ACTIONS = {
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "callback_game",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "pay", "copy_text",
}
# fmt: on


def _bot_api_methods() -> dict[str, str]:
    """lower-case name -> camelCase name, from PTB's camelCase ``Bot`` aliases.

    Why: answers real-but-unemulated methods with ``true`` and invented ones with 404 without
    hand-maintaining ~170 method names.
    """
    from telegram import Bot

    names = [n for n in dir(Bot) if n[:1].islower() and n != n.lower() and "_" not in n]
    return {n.lower(): n for n in [*names, "close"] if callable(getattr(Bot, n, None))}


class ApiError(Exception):
    """An error reported to the client: HTTP status + Telegram ``description``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def response(self) -> web.Response:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.status)


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _u16(text: str) -> int:
    """Length in UTF-16 code units - the unit of Telegram entity offsets/lengths."""
    return len(text.encode("utf-16-le")) // 2


# ------------------------------------------------------------------------------------------ HTML
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_ATTR_RE = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "code": "code", "pre": "pre", "tg-spoiler": "spoiler", "blockquote": "blockquote",
}  # fmt: skip


def parse_html(src: str) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)`` or raise ``ApiError``."""

    def fail(reason: str, pos: int) -> ApiError:
        return _bad(f"can't parse entities: {reason} at byte offset {len(src[:pos].encode())}")

    out: list[str] = []
    u16 = 0
    stack: list[tuple[str, JSON | None, int, int]] = []  # tag, entity template, u16 start, pos
    entities: list[JSON] = []
    i = 0
    while i < len(src):
        if src[i] == "<":
            m = _TAG_RE.match(src, i)
            if not m:  # "a < b", "<br/>", "<b" ...
                if src[i + 1 : i + 2] == "/":
                    raise fail("Unexpected end tag", i)
                name = re.match(r"[a-zA-Z0-9-]*", src[i + 1 :]).group(0)  # type: ignore[union-attr]
                raise fail(f'Unsupported start tag "{name}"', i)
            tag = m.group(2).lower()
            if m.group(1):  # closing tag
                if not stack:
                    raise fail("Unexpected end tag", i)
                open_tag, template, start, _ = stack.pop()
                if open_tag != tag:
                    raise fail(f'Unmatched end tag, expected "</{open_tag}>", found "</{tag}>"', i)
                if template is not None and u16 > start:  # Telegram drops empty entities
                    entities.append({**template, "offset": start, "length": u16 - start})
            else:
                attrs = {
                    a.group(1).lower(): next((g for g in a.groups()[1:] if g is not None), "")
                    for a in _ATTR_RE.finditer(m.group(3))
                }
                template = _entity_for_tag(tag, attrs)
                if template is False:
                    raise fail(f'Unsupported start tag "{tag}"', i)
                if tag == "code" and stack and stack[-1][0] == "pre":
                    # <pre><code class="language-x"> is one "pre" entity with a language.
                    lang = attrs.get("class", "")
                    if lang.startswith("language-") and stack[-1][1] is not None:
                        stack[-1][1]["language"] = lang.removeprefix("language-")
                    template = None
                stack.append((tag, template if isinstance(template, dict) else None, u16, i))
            i = m.end()
            continue
        if src[i] == "&":
            m = _HTML_ENTITY_RE.match(src, i)
            if not m:
                raise fail("Unsupported HTML entity (escape '&' as &amp;)", i)
            name = m.group(1)
            code = 0 if name in _NAMED else int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            piece = _NAMED.get(name) or (chr(code) if 0 < code <= 0x10FFFF else "\ufffd")
            i = m.end()
        else:
            piece = src[i]
            i += 1
        out.append(piece)
        u16 += _u16(piece)
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"', stack[-1][3])
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _entity_for_tag(tag: str, attrs: dict[str, str]) -> JSON | None | bool:
    """Entity template for an opening tag; ``None`` = allowed, no entity; ``False`` = illegal."""
    if tag in _SIMPLE_TAGS:
        expandable = tag == "blockquote" and "expandable" in attrs
        return {"type": "expandable_blockquote" if expandable else _SIMPLE_TAGS[tag]}
    if tag == "a":
        return {"type": "text_link", "url": attrs["href"]} if attrs.get("href") else None
    if tag == "span":
        return {"type": "spoiler"} if attrs.get("class") == "tg-spoiler" else False
    if tag == "tg-emoji" and attrs.get("emoji-id"):
        return {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}
    return False


@dataclass
class _Fault:
    kind: str  # "error" | "delay" | "drop" | "malformed" | "truncated" | "drip"
    status: int = 200
    description: str | None = None
    retry_after: int = 1
    seconds: float = 0.0
    chat_id: int | None = None  # only calls for this chat (None: any call of the method)


class BotApiEmulator:
    """In-process Telegram Bot API server plus a scripted "user" side and inspection helpers.

    Bot-side methods are implemented as ``_api_<lowercase method name>(params)``.
    """

    def __init__(
        self,
        token: str = "123:ABC",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_username: str = "emulator_bot",
        bot_name: str = "Emulator Bot",
    ) -> None:
        self.token, self.host, self.port = token, host, port
        bot_id = token.split(":", 1)[0]
        self.bot_user: JSON = {"id": int(bot_id) if bot_id.isdigit() else 123, "is_bot": True,
                               "first_name": bot_name, "username": bot_username}  # fmt: skip
        self.calls: list[tuple[str, JSON]] = []
        self.inline_answers: list[JSON] = []
        self.callback_answers: list[JSON] = []
        self.webhook: JSON = {}
        self.webhook_posts: Counter[int | str] = Counter()  # POST outcomes: status or failure
        self.webhook_timeout = 60.0  # seconds a webhook POST may take before it is retried
        self._webhook_error: JSON = {}  # getWebhookInfo's last_error_date/_message
        self._pushers: set[asyncio.Task[None]] = set()
        self._updates: list[JSON] = []
        self._next_update_id = 10_001
        self._allowed_updates: list[str] | None = None  # None: all except _OPT_IN_UPDATES
        self._poll_generation = 0
        self._chats: dict[int, JSON] = {}
        self._messages: dict[int, dict[int, JSON]] = defaultdict(dict)
        self._bot_sent: dict[int, list[int]] = defaultdict(list)
        self._deleted: dict[int, list[int]] = defaultdict(list)
        self._next_message_id: dict[int, int] = defaultdict(lambda: 1)
        self._pending_callbacks: set[str] = set()
        self._pending_inline: set[str] = set()
        self._files: dict[str, JSON] = {}
        self._file_seq = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._holds: dict[str, int] = {}  # method -> calls still let through before the hold
        self._released = asyncio.Event()
        self.held = 0  # calls being held right now
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._api_methods = _bot_api_methods()

    # -------------------------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self) -> BotApiEmulator:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Release pending long polls/delays first so the server shuts down immediately."""
        self._closing.set()
        for task in self._pushers:
            task.cancel()
        await asyncio.gather(*self._pushers, return_exceptions=True)
        self.release()
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -------------------------------------------------------------------------- fault injection
    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"*"`` = any method) with an error:
        429 carries ``parameters.retry_after``; 5xx/403/... carry Telegram-like descriptions.
        With ``chat_id``, only calls for that chat fail (a per-chat flood limit)."""
        fault = _Fault("error", status, description, retry_after, chat_id=chat_id)
        self._add_fault(method, fault, times)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Wait ``seconds`` before processing normally (the call still takes effect even if the
        client times out - exactly the duplicate-send hazard of the real API)."""
        self._add_fault(method, _Fault("delay", seconds=seconds), times)

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """Close the connection without any response (a network failure)."""
        self._add_fault(method, _Fault("drop"), times)

    def malformed_next(self, method: str, *, status: int = 200, times: int = 1) -> None:
        """Answer with a non-JSON body, like a misbehaving proxy in front of Telegram."""
        self._add_fault(method, _Fault("malformed", status=status), times)

    def truncated_next(self, method: str, *, times: int = 1) -> None:
        """Answer with a JSON body cut short (a connection closed mid-answer by a proxy); the
        call does not take effect."""
        self._add_fault(method, _Fault("truncated"), times)

    def drip_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Take effect, then send the answer one byte every ``seconds``: each read arrives well
        inside any read timeout, so only a total deadline ends it."""
        self._add_fault(method, _Fault("drip", seconds=seconds), times)

    def hold(self, method: str, *, after: int = 0) -> None:
        """Let ``after`` more calls of ``method`` through, then hold every further one without
        acting on it until :meth:`release` (which drops them): the moment to kill the bot."""
        self._holds[method.lower()] = after

    def release(self) -> None:
        self._holds.clear()
        self._released.set()
        self._released = asyncio.Event()

    def _add_fault(self, method: str, fault: _Fault, times: int) -> None:
        self._faults[method.lower()].extend(copy.copy(fault) for _ in range(times))

    # -------------------------------------------------------------------------------- user side
    def push_raw_update(self, update: JSON) -> int:
        """Queue an arbitrary (possibly malformed) update; ``update_id`` is added if missing."""
        update = copy.deepcopy(update)
        if isinstance(update.get("update_id"), int):
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        else:
            update.setdefault("update_id", self._take_update_id())
        self._updates.append(update)
        self._notify()
        return update["update_id"]

    def user_sends_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        first_name: str = "Tester",
        reply_to_message_id: int | None = None,
    ) -> int:
        """User writes ``text``; ``bot_command``/``mention`` entities are added as clients do.

        ``chat_type`` defaults to the known chat's type, else private (id > 0) / group (id < 0).
        Returns the new message id (one id sequence per chat, shared with bot messages).
        """
        extra: JSON = {"text": text}
        pattern = r"(?<!\S)(/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?|@[A-Za-z0-9_]{5,32})"
        entities = [
            {"type": "bot_command" if m.group(0)[0] == "/" else "mention",
             "offset": _u16(text[: m.start()]), "length": _u16(m.group(0))}
            for m in re.finditer(pattern, text)
        ]  # fmt: skip
        if entities:
            extra["entities"] = entities
        if reply_to_message_id is not None:
            extra["reply_to_message"] = self._snapshot(chat_id, reply_to_message_id)
        return self._user_message(chat_id, user_id, chat_type, first_name, extra)

    def user_sends_command(
        self, chat_id: int, command: str, args: str = "", *, address_bot: bool = False, **kw: Any
    ) -> int:
        """``/command args``; ``address_bot=True`` sends ``/command@botusername`` (group style).
        Extra keywords are those of :meth:`user_sends_text`."""
        text = "/" + command.lstrip("/") + (f"@{self.bot_user['username']}" if address_bot else "")
        return self.user_sends_text(chat_id, f"{text} {args}" if args else text, **kw)

    def user_sends_group_text(
        self,
        chat_id: int,
        text: str,
        mention_bot: bool = False,
        reply_to_bot_message_id: int | None = None,
        *,
        user_id: int | None = None,
        first_name: str = "Tester",
        chat_type: str = "group",
    ) -> int:
        """Group message, optionally @mentioning the bot or replying to one of its messages."""
        mention = "@" + self.bot_user["username"]
        if mention_bot and mention not in text:
            text = f"{mention} {text}"
        return self.user_sends_text(
            chat_id, text, user_id=user_id, chat_type=chat_type, first_name=first_name,
            reply_to_message_id=reply_to_bot_message_id,
        )  # fmt: skip

    def user_sends_media(
        self,
        chat_id: int,
        kind: str,
        caption: str | None = None,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        first_name: str = "Tester",
        media_group_id: str | None = None,
    ) -> int:
        """User sends a media message of ``kind`` (one of :data:`MEDIA_KINDS`); messages of an
        album share a ``media_group_id`` and arrive as separate updates, as in Telegram."""
        extra = self._media(kind)
        if media_group_id is not None:
            extra["media_group_id"] = media_group_id
        if caption is not None:
            if kind not in _CAPTIONABLE:
                raise ValueError(f"{kind} messages cannot have a caption")
            extra["caption"] = caption
        return self._user_message(chat_id, user_id, chat_type, first_name, extra)

    def user_sends_message(self, chat_id: int, fields: JSON, *, first_name: str = "Tester") -> int:
        """Any other kind of private message, e.g. ``{"location": {...}}``, ``{"contact": ...}``."""
        return self._user_message(chat_id, None, None, first_name, copy.deepcopy(fields))

    def user_sends_photo(self, chat_id: int, caption: str | None = None, **kw: Any) -> int:
        return self.user_sends_media(chat_id, "photo", caption, **kw)

    def user_presses_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        *,
        user_id: int | None = None,
        first_name: str = "Tester",
        require_button: bool = True,
    ) -> str:
        """Queue a callback_query and return its id.  The data must belong to a button on that
        message unless ``require_button=False`` (forged/stale data from a modified client)."""
        message = self._snapshot(chat_id, message_id)
        if require_button:
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            if callback_data not in [b.get("callback_data") for row in rows for b in row]:
                raise ValueError(f"no button with callback_data={callback_data!r} on {message_id}")
        query_id = str(secrets.randbits(62))
        user = self._user(self._default_user(chat_id, user_id), first_name)
        self._pending_callbacks.add(query_id)
        self._queue_update("callback_query", {
            "id": query_id, "from": user, "chat_instance": str(abs(hash(("ci", chat_id)))),
            "message": message, "data": callback_data,
        })  # fmt: skip
        return query_id

    def user_sends_inline_query(
        self, user_id: int, query: str, *, offset: str = "", first_name: str = "Tester"
    ) -> str:
        """Queue an inline_query and return its id."""
        query_id = str(secrets.randbits(62))
        self._pending_inline.add(query_id)
        self._queue_update("inline_query", {
            "id": query_id, "from": self._user(user_id, first_name), "query": query,
            "offset": offset, "chat_type": "sender",
        })  # fmt: skip
        return query_id

    # ------------------------------------------------------------------------------- inspection
    def sent(self, chat_id: int, *, include_deleted: bool = True) -> list[JSON]:
        """Bot messages in ``chat_id`` in send order, as they are now (after edits)."""
        gone = set(self._deleted[chat_id])
        return [copy.deepcopy(self._messages[chat_id][mid]) for mid in self._bot_sent[chat_id]
                if include_deleted or mid not in gone]  # fmt: skip

    def calls_to(self, method: str) -> list[JSON]:
        """Params of every call to ``method`` (case-insensitive), including failed ones."""
        return [params for name, params in self.calls if name.lower() == method.lower()]

    def deleted(self, chat_id: int) -> list[int]:
        return list(self._deleted[chat_id])

    @property
    def commands(self) -> list[JSON]:
        """Commands set for the default scope without language code."""
        return self.commands_for()

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        return self._commands.get(_scope_key({"scope": scope, "language_code": language_code}), [])

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates the bot has not yet confirmed: by ``getUpdates(offset=...)`` or, with a
        webhook, by a 2xx answer to their POST."""
        return copy.deepcopy(self._updates)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked after every API call/update) and
        return its value; ``TimeoutError`` lists the most recent calls to ease debugging."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if result := predicate():
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [name for name, _ in self.calls[-15:]]
                raise TimeoutError(f"condition not met within {timeout}s; recent calls: {recent}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[JSON]:
        """Wait until ``method`` was called at least ``count`` times; return all their params."""
        return await self.wait_for(
            lambda: len(calls := self.calls_to(method)) >= count and calls, timeout
        )

    # ------------------------------------------------------------------------------- HTTP layer
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        name = self._api_methods.get(request.match_info["method"].lower())
        if name is None:
            return ApiError(404, "Not Found").response()
        try:
            params = await _parse_params(request)
        except ValueError:
            return _bad("can't parse request parameters").response()
        self.calls.append((name, params))
        try:
            if await self._held(name.lower(), request):
                raise asyncio.CancelledError  # dropped: the call never took effect
            fault = self._take_fault(name.lower(), params)
            if fault is not None and fault.kind in ("truncated", "drip"):
                return await self._answer_badly(fault, name.lower(), params, request)
            if fault is not None and fault.kind == "drop":
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError  # no response can be written any more
            if fault is not None and fault.kind == "malformed":
                body = "<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
                return web.Response(status=fault.status, text=body, content_type="text/html")
            if fault is not None and fault.kind == "error":
                raise _fault_error(fault)
            if fault is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), fault.seconds)
            result = self._dispatch(name.lower(), params)
            if asyncio.iscoroutine(result):
                result = await result
            return web.json_response({"ok": True, "result": result})
        except ApiError as exc:
            return exc.response()
        finally:
            self._notify()

    def _take_fault(self, method: str, params: JSON) -> _Fault | None:
        chat = _chat_id(params.get("chat_id"))
        for key in (method, "*"):
            queue = self._faults.get(key)
            for fault in list(queue or ()):
                if fault.chat_id is None or fault.chat_id == chat:
                    queue.remove(fault)  # type: ignore[union-attr]
                    return fault
        return None

    async def _held(self, method: str, request: web.Request) -> bool:
        if method not in self._holds:
            return False
        if self._holds[method] > 0:
            self._holds[method] -= 1
            return False
        self.held += 1
        self._notify()
        try:
            await self._released.wait()
        finally:
            self.held -= 1
        if request.transport is not None:
            request.transport.abort()
        return True

    async def _answer_badly(
        self, fault: _Fault, method: str, params: JSON, request: web.Request
    ) -> web.StreamResponse:
        if fault.kind == "truncated":
            cut = '{"ok": true, "result": {"message_id'
            return web.Response(text=cut, content_type="application/json")
        result = self._dispatch(method, params)
        if asyncio.iscoroutine(result):
            result = await result
        body = json.dumps({"ok": True, "result": result}).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        for i in range(len(body)):
            if self._closing.is_set():
                break
            await response.write(body[i : i + 1])
            await asyncio.sleep(fault.seconds)
        return response

    def _dispatch(self, method: str, params: JSON) -> Any:
        if handler := getattr(self, f"_api_{method}", None):
            return handler(params)
        kind = next((k for k in MEDIA_KINDS if method == "send" + k.replace("_", "")), None)
        return self._send_media(params, kind) if kind else True

    def _notify(self) -> None:
        """Wake every waiter (long polls, ``wait_for``): one fresh Event per generation."""
        self._changed.set()
        self._changed = asyncio.Event()

    # ----------------------------------------------------------------------------- update queue
    def _take_update_id(self) -> int:
        self._next_update_id += 1
        return self._next_update_id - 1

    def _queue_update(self, kind: str, payload: JSON) -> None:
        allowed = self._allowed_updates
        if (kind in allowed) if allowed else (kind not in _OPT_IN_UPDATES):
            self._updates.append(
                {"update_id": self._take_update_id(), kind: copy.deepcopy(payload)}
            )
            self._notify()

    async def _api_getupdates(self, p: JSON) -> list[JSON]:
        """Real long polling: confirm via offset, wait up to ``timeout`` s for the first update.
        A newer concurrent poll makes the older one fail with 409, as in Telegram."""
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")  # fmt: skip
        offset, limit = int(p.get("offset") or 0), min(max(int(p.get("limit") or 100), 1), 100)
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"] or []) or None
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset:
            self._updates = [u for u in self._updates if _update_key(u) >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # lets an older concurrent poll notice it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(p.get("timeout") or 0)
        while not self._updates and not self._closing.is_set():
            changed, remaining = self._changed, deadline - loop.time()
            try:
                await asyncio.wait_for(changed.wait(), max(remaining, 0))
            except TimeoutError:
                break
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")  # fmt: skip
        return copy.deepcopy(self._updates[:limit])

    # ------------------------------------------------------------------------ webhook delivery
    async def _push(self, hook: JSON) -> None:
        """Telegram's side of a webhook, the behaviour a bot's delivery must survive.

        An update leaves the queue only when its POST is answered 2xx: a crash mid-POST means
        it is sent again.  A failed update waits 0.2 s, doubling up to 2 s, before its next try
        (no hot loop while the bot is down).  Up to ``max_connections`` POSTs run at once, but
        one per chat, so a chat's updates arrive in order (updates without a chat: any order).
        """
        headers = {SECRET_HEADER: hook["secret_token"]} if hook.get("secret_token") else {}
        limit = min(max(int(hook.get("max_connections") or 40), 1), 100)
        posts: dict[asyncio.Task[int | str], JSON] = {}
        retry: dict[int, tuple[float, float]] = {}  # update_id -> (loop time of next try, pause)
        loop = asyncio.get_running_loop()
        async with ClientSession(timeout=ClientTimeout(total=self.webhook_timeout)) as session:
            try:
                while True:
                    changed, now, wake = self._changed, loop.time(), None
                    flying = {_update_key(u) for u in posts.values()}
                    chats: set[int] = set()
                    for update in self._updates:
                        uid, chat = _update_key(update), _update_chat(update)
                        if len(posts) >= limit:
                            break
                        if chat is not None:
                            if chat in chats:
                                continue  # the chat's earlier update is still unconfirmed
                            chats.add(chat)
                        if uid in flying:
                            continue
                        if (not_before := retry.get(uid, (0.0, 0.0))[0]) > now:
                            wake = min(wake or not_before, not_before)
                            continue
                        post = self._post(session, hook["url"], headers, update)
                        posts[asyncio.create_task(post)] = update
                    waiter = asyncio.ensure_future(changed.wait())
                    timeout = None if wake is None else wake - now
                    done, _ = await asyncio.wait({waiter, *posts}, timeout=timeout,
                                                 return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                    waiter.cancel()
                    for task in done - {waiter}:
                        update, outcome = posts.pop(task), task.result()
                        uid = _update_key(update)
                        if isinstance(outcome, int) and 200 <= outcome < 300:
                            retry.pop(uid, None)
                            self._updates = [u for u in self._updates if u is not update]
                        else:
                            pause = min(2.0, max(0.2, retry.get(uid, (0.0, 0.0))[1] * 2))
                            retry[uid] = (loop.time() + pause, pause)
                        self._notify()
            finally:
                for task in posts:
                    task.cancel()
                await asyncio.gather(*posts, return_exceptions=True)

    async def _post(
        self, session: ClientSession, url: str, headers: dict[str, str], update: JSON
    ) -> int | str:
        """One delivery attempt: the HTTP status, or the name of the failure (kept in
        :attr:`webhook_posts` and, as Telegram does, in getWebhookInfo's last error)."""
        outcome: int | str
        try:
            async with session.post(url, json=update, headers=headers) as response:
                outcome = response.status
        except TimeoutError:
            outcome = "timeout"
        except ClientError as exc:
            outcome = type(exc).__name__
        self.webhook_posts[outcome] += 1
        if not (isinstance(outcome, int) and 200 <= outcome < 300):
            error = f"Wrong response from the webhook: {outcome}"
            self._webhook_error = {"last_error_date": int(time.time()), "last_error_message": error}
        return outcome

    # ------------------------------------------------------------------------ bot: setup/config
    def _api_getme(self, p: JSON) -> JSON:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": True, "can_connect_to_business": False,
                "has_main_web_app": False}  # fmt: skip

    def _api_setwebhook(self, p: JSON) -> bool:
        """Registers (or, without a url, removes) the webhook and (re)starts its delivery."""
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"] or []) or None
        self.webhook = {k: v for k, v in p.items() if k != "certificate"} if p.get("url") else {}
        self._webhook_error = {}
        for task in self._pushers:
            task.cancel()
        if self.webhook:
            task = asyncio.create_task(self._push(dict(self.webhook)), name="webhook")
            self._pushers.add(task)
            task.add_done_callback(self._pushers.discard)
        return True

    def _api_deletewebhook(self, p: JSON) -> bool:
        return self._api_setwebhook({"drop_pending_updates": p.get("drop_pending_updates")})

    def _api_getwebhookinfo(self, p: JSON) -> JSON:
        info = {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}  # fmt: skip
        keys = ("max_connections", "allowed_updates", "ip_address")
        return info | self._webhook_error | {k: self.webhook[k] for k in keys if k in self.webhook}

    def _api_setmycommands(self, p: JSON) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be an array of at most 100 BotCommand")
        for cmd in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(cmd.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[_scope_key(p)] = commands
        return True

    def _api_getmycommands(self, p: JSON) -> list[JSON]:
        return self._commands.get(_scope_key(p), [])

    def _api_deletemycommands(self, p: JSON) -> bool:
        self._commands.pop(_scope_key(p), None)
        return True

    # ---------------------------------------------------------------------------- bot: messages
    def _api_sendmessage(self, p: JSON) -> JSON:
        chat = self._chat_for_send(p)
        text, entities = self._rich_text(p, "text")
        return self._bot_message(
            chat, p, {"text": text} | ({"entities": entities} if entities else {})
        )

    def _send_media(self, p: JSON, kind: str) -> JSON:
        chat = self._chat_for_send(p)
        if kind not in p:
            raise _bad(f"there is no {kind} in the request")
        extra = self._media(kind)
        if kind in _CAPTIONABLE and p.get("caption"):
            extra["caption"], entities = self._rich_text(p, "caption")
            if entities:
                extra["caption_entities"] = entities
        return self._bot_message(chat, p, extra)

    def _bot_message(self, chat: JSON, p: JSON, content: JSON) -> JSON:
        markup = _check_markup(p.get("reply_markup"))
        reply = p.get("reply_parameters") or {}
        reply_id = reply.get("message_id") or p.get("reply_to_message_id")
        msg: JSON = {"message_id": 0, "from": self.bot_user, "chat": chat, "date": int(time.time())}
        if reply_id and self._lookup(chat["id"], reply_id) is not None:
            msg["reply_to_message"] = self._snapshot(chat["id"], reply_id)
        elif reply_id and not reply.get("allow_sending_without_reply"):
            raise _bad("message to be replied not found")
        msg.update(content)
        if markup and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        msg["message_id"] = self._store(chat["id"], msg)
        self._bot_sent[chat["id"]].append(msg["message_id"])
        return copy.deepcopy(msg)

    def _api_editmessagetext(self, p: JSON) -> JSON | bool:
        return self._edit(p, "text")

    def _api_editmessagecaption(self, p: JSON) -> JSON | bool:
        return self._edit(p, "caption")

    def _api_editmessagereplymarkup(self, p: JSON) -> JSON | bool:
        return self._edit(p, None)

    def _edit(self, p: JSON, field: str | None) -> JSON | bool:
        """Shared edit logic.  As in Telegram, omitting ``reply_markup`` removes the keyboard and
        an edit that changes nothing is a 400 "message is not modified"."""
        if p.get("inline_message_id"):
            return True  # inline messages are not tracked
        msg = self._find(p, "message to edit not found")
        if msg["from"].get("id") != self.bot_user["id"]:
            raise _bad("message can't be edited")
        markup = _check_markup(p.get("reply_markup"))
        new: JSON = {"reply_markup": markup if markup and "inline_keyboard" in markup else None}
        if field is not None:
            if field not in msg:
                raise _bad(f"there is no {field} in the message to edit")
            new[field], entities = self._rich_text(p, field)
            new["entities" if field == "text" else "caption_entities"] = entities or None
        if all(msg.get(k) == v for k, v in new.items()):
            raise ApiError(400, NOT_MODIFIED)
        for key, value in new.items():
            if value is None:
                msg.pop(key, None)
            else:
                msg[key] = value
        msg["edit_date"] = int(time.time())
        return copy.deepcopy(msg)

    def _api_deletemessage(self, p: JSON) -> bool:
        """Bots may delete their own and (in private chats) the user's messages."""
        msg = self._find(p, "message to delete not found")
        self._deleted[msg["chat"]["id"]].append(msg["message_id"])
        return True

    def _api_deletemessages(self, p: JSON) -> bool:
        for mid in p.get("message_ids") or []:
            with contextlib.suppress(ApiError):  # Telegram skips messages it cannot find
                self._api_deletemessage({"chat_id": p.get("chat_id"), "message_id": mid})
        return True

    # ----------------------------------------------------------------------- bot: other methods
    def _api_answercallbackquery(self, p: JSON) -> bool:
        if str(p.get("callback_query_id")) not in self._pending_callbacks:
            raise ApiError(400, QUERY_TOO_OLD)  # unknown or already answered
        if len(p.get("text") or "") > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._pending_callbacks.discard(str(p["callback_query_id"]))
        self.callback_answers.append(p)
        return True

    def _api_answerinlinequery(self, p: JSON) -> bool:
        if str(p.get("inline_query_id")) not in self._pending_inline:
            raise ApiError(400, QUERY_TOO_OLD)
        results = p.get("results") or []
        ids = [str(r.get("id", "")) for r in results]
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        if len(set(ids)) != len(ids) or not all(1 <= len(i.encode()) <= 64 for i in ids):
            raise _bad("RESULT_ID_DUPLICATE" if len(set(ids)) != len(ids) else "RESULT_ID_INVALID")
        for result in results:
            _check_markup(result.get("reply_markup"))
            content = result.get("input_message_content") or {}
            if "message_text" in content:
                self._rich_text({**content, "text": content["message_text"]}, "text")
        self._pending_inline.discard(str(p["inline_query_id"]))
        self.inline_answers.append(p)
        return True

    def _api_sendchataction(self, p: JSON) -> bool:
        self._chat_for_send(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _api_getchat(self, p: JSON) -> JSON:
        chat = self._chats.get(_chat_id(p.get("chat_id")))  # type: ignore[arg-type]
        if chat is None:
            raise _bad("chat not found")
        gift_kinds = (
            "unlimited_gifts limited_gifts unique_gifts premium_subscription gifts_from_channels"
        )
        gifts = dict.fromkeys(gift_kinds.split(), False)
        return chat | {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    def _api_getfile(self, p: JSON) -> JSON:
        """Resolves ids of emulated media; calls are recorded so tests can assert non-use."""
        if str(p.get("file_id")) not in self._files:
            raise _bad("invalid file_id")
        return dict(self._files[str(p["file_id"])])

    # ---------------------------------------------------------------------------------- helpers
    def _rich_text(self, p: JSON, field: str) -> tuple[str, list[JSON]]:
        """Apply ``parse_mode`` / explicit entities to ``p[field]`` and enforce Telegram limits."""
        text = "" if p.get(field) is None else str(p[field])
        entities = list(p.get("entities" if field == "text" else "caption_entities") or [])
        if p.get("parse_mode") == "HTML":
            text, entities = parse_html(text)
        if field == "text" and not text.strip():
            raise _bad("message text is empty")
        if len(text) > (4096 if field == "text" else 1024):
            raise _bad("message is too long" if field == "text" else "message caption is too long")
        return text, entities

    def _chat_for_send(self, p: JSON) -> JSON:
        chat_id = _chat_id(p.get("chat_id"))
        if chat_id is None:
            raise _bad("chat not found" if p.get("chat_id") else "chat_id is empty")
        return self._chat(chat_id, None, self._user(chat_id, "Tester"))

    def _lookup(self, chat_id: Any, message_id: Any) -> JSON | None:
        """The stored (mutable) message, or ``None`` if it never existed or was deleted."""
        cid, mid = _chat_id(chat_id), _chat_id(message_id)
        if cid is None or mid is None or cid not in self._messages or mid in self._deleted[cid]:
            return None
        return self._messages[cid].get(mid)

    def _find(self, p: JSON, not_found: str) -> JSON:
        msg = self._lookup(p.get("chat_id"), p.get("message_id"))
        if msg is None:
            raise _bad(not_found)
        return msg

    def _snapshot(self, chat_id: int, message_id: Any) -> JSON:
        """Copy of a live message as embedded in replies/callbacks (one level, like Telegram)."""
        msg = self._lookup(chat_id, message_id)
        if msg is None:
            raise LookupError(f"no live message {message_id} in chat {chat_id}")
        return copy.deepcopy({k: v for k, v in msg.items() if k != "reply_to_message"})

    def _store(self, chat_id: int, msg: JSON) -> int:
        """Give ``msg`` the chat's next id: user and bot messages share one sequence per chat."""
        mid = self._next_message_id[chat_id]
        self._next_message_id[chat_id] = mid + 1
        self._messages[chat_id][mid] = msg
        return mid

    @staticmethod
    def _user(user_id: int, first_name: str) -> JSON:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}

    @staticmethod
    def _default_user(chat_id: int, user_id: int | None) -> int:
        return user_id if user_id is not None else (chat_id if chat_id > 0 else 100_001)

    def _chat(self, chat_id: int, chat_type: str | None, user: JSON) -> JSON:
        if chat_id not in self._chats:
            kind = chat_type or ("private" if chat_id > 0 else "group")
            self._chats[chat_id] = (
                {"id": chat_id, "type": "private", "first_name": user["first_name"]}
                if kind == "private"
                else {"id": chat_id, "type": kind, "title": f"Test {kind} {abs(chat_id)}"}
            )
        return self._chats[chat_id]

    def _user_message(
        self, chat_id: int, user_id: int | None, chat_type: str | None, first_name: str, extra: JSON
    ) -> int:
        user = self._user(self._default_user(chat_id, user_id), first_name)
        chat = self._chat(chat_id, chat_type, user)
        msg: JSON = {"message_id": 0, "from": user, "chat": chat, "date": int(time.time()), **extra}
        msg["message_id"] = self._store(chat_id, msg)
        self._queue_update("message", msg)
        return msg["message_id"]

    def _file(self, kind: str, size: int, **extra: Any) -> JSON:
        """A file object with Telegram-looking ids, registered so ``getFile`` can resolve it."""
        file_id = ("AgAC" if kind == "photo" else "BQAC") + secrets.token_urlsafe(40)
        ids = {"file_id": file_id, "file_unique_id": "AQAD" + secrets.token_urlsafe(12)}
        ext = {"photo": "jpg", "voice": "oga", "sticker": "webp", "audio": "mp3", "document": "pdf"}
        path = f"{kind}s/file_{next(self._file_seq)}.{ext.get(kind, 'mp4')}"
        self._files[file_id] = {**ids, "file_size": size, "file_path": path}
        return {**ids, "file_size": size, **extra}

    def _media(self, kind: str) -> JSON:
        """Message fields for a media message, shaped like real Telegram payloads."""
        if kind not in MEDIA_KINDS:
            raise ValueError(f"unknown media kind {kind!r}; expected one of {MEDIA_KINDS}")
        if kind == "photo":
            sizes = [(90, 51, 1_200), (320, 180, 14_000), (800, 450, 62_000), (1280, 720, 121_000)]
            return {"photo": [self._file("photo", s, width=w, height=h) for w, h, s in sizes]}
        # fmt: off
        size, extra = {
            "video": (1_048_576, {"width": 1280, "height": 720, "duration": 5,
                                  "mime_type": "video/mp4", "file_name": "video.mp4"}),
            "animation": (204_800, {"width": 480, "height": 270, "duration": 3,
                                    "mime_type": "video/mp4", "file_name": "animation.gif.mp4"}),
            "document": (52_428, {"file_name": "document.pdf", "mime_type": "application/pdf"}),
            "voice": (12_288, {"duration": 3, "mime_type": "audio/ogg"}),
            "video_note": (409_600, {"length": 240, "duration": 4}),
            "sticker": (24_576, {"width": 512, "height": 512, "emoji": "\U0001f600",
                                 "set_name": "TestStickers", "is_animated": False,
                                 "is_video": False, "type": "regular"}),
            "audio": (3_145_728, {"duration": 180, "performer": "Test Artist", "title": "Test Song",
                                  "file_name": "song.mp3", "mime_type": "audio/mpeg"}),
        }[kind]
        # fmt: on
        if kind in {"video", "animation", "video_note", "sticker", "document"}:
            extra = extra | {"thumbnail": self._file("photo", 2_500, width=320, height=180)}
        obj = self._file(kind, size, **extra)
        if kind == "animation":  # Telegram also sends animations as documents
            keys = ("file_id", "file_unique_id", "file_size", "file_name", "mime_type", "thumbnail")
            return {"animation": obj, "document": {k: obj[k] for k in keys}}
        return {kind: obj}


# ---------------------------------------------------------------------------- module helpers
async def _parse_params(request: web.Request) -> JSON:
    """Query string + JSON body, urlencoded or multipart form (files become metadata dicts)."""
    params: JSON = {k: _decode_form_value(k, v) for k, v in request.query.items()}
    if request.content_type == "application/json":
        body = await request.read()
        decoded = json.loads(body) if body else {}
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        params.update(decoded)
    elif request.can_read_body:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                size = len(value.file.read())
                params[key] = {"filename": value.filename, "size": size,
                               "content_type": value.content_type}  # fmt: skip
            else:
                params[key] = _decode_form_value(key, value)
    return params


def _decode_form_value(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _fault_error(fault: _Fault) -> ApiError:
    if fault.status == 429:
        description = fault.description or f"Too Many Requests: retry after {fault.retry_after}"
        return ApiError(429, description, {"retry_after": fault.retry_after})
    defaults = {400: "Bad Request", 403: "Forbidden: bot was blocked by the user"}
    try:
        phrase = defaults.get(fault.status) or HTTPStatus(fault.status).phrase
    except ValueError:
        phrase = "Unknown Error"
    return ApiError(fault.status, fault.description or phrase)


def _check_markup(markup: Any) -> JSON | None:
    """Validate reply_markup like Telegram (notably the 64-byte callback_data limit)."""
    if isinstance(markup, str):
        with contextlib.suppress(ValueError):
            markup = json.loads(markup)
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise _bad("BUTTON_TEXT_INVALID")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= 64:
            raise _bad("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and not re.match(r"^(https?://|tg://|t\.me/)\S+$", str(url)):
            raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
        if not _BUTTON_ACTIONS & button.keys():
            raise _bad("text buttons are unallowed in the inline keyboard")
    return markup


def _scope_key(p: JSON) -> tuple[str, str]:
    scope = p.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")


def _chat_id(value: Any) -> int | None:
    """Integer chat/message id from an int or numeric string; ``@username`` is not emulated."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return None


def _update_key(update: JSON) -> int:
    uid = update.get("update_id")
    return uid if isinstance(uid, int) else 0


def _update_chat(update: JSON) -> int | None:
    """The chat an update belongs to (a message's, or a pressed button's message's), if any."""
    for value in update.values():
        if isinstance(value, dict):
            message = value.get("message")
            chat = value.get("chat") or (message.get("chat") if isinstance(message, dict) else None)
            return _chat_id(chat.get("id")) if isinstance(chat, dict) else None
    return None


@contextlib.asynccontextmanager
async def polling(app: Any, **kwargs: Any) -> AsyncIterator[Any]:
    """Run a PTB Application, long-polling this emulator, for the length of the block."""
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1, **kwargs)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
