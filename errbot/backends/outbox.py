"""A bounded FIFO of outgoing items, worked by one task on the bot's event loop.

The IRC lanes and the Discord and Matrix outboxes share this shape: items wait (in order)
while the bot is offline, up to a bound past which the backend refuses them with a log line
of its own; one worker task sends the head item once ``online`` is set. What a backend adds
is how to send an item and what to do when that fails (`_run` in the subclass).
"""

from __future__ import annotations

import asyncio
import collections
from typing import Generic, TypeVar

__all__ = ["BoundedOutbox"]

T = TypeVar("T")


class BoundedOutbox(Generic[T]):
    """Items held until ``online``; `full()` past ``limit``. Subclasses write `_run`, the
    worker, around `_next()` (wait for an item and the connection) and `_done()`."""

    def __init__(self, online: asyncio.Event, limit: int) -> None:
        self.online = online
        self.limit = limit
        self._items: collections.deque[T] = collections.deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set when every item has been handled
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def __len__(self) -> int:
        return len(self._items)

    def full(self) -> bool:
        return len(self._items) >= self.limit

    def _push(self, item: T) -> None:
        self._items.append(item)
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        """Start the worker (again, if it ended); must be called on the loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _stop_worker(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued item is handled (or ``timeout``); True when empty."""
        if not self._items:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def discard(self) -> int:
        """Forget the queued items (the bot stops); returns how many there were."""
        count = len(self._items)
        self._items.clear()
        self._idle.set()
        return count

    async def _next(self) -> T:
        """The head item, once there is one and the bot is online (it stays queued)."""
        while True:
            if not self._items:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            await self.online.wait()
            if self._items:  # not discarded while offline
                return self._items[0]

    def _done(self, sent: bool = True) -> None:
        """The head item is handled (sent, or refused for good): drop it."""
        self._items.popleft()
        if sent:
            self.sent += 1

    async def _run(self) -> None:
        raise NotImplementedError
