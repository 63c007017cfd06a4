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
import logging
from collections.abc import Callable

from errbot.backends.outbox import BoundedOutbox

log = logging.getLogger(__name__)

# Lines a lane holds while the bot is offline or paced: enough for a burst of replies,
# small enough that a bot cut off for hours does not flood the channel on its return.
MAX_QUEUED_LINES = 1000


class Lane(BoundedOutbox[tuple[str, str, str]]):
    """One paced FIFO of ``(command, target, text)`` lines."""

    def __init__(
        self,
        name: str,
        interval: float,
        online: asyncio.Event,
        write: Callable[[str, str, str], bool],
        limit: int = MAX_QUEUED_LINES,
    ) -> None:
        super().__init__(online, limit)
        self.name = name
        self.interval = max(float(interval or 0), 0.0)
        self._write = write

    def put(self, command: str, target: str, lines: list[str]) -> int:
        """Queue ``lines``; returns how many were refused because the lane is full."""
        room = self.limit - len(self._items)
        accepted = lines[: max(room, 0)]
        for text in accepted:
            self._push((command, target, text))
        refused = len(lines) - len(accepted)
        if refused:
            log.warning(
                "IRC: %d line(s) to %s refused: %d lines are already waiting in the %s lane (%s).",
                refused,
                target,
                len(self._items),
                self.name,
                "offline" if not self.online.is_set() else "paced sending",
            )
        return refused

    async def stop(self) -> None:
        await self._stop_worker()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_slot = 0.0
        while True:
            command, target, text = await self._next()
            delay = next_slot - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue  # the connection may have dropped meanwhile
            if not self._write(command, target, text):
                # Not connected after all: keep the line and wait to be online again.
                await asyncio.sleep(0.05)
                continue
            self._done()
            next_slot = loop.time() + self.interval
