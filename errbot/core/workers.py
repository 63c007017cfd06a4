"""A small bounded pool of daemon worker threads for plain ``def`` plugin code.

Not `concurrent.futures.ThreadPoolExecutor`: its threads are joined at interpreter exit, so a
command that hangs forever would keep the process alive after shutdown. These threads are
daemons, and submitting is a single queue put (no Future object) because replies travel
through the bot, not through return values.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

log = logging.getLogger(__name__)

_STOP = object()


class WorkerPool:
    """Run callables on at most ``size`` daemon threads, started on demand."""

    # When every worker has been stuck on one task for this long, a submit adds a thread
    # beyond ``size`` (up to ``size * OVERFLOW_FACTOR``): hung plugin code must not starve
    # every later command.
    STALL_SECONDS = 5.0
    OVERFLOW_FACTOR = 4

    def __init__(self, size: int, name: str = "errbot-worker") -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one thread")
        self.size = size
        self._started: dict[int, float] = {}  # thread ident -> start of its current task
        self._name = name
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._idle = 0  # threads waiting for work; changed under _lock
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        self.busy = 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._closed:
            raise RuntimeError("the worker pool is shut down")
        self._queue.put((fn, args))
        with self._lock:
            # Each idle worker is counted once, so a burst starts as many threads as it needs.
            if self._idle > 0:
                self._idle -= 1
                return
            if len(self._threads) >= self.size and not self._stalled():
                return
            thread = threading.Thread(
                target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
        thread.start()

    def _stalled(self) -> bool:
        """Every worker busy on a task older than STALL_SECONDS (called under the lock)."""
        if len(self._threads) >= self.size * self.OVERFLOW_FACTOR:
            return False
        started = self._started
        if len(started) < len(self._threads):
            return False
        oldest_allowed = time.monotonic() - self.STALL_SECONDS
        if all(t < oldest_allowed for t in started.values()):
            log.warning(
                "All %d workers have been busy for more than %.0f s (hung commands?); "
                "adding a worker thread.",
                len(self._threads),
                self.STALL_SECONDS,
            )
            return True
        return False

    @property
    def pending(self) -> int:
        """Calls waiting for a free worker."""
        return self._queue.qsize()

    @property
    def threads(self) -> int:
        """Worker threads started so far."""
        return len(self._threads)

    def _work(self) -> None:
        get = self._queue.get
        lock = self._lock
        while True:
            item = get()
            if item is _STOP:
                return
            fn, args = item
            me = threading.get_ident()
            with lock:
                self.busy += 1
                self._started[me] = time.monotonic()
            try:
                fn(*args)
            except BaseException:  # a worker must survive whatever plugin code does
                log.exception("Uncaught error in worker thread running %r", fn)
            finally:
                with lock:
                    self.busy -= 1
                    self._idle += 1
                    del self._started[me]

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting work, let idle threads exit; hung threads are abandoned (daemons)."""
        self._closed = True
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout / max(1, len(self._threads)))


class SerialLane:
    """One daemon thread running submitted callables in order.

    Plugin callbacks go through a lane so that every plugin sees messages in the order they
    arrived (as with Errbot's synchronous dispatch) without making commands wait for them.
    """

    def __init__(self, name: str = "errbot-callbacks") -> None:
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._name = name
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                    self._thread.start()
        self._queue.put((fn, args))

    def _work(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is _STOP:
                return
            fn, args = item
            try:
                fn(*args)
            except BaseException:
                log.exception("Uncaught error in %s running %r", self._name, fn)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, then stop (waiting at most ``timeout`` seconds)."""
        thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            if thread is not threading.current_thread():
                thread.join(timeout)
