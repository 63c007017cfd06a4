"""Slack identifiers: people, channels and people seen in a channel.

Textual forms, as users of errbot-backend-slackv3 wrote them in config.py (BOT_ADMINS,
ACCESS_CONTROLS, CHATROOM_PRESENCE...): ``@username`` for a person, ``#channel`` for a
channel, ``#channel/username`` for someone in a channel; Slack's own ``<@U123>`` and
``<#C123|name>`` and bare ids (``U123``, ``W123``, ``C123``, ``G123``, ``D123``) work too.

A person's `aclattr` is ``@username`` (what BOT_ADMINS lists), `person` the same, and two
people are equal when their user ids are (the name is only compared when an id is unknown:
an identifier built from ``@name`` on the event loop, resolved when something is sent).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from errbot.backends.base import Person, Room, RoomOccupant

if TYPE_CHECKING:
    from errbot.backends.slack.backend import SlackBackend

__all__ = ["SlackPerson", "SlackRoom", "SlackRoomOccupant", "parse_identifier"]

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$")
_CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|([^>]*))?>$")


def parse_identifier(text: str) -> tuple[str, dict[str, str | None]]:
    """Classify a textual identifier: ``("person"|"room"|"occupant", parts)``.

    Parts: ``userid``/``username`` for people, ``channelid``/``channelname`` for rooms (an
    occupant has both). Raises ValueError naming the accepted forms.
    """
    text = str(text).strip()
    if match := _USER_MENTION.match(text):
        return "person", {"userid": match.group(1), "username": match.group(2) or None}
    if match := _CHANNEL_MENTION.match(text):
        return "room", {"channelid": match.group(1), "channelname": match.group(2) or None}
    if text.startswith("#") and "/" in text:
        room_part, _, user_part = text.partition("/")
        _, room = parse_identifier(room_part)
        _, user = parse_identifier(user_part if user_part.startswith(("<", "@")) else user_part)
        return "occupant", {**room, **user}
    if text.startswith("#") and len(text) > 1:
        return "room", {"channelid": None, "channelname": text[1:]}
    if text.startswith("@") and len(text) > 1:
        return "person", {"userid": None, "username": text[1:]}
    if USER_ID.match(text):
        return "person", {"userid": text, "username": None}
    if CHANNEL_ID.match(text):
        return "room", {"channelid": text, "channelname": None}
    if text and not any(c.isspace() for c in text):
        return "person", {"userid": None, "username": text}  # "#room/name" user parts
    raise ValueError(
        f"{text!r} is not a Slack identifier: use @username, #channel, #channel/username, "
        "<@U123>, <#C123|name> or a user or channel id."
    )


class SlackPerson(Person):
    """A Slack user; ``channelid`` is the conversation they wrote from, when known."""

    def __init__(
        self,
        userid: str | None,
        channelid: str | None = None,
        *,
        username: str | None = None,
        fullname: str | None = None,
        email: str | None = None,
    ) -> None:
        if not userid and not username:
            raise ValueError("A Slack person needs a user id or a username.")
        self._userid = userid
        self._channelid = channelid
        self._username = username
        self._fullname = fullname
        self._email = email

    @property
    def userid(self) -> str | None:
        return self._userid

    @property
    def channelid(self) -> str | None:
        return self._channelid

    @property
    def username(self) -> str:
        return self._username or str(self._userid)

    @property
    def person(self) -> str:
        return f"@{self._username}" if self._username else str(self._userid)

    @property
    def client(self) -> str | None:
        return self._channelid

    @property
    def nick(self) -> str:
        return self.username

    @property
    def aclattr(self) -> str:
        return self.person

    @property
    def fullname(self) -> str | None:
        return self._fullname

    @property
    def email(self) -> str:
        return self._email or ""

    def __str__(self) -> str:
        return self.person

    def __repr__(self) -> str:
        return f"<SlackPerson {self._userid or '?'} @{self.username}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SlackPerson) or isinstance(other, RoomOccupant) != isinstance(
            self, RoomOccupant
        ):
            return False
        if self._userid and other._userid:
            return self._userid == other._userid
        return self.username == other.username

    def __hash__(self) -> int:
        return hash(self._userid or self.username)


class SlackRoom(Room):
    """A Slack conversation the bot can be in: public or private channel.

    Every operation goes through the backend (`SlackBackend.room_call`), which runs it on the
    event loop with the Web API (conversations.*).
    """

    def __init__(
        self, backend: SlackBackend, channelid: str | None = None, name: str | None = None
    ) -> None:
        if not channelid and not name:
            raise ValueError("A Slack room needs a channel id or a name.")
        self._backend = backend
        self.channelid = channelid
        self.name = name

    def __str__(self) -> str:
        return f"#{self.name}" if self.name else str(self.channelid)

    def __repr__(self) -> str:
        return f"<SlackRoom {self.channelid or '?'} #{self.name or '?'}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SlackRoom):
            return False
        if self.channelid and other.channelid:
            return self.channelid == other.channelid
        return self.name == other.name

    def __hash__(self) -> int:
        return hash(self.channelid or self.name)

    @property
    def aclattr(self) -> str:
        return str(self)

    def join(self, username: str | None = None, password: str | None = None) -> None:
        self._backend.room_call(self, "join")

    def leave(self, reason: str | None = None) -> None:
        self._backend.room_call(self, "leave")

    def create(self, private: bool = False) -> None:
        self._backend.room_call(self, "create", private)

    def destroy(self) -> None:
        self._backend.room_call(self, "archive")

    def invite(self, *args: Any) -> None:
        self._backend.room_call(self, "invite", list(args))

    @property
    def exists(self) -> bool:
        return bool(self._backend.room_call(self, "info", wait=True))

    @property
    def joined(self) -> bool:
        info = self._backend.room_call(self, "info", wait=True) or {}
        return bool(info.get("is_member"))

    @property
    def topic(self) -> str | None:
        info = self._backend.room_call(self, "info", wait=True) or {}
        return (info.get("topic") or {}).get("value") or None

    @topic.setter
    def topic(self, topic: str) -> None:
        self._backend.room_call(self, "set_topic", topic)

    @property
    def purpose(self) -> str | None:
        info = self._backend.room_call(self, "info", wait=True) or {}
        return (info.get("purpose") or {}).get("value") or None

    @property
    def occupants(self) -> list[RoomOccupant]:
        return list(self._backend.room_call(self, "occupants", wait=True) or [])


class SlackRoomOccupant(SlackPerson, RoomOccupant):
    """Someone writing in a channel: a person plus the room."""

    def __init__(
        self,
        room: SlackRoom,
        userid: str | None,
        *,
        username: str | None = None,
        fullname: str | None = None,
        email: str | None = None,
    ) -> None:
        super().__init__(userid, room.channelid, username=username, fullname=fullname, email=email)
        self._room = room

    @property
    def room(self) -> SlackRoom:
        return self._room

    def __str__(self) -> str:
        return f"{self._room}/{self.username}"

    def __repr__(self) -> str:
        return f"<SlackRoomOccupant {self.userid or '?'} @{self.username} in {self._room!r}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SlackRoomOccupant)
            and SlackPerson.__eq__(self, other)
            and self._room == other._room
        )

    def __hash__(self) -> int:
        return hash((SlackPerson.__hash__(self), self._room))
