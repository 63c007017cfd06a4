"""The Null backend: no network, no console. Used by `--restore` and for offline jobs."""

from __future__ import annotations

import logging
import threading
from typing import Any

from errbot.backends.base import Identifier, Message, Room
from errbot.backends.test import TestPerson
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)


class NullRoom(Room):
    """A room nobody is in: joining and leaving are accepted and do nothing."""

    def __init__(self, name: str) -> None:
        self._name = name

    def join(self, username: str | None = None, password: str | None = None) -> None:
        log.debug("Null backend: not joining %s", self._name)

    def leave(self, reason: str | None = None) -> None:
        pass

    def create(self) -> None:
        pass

    def destroy(self) -> None:
        pass

    def invite(self, *identifiers: Identifier) -> None:
        pass

    exists = property(lambda self: False)
    joined = property(lambda self: False)
    occupants = property(lambda self: [])
    topic = property(lambda self: None)

    def __str__(self) -> str:
        return self._name


class NullBackend(ErrBot):
    """Activates the plugins and waits until asked to stop; messages sent go nowhere."""

    def __init__(self, config: Any) -> None:
        self.bot_identifier = TestPerson("Err")
        super().__init__(config)
        self._stop = threading.Event()

    def serve_forever(self) -> None:
        self.connect_callback()
        try:
            self._stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.disconnect_callback()
            self.shutdown()

    def serve_once(self) -> bool:
        self.serve_forever()
        return True

    def connect(self) -> None:
        return None

    def stop(self) -> None:
        self._stop.set()

    def build_identifier(self, txtrep: str) -> Identifier:
        return TestPerson(txtrep)

    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        reply = self.build_message(text or "")
        reply.frm = self.bot_identifier
        reply.to = msg.frm
        return reply

    def send_message(self, msg: Message) -> None:
        super().send_message(msg)
        log.debug("Null backend drops %r", msg.body)

    def change_presence(self, status: str = "online", message: str = "") -> None:
        pass

    def query_room(self, room: str) -> Room:
        return NullRoom(room)

    def rooms(self) -> list[Room]:
        return []

    @property
    def mode(self) -> str:
        return "null"
