"""Identifiers of the Telegram backend: users, chats (groups, supergroups, channels) and users
seen through a chat.

Telegram names everything with a number. A user's id is positive; a group's or a channel's
id is negative (supergroups and channels start with -100). ``str()`` of an identifier is
that number, so ``build_identifier(str(x)) == x`` and an id typed in config.py (as an int or
a string) means the same thing. ``aclattr`` is the user's id as a string: BOT_ADMINS and ACL
rules name people by id, because a username can be changed or given up and taken by someone
else.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from errbot.backends.base import Identifier, Person, Room, RoomError, RoomOccupant

if TYPE_CHECKING:
    from errbot.backends.telegram.backend import TelegramBackend

# Rooms call the live backend for their API operations (set by the backend when created).
live_backend: weakref.ref[Any] | None = None

NOT_NUMERIC = (
    "Telegram identifiers are numeric ids: a user's id (positive, e.g. 123456789) or a "
    "chat's id (negative, e.g. -1001234567890); got {!r}."
)


def parse_id(text: Any) -> int:
    """The numeric id in ``text`` (an int, or a string like "123" or "-100123")."""
    if isinstance(text, bool):
        raise ValueError(NOT_NUMERIC.format(text))
    if isinstance(text, int):
        return text
    value = str(text).strip()
    digits = value[1:] if value.startswith("-") else value
    if not digits.isdigit():
        raise ValueError(NOT_NUMERIC.format(text))
    return int(value)


def _rebuild(text: str) -> Identifier:
    backend = live_backend() if live_backend is not None else None
    if backend is not None:
        return backend.build_identifier(text)
    number = parse_id(text)
    return TelegramPerson(number) if number > 0 else TelegramRoom(number)


class TelegramIdentifier(Identifier):
    """Anything with a Telegram id; equal when the ids (and kinds) are equal."""

    def __init__(self, id: int) -> None:  # noqa: A002 - Errbot's keyword argument name
        self._id = int(id)

    @property
    def id(self) -> str:
        """The id as text ("123456789", "-1001234567890"), as Errbot 6.2.1 gives it, so
        plugins comparing it with strings keep working; `number` is the int."""
        return str(self._id)

    @property
    def number(self) -> int:
        return self._id

    def __str__(self) -> str:
        return str(self._id)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._id}>"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._id == self._id  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._id))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _rebuild, (str(self),)


class TelegramPerson(TelegramIdentifier, Person):
    """A Telegram user (or bot). Names are what Telegram last told the bot, if anything."""

    def __init__(
        self,
        id: int,  # noqa: A002
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        super().__init__(id)
        self._first_name = first_name
        self._last_name = last_name
        self._username = username

    @classmethod
    def from_user(cls, user: Any) -> TelegramPerson:
        """From a python-telegram-bot `User`."""
        return cls(user.id, user.first_name, user.last_name, user.username)

    @property
    def first_name(self) -> str | None:
        return self._first_name

    @property
    def last_name(self) -> str | None:
        return self._last_name

    @property
    def username(self) -> str | None:
        return self._username

    @property
    def person(self) -> str:
        return str(self._id)

    @property
    def client(self) -> str | None:
        return None

    @property
    def nick(self) -> str | None:
        return self._username

    @property
    def fullname(self) -> str | None:
        names = [n for n in (self._first_name, self._last_name) if n]
        return " ".join(names) or None

    @property
    def aclattr(self) -> str:
        return str(self._id)


class TelegramRoom(TelegramIdentifier, Room):
    """A group, supergroup or channel. Operations go through the Bot API (see the docs for
    what a bot may do: it cannot join or create chats on its own)."""

    def __init__(self, id: int, title: str | None = None) -> None:  # noqa: A002
        super().__init__(id)
        self._title = title

    @property
    def title(self) -> str | None:
        return self._title

    def _backend(self) -> TelegramBackend:
        backend = live_backend() if live_backend is not None else None
        if backend is None:
            raise RoomError("No Telegram bot is running.")
        return backend

    def join(self, username: str | None = None, password: str | None = None) -> None:
        raise RoomError(
            f"A Telegram bot cannot join the chat {self} by itself: add the bot to the group "
            "from a Telegram app (group info, Add members)."
        )

    def create(self) -> None:
        raise RoomError("A Telegram bot cannot create groups: create one in a Telegram app.")

    def destroy(self) -> None:
        raise RoomError("A Telegram bot cannot delete groups: delete it in a Telegram app.")

    def invite(self, *args: Identifier) -> None:
        raise RoomError(
            "A Telegram bot cannot add people to a chat; send them the group's invite link."
        )

    def leave(self, reason: str | None = None) -> None:
        self._backend().room_call(self, "leave")

    @property
    def exists(self) -> bool:
        return bool(self._backend().room_call(self, "exists"))

    @property
    def joined(self) -> bool:
        return bool(self._backend().room_call(self, "joined"))

    @property
    def topic(self) -> str | None:
        return self._backend().room_call(self, "topic")  # type: ignore[no-any-return]

    @topic.setter
    def topic(self, topic: str) -> None:
        self._backend().room_call(self, "set_topic", topic)

    @property
    def occupants(self) -> list[RoomOccupant]:
        """The chat's administrators: the Bot API lists no other members."""
        return self._backend().room_call(self, "occupants")  # type: ignore[no-any-return]

    @property
    def member_count(self) -> int:
        """How many members the chat has (the Bot API cannot list them)."""
        return int(self._backend().room_call(self, "member_count"))


class TelegramMUCOccupant(TelegramPerson, RoomOccupant):
    """A user seen in a chat. ``person`` and ``aclattr`` are the user's id, so rights given
    to a person apply in groups too, and a private reply goes to the user."""

    def __init__(
        self,
        id: int,  # noqa: A002
        room: TelegramRoom,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        super().__init__(id, first_name, last_name, username)
        self._room = room

    @classmethod
    def from_user_in(cls, user: Any, room: TelegramRoom) -> TelegramMUCOccupant:
        return cls(user.id, room, user.first_name, user.last_name, user.username)

    @property
    def room(self) -> TelegramRoom:
        return self._room

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TelegramMUCOccupant)
            and other.number == self.number
            and other.room == self.room
        )

    def __hash__(self) -> int:
        return hash(("occupant", self.number, self._room.number))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return TelegramMUCOccupant, (self.number, TelegramRoom(self._room.number))
