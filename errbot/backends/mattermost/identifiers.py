"""Identifiers of the Mattermost backend: users, channels and users seen in a channel.

Textual forms (what ``str()`` gives and `build_identifier` reads back):

* a user: ``@username`` (user ids are accepted too, and turned into ``@username``);
* a channel: ``~channel-name`` for a channel of the configured team, ``~team/channel``
  for another team, the channel id for group messages (no team, no stable name);
* a user in a channel: ``~channel-name/@username``.

A user is known by its immutable id and its username; the username is what people type and
what ``BOT_ADMINS`` / ACLs match (``aclattr`` = ``@username``), the id is what the API wants.
A `MattermostPerson` built from ``@username`` by a plugin running on the event loop may not
know its id yet: the backend looks it up when something is sent to it.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from errbot.backends.base import Person, RoomOccupant

if TYPE_CHECKING:
    from errbot.backends.mattermost.rooms import MattermostRoom

# Identifiers pickle as their text form and are rebuilt by the live backend (a room holds a
# reference to the bot, which cannot be pickled). Set by the backend when it is created.
live_backend: weakref.ref[Any] | None = None


def from_text(text: str) -> Any:
    backend = live_backend() if live_backend is not None else None
    if backend is not None:
        return backend.build_identifier(text)
    return MattermostPerson(username=text.lstrip("@"))


class MattermostPerson(Person):
    """A Mattermost user."""

    def __init__(
        self,
        userid: str | None = None,
        username: str | None = None,
        fullname: str | None = None,
        email: str | None = None,
        is_bot: bool = False,
    ) -> None:
        if not userid and not username:
            raise ValueError("A Mattermost user needs an id or a username")
        self._userid = userid or None
        self._username = (username or "").lstrip("@") or None
        self._fullname = fullname or None
        self._email = email or ""
        self.is_bot = is_bot

    @classmethod
    def from_user(cls, user: dict[str, Any]) -> MattermostPerson:
        """From a user object of the API (``GET /users/{id}``)."""
        full = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
        return cls(
            user.get("id"),
            user.get("username"),
            full or user.get("nickname") or None,
            user.get("email"),
            bool(user.get("is_bot")),
        )

    @property
    def userid(self) -> str | None:
        return self._userid

    @property
    def username(self) -> str | None:
        return self._username

    @property
    def person(self) -> str:
        # Command history and flows are keyed on this: the @form people recognise.
        return f"@{self._username}" if self._username else str(self._userid)

    @property
    def client(self) -> str | None:
        return None

    @property
    def nick(self) -> str:
        return self._username or str(self._userid)

    @property
    def fullname(self) -> str | None:
        return self._fullname

    @property
    def email(self) -> str:
        return self._email

    @property
    def aclattr(self) -> str:
        return self.person

    def __str__(self) -> str:
        return self.person

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.person} id={self._userid}>"

    def _key(self) -> str:
        # Usernames are unique on a server and may be all a plugin-built identifier knows.
        return (self._username or "").lower() or f"id:{self._userid}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MattermostPerson) or isinstance(other, RoomOccupant) != isinstance(
            self, RoomOccupant
        ):
            return False
        if self._userid and other._userid:
            return self._userid == other._userid and self._room_key() == other._room_key()
        return self._key() == other._key() and self._room_key() == other._room_key()

    def _room_key(self) -> str:
        return ""

    def __hash__(self) -> int:
        return hash((self._key(), self._room_key()))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return from_text, (str(self),)


class MattermostRoomOccupant(MattermostPerson, RoomOccupant):
    """A user seen through a channel (the sender of a channel message)."""

    def __init__(self, room: MattermostRoom, person: MattermostPerson) -> None:
        super().__init__(
            person.userid, person.username, person.fullname, person.email, person.is_bot
        )
        self._room = room

    @property
    def room(self) -> MattermostRoom:
        return self._room

    def _room_key(self) -> str:
        return self._room.channelid or str(self._room)

    def __str__(self) -> str:
        return f"{self._room}/{self.person}"
