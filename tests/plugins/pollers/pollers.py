"""Poller targets that count their calls, for tests/test_pollers.py."""

import asyncio
import threading
import time
from collections import Counter, defaultdict

from errbot import BotPlugin


class Pollers(BotPlugin):
    """Methods meant to be started as pollers by the tests."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = Counter()
        self.received = []
        self.times = defaultdict(list)
        self._changed = threading.Condition()

    def _count(self, key, *received):
        with self._changed:
            self.calls[key] += 1
            self.times[key].append(time.monotonic())
            if received:
                self.received.append(received)
            self._changed.notify_all()

    def count(self, key):
        with self._changed:
            return self.calls[key]

    def wait_calls(self, key, at_least, timeout=10.0):
        """Wait until ``key`` was called ``at_least`` times; return the count then."""
        with self._changed:
            self._changed.wait_for(lambda: self.calls[key] >= at_least, timeout)
            return self.calls[key]

    def tick(self):
        self._count("tick")

    def tock(self):
        self._count("tock")

    def with_arguments(self, first, second, *, keyword="unset"):
        self._count("with_arguments", first, second, keyword)

    def stop_myself(self):
        self._count("stop_myself")
        self.stop_poller(self.stop_myself)

    def stop_myself_with_args(self, tag):
        self._count("stop_myself_with_args", tag)
        self.stop_poller(self.stop_myself_with_args, args=[tag])

    def block(self, gate):
        """Occupy a worker thread until ``gate`` is set."""
        self._count("block")
        gate.wait(30)

    def crash(self):
        self._count("crash")
        raise RuntimeError("a poller that always fails")

    async def async_tick(self):
        await asyncio.sleep(0)
        self._count("async_tick", threading.current_thread().name)

    async def async_stop_myself(self):
        await asyncio.sleep(0)
        self._count("async_stop_myself")
        self.stop_poller(self.async_stop_myself)

    async def async_crash(self):
        await asyncio.sleep(0)
        self._count("async_crash")
        raise RuntimeError("an async poller that always fails")
