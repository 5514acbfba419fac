"""Running the Telegram bot: the Application, start-up checks, polling or webhook.

`build_application` is the one factory: `run_bot` runs it and the tests
start the very same one against a Bot API emulator. The handlers live in
handlers.py. Start-up problems (a bad token, an unreachable API, an
unusable data directory) end with one line and exit 1, never a traceback;
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
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults
from telegram.request import HTTPXRequest

from bot.channels.telegram.handlers import TelegramHandlers
from bot.channels.telegram.html import NO_PREVIEW
from bot.channels.telegram.store import ChatStore
from bot.content.records import Content
from bot.dialogue import Engine

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
LOCAL_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")  # test tokens, only with a base URL
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
TELEGRAM_MAX_RATE = 30.0  # messages per second across all chats
CONCURRENT_UPDATES = 32  # chats served at once; each chat's own updates stay in order


class _UpdatesRequest(HTTPXRequest):
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
    handlers = TelegramHandlers(Engine(content), ChatStore(data_dir))
    timeouts = {
        "connect_timeout": 10.0,
        "read_timeout": 15.0,
        "write_timeout": 15.0,
        "pool_timeout": 5.0,
    }
    builder = (
        ApplicationBuilder()
        .token(token)
        .request(HTTPXRequest(connection_pool_size=8, **timeouts))
        .get_updates_request(_UpdatesRequest(connection_pool_size=1, **timeouts))
        .rate_limiter(AIORateLimiter(overall_max_rate=max_rate, max_retries=3))
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
    handlers.register(app)
    return app


def webhook_settings(webhook_url: str, env: Mapping[str, str]) -> dict[str, Any]:
    """run_webhook arguments: listen where the environment says, serve the URL's own path,
    and require a secret token so calls that don't come from Telegram are refused."""
    secret = env.get("TELEGRAM_WEBHOOK_SECRET") or secrets.token_urlsafe(32)
    if not SECRET_RE.fullmatch(secret):
        raise ValueError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
    port = env.get("TELEGRAM_WEBHOOK_PORT") or "8443"
    if not port.isdigit():
        raise ValueError("TELEGRAM_WEBHOOK_PORT must be a port number")
    return {
        "listen": env.get("TELEGRAM_WEBHOOK_LISTEN") or "0.0.0.0",
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
    """Run until SIGINT/SIGTERM; 1 with a one-line message if it cannot start."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    env = os.environ
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
        if webhook:
            app.run_webhook(allowed_updates=UPDATES, **webhook)
        else:
            app.run_polling(allowed_updates=UPDATES)
    except OSError as exc:
        return _fail(f"cannot listen for the webhook: {exc.strerror or type(exc).__name__}")
    except TelegramError as exc:
        return _fail(f"stopped by a Telegram error: {type(exc).__name__}")
    return 0


def _fail(message: str) -> int:
    print(f"guidance-bot: {message}", file=sys.stderr)
    return 1
