"""A plugin receiving files with a coroutine."""

from __future__ import annotations

import asyncio
import queue

from errbot import BotPlugin
from errbot.backends.base import Stream


class AsyncStreamer(BotPlugin):
    """Accepts every file, from the bot's event loop."""

    def activate(self) -> None:
        super().activate()
        self.received: queue.SimpleQueue[tuple[Stream, bytes]] = queue.SimpleQueue()
        self.loops: list[asyncio.AbstractEventLoop] = []

    async def callback_stream(self, stream: Stream) -> None:
        self.loops.append(asyncio.get_running_loop())
        stream.accept()
        data = stream.read()
        stream.ack_data(len(data))
        self.received.put((stream, data))
