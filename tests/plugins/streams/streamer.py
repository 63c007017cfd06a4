"""One module behind several plugins: what each does with a file depends on its name."""

from __future__ import annotations

import queue

from errbot import BotPlugin
from errbot.backends.base import Stream


class Streamer(BotPlugin):
    """Takes, rejects, ignores or fails on incoming files."""

    def activate(self) -> None:
        super().activate()
        # Every stream this plugin was offered, with what it read from it.
        self.received: queue.SimpleQueue[tuple[Stream, bytes]] = queue.SimpleQueue()

    def callback_stream(self, stream: Stream) -> None:
        behaviour = self.name.removeprefix("Stream")
        if behaviour == "Rejecter":
            stream.reject()
            self.received.put((stream, b""))
        elif behaviour == "Ignorer":  # leaves it pending: the bot rejects it
            self.received.put((stream, b""))
        elif behaviour == "Breaker":
            stream.accept()
            self.received.put((stream, stream.read(3)))
            raise OSError("disk full on purpose")
        else:
            stream.accept()
            data = stream.read()
            stream.ack_data(len(data))
            self.received.put((stream, data))
