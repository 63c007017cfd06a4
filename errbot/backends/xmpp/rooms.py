"""MUC rooms (XEP-0045) of the XMPP backend.

One `XMPPRoom` object per room JID lives in the backend (`XMPPBackend.query_room`), so the
state kept here (joined or not, our nick, the password, the subject) is the same whichever
message or plugin handed the room out. The network work happens on the bot's event loop in
`XMPPBackend`; the methods here are the blocking, thread-safe face plugins call.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from errbot.backends.base import (
    Identifier,
    Room,
    RoomError,
    RoomNotJoinedError,
    RoomOccupant,
)
from errbot.backends.xmpp.identifiers import XMPPPerson, XMPPRoomOccupant, _from_text

if TYPE_CHECKING:
    from errbot.backends.xmpp.backend import XMPPBackend

log = logging.getLogger(__name__)


class XMPPRoom(Room):
    """A multi-user chat room, ``room@conference.example.org``."""

    def __init__(self, jid: str, bot: XMPPBackend | None) -> None:
        node, _, domain = jid.partition("@")
        if not node or not domain or "/" in domain:
            raise ValueError(f"{jid!r} is not a room address (room@conference.example.org)")
        self._node = node
        self._domain = domain
        self._bot = bot
        # State, written on the event loop only.
        self.joined_nick: str | None = None  # our nick while joined, else None
        self.wanted = False  # rejoin after a reconnection
        self.nick: str | None = None  # the nick asked for at the last join
        self.password: str | None = None
        self.subject: str | None = None

    # -- names ---------------------------------------------------------------------
    @property
    def node(self) -> str:
        return self._node

    @property
    def domain(self) -> str:
        return self._domain

    @property
    def jid(self) -> str:
        return f"{self._node}@{self._domain}"

    @property
    def room(self) -> str:
        return self.jid

    def __str__(self) -> str:
        return self.jid

    def __repr__(self) -> str:
        return f"<XMPPRoom {self.jid}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, XMPPRoom) and other.jid == self.jid

    def __hash__(self) -> int:
        return hash(self.jid)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _from_text, (self.jid,)

    def _backend(self) -> XMPPBackend:
        if self._bot is None:
            raise RoomError(f"The room {self} is not attached to a running XMPP backend.")
        return self._bot

    # -- membership ----------------------------------------------------------------
    @property
    def joined(self) -> bool:
        return self.joined_nick is not None

    @property
    def exists(self) -> bool:
        """Whether the MUC service knows the room (a disco#info query)."""
        if self.joined:
            return True
        return bool(self._backend().room_call(self, "exists"))

    def join(self, username: str | None = None, password: str | None = None) -> None:
        """Join (and so create, if needed) the room as ``username`` (default CHATROOM_FN).

        Raises RoomError with the reason the server gave (wrong password, nick taken, banned,
        members only). While the bot is offline the room is remembered and joined as soon
        as the connection is back.
        """
        backend = self._backend()
        nick = username or str(getattr(backend.bot_config, "CHATROOM_FN", "Errbot"))
        backend.room_call(self, "join", nick, password)

    def leave(self, reason: str | None = None) -> None:
        self._backend().room_call(self, "leave", reason)

    def create(self) -> None:
        """Rooms are created by joining them (XEP-0045 10.1): join if not in it yet."""
        if not self.joined:
            self.join()

    def destroy(self) -> None:
        """Destroy the room; the bot must be its owner (it is, if it created it)."""
        self._backend().room_call(self, "destroy")

    def configure(self, **fields: Any) -> None:
        """Set room configuration fields (``muc#roomconfig_*`` names, with ``#`` as ``__``
        and ``muc#roomconfig_`` optional), e.g.
        ``room.configure(roomname="Ops", passwordprotectedroom=True, roomsecret="s3")``.

        Without fields, accepts the server's defaults (what a locked new room needs).
        """
        self._backend().room_call(self, "configure", fields)

    def invite(self, *identifiers: Identifier) -> None:
        """Send a mediated invitation (through the room) to each person."""
        jids = []
        for identifier in identifiers:
            if isinstance(identifier, XMPPRoomOccupant):
                if not identifier.real_jid:
                    raise RoomError(f"The real address of {identifier} is unknown.")
                jids.append(identifier.real_jid.split("/", 1)[0])
            elif isinstance(identifier, XMPPPerson):
                jids.append(identifier.bare_jid)
            else:
                jids.append(str(identifier))
        self._backend().room_call(self, "invite", jids)

    # -- contents ------------------------------------------------------------------
    @property
    def occupants(self) -> list[RoomOccupant]:
        if not self.joined:
            raise RoomNotJoinedError(f"The bot is not in the room {self}.")
        return list(self._backend().room_occupants(self))

    @property
    def topic(self) -> str | None:
        if not self.joined:
            raise RoomNotJoinedError(f"The bot is not in the room {self}.")
        return self.subject or None

    @topic.setter
    def topic(self, topic: str) -> None:
        if not self.joined:
            raise RoomNotJoinedError(f"The bot is not in the room {self}.")
        self._backend().room_call(self, "set_topic", topic)
