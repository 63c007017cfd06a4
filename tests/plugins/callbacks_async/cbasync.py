"""Callbacks written as coroutines."""

import asyncio
import threading

from errbot import BotPlugin


class AsyncCallbacks(BotPlugin):
    """Records callbacks from ``async def`` methods."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events = []
        self.loops = []
        self._changed = threading.Condition()

    async def _record(self, kind, *args):
        await asyncio.sleep(0)
        self.loops.append(asyncio.get_running_loop())
        with self._changed:
            self.events.append((kind, args))
            self._changed.notify_all()

    def wait_for(self, kind, predicate=lambda args: True, timeout=10.0):
        def matching():
            return [args for k, args in self.events if k == kind and predicate(args)]

        with self._changed:
            found = self._changed.wait_for(matching, timeout)
        assert found, f"no {kind} received; got {self.events}"
        return found[0]

    async def callback_message(self, message):
        await self._record("message", message)

    async def callback_mention(self, message, mentioned_people):
        await self._record("mention", message, mentioned_people)

    async def callback_presence(self, presence):
        await self._record("presence", presence)

    async def callback_botmessage(self, message):
        await self._record("botmessage", message)

    async def callback_room_topic(self, room):
        await self._record("room_topic", room)
