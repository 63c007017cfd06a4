"""Outgoing IRC lines: paced per IRC_CHANNEL_RATE / IRC_PRIVATE_RATE, held while offline.

Servers throttle or disconnect clients that send too fast, so the bot paces itself: one lane
for channel lines and one for private lines, each waiting its configured number of seconds
between two lines (0: no pacing). Lines keep their order within a lane.

While the bot is not connected (or not yet back in its channels) lines wait in the lane, up
to a bound; a line that does not fit is refused with a warning naming its target, never
dropped silently. Everything here runs on the bot's event loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

# Lines a lane holds while the bot is offline or paced: enough for a burst of replies,
# small enough that a bot cut off for hours does not flood the channel on its return.
MAX_QUEUED_LINES = 1000


class Lane:
    """One paced FIFO of ``(command, target, text)`` lines."""

    def __init__(
        self,
        name: str,
        interval: float,
        online: asyncio.Event,
        write: Callable[[str, str, str], bool],
        limit: int = MAX_QUEUED_LINES,
    ) -> None:
        self.name = name
        self.interval = max(float(interval or 0), 0.0)
        self._online = online
        self._write = write
        self._limit = limit
        self._lines: collections.deque[tuple[str, str, str]] = collections.deque()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def __len__(self) -> int:
        return len(self._lines)

    def put(self, command: str, target: str, lines: list[str]) -> int:
        """Queue ``lines``; returns how many were refused because the lane is full."""
        room = self._limit - len(self._lines)
        accepted = lines[: max(room, 0)]
        for text in accepted:
            self._lines.append((command, target, text))
        refused = len(lines) - len(accepted)
        if refused:
            log.warning(
                "IRC: %d line(s) to %s refused: %d lines are already waiting in the %s lane (%s).",
                refused,
                target,
                len(self._lines),
                self.name,
                "offline" if not self._online.is_set() else "paced sending",
            )
        if accepted:
            self._drained.clear()
            self._wake.set()
        return refused

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

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued line is written (or ``timeout``); True when empty."""
        if not self._lines:
            return True
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def discard(self) -> int:
        """Forget the queued lines (the bot stops); returns how many there were."""
        count = len(self._lines)
        self._lines.clear()
        self._drained.set()
        return count

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_slot = 0.0
        while True:
            if not self._lines:
                self._drained.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._online.wait()
            delay = next_slot - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue  # the connection may have dropped meanwhile
            command, target, text = self._lines[0]
            if not self._write(command, target, text):
                # Not connected after all: keep the line and wait to be online again.
                await asyncio.sleep(0.05)
                continue
            self._lines.popleft()
            self.sent += 1
            next_slot = loop.time() + self.interval
