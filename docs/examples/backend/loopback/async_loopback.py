"""The Loopback backend written the way a backend built on an asyncio client is.

The network "client" runs as a coroutine on the bot's own event loop, and ``loop_affine``
makes every ``send_message`` happen on that loop too, wherever ``send`` was called from.
"""

import asyncio

from loopback import LoopbackBackend, LoopbackPerson  # the folder of this file is on sys.path

from errbot.backends.base import Message


class AsyncLoopbackBackend(LoopbackBackend):
    loop_affine = True  # send_message is always called on the event loop thread

    def serve_once(self):
        self.connections += 1
        self.connect_callback()  # from this thread: plugin activation may block
        self.reset_reconnection_count()
        try:
            # Run the client on the bot's loop and wait here until it returns.
            return self.runtime.run_sync(self._client())
        finally:
            self.disconnect_callback()

    async def _client(self):
        while True:
            line = await asyncio.to_thread(self.inbox.get)  # an async read in a real client
            if line is None:
                return True
            if line == "DISCONNECT":
                return False
            sender, _, body = line.partition(": ")
            self.callback_message(Message(body, frm=LoopbackPerson(sender), to=self.bot_identifier))

    @property
    def mode(self):
        return "asyncloopback"
