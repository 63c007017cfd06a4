"""Outgoing Matrix work, in order, held while the bot is disconnected.

Each item is a coroutine factory (send a message, upload a file) run by one worker task on
the bot's event loop, so replies keep their order even when a direct chat must first be
created. While the homeserver is unreachable the item in progress and those behind it wait,
up to a bound; beyond it a new item is refused with a log line naming its target, never
dropped silently. An item the server refuses (not in the room, too large...) is logged and
skipped: retrying would not change the answer.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable

from errbot.backends.matrix.client import Disconnected

log = logging.getLogger(__name__)

MAX_QUEUED = 1000
RETRY_PAUSE = 1.0  # seconds before retrying an item that met a network error

Job = Callable[[], Awaitable[None]]


class Outbox:
    def __init__(self, online: asyncio.Event, limit: int = MAX_QUEUED) -> None:
        self._online = online
        self.limit = limit
        self._items: collections.deque[tuple[str, Job]] = collections.deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, what: str, job: Job) -> bool:
        """Queue ``job``; False (and an error logged) when the outbox is full."""
        if len(self._items) >= self.limit:
            log.error(
                "Matrix: %d messages are already waiting (%s): %s is refused.",
                len(self._items),
                "disconnected" if not self._online.is_set() else "sending",
                what,
            )
            return False
        if not self._online.is_set() and not self._items:
            log.warning("Not connected to the Matrix homeserver: messages wait for the sync.")
        self._items.append((what, job))
        self._idle.clear()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return True

    async def drain(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> int:
        """Cancel the worker; returns how many items were left unsent."""
        left = len(self._items)
        self._items.clear()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._idle.set()
        return left

    async def _run(self) -> None:
        while True:
            if not self._items:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._online.wait()
            what, job = self._items[0]
            try:
                await job()
            except Disconnected as exc:
                # Keep the item: it goes out once the sync loop is back online.
                # The sync loop notices a real outage and clears `online`; a passing error
                # is retried after a pause.
                log.warning("Matrix: %s waits for the connection (%s).", what, exc)
                await asyncio.sleep(RETRY_PAUSE)
                continue
            except Exception as exc:
                log.error("Matrix: %s failed: %s", what, exc)
            else:
                self.sent += 1
            self._items.popleft()
