"""Identifiers of the Matrix backend: people (MXIDs) and people seen in a room.

A person is a Matrix user ID, ``@localpart:server``. `MatrixPerson.person` and ``aclattr``
are the full MXID (unique across the federation: ``@alice:a.org`` and ``@alice:b.org`` are
two people, so ``BOT_ADMINS`` takes full MXIDs), ``nick`` the localpart, ``fullname`` the
display name when the bot knows it. A room occupant is the same person plus the room where
they spoke; its text form is ``!room_id:server/@user:server``.
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, Any

from errbot.backends.base import Identifier, Person, RoomOccupant

if TYPE_CHECKING:
    from errbot.backends.matrix.rooms import MatrixRoom

# Identifiers pickle as their text form and are rebuilt by the live backend (a room holds a
# reference to the bot, which cannot be pickled). Set by the backend when it is created.
live_backend: weakref.ref[Any] | None = None

# The grammar is lenient on purpose (historical user IDs may hold more than the current
# spec allows); what matters is the sigil, a non-empty localpart and a server name.
MXID_RE = re.compile(r"^@(?P<local>[^:\s]+):(?P<server>[^\s/]+)$")
ROOM_ID_RE = re.compile(r"^!(?P<opaque>[^:\s]+)(?::(?P<server>[^\s/]+))?$")
ALIAS_RE = re.compile(r"^#(?P<local>[^:\s]+):(?P<server>[^\s/]+)$")


def from_text(text: str) -> Identifier:
    backend = live_backend() if live_backend is not None else None
    if backend is not None:
        return backend.build_identifier(text)
    return MatrixPerson(text)


def split_mxid(text: str) -> tuple[str, str]:
    """``(localpart, server)`` of a user ID; ValueError naming the expected form."""
    match = MXID_RE.match(str(text).strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Matrix user ID (@user:example.org)")
    return match["local"], match["server"]


class MatrixPerson(Person):
    """A Matrix user: ``@alice:example.org``, with a display name when known."""

    def __init__(self, user_id: str, display_name: str | None = None) -> None:
        self._local, self._server = split_mxid(user_id)
        self._user_id = str(user_id).strip()
        self._display_name = display_name or None

    @property
    def user_id(self) -> str:
        return self._user_id

    @property
    def localpart(self) -> str:
        return self._local

    @property
    def server(self) -> str:
        return self._server

    @property
    def person(self) -> str:
        return self._user_id

    @property
    def client(self) -> str | None:
        return None

    @property
    def nick(self) -> str:
        return self._local

    @property
    def display_name(self) -> str | None:
        return self._display_name

    @property
    def fullname(self) -> str | None:
        return self._display_name

    @property
    def aclattr(self) -> str:
        return self._user_id

    def __str__(self) -> str:
        return self._user_id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._user_id}>"

    def __eq__(self, other: object) -> bool:
        # The display name does not count: people change it, the MXID stays.
        return type(other) is type(self) and str(other) == str(self)

    def __hash__(self) -> int:
        return hash(str(self))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return from_text, (str(self),)


class MatrixRoomOccupant(MatrixPerson, RoomOccupant):
    """Someone in a room: ``!room:server/@user:server``."""

    def __init__(self, room: MatrixRoom, user_id: str, display_name: str | None = None) -> None:
        super().__init__(user_id, display_name)
        self._room = room

    @property
    def room(self) -> MatrixRoom:
        return self._room

    def __str__(self) -> str:
        return f"{self._room}/{self._user_id}"

    def __repr__(self) -> str:
        return f"<MatrixRoomOccupant {self._user_id} in {self._room}>"
