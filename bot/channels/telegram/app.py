"""Running the Telegram bot: the Application, start-up checks, polling or webhook.

`build_application` is the one factory: `run_bot` runs it and the tests
start the very same one against a Bot API emulator. The handlers live in
handlers.py, the way updates come in (confirmed only once handled) in delivery.py.
Start-up problems (a bad token, an unreachable API, an unusable data directory)
and a token refused while running end with one line and exit 1, never a traceback;
library logs are kept free of tokens and message text.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import re
import secrets
import sqlite3
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults
from telegram.request import HTTPXRequest

from bot.channels.counts import DailyCounts, counting_on, retention_days
from bot.channels.telegram.delivery import STORE_KEY, Fatal, run_until_signalled
from bot.channels.telegram.handlers import TelegramHandlers, register
from bot.channels.telegram.html import NO_PREVIEW
from bot.channels.telegram.offloop import OffLoopStore
from bot.content.records import Content
from bot.dialogue import Engine

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
LOCAL_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")  # test tokens, only with a base URL
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
TELEGRAM_MAX_RATE = 30.0  # messages per second across all chats
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")  # the library loggers stay quiet
CONCURRENT_UPDATES = 32  # chats served at once; each chat's own updates stay in order


class _DeadlineRequest(HTTPXRequest):
    """HTTPXRequest with a total deadline per request: httpx's timeouts count per read, so an
    answer dripping a byte at a time would otherwise hold its chat for ever."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._limits = {k: float(kwargs.get(k) or 0) for k in TIMEOUT_KEYS}

    async def do_request(self, url: str, method: str, request_data: Any = None, **kw: Any) -> Any:
        seconds = sum(
            kw[k] if isinstance(kw.get(k), int | float) else self._limits[k] for k in TIMEOUT_KEYS
        )
        try:
            async with asyncio.timeout(seconds + 1.0):
                return await super().do_request(url, method, request_data, **kw)
        except TimeoutError as exc:
            raise TimedOut("the request's total deadline passed") from exc


TIMEOUT_KEYS = ("connect_timeout", "read_timeout", "write_timeout", "pool_timeout")


class _ChatRateLimiter(AIORateLimiter):
    """AIORateLimiter's caps, but a 429 naming a chat pauses only that chat's requests.

    PTB's limiter pauses every request after any 429, so one flooded chat stalled all.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._paused: dict[str, float] = {}  # chat id -> loop time its pause ends

    async def process_request(  # type: ignore[override]
        self, callback: Any, args: Any, kwargs: Any, endpoint: str, data: dict, rate_limit_args: Any
    ) -> Any:
        chat = data.get("chat_id")
        key = str(chat) if chat is not None else ""
        loop = asyncio.get_running_loop()
        tries = rate_limit_args or self._max_retries
        group = chat if (isinstance(chat, int) and chat < 0) or isinstance(chat, str) else False
        for attempt in range(tries + 1):
            if (wait := self._paused.get(key, 0.0) - loop.time()) > 0:
                await asyncio.sleep(wait)
            try:
                return await self._run_request(
                    chat=chat is not None,
                    group=group,
                    allow_paid_broadcast=bool(data.get("allow_paid_broadcast")),
                    callback=callback,
                    args=args,
                    kwargs=kwargs,
                )
            except RetryAfter as exc:
                if attempt == tries:
                    raise
                delay = exc._retry_after.total_seconds()  # PTB's own reading, without warning
                self._paused[key] = max(self._paused.get(key, 0.0), loop.time() + delay + 0.1)
                if len(self._paused) > 10_000:
                    self._paused = {k: v for k, v in self._paused.items() if v > loop.time()}
        return None


class _UpdatesRequest(_DeadlineRequest):
    """getUpdates that can't be stalled by one update PTB fails to parse.

    PTB parses a whole batch at once: one unreadable update would make every poll fail
    (the offset never advances) and PTB would log the raw batch, message text included,
    on each retry. Such an update is replaced by its bare update_id: confirmed, then ignored.
    """

    async def post(self, url: str, request_data: Any = None, *args: Any, **kwargs: Any) -> Any:
        result = await super().post(url, request_data, *args, **kwargs)
        if not isinstance(result, list):
            return result
        return [
            _readable(u)
            for u in result
            if isinstance(u, dict) and isinstance(u.get("update_id"), int)
        ]


def _readable(update: dict) -> dict:
    try:
        Update.de_json(copy.deepcopy(update), None)
    except Exception as exc:  # any parse failure means: skip it
        log.warning("ignored unreadable update %s: %s", update["update_id"], type(exc).__name__)
        return {"update_id": update["update_id"]}
    return update


class _DropArguments(logging.Filter):
    """PTB's own warnings can embed raw updates through %r arguments ('Received data was
    ...'); keeping only the fixed message template keeps message text out of the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.args = None
        return True


_DROP_ARGUMENTS = _DropArguments()


def quiet_library_logs() -> None:
    """httpx logs every URL at INFO - token included - and PTB logs updates at DEBUG."""
    for name in ("httpx", "httpcore", "telegram"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        if name == "telegram" or name.startswith("telegram."):
            logging.getLogger(name).addFilter(_DROP_ARGUMENTS)


# ---------------------------------------------------------------- building and running


def build_application(
    content: Content,
    token: str,
    *,
    data_dir: Path,
    base_url: str | None = None,
    base_file_url: str | None = None,
    max_rate: float = TELEGRAM_MAX_RATE,
) -> Application:
    """The Application run_bot runs (tests start the very same one against an emulator).

    `max_rate` caps messages per second across all chats (Telegram's limit is about 30);
    0 lifts the cap, for a local Bot API server or an emulator. 429s are retried either way.
    """
    quiet_library_logs()
    store = OffLoopStore(data_dir)  # first: it makes the folder owner-only
    if counting_on():
        store.counts = DailyCounts(data_dir, retention_days())
    handlers = TelegramHandlers(Engine(content), store, editor_chats())
    timeouts = {
        "connect_timeout": 10.0,
        "read_timeout": 15.0,
        "write_timeout": 15.0,
        "pool_timeout": 5.0,
    }
    builder = (
        ApplicationBuilder()
        .token(token)
        .request(_DeadlineRequest(connection_pool_size=8, **timeouts))
        .get_updates_request(_UpdatesRequest(connection_pool_size=1, **timeouts))
        .rate_limiter(_ChatRateLimiter(overall_max_rate=max_rate, max_retries=3))
        .updater(None)  # delivery.py fetches updates and confirms them once handled
        .concurrent_updates(CONCURRENT_UPDATES)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW))
        .post_init(handlers.post_init)
        .post_shutdown(handlers.post_shutdown)
    )
    if base_url:
        builder = builder.base_url(base_url)
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    app = builder.build()
    app.bot_data[STORE_KEY] = store
    register(app, handlers)
    return app


def editor_chats(env: Mapping[str, str] = os.environ) -> frozenset[int]:
    """GUIDANCE_EDITOR_CHAT_IDS: the chats whose editors may use /why (comma-separated ids)."""
    ids = (x.strip() for x in env.get("GUIDANCE_EDITOR_CHAT_IDS", "").split(","))
    return frozenset(int(x) for x in ids if x.lstrip("-").isdigit())


def webhook_settings(webhook_url: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Webhook settings: listen where the environment says (127.0.0.1, behind the reverse
    proxy, unless told otherwise), serve the URL's own path, and require a secret token so
    calls that don't come from Telegram are refused."""
    secret = env.get("TELEGRAM_WEBHOOK_SECRET") or secrets.token_urlsafe(32)
    if not SECRET_RE.fullmatch(secret):
        raise ValueError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
    port = env.get("TELEGRAM_WEBHOOK_PORT") or "8443"
    if not port.isdigit():
        raise ValueError("TELEGRAM_WEBHOOK_PORT must be a port number")
    return {
        "listen": env.get("TELEGRAM_WEBHOOK_LISTEN") or "127.0.0.1",
        "port": int(port),
        "url_path": urlparse(webhook_url).path.lstrip("/"),
        "webhook_url": webhook_url,
        "secret_token": secret,
    }


def _preflight(token: str, base_url: str | None) -> str | None:
    """Ask getMe before PTB starts: PTB's start-up loop would log a traceback instead."""

    async def get_me() -> None:
        async with Bot(token, **({"base_url": base_url} if base_url else {})):
            pass

    try:
        asyncio.run(get_me())
    except InvalidToken:
        return "Telegram rejected the bot token; check TELEGRAM_BOT_TOKEN (from @BotFather)."
    except TelegramError as exc:
        return f"could not reach the Telegram Bot API ({type(exc).__name__}); check the network."
    return None


def run_bot(content: Content, token: str, webhook_url: str | None = None) -> int:
    """Run until SIGINT/SIGTERM; 1 with a one-line message if it cannot start or go on."""
    env = os.environ
    level = (env.get("LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        return _fail(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}.")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    base_url = env.get("TELEGRAM_API_BASE_URL") or None
    if not (TOKEN_RE.fullmatch(token) or (base_url and LOCAL_TOKEN_RE.fullmatch(token))):
        return _fail("TELEGRAM_BOT_TOKEN does not look like a bot token (123456789:AA...).")
    webhook_url = webhook_url or env.get("TELEGRAM_WEBHOOK_URL") or None
    try:
        webhook = webhook_settings(webhook_url, env) if webhook_url else None
    except ValueError as exc:
        return _fail(str(exc))
    quiet_library_logs()  # before the first request: httpx would log the token at INFO
    if problem := _preflight(token, base_url):
        return _fail(problem)
    data_dir = Path(env.get("GUIDANCE_DATA_DIR") or "data")
    try:
        max_rate = float(env.get("TELEGRAM_MAX_RATE") or TELEGRAM_MAX_RATE)
    except ValueError:
        return _fail("TELEGRAM_MAX_RATE must be a number of messages per second (0 = no cap).")
    try:
        app = build_application(
            content,
            token,
            base_url=base_url,
            base_file_url=env.get("TELEGRAM_API_BASE_FILE_URL") or None,
            data_dir=data_dir,
            max_rate=max_rate,
        )
    except (OSError, sqlite3.Error) as exc:
        return _fail(f"cannot use the data directory {data_dir} (GUIDANCE_DATA_DIR): {exc}")
    try:
        asyncio.run(run_until_signalled(app, allowed_updates=UPDATES, webhook=webhook))
    except Fatal as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot listen for the webhook: {exc.strerror or type(exc).__name__}")
    except TelegramError as exc:
        return _fail(f"stopped by a Telegram error: {type(exc).__name__}")
    return 0


def _fail(message: str) -> int:
    print(f"guidance-bot: {message}", file=sys.stderr)
    return 1
