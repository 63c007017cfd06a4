"""The Discord backend's outgoing queue: ordered, bounded, held while offline.

Every send (message chunks, embeds, files, reactions) is a job run one at a time, so the
chunks of a long reply arrive in order. Jobs wait while the bot is not connected to the
gateway (before the first READY, while discord.py reconnects) up to a bound; a job that does
not fit is refused with an error naming its target. A job failing for a transient reason
(network error, Discord 5xx) stays at the head and is retried with a capped back-off; one
Discord refuses (4xx: missing permission, unknown channel) is logged and dropped. HTTP 429
never gets here: discord.py waits ``retry_after`` and retries by itself.

Everything here runs on the bot's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from errbot.backends.network import BackOff
from errbot.backends.outbox import BoundedOutbox

log = logging.getLogger(__name__)

MAX_QUEUED_JOBS = 1000


@dataclass
class Job:
    what: str  # for the logs: "message to <#600>"
    run: Callable[[], Awaitable[object]]


class Outbox(BoundedOutbox[Job]):
    def __init__(
        self,
        is_transient: Callable[[BaseException], bool],
        limit: int = MAX_QUEUED_JOBS,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        super().__init__(asyncio.Event(), limit)
        self._is_transient = is_transient
        self._retry_initial = retry_initial
        self._retry_max = retry_max

    def put(self, job: Job) -> bool:
        if self.full():
            log.error(
                "Discord: %d sends are already waiting (%s): the %s is refused.",
                len(self._items),
                "not connected" if not self.online.is_set() else "sending",
                job.what,
            )
            return False
        if not self.online.is_set() and not self._items:
            log.warning("Not connected to Discord: messages wait for the connection.")
        self._push(job)
        return True

    async def stop(self) -> None:
        await self._stop_worker()
        if self._items:
            log.warning("Stopping with %d unsent Discord messages.", len(self._items))
            self.discard()

    async def _run(self) -> None:
        # Doubling, no jitter: one bot's own sends, not a crowd reconnecting.
        backoff = BackOff(self._retry_initial, 2, self._retry_max)
        while True:
            job = await self._next()
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._is_transient(exc):
                    log.warning(
                        "Discord: the %s failed (%s), retrying in %.1f s.",
                        job.what,
                        exc,
                        backoff.delay,
                    )
                    await asyncio.sleep(backoff.next_delay())
                    continue
                log.error("Discord refused the %s: %s", job.what, exc)
                self._done(sent=False)
            else:
                self._done()
            backoff.reset()
