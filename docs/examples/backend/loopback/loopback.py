"""A minimal backend: an in-process "network" made of two queues.

Lines put on ``bot.inbox`` look like "alice: !echo hi"; rendered replies appear on
``bot.outbox`` as (recipient, text). ``None`` stops the bot, "DISCONNECT" simulates a dropped
connection (the bot reconnects with back-off).
"""

import logging
import queue
import threading

from errbot.backends.base import Message, Person
from errbot.core import ErrBot
from errbot.rendering import text

log = logging.getLogger(__name__)


class LoopbackPerson(Person):
    def __init__(self, name):
        self._name = name

    person = property(lambda self: self._name)
    nick = property(lambda self: self._name)
    fullname = property(lambda self: self._name)
    aclattr = property(lambda self: self._name)
    client = property(lambda self: None)

    def __str__(self):
        return self._name  # must round-trip through build_identifier

    def __eq__(self, other):
        return isinstance(other, LoopbackPerson) and other.person == self.person

    def __hash__(self):
        return hash(self._name)


class LoopbackBackend(ErrBot):
    # Tune the reconnection back-off of serve_forever (seconds).
    reconnect_initial_delay = 0.05
    reconnect_factor = 2.0
    reconnect_max_delay = 1.0
    reconnect_jitter = 0.0

    def __init__(self, config):
        self.bot_identifier = LoopbackPerson(config.BOT_IDENTITY.get("username", "bot"))
        super().__init__(config)
        self.inbox = queue.Queue()
        self.outbox = queue.Queue()
        self.connections = 0
        self.md = text()  # Markdown -> plain text, for a network without formatting
        self._send_lock = threading.Lock()

    # -- connection ------------------------------------------------------------------
    def serve_once(self):
        """Serve one connection. True: stop the bot; False or an exception: reconnect."""
        self.connections += 1
        self.connect_callback()  # activates the plugins, then calls their callback_connect
        self.reset_reconnection_count()  # connected: the next back-off starts small again
        try:
            while True:
                line = self.inbox.get()
                if line is None:
                    return True
                if line == "DISCONNECT":
                    return False
                sender, _, body = line.partition(": ")
                msg = Message(body, frm=LoopbackPerson(sender), to=self.bot_identifier)
                self.callback_message(msg)
        finally:
            self.disconnect_callback()  # deactivates the plugins

    # -- outgoing --------------------------------------------------------------------
    def send_message(self, msg):
        super().send_message(msg)  # lets plugins' callback_botmessage see it
        # send_message is called from worker threads, the callback thread and the event
        # loop at the same time; a real network client usually needs a lock (or set
        # loop_affine = True to have every send made on the event loop thread).
        with self._send_lock:
            self.outbox.put((str(msg.to), self.md.convert(msg.body)))

    def build_reply(self, msg, text=None, private=False, threaded=False):
        reply = self.build_message(text or "")
        reply.frm = self.bot_identifier
        reply.to = msg.frm  # no rooms on this network: always answer the sender
        if threaded:
            reply.parent = msg
        return reply

    # -- identifiers and rooms -------------------------------------------------------------
    def build_identifier(self, txtrep):
        return LoopbackPerson(txtrep.strip())

    def query_room(self, room):
        raise NotImplementedError("the Loopback network has no rooms")

    def rooms(self):
        return []

    def change_presence(self, status="online", message=""):
        log.debug("presence: %s %s", status, message)

    @property
    def mode(self):
        return "loopback"
