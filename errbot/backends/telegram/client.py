"""The Bot API connection: python-telegram-bot's `Application` on the bot's event loop, a
long-polling task, and an ordered outbox for everything the bot sends.

Why not ``Updater.start_polling``: its retry loop logs every failed poll with a traceback,
stops for good (silently, for the rest of the bot) when the token is revoked, and has no
hook telling the bot the API is reachable again. The loop here does the same
``getUpdates`` calls through the same `Bot` and hands the updates to the `Application` (so
its handlers, error handlers and update parsing are the library's), but the bot owns the
back-off, the logging and the state.

Sending: every API call that delivers something goes through one FIFO task, so the chunks of
a long reply arrive in order, a 429 ``retry_after`` pauses the whole outbox (Telegram's flood
control applies to the bot, not to one message), and messages sent while the API is
unreachable wait (up to `OUTBOX_LIMIT`, then are refused with an error log).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, TypeHandler

from errbot.backends.network import BackOff

log = logging.getLogger(__name__)

CONNECTED = "connected"
INVALID_TOKEN = "invalid token"
STOPPED = "stopped"

OUTBOX_LIMIT = 1000
DEFAULT_API_URL = "https://api.telegram.org"
ALLOWED_UPDATES = (
    "message",
    "edited_message",
    "channel_post",
    "my_chat_member",
    "chat_member",
    "message_reaction",
)

Call = Callable[[Any, int], Awaitable[Any]]  # (bot, chat_id) -> API call


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, whichever form this PTB version gives it in."""
    value = getattr(exc, "_retry_after", None)
    if value is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


@dataclass
class Outgoing:
    """One queued API call; ``chat_id`` changes if the group became a supergroup."""

    what: str
    chat_id: int
    call: Call
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[str], None] | None = None
    attempts: int = field(default=0)


class TelegramClient:
    """One bot token's connection; lives as long as the backend (HTTP has no session to
    lose: a network drop is a failed request, retried with back-off)."""

    initial_delay = 1.0
    factor = 1.75
    max_delay = 60.0
    jitter = 1.0
    poll_timeout = 10.0
    drain_timeout = 5.0

    def __init__(
        self,
        token: str,
        api_url: str,
        on_update: Callable[[Update, Any], Awaitable[None]],
        outbox_limit: int = OUTBOX_LIMIT,
    ) -> None:
        api_url = api_url.rstrip("/")
        self.api_url = api_url
        self.app = (
            Application.builder()
            .token(token)
            .base_url(f"{api_url}/bot")
            .base_file_url(f"{api_url}/file/bot")
            .updater(None)  # polling is ours, see the module doc
            .build()
        )
        self.app.add_handler(TypeHandler(Update, on_update))
        self.app.add_error_handler(self._handler_failed)
        self.outbox_limit = outbox_limit
        self._outbox: asyncio.Queue[Outgoing] | None = None
        self._early: list[Outgoing] = []  # queued before the loop's queue exists
        self._stopping: asyncio.Event | None = None
        self._online: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.ended: asyncio.Future[str] | None = None
        self.offset: int | None = None
        self.me: Any = None
        self.polls = 0
        self.offline_since: float | None = None

    @property
    def bot(self) -> Any:
        return self.app.bot

    @property
    def online(self) -> bool:
        return self._online is not None and self._online.is_set()

    # -- start and stop ---------------------------------------------------------------
    async def start(self) -> str:
        """getMe (checks the token) and deleteWebhook, retried while the API is unreachable;
        then the polling and sending tasks. Returns CONNECTED, INVALID_TOKEN or STOPPED."""
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._online = asyncio.Event()
        self.ended = loop.create_future()
        self._outbox = asyncio.Queue()
        for item in self._early:
            self._outbox.put_nowait(item)
        self._early.clear()
        backoff = self._backoff()
        while not self._stopping.is_set():
            try:
                await self.app.initialize()  # getMe
                # A webhook makes getUpdates fail with 409: polling needs it gone.
                await self.bot.delete_webhook()
                break
            except InvalidToken:
                return INVALID_TOKEN
            except RetryAfter as exc:
                await self._pause(retry_after_seconds(exc))
            except TelegramError as exc:
                log.warning(
                    "Cannot reach the Telegram Bot API at %s (%s): retrying in %.1f s.",
                    self.api_url,
                    exc,
                    backoff.delay,
                )
                await self._pause(backoff.next_delay())
        if self._stopping.is_set():
            return STOPPED
        self.me = self.bot.bot
        await self.app.start()
        self._online.set()
        self._tasks = [
            loop.create_task(self._poll(), name="telegram-poll"),
            loop.create_task(self._send_all(), name="telegram-outbox"),
        ]
        return CONNECTED

    async def stop(self) -> None:
        """Stop polling, give queued messages a moment to go out, acknowledge the updates
        already handled (so a restart does not get them again), close the HTTP clients."""
        if self._stopping is None:
            return
        self._stopping.set()
        poll = self._tasks[0] if self._tasks else None
        if poll is not None:
            poll.cancel()
        if self._outbox is not None and self._outbox.qsize() and self._tasks:
            try:
                await asyncio.wait_for(self._outbox.join(), self.drain_timeout)
            except TimeoutError:
                log.warning("Stopping with %d unsent Telegram messages.", self._outbox.qsize())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.offset is not None and self.online:
            try:
                await asyncio.wait_for(self.bot.get_updates(offset=self.offset, timeout=0), 2)
            except (TelegramError, TimeoutError):
                pass
        try:
            if self.app.running:
                await self.app.stop()
            await self.app.shutdown()
        except Exception:  # closing must not raise, whatever state the clients are in
            log.debug("Closing the Telegram client failed", exc_info=True)
        self._settle(STOPPED)

    def _settle(self, outcome: str) -> None:
        if self.ended is not None and not self.ended.done():
            self.ended.set_result(outcome)

    def _backoff(self) -> BackOff:
        return BackOff(self.initial_delay, self.factor, self.max_delay, self.jitter)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up at once when the bot stops."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), max(seconds, 0))
        except TimeoutError:
            pass

    def _went_offline(self, exc: Exception) -> None:
        assert self._online is not None
        if self._online.is_set():
            self._online.clear()
            self.offline_since = asyncio.get_running_loop().time()
            log.warning("Lost contact with the Telegram Bot API (%s): retrying.", exc)

    def _back_online(self) -> None:
        assert self._online is not None
        if not self._online.is_set():
            self._online.set()
            log.info("In contact with the Telegram Bot API again.")

    # -- receiving ----------------------------------------------------------------------
    async def _poll(self) -> None:
        assert self._stopping is not None
        backoff = self._backoff()
        while not self._stopping.is_set():
            try:
                updates = await self.bot.get_updates(
                    offset=self.offset,
                    timeout=self.poll_timeout,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
            except InvalidToken:
                self._settle(INVALID_TOKEN)
                return
            except RetryAfter as exc:
                await self._pause(retry_after_seconds(exc))
                continue
            except Conflict as exc:
                log.error(
                    "Telegram refuses to give this bot its updates (%s): another program is "
                    "polling with the same BOT_IDENTITY['token'], or set a webhook.",
                    exc,
                )
                await self._pause(self.max_delay)
                continue
            except (NetworkError, TelegramError) as exc:
                if isinstance(exc, BadRequest):
                    log.error("Telegram refused getUpdates: %s", exc)
                else:
                    self._went_offline(exc)
                await self._pause(backoff.next_delay())
                continue
            except Exception:  # updates the library cannot parse: keep polling, loudly
                log.exception("Cannot read the updates Telegram sent")
                await self._pause(backoff.next_delay())
                continue
            backoff.reset()
            self.polls += 1
            self._back_online()
            for update in updates:
                self.offset = update.update_id + 1
                await self.app.update_queue.put(update)

    async def _handler_failed(self, update: object, context: Any) -> None:
        log.error("Handling the Telegram update %s failed", update, exc_info=context.error)

    # -- sending ------------------------------------------------------------------------
    def enqueue(self, item: Outgoing) -> bool:
        """Queue an API call (on the loop); False, logged, when the outbox is full."""
        queued = self._outbox.qsize() if self._outbox is not None else len(self._early)
        if queued >= self.outbox_limit:
            log.error(
                "%d Telegram messages are already waiting to be sent: %s to %s is refused.",
                queued,
                item.what,
                item.chat_id,
            )
            if item.on_error is not None:
                item.on_error("the outbox is full")
            return False
        if self._outbox is None:
            self._early.append(item)
        else:
            self._outbox.put_nowait(item)
        return True

    @property
    def queued(self) -> int:
        return self._outbox.qsize() if self._outbox is not None else len(self._early)

    async def _send_all(self) -> None:
        assert self._outbox is not None
        while True:
            item = await self._outbox.get()
            try:
                await self._deliver(item)
            finally:
                self._outbox.task_done()

    async def _deliver(self, item: Outgoing) -> None:
        assert self._online is not None and self._stopping is not None
        backoff = self._backoff()
        while True:
            item.attempts += 1
            try:
                result = await item.call(self.bot, item.chat_id)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                log.warning("Telegram flood control: waiting %.0f s before sending.", wait)
                await asyncio.sleep(wait)  # the whole outbox waits: the limit is per bot
                continue
            except ChatMigrated as exc:
                log.info("The chat %s is now the supergroup %s.", item.chat_id, exc.new_chat_id)
                item.chat_id = int(exc.new_chat_id)
                continue
            except InvalidToken as exc:
                self._settle(INVALID_TOKEN)
                self._failed(item, str(exc))
                return
            except BadRequest as exc:
                self._failed(item, str(exc))
                return
            except NetworkError as exc:
                if self._stopping.is_set():
                    self._failed(item, f"not sent before stopping ({exc})")
                    return
                self._went_offline(exc)
                try:  # retry when polling succeeds again, or after the back-off
                    await asyncio.wait_for(self._online.wait(), backoff.next_delay())
                except TimeoutError:
                    pass
                continue
            except TelegramError as exc:  # Forbidden (blocked, kicked), Conflict...
                self._failed(item, str(exc))
                return
            if item.on_done is not None:
                item.on_done(result)
            return

    @staticmethod
    def _failed(item: Outgoing, reason: str) -> None:
        log.error("Telegram refused %s to %s: %s", item.what, item.chat_id, reason)
        if item.on_error is not None:
            item.on_error(reason)

    async def call(self, fn: Callable[[Any], Awaitable[Any]], retries: int = 3) -> Any:
        """An immediate API call (rooms, files), honouring flood control a few times."""
        for _ in range(retries):
            try:
                return await fn(self.bot)
            except RetryAfter as exc:
                await asyncio.sleep(retry_after_seconds(exc))
        return await fn(self.bot)
