"""Rooms of the Matrix backend.

A room is known by its ID (``!opaque:server``, permanent) and may have an alias
(``#name:server``, a human-friendly pointer the server resolves). One `MatrixRoom` object per
room lives in the backend (`MatrixBackend.query_room`), so the state kept here is the same
whichever message or plugin handed the room out. The network work runs on the bot's event
loop in the backend; the methods here are the blocking, thread-safe face plugins call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from errbot.backends.base import Identifier, Room, RoomError, RoomNotJoinedError, RoomOccupant
from errbot.backends.matrix.identifiers import ALIAS_RE, ROOM_ID_RE, MatrixPerson, from_text

if TYPE_CHECKING:
    from errbot.backends.matrix.backend import MatrixBackend


class MatrixRoom(Room):
    """A Matrix room, ``!id:server`` or ``#alias:server`` until the bot resolves it."""

    def __init__(
        self, bot: MatrixBackend | None, room_id: str | None = None, alias: str | None = None
    ) -> None:
        if room_id is not None and not ROOM_ID_RE.match(room_id):
            raise ValueError(f"{room_id!r} is not a Matrix room ID (!id:example.org)")
        if alias is not None and not ALIAS_RE.match(alias):
            raise ValueError(f"{alias!r} is not a Matrix room alias (#name:example.org)")
        if room_id is None and alias is None:
            raise ValueError("A Matrix room needs an ID or an alias")
        self._bot = bot
        self.room_id = room_id
        self.alias = alias
        # State, written on the event loop only (from sync responses and room operations).
        self.is_joined = False
        self.subject: str | None = None
        self.direct_with: str | None = None  # the other person of a direct chat

    # -- names ------------------------------------------------------------------------
    @property
    def room(self) -> str:
        return str(self)

    @property
    def address(self) -> str:
        """What the server understands: the ID when known, else the alias."""
        return self.room_id or str(self.alias)

    def __str__(self) -> str:
        return self.address

    def __repr__(self) -> str:
        alias = f" ({self.alias})" if self.alias and self.room_id else ""
        return f"<MatrixRoom {self.address}{alias}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MatrixRoom):
            return False
        if self.room_id and other.room_id:
            return self.room_id == other.room_id
        return self.address == other.address

    def __hash__(self) -> int:
        # Objects come from the backend's table: an alias-only room becomes the same object
        # once resolved, so hashing the alias-or-ID stays stable in practice.
        return hash(self.room_id or self.alias)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return from_text, (self.address,)

    def _backend(self) -> MatrixBackend:
        if self._bot is None:
            raise RoomError(f"The room {self} is not attached to a running Matrix backend.")
        return self._bot

    # -- membership ---------------------------------------------------------------------
    @property
    def joined(self) -> bool:
        return self.is_joined

    @property
    def exists(self) -> bool:
        if self.is_joined:
            return True
        return bool(self._backend().room_call(self, "exists"))

    def join(self, username: str | None = None, password: str | None = None) -> None:
        """Join the room by ID or alias; an alias nobody has is created (the bot owns it).

        Matrix has no per-room nick nor room password: ``username`` and ``password`` are
        accepted for the common API and ignored.
        """
        self._backend().room_call(self, "join")

    def create(self) -> None:
        """Create the room (with the alias's local part as its alias when there is one)."""
        self._backend().room_call(self, "create")

    def leave(self, reason: str | None = None) -> None:
        self._backend().room_call(self, "leave", reason)

    def destroy(self) -> None:
        """Matrix rooms cannot be destroyed: the bot leaves and forgets the room."""
        self._backend().room_call(self, "leave", "destroyed")

    def invite(self, *identifiers: Identifier) -> None:
        users = []
        for identifier in identifiers:
            if isinstance(identifier, MatrixPerson):
                users.append(identifier.user_id)
            else:
                users.append(str(MatrixPerson(str(identifier))))
        self._backend().room_call(self, "invite", users)

    # -- contents -------------------------------------------------------------------------
    @property
    def occupants(self) -> list[RoomOccupant]:
        """The joined members (asked from the server: the sync may not list everyone)."""
        if not self.is_joined:
            raise RoomNotJoinedError(f"The bot is not in the room {self}.")
        return list(self._backend().room_call(self, "occupants") or [])

    @property
    def topic(self) -> str | None:
        if not self.is_joined:
            raise RoomNotJoinedError(f"The bot is not in the room {self}.")
        return self.subject or None

    @topic.setter
    def topic(self, topic: str) -> None:
        if not self.is_joined:
            raise RoomNotJoinedError(f"The bot is not in the room {self}.")
        self._backend().room_call(self, "set_topic", topic)
