"""The Text backend: talk to the bot in a terminal (`errbot -T`).

Reads one message per line from standard input and prints replies rendered for the terminal
(ANSI colours on a TTY, plain text otherwise). End of input waits for running commands to
answer, then exits with status 0, so piped scripts work.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from errbot.backends.base import Identifier, Message, Person, Room, RoomOccupant
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

IDENTIFIER_ERROR = (
    "An identifier for the Text backend needs to start with # for a room or @ for a person."
)


class TextPerson(Person):
    def __init__(
        self,
        person: str,
        client: str | None = None,
        nick: str | None = None,
        fullname: str | None = None,
    ) -> None:
        self._person = person
        self._client = client
        self._nick = nick or person
        self._fullname = fullname or person

    person = property(lambda self: self._person)
    client = property(lambda self: self._client)
    nick = property(lambda self: self._nick)
    fullname = property(lambda self: self._fullname)
    aclattr = property(lambda self: self._person)

    def __str__(self) -> str:
        return f"@{self._person}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Person) and other.person == self._person

    def __hash__(self) -> int:
        return hash(self._person)


class TextRoom(Room):
    def __init__(self, name: str, bot: TextBackend) -> None:
        self._name = name
        self._bot = bot
        self._topic: str | None = None
        self._joined = False

    @property
    def occupants(self) -> list[TextOccupant]:
        return [TextOccupant(self._bot.user.person, self)] if self._joined else []

    exists = property(lambda self: True)
    joined = property(lambda self: self._joined)

    def join(self, username: str | None = None, password: str | None = None) -> None:
        if not self._joined:
            self._joined = True
            self._bot.callback_room_joined(self, self._bot.bot_identifier)

    def leave(self, reason: str | None = None) -> None:
        if self._joined:
            self._joined = False
            self._bot.callback_room_left(self, self._bot.bot_identifier)

    def create(self) -> None:
        pass

    def destroy(self) -> None:
        self._bot._rooms.pop(self._name, None)

    def invite(self, *identifiers: Identifier) -> None:
        pass

    @property
    def topic(self) -> str | None:
        return self._topic

    @topic.setter
    def topic(self, value: str) -> None:
        self._topic = value
        self._bot.callback_room_topic(self)

    def __str__(self) -> str:
        return f"#{self._name}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextRoom) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)


class TextOccupant(TextPerson, RoomOccupant):
    def __init__(self, person: str, room: TextRoom) -> None:
        super().__init__(person)
        self._room = room

    room = property(lambda self: self._room)

    def __str__(self) -> str:
        return f"{self._room}/{self._person}"


class TextBackend(ErrBot):
    """A console chat: stdin in, rendered replies out."""

    def __init__(self, config: Any, stdin: TextIO | None = None, stdout: TextIO | None = None):
        identity = getattr(config, "BOT_IDENTITY", None) or {}
        self.bot_identifier = TextPerson(str(identity.get("username", "@errbot")).lstrip("@"))
        super().__init__(config)
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._rooms: dict[str, TextRoom] = {}
        admins = config.BOT_ADMINS
        first_admin = admins if isinstance(admins, str) else admins[0]
        self.user: TextPerson = TextPerson(first_admin.lstrip("@"))
        self.room: TextRoom | None = None
        from errbot.rendering import ansi, text

        self._render = ansi() if self._stdout.isatty() else text()

    def serve_forever(self) -> None:
        self.connect_callback()
        interactive = self._stdin.isatty()
        try:
            while True:
                if interactive:
                    self._stdout.write(">>> ")
                    self._stdout.flush()
                line = self._stdin.readline()
                if not line:
                    break
                line = line.rstrip("\n")
                if not line.strip():
                    continue
                self._incoming(line)
                # Like a person waiting for the answer: replies stay in order and a piped
                # script's commands never race each other.
                self.runtime.wait_idle(60 if not interactive else 5)
        except KeyboardInterrupt:
            pass
        finally:
            self.runtime.wait_idle(30)
            self.disconnect_callback()
            self.shutdown()

    def _incoming(self, line: str) -> None:
        msg = Message(line)
        if self.room is not None:
            msg.frm = TextOccupant(self.user.person, self.room)
            msg.to = self.room
        else:
            msg.frm = self.user
            msg.to = self.bot_identifier
        self.callback_message(msg)

    def serve_once(self) -> bool:
        self.serve_forever()
        return True

    def connect(self) -> None:
        return None

    def send_message(self, msg: Message) -> None:
        super().send_message(msg)
        rendered = self._render.convert(msg.body)
        self._stdout.write(rendered + "\n")
        self._stdout.flush()

    def build_identifier(self, txtrep: str) -> Identifier:
        text = txtrep.strip()
        if text.startswith("#"):
            name = text[1:]
            if "/" in name:
                room, person = name.split("/", 1)
                return TextOccupant(person.lstrip("@"), self.query_room(room))
            return self.query_room(name)
        if text.startswith("@"):
            return TextPerson(text[1:])
        raise ValueError(IDENTIFIER_ERROR)

    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        reply = self.build_message(text or "")
        reply.frm = self.bot_identifier
        reply.to = msg.frm.room if msg.is_group and not private else msg.frm  # type: ignore[union-attr]
        if threaded:
            reply.parent = msg
        return reply

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)
        message.body = f"{identifier} {message.body}"

    def change_presence(self, status: str = "online", message: str = "") -> None:
        log.debug("Presence: %s %s", status, message)

    def query_room(self, room: str) -> TextRoom:
        name = room.lstrip("#")
        if name not in self._rooms:
            self._rooms[name] = TextRoom(name, self)
        return self._rooms[name]

    def rooms(self) -> list[Room]:
        return [r for r in self._rooms.values() if r.joined]

    @property
    def mode(self) -> str:
        return "text"
