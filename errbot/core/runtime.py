"""The bot's execution runtime: one asyncio event loop thread plus the worker pool.

Plugin code comes in four shapes (``def``, generator, ``async def``, async generator). Plain
ones run on the pool (or inline when BOT_ASYNC is False); coroutines run on the loop. Every
entry point here is safe to call from any thread.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from errbot.core.workers import SerialLane, WorkerPool

log = logging.getLogger(__name__)


_ASYNC_KINDS: dict[Any, bool] = {}


def is_async_callable(fn: Any) -> bool:
    """True for ``async def`` functions and async generator functions (bound or not)."""
    target = getattr(fn, "__func__", fn)
    try:
        return _ASYNC_KINDS[target]
    except KeyError:
        pass
    except TypeError:  # unhashable callable object
        return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)
    result = inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)
    if len(_ASYNC_KINDS) < 10000:
        _ASYNC_KINDS[target] = result
    return result


class TimerHandle:
    """A cancellable delayed call, whichever thread scheduled it."""

    __slots__ = ("_handle", "cancelled")

    def __init__(self) -> None:
        self._handle: asyncio.TimerHandle | None = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        handle = self._handle
        if handle is not None:
            handle.cancel()


class Runtime:
    """Owns the event loop thread and the worker pool of one bot."""

    def __init__(self, pool_size: int = 10, use_pool: bool = True) -> None:
        self.pool: WorkerPool | None = WorkerPool(pool_size) if use_pool else None
        self.loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._ready = threading.Event()
        self._stopped = False
        self._idle = threading.Condition()
        self._background: SerialLane | None = None
        self._inflight = 0
        self._tracking = False
        self._incoming: collections.deque[Coroutine[Any, Any, Any]] = collections.deque()
        self._drain_scheduled = False

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run_loop, name="errbot-loop", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run_loop(self) -> None:
        self._thread_id = threading.get_ident()
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            self._cancel_pending_tasks()
            self.loop.close()

    def _cancel_pending_tasks(self) -> None:
        tasks = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    def stop(self, timeout: float = 5.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.pool is not None:
            self.pool.shutdown(timeout)
        if self._background is not None:
            self._background.shutdown(0)
        if self._thread is not None and self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            if threading.get_ident() != self._thread_id:
                self._thread.join(timeout)

    def track_idle(self) -> None:
        """Count work in flight from now on, so that `wait_idle` can be used (the console
        does); off by default because it costs two lock round-trips per command."""
        self._tracking = True

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no submitted plugin code is running or queued; False on timeout.

        Only meaningful after `track_idle`; otherwise returns True at once.
        """
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)

    def _begin(self) -> None:
        with self._idle:
            self._inflight += 1

    def _end(self) -> None:
        with self._idle:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.notify_all()

    def _tracked(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        finally:
            self._end()

    async def _tracked_coro(self, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await coro
        finally:
            self._end()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stopped

    def in_loop(self) -> bool:
        return threading.get_ident() == self._thread_id

    # -- scheduling -----------------------------------------------------------------
    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.in_loop():
            self.loop.call_soon(fn, *args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Call ``fn(*args)`` on the loop after ``delay`` seconds; cancellable from anywhere."""
        timer = TimerHandle()

        def arm() -> None:
            if not timer.cancelled:
                timer._handle = self.loop.call_later(delay, fn, *args)

        self.call_soon(arm)
        return timer

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run plain code on the pool, or inline when the bot is not asynchronous."""
        if self.pool is None:
            fn(*args)
        elif self._tracking:
            self._begin()
            self.pool.submit(self._tracked, fn, *args)
        else:
            self.pool.submit(fn, *args)

    def submit_background(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run plain code off the loop: on the pool, or on a lane when there is no pool."""
        if self.pool is not None:
            self.submit(fn, *args)
            return
        if self._background is None:
            self._background = SerialLane("errbot-background")
        self.submit_to(self._background, fn, *args)

    def submit_to(self, lane: Any, fn: Callable[..., Any], *args: Any) -> None:
        """Run plain code on a given lane (anything with ``submit``), tracked for wait_idle."""
        if self._tracking:
            self._begin()
            lane.submit(self._tracked, fn, *args)
        else:
            lane.submit(fn, *args)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine on the loop, from any thread.

        Coroutines from other threads are queued and handed over in batches: one wake-up of
        the loop per batch instead of one future and one wake-up per coroutine.
        """
        if self._tracking:
            self._begin()
            coro = self._tracked_coro(coro)
        if self.in_loop():
            self.loop.create_task(coro)
            return
        self._incoming.append(coro)
        if not self._drain_scheduled:
            self._drain_scheduled = True
            self.loop.call_soon_threadsafe(self._drain_incoming)

    def _drain_incoming(self) -> None:
        self._drain_scheduled = False
        incoming = self._incoming
        create_task = self.loop.create_task
        while incoming:
            create_task(incoming.popleft())

    def run_sync(self, awaitable: Awaitable[Any], timeout: float | None = None) -> Any:
        """Wait for ``awaitable`` from a thread that is not the loop's."""
        if self.in_loop():
            raise RuntimeError("run_sync cannot wait on the event loop's own thread")

        async def wrap() -> Any:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(timeout)
