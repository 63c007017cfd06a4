"""Events for the open console pages: chat messages, identity changes and log records.

Anything may publish, from any thread (command workers, the callback lane, logging). Events
get increasing ids and are kept in two bounded buffers, chat and logs, so a page that opens
(or reconnects, sending the last id it saw) first receives what it missed. Pages are
Server-Sent Events streams served on the bot's loop; each has an `asyncio.Queue` filled on
that loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from typing import Any

CHAT_HISTORY = 500
LOG_HISTORY = 1000

# (id, kind, JSON text) of one event; None in a queue means "the console is closing".
Event = tuple[int, str, str]


class EventHub:
    """Fan-out of events to the subscribed pages, with a replay buffer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._next_id = 1
        self._chat: deque[Event] = deque(maxlen=CHAT_HISTORY)
        self._logs: deque[Event] = deque(maxlen=LOG_HISTORY)
        self._subscribers: set[asyncio.Queue[Event | None]] = set()
        self._closed = False

    def publish(self, kind: str, payload: dict[str, Any]) -> int:
        """Record an event and hand it to every page; returns its id."""
        data = json.dumps({"kind": kind, **payload}, default=str)
        with self._lock:
            event = (self._next_id, kind, data)
            self._next_id += 1
            (self._logs if kind == "log" else self._chat).append(event)
            # Scheduled under the lock: the loop delivers events in id order.
            if not self._closed:
                try:
                    self._loop.call_soon_threadsafe(self._fan_out, event)
                except RuntimeError:  # the loop is closed: nobody is listening any more
                    self._closed = True
        return event[0]

    def _fan_out(self, event: Event | None) -> None:
        for queue in list(self._subscribers):
            queue.put_nowait(event)

    def replay(self, after: int = 0) -> list[Event]:
        """The buffered events newer than ``after``, oldest first."""
        with self._lock:
            kept = [e for e in (*self._chat, *self._logs) if e[0] > after]
        return sorted(kept)

    def subscribe(self) -> asyncio.Queue[Event | None]:
        """A queue receiving every event published from now on (call on the loop)."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        if self._closed:
            queue.put_nowait(None)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event | None]) -> None:
        self._subscribers.discard(queue)

    def close(self) -> None:
        """End every open stream, so the web server can stop without waiting for them."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._loop.call_soon_threadsafe(self._fan_out, None)
            except RuntimeError:
                pass


class HubLogHandler(logging.Handler):
    """Sends log records to the console's log pane."""

    def __init__(self, hub: EventHub) -> None:
        super().__init__()
        self.hub = hub
        self.setFormatter(logging.Formatter("%(message)s"))
        # Publishing must never log: a record emitted while publishing is dropped instead
        # of recursing.
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "active", False):
            return
        self._busy.active = True
        try:
            self.hub.publish("log", {
                "time": time.strftime("%H:%M:%S", time.localtime(record.created)),
                "level": record.levelname,
                "levelno": record.levelno,
                "logger": record.name,
                "message": self.format(record),
            })
        except Exception:
            self.handleError(record)
        finally:
            self._busy.active = False
