"""Counters the core keeps about itself, for `!status` and monitoring."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any


class Metrics:
    __slots__ = ("started", "messages", "commands", "replies", "per_plugin")

    def __init__(self) -> None:
        self.started = time.time()
        self.messages = 0
        self.commands = 0
        self.replies = 0
        self.per_plugin: Counter[str] = Counter()

    def command_dispatched(self, plugin: Any, cmd: str) -> None:
        self.commands += 1
        self.per_plugin[getattr(plugin, "name", "?")] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "uptime_s": time.time() - self.started,
            "messages": self.messages,
            "commands": self.commands,
            "replies": self.replies,
            "per_plugin": dict(self.per_plugin),
        }
