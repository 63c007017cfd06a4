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
import collections
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_QUEUED_JOBS = 1000


@dataclass
class Job:
    what: str  # for the logs: "message to <#600>"
    run: Callable[[], Awaitable[object]]


class Outbox:
    def __init__(
        self,
        is_transient: Callable[[BaseException], bool],
        limit: int = MAX_QUEUED_JOBS,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self._is_transient = is_transient
        self._limit = limit
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._jobs: collections.deque[Job] = collections.deque()
        self.online = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def __len__(self) -> int:
        return len(self._jobs)

    def put(self, job: Job) -> bool:
        if len(self._jobs) >= self._limit:
            log.error(
                "Discord: %d sends are already waiting (%s): the %s is refused.",
                len(self._jobs),
                "not connected" if not self.online.is_set() else "sending",
                job.what,
            )
            return False
        if not self.online.is_set() and not self._jobs:
            log.warning("Not connected to Discord: messages wait for the connection.")
        self._jobs.append(job)
        self._wake.set()
        return True

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._jobs:
            log.warning("Stopping with %d unsent Discord messages.", len(self._jobs))
            self._jobs.clear()

    async def _run(self) -> None:
        delay = self._retry_initial
        while True:
            if not self._jobs:
                self._wake.clear()
                await self._wake.wait()
                continue
            await self.online.wait()
            job = self._jobs[0]
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._is_transient(exc):
                    log.warning(
                        "Discord: the %s failed (%s), retrying in %.1f s.", job.what, exc, delay
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._retry_max)
                    continue
                log.error("Discord refused the %s: %s", job.what, exc)
            else:
                self.sent += 1
            delay = self._retry_initial
            self._jobs.popleft()
