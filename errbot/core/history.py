"""Per-user command history behind `!!`, `!N` and `!history`.

Errbot keeps this at class level, shared by every bot in the process; here each bot owns one,
so several bots in one process never see each other's users.
"""

from __future__ import annotations

import threading
from collections import deque

HISTORY_LENGTH = 10

Entry = tuple[str, str]


class CommandHistory:
    __slots__ = ("_entries", "_lock")

    def __init__(self) -> None:
        self._entries: dict[str, deque[Entry]] = {}
        self._lock = threading.Lock()

    def record(self, person: str, cmd: str, args: str) -> None:
        """Append ``(cmd, args)``, moving an identical earlier entry to the end."""
        entry = (cmd, args)
        with self._lock:
            entries = self._entries.get(person)
            if entries is None:
                entries = self._entries[person] = deque(maxlen=HISTORY_LENGTH)
            elif entries and entries[-1] == entry:
                return  # the same command again: already the latest entry
            try:
                entries.remove(entry)
            except ValueError:
                pass
            entries.append(entry)

    def entries(self, person: str) -> list[Entry]:
        """Oldest first."""
        with self._lock:
            return list(self._entries.get(person, ()))

    def recall(self, person: str, index: int) -> Entry | None:
        """The ``index``-th most recent entry (1 = latest), or None."""
        with self._lock:
            entries = self._entries.get(person)
            if not entries or index < 1 or index > len(entries):
                return None
            return entries[-index]
