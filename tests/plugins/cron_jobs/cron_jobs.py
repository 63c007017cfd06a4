"""Cron job targets that record their calls, for tests/test_cron.py."""

import asyncio
import threading
from collections import Counter

from errbot import BotPlugin


class CronJobs(BotPlugin):
    """Methods meant to be started as cron jobs by the tests."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = Counter()
        self.received = []
        self._changed = threading.Condition()

    def _count(self, key, *received):
        with self._changed:
            self.calls[key] += 1
            if received:
                self.received.append(received)
            self._changed.notify_all()

    def count(self, key):
        with self._changed:
            return self.calls[key]

    def wait_calls(self, key, at_least, timeout=10.0):
        with self._changed:
            self._changed.wait_for(lambda: self.calls[key] >= at_least, timeout)
            return self.calls[key]

    def tick(self):
        self._count("tick")

    def with_arguments(self, first, *, keyword="unset"):
        self._count("with_arguments", first, keyword)

    def crash(self):
        self._count("crash")
        raise RuntimeError("a cron job that always fails")

    async def async_tick(self):
        await asyncio.sleep(0)
        self._count("async_tick", threading.current_thread().name)
