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
import logging
from collections.abc import Awaitable, Callable

from errbot.backends.matrix.client import Disconnected
from errbot.backends.outbox import BoundedOutbox

log = logging.getLogger(__name__)

MAX_QUEUED = 1000
RETRY_PAUSE = 1.0  # seconds before retrying an item that met a network error

Job = Callable[[], Awaitable[None]]


class Outbox(BoundedOutbox[tuple[str, Job]]):
    def __init__(self, online: asyncio.Event, limit: int = MAX_QUEUED) -> None:
        super().__init__(online, limit)

    def put(self, what: str, job: Job) -> bool:
        """Queue ``job``; False (and an error logged) when the outbox is full."""
        if self.full():
            log.error(
                "Matrix: %d messages are already waiting (%s): %s is refused.",
                len(self._items),
                "disconnected" if not self.online.is_set() else "sending",
                what,
            )
            return False
        if not self.online.is_set() and not self._items:
            log.warning("Not connected to the Matrix homeserver: messages wait for the sync.")
        self._push((what, job))
        self.start()
        return True

    async def stop(self) -> int:
        """Cancel the worker; returns how many items were left unsent."""
        left = self.discard()
        await self._stop_worker()
        return left

    async def _run(self) -> None:
        while True:
            what, job = await self._next()
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
                self._done(sent=False)
            else:
                self._done()
