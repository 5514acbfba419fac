"""Delivery: every update handled at least once and answered once, polling or webhook.

Telegram forgets an update once it is confirmed: in polling mode by a later getUpdates whose
offset is past it, in webhook mode by a 2xx answer to its POST. PTB's Updater confirms on
receipt, so a crash loses every update fetched but not yet handled. Here an update is
confirmed only once it has been handled: the polling offset never passes an update still in
flight, and the webhook answers only after handling. A small ledger of handled update ids
(ids only, in the chat store; dropped once Telegram has confirmed them, at most a day) makes
a redelivered update a no-op, so a restart after SIGKILL answers what was lost and nothing
twice. The one gap: a reply that reached Telegram in the instant before its update was
entered in the ledger is sent again - a duplicate, never a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.channels.telegram.offloop import OffLoopStore

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # seconds a long poll waits for the first update
MAX_BACKOFF = 30.0  # seconds between failed polls, at most
DRAIN_SECONDS = 10.0  # how long a stop waits for the updates in flight
MAX_BODY = 1024 * 1024  # webhook body limit: Telegram's updates are a few kilobytes
WEBHOOK_WAIT = 50.0  # seconds a webhook POST waits for its handling before asking for a resend
BODY_TIMEOUT = 10.0  # seconds a webhook client may take to send its body
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Fatal(Exception):
    """A fault a retry cannot mend (the token revoked): the process must exit and be told."""


class Deliveries:
    """Hands each update to the Application once and enters it in the ledger when handled.

    Tasks start in update order and take their chat's lock before their first request, so a
    chat's updates keep their order; the Application's update processor bounds how many run.
    """

    def __init__(self, app: Application, store: OffLoopStore) -> None:
        self.app, self.store = app, store
        self.in_flight: dict[int, asyncio.Task] = {}
        self._finished = asyncio.Event()

    def accept(self, update: Update) -> asyncio.Task | None:
        """The task handling this update (a redelivery joins it); None if already handled."""
        uid = update.update_id
        if uid in self.in_flight:
            return self.in_flight[uid]
        if self.store.handled(uid):
            return None
        task = asyncio.create_task(self._handle(update), name=f"update {uid}")
        self.in_flight[uid] = task
        task.add_done_callback(lambda _t: self._done(uid))
        return task

    async def _handle(self, update: Update) -> None:
        processor = self.app.update_processor
        await processor.process_update(update, self.app.process_update(update))
        self.store.mark_handled(update.update_id)  # errors were answered by the error handler
        await self.store.settled()

    def _done(self, uid: int) -> None:
        self.in_flight.pop(uid, None)
        self._finished.set()
        self._finished = asyncio.Event()

    async def one_finished(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._finished.wait(), timeout)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Let the updates in flight finish (they are redelivered if cut short)."""
        tasks = list(self.in_flight.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


class Poller:
    """Long polling whose offset passes an update only once it has been handled."""

    def __init__(
        self,
        deliveries: Deliveries,
        allowed_updates: Sequence[str],
        timeout: float = POLL_TIMEOUT,
    ) -> None:
        self.deliveries, self.allowed, self.timeout = deliveries, list(allowed_updates), timeout
        self.bot = deliveries.app.bot
        self.offset = 0

    async def run(self, stop: asyncio.Event) -> None:
        await until_done(stop, self.bot.delete_webhook)  # polling needs no webhook
        backoff = 0.0
        while not stop.is_set():
            try:
                updates = await self._poll(stop)
            except (RetryAfter, Conflict, TelegramError) as exc:
                backoff = await failed(exc, backoff, "getUpdates")
                continue
            if updates is None:
                return  # stopped
            backoff = 0.0
            await self._take(updates)
        await self._confirm()

    async def _poll(self, stop: asyncio.Event) -> tuple[Update, ...] | None:
        poll = asyncio.ensure_future(
            self.bot.get_updates(
                offset=self.offset or None, timeout=self.timeout, allowed_updates=self.allowed
            )
        )
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({poll, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not poll.done():
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await poll
            return None
        return poll.result()

    async def _take(self, updates: tuple[Update, ...]) -> None:
        if self.offset:
            self.deliveries.store.confirmed_below(self.offset)  # Telegram forgot them
        started = False
        for update in updates:
            known = update.update_id in self.deliveries.in_flight
            started |= self.deliveries.accept(update) is not None and not known
        if updates:
            self.offset = max(self.offset, updates[-1].update_id + 1)
        in_flight = self.deliveries.in_flight
        if in_flight:
            self.offset = min(self.offset, min(in_flight))
            if not started:  # only updates still being handled came back: wait for one
                await self.deliveries.one_finished(1.0)

    async def _confirm(self) -> None:
        """On a clean stop, confirm what was handled so a restart does not fetch it again."""
        offset = min(self.deliveries.in_flight, default=self.offset)
        if offset:
            with contextlib.suppress(TelegramError):
                await self.bot.get_updates(offset=offset, timeout=0, limit=1)


async def failed(exc: TelegramError, backoff: float, method: str) -> float:
    """Wait before the next try of a failed call; Fatal if no retry can mend it."""
    if isinstance(exc, InvalidToken):
        raise Fatal(
            f"Telegram refused {method} ({type(exc).__name__}): the token was revoked "
            "or the API address is wrong; check TELEGRAM_BOT_TOKEN and TELEGRAM_API_BASE_URL."
        ) from exc
    if isinstance(exc, RetryAfter):
        wait = exc.retry_after
        seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
        await asyncio.sleep(seconds + 0.1)
        return backoff
    log.warning("%s failed: %s", method, type(exc).__name__)
    backoff = min(MAX_BACKOFF, max(1.0, backoff * 2))
    await asyncio.sleep(backoff if backoff > 1.0 else 0.2)
    return backoff


async def until_done(stop: asyncio.Event, call: Any, method: str = "deleteWebhook") -> None:
    """Retry a start-up call (setting or deleting the webhook) with backoff until it works."""
    backoff = 0.0
    while not stop.is_set():
        try:
            await call()
            return
        except TelegramError as exc:
            backoff = await failed(exc, backoff, method)


# ---------------------------------------------------------------- webhook


def read_update(body: bytes, app: Application) -> Update | None:
    """The update in a webhook body, or None if it can't be read (acknowledged and skipped)."""
    data: Any = None
    try:
        data = json.loads(body)
        return Update.de_json(data, app.bot)
    except Exception as exc:  # any parse failure means: skip it
        uid = data.get("update_id") if isinstance(data, dict) else None
        log.warning("ignored unreadable webhook update %s: %s", uid, type(exc).__name__)
        return None


@tornado.web.stream_request_body
class _Hook(tornado.web.RequestHandler):
    """One webhook POST: the secret is checked before a byte of the body is read, the body is
    capped at MAX_BODY, and the answer waits for the update to be handled."""

    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(self, secret: str, deliveries: Deliveries) -> None:
        self.secret, self.deliveries = secret, deliveries
        self.body = bytearray()

    def prepare(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        length = self.request.headers.get("Content-Length", "0")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self._refuse(403)
        elif not length.isdigit() or int(length) > MAX_BODY:
            self._refuse(413)

    def _refuse(self, status: int) -> None:
        """Answer before the body is read, and say the connection closes: the body left
        unread means it must, and a client told so never sends its next request down it
        (one that was not told could lose that request to the close)."""
        self.set_status(status)
        self.set_header("Connection", "close")
        self.finish()

    def data_received(self, chunk: bytes) -> None:
        self.body += chunk
        if len(self.body) > MAX_BODY:
            raise tornado.web.HTTPError(413)

    async def post(self) -> None:
        update = read_update(bytes(self.body), self.deliveries.app)
        task = self.deliveries.accept(update) if update else None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), WEBHOOK_WAIT)
            except TimeoutError:
                self.set_status(503)  # not handled yet: Telegram sends it again, which joins it
                return
        self.set_status(200)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        log.warning("webhook request failed: %s", typ.__name__ if typ else None)


class Webhook:
    """Registers the webhook with Telegram and serves it over plain HTTP until stopped."""

    def __init__(self, deliveries: Deliveries, settings: dict[str, Any], allowed: Sequence[str]):
        self.deliveries, self.settings, self.allowed = deliveries, settings, list(allowed)

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        path = "/" + s["url_path"].lstrip("/")
        web = tornado.web.Application(
            [(path, _Hook, {"secret": s["secret_token"], "deliveries": self.deliveries})]
        )
        server = tornado.httpserver.HTTPServer(
            web, max_body_size=MAX_BODY, body_timeout=BODY_TIMEOUT, idle_connection_timeout=60
        )
        server.listen(s["port"], address=s["listen"])
        register = partial(
            self.deliveries.app.bot.set_webhook,
            s["webhook_url"],
            secret_token=s["secret_token"],
            allowed_updates=self.allowed,
        )
        try:
            await until_done(stop, register, "setWebhook")  # a 5xx at start-up: try again
            await stop.wait()
        finally:
            server.stop()
            await self.deliveries.drain()
            await server.close_all_connections()


# ---------------------------------------------------------------- running


STORE_KEY = "guidance_chat_store"  # where build_application leaves the OffLoopStore


@contextlib.asynccontextmanager
async def serving(
    app: Application,
    *,
    allowed_updates: Sequence[str],
    webhook: dict[str, Any] | None = None,
    poll_timeout: float = POLL_TIMEOUT,
) -> AsyncIterator[asyncio.Task]:
    """Run the Application for the block; yields the task fetching updates (it ends early,
    with Fatal, if Telegram refuses the token). Updates in flight finish before it stops."""
    store: OffLoopStore = app.bot_data[STORE_KEY]
    stop = asyncio.Event()
    async with app:
        if app.post_init:
            await app.post_init(app)
        await app.start()
        deliveries = Deliveries(app, store)
        source = (
            Webhook(deliveries, webhook, allowed_updates)
            if webhook
            else Poller(deliveries, allowed_updates, poll_timeout)
        )
        task = asyncio.create_task(source.run(stop), name="updates")
        try:
            yield task
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await task
            await deliveries.drain()
            await app.stop()
            if app.post_shutdown:
                await app.post_shutdown(app)


async def run_until_signalled(
    app: Application, *, allowed_updates: Sequence[str], webhook: dict[str, Any] | None
) -> None:
    """run_bot's loop: serve until SIGINT/SIGTERM; Fatal (or OSError) if it cannot go on."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    async with serving(app, allowed_updates=allowed_updates, webhook=webhook) as updates:
        waiter = asyncio.ensure_future(stopped.wait())
        await asyncio.wait({updates, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if updates.done():
            updates.result()  # raises Fatal or OSError
