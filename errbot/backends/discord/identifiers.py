"""Identifiers of the Discord backend: users, channels (and threads), users seen in a channel.

Discord identifies everything by a numeric snowflake id; names are display details that
change. So equality, hashing, ``person`` and ``aclattr`` are built on ids:

* a person's text form is the mention ``<@123>`` (``str()``, ``person``): put in a message it
  renders as the user's name, and it round-trips through ``build_identifier``;
  ``aclattr`` is the bare id ``"123"``, the form to use in BOT_ADMINS and ACLs (usernames
  can be changed by their owner, so a name must not grant rights);
* a room is a guild text channel, a thread or a DM channel; its text form is ``<#456>``.

The room operations (topic, occupants...) need the running backend; like the XMPP backend,
identifiers find it through a module-level weak reference, so they stay small and picklable.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from errbot.backends.base import Person, Room, RoomError, RoomOccupant

if TYPE_CHECKING:
    from errbot.backends.discord.backend import DiscordBackend

# Set by the backend when it starts: the one live Discord backend of this process.
live_backend: Callable[[], DiscordBackend | None] = lambda: None  # noqa: E731

USER_MENTION = re.compile(r"<@!?(\d+)>")
CHANNEL_MENTION = re.compile(r"<#(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
SNOWFLAKE = re.compile(r"\d{1,20}")


def set_live_backend(backend: DiscordBackend) -> None:
    global live_backend
    live_backend = weakref.ref(backend)


def _backend() -> DiscordBackend:
    backend = live_backend()
    if backend is None:
        raise RoomError("The Discord backend is not running.")
    return backend


class DiscordPerson(Person):
    """A Discord user."""

    def __init__(
        self,
        user_id: int,
        username: str | None = None,
        global_name: str | None = None,
        discriminator: str | None = None,
        display_name: str | None = None,
    ) -> None:
        self._id = int(user_id)
        self._username = username
        self._global_name = global_name
        self._discriminator = discriminator if discriminator not in (None, "0") else None
        self._display_name = display_name

    @classmethod
    def from_user(cls, user: Any) -> DiscordPerson:
        """From a discord.py ``User`` or ``Member``."""
        return cls(
            user.id,
            user.name,
            getattr(user, "global_name", None),
            getattr(user, "discriminator", None),
            getattr(user, "display_name", None),
        )

    @property
    def id(self) -> int:
        return self._id

    @property
    def person(self) -> str:
        return f"<@{self._id}>"

    @property
    def client(self) -> str | None:
        return None

    @property
    def nick(self) -> str | None:
        """The username (unique on Discord), ``name#1234`` for the old accounts that have a
        discriminator."""
        if self._username and self._discriminator:
            return f"{self._username}#{self._discriminator}"
        return self._username

    @property
    def username(self) -> str | None:
        return self._username

    @property
    def fullname(self) -> str | None:
        """The name Discord shows: the server nickname, else the global display name."""
        return self._display_name or self._global_name or self._username

    @property
    def aclattr(self) -> str:
        return str(self._id)

    def __str__(self) -> str:
        return self.person

    def __repr__(self) -> str:
        return f"<DiscordPerson {self._id} {self.nick!r}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DiscordPerson)
            and not isinstance(other, DiscordRoomOccupant)
            and other._id == self._id
        )

    def __hash__(self) -> int:
        return hash(("discord-user", self._id))

    def __reduce__(self) -> Any:
        return (
            DiscordPerson,
            (self._id, self._username, self._global_name, self._discriminator, self._display_name),
        )


class DiscordRoom(Room):
    """A guild text channel, a thread (``parent_id`` is its channel) or a DM channel."""

    def __init__(
        self,
        channel_id: int,
        name: str | None = None,
        guild_id: int | None = None,
        parent_id: int | None = None,
    ) -> None:
        self._id = int(channel_id)
        self._name = name
        self._guild_id = guild_id
        self._parent_id = parent_id

    @property
    def id(self) -> int:
        return self._id

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def guild_id(self) -> int | None:
        return self._guild_id

    @property
    def parent_id(self) -> int | None:
        """The channel a thread belongs to; None for a channel."""
        return self._parent_id

    @property
    def is_thread(self) -> bool:
        return self._parent_id is not None

    def __str__(self) -> str:
        return f"<#{self._id}>"

    def __repr__(self) -> str:
        return f"<DiscordRoom {self._id} #{self._name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DiscordRoom) and other._id == self._id

    def __hash__(self) -> int:
        return hash(("discord-channel", self._id))

    def __reduce__(self) -> Any:
        return (DiscordRoom, (self._id, self._name, self._guild_id, self._parent_id))

    # -- room operations: delegated to the live backend --------------------------------------
    def join(self, username: str | None = None, password: str | None = None) -> None:
        """A bot is in every channel of the guilds it was invited to (and sees those its
        roles allow): there is nothing to join. Checks that the channel exists."""
        if not self.exists:
            raise RoomError(f"The Discord bot cannot see the channel {self}.")

    def leave(self, reason: str | None = None) -> None:
        raise RoomError(
            "a Discord bot is in every channel its roles let it see; to keep it out of this "
            "one, deny it View Channel in the channel's permissions (or remove the bot from "
            "the server)"
        )

    def create(self) -> None:
        raise RoomError("the bot does not create Discord channels; create it in Discord")

    def destroy(self) -> None:
        raise RoomError("the bot does not delete Discord channels; delete it in Discord")

    def invite(self, *args: Any) -> None:
        raise RoomError(
            "Discord has no invitations to a channel; give the person a role that can view "
            "it (or add them to the channel's permissions)"
        )

    @property
    def exists(self) -> bool:
        return _backend().channel_exists(self._id)

    @property
    def joined(self) -> bool:
        return self.exists

    @property
    def topic(self) -> str | None:
        return _backend().channel_topic(self._id)

    @topic.setter
    def topic(self, topic: str) -> None:
        _backend().set_channel_topic(self._id, topic)

    @property
    def occupants(self) -> list[RoomOccupant]:
        return _backend().channel_occupants(self)


class DiscordRoomOccupant(DiscordPerson, RoomOccupant):
    """A user as seen in a channel: their server nickname is the ``fullname``."""

    def __init__(
        self,
        user_id: int,
        room: DiscordRoom,
        username: str | None = None,
        global_name: str | None = None,
        discriminator: str | None = None,
        display_name: str | None = None,
    ) -> None:
        super().__init__(user_id, username, global_name, discriminator, display_name)
        self._room = room

    @classmethod
    def from_member(cls, user: Any, room: DiscordRoom) -> DiscordRoomOccupant:
        return cls(
            user.id,
            room,
            user.name,
            getattr(user, "global_name", None),
            getattr(user, "discriminator", None),
            getattr(user, "display_name", None),
        )

    @property
    def room(self) -> DiscordRoom:
        return self._room

    def __repr__(self) -> str:
        return f"<DiscordRoomOccupant {self._id} {self.nick!r} in {self._room!s}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DiscordRoomOccupant)
            and other._id == self._id
            and other._room == self._room
        )

    def __hash__(self) -> int:
        return hash(("discord-occupant", self._id, self._room.id))

    def __reduce__(self) -> Any:
        return (
            DiscordRoomOccupant,
            (
                self._id,
                self._room,
                self._username,
                self._global_name,
                self._discriminator,
                self._display_name,
            ),
        )
