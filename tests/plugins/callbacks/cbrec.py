"""One module, several `.plug` files: every instance records the callbacks it receives."""

import itertools
import threading

from errbot import BotPlugin

# One sequence for all the instances of this module, so tests can compare the order in
# which different plugins received a callback.
_SEQUENCE = itertools.count()


class CallbackRecorder(BotPlugin):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events = []
        self._changed = threading.Condition()

    def _record(self, kind, *args):
        with self._changed:
            self.events.append((next(_SEQUENCE), kind, args))
            self._changed.notify_all()
        if self.name == "CbRaise" and kind != "connect":
            raise RuntimeError(f"{self.name} refuses {kind}")

    def of_kind(self, kind):
        with self._changed:
            return [(seq, args) for seq, k, args in self.events if k == kind]

    def wait_for(self, kind, predicate=lambda args: True, timeout=10.0):
        """(sequence number, args) of the first recorded ``kind`` event matching ``predicate``."""

        def matching():
            return [(seq, args) for seq, k, args in self.events if k == kind and predicate(args)]

        with self._changed:
            found = self._changed.wait_for(matching, timeout)
        assert found, f"{self.name} did not receive {kind}; got {self.events}"
        return found[0]

    def callback_connect(self):
        self._record("connect")

    def callback_message(self, message):
        self._record("message", message)

    def callback_mention(self, message, mentioned_people):
        self._record("mention", message, mentioned_people)

    def callback_presence(self, presence):
        self._record("presence", presence)

    def callback_reaction(self, reaction):
        self._record("reaction", reaction)

    def callback_botmessage(self, message):
        self._record("botmessage", message)

    def callback_room_joined(self, room, identifier=None, invited_by=None):
        self._record("room_joined", room, identifier, invited_by)

    def callback_room_left(self, room, identifier=None, kicked_by=None):
        self._record("room_left", room, identifier, kicked_by)

    def callback_room_topic(self, room):
        self._record("room_topic", room)

    def callback_stream(self, stream):
        stream.accept()
        self.stream_content = stream.read()
        self._record("stream", stream)
