"""Identifiers of the XMPP backend: people (JIDs) and people seen through a MUC room.

A person is a JID: ``node@domain/resource``. `XMPPPerson.person` is the bare JID (what
command history and flows are keyed on, the same from every device), `client` the resource.

A room occupant is the occupant JID ``room@conference.example.org/nick``. That address is
all the room guarantees: in a semi-anonymous room nobody but moderators learns the real JID
behind a nick. When the bot can see it (it is a moderator, or the room is non-anonymous),
`XMPPRoomOccupant.real_jid` holds it and `aclattr` is its bare form, so ``BOT_ADMINS`` and
ACL rules written with people's JIDs work in rooms too. Without it ``aclattr`` is the
occupant JID, which a rule for a person's JID never matches: unknown people get no rights.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from slixmpp.jid import JID, InvalidJID

from errbot.backends.base import Identifier, Person, RoomOccupant

if TYPE_CHECKING:
    from errbot.backends.xmpp.rooms import XMPPRoom

# Identifiers pickle as their text form and are rebuilt by the live backend (a room holds a
# reference to the bot, which cannot be pickled). Set by the backend when it is created.
live_backend: weakref.ref[Any] | None = None


def _from_text(text: str) -> Identifier:
    backend = live_backend() if live_backend is not None else None
    if backend is not None:
        return backend.build_identifier(text)
    node, domain, resource = split_jid(text)
    return XMPPPerson(node, domain, resource)


def split_jid(text: str) -> tuple[str, str, str | None]:
    """``(node, domain, resource)`` of a JID, normalised (stringprep); ValueError if invalid."""
    try:
        jid = JID(str(text).strip())
    except InvalidJID as exc:
        raise ValueError(f"{text!r} is not a valid XMPP address (JID): {exc}") from None
    if not jid.domain:
        raise ValueError(f"{text!r} is not a valid XMPP address (JID): it has no domain")
    return jid.user, jid.domain, jid.resource or None


class XMPPPerson(Person):
    """Someone on the network: ``node@domain`` plus the resource a message came from."""

    def __init__(self, node: str, domain: str, resource: str | None = None) -> None:
        self._node = node or ""
        self._domain = domain
        self._resource = resource or None

    @classmethod
    def from_jid(cls, jid: Any) -> XMPPPerson:
        node, domain, resource = split_jid(str(jid))
        return cls(node, domain, resource)

    @property
    def node(self) -> str:
        return self._node

    @property
    def domain(self) -> str:
        return self._domain

    @property
    def resource(self) -> str | None:
        return self._resource

    @property
    def bare_jid(self) -> str:
        return f"{self._node}@{self._domain}" if self._node else self._domain

    @property
    def jid(self) -> str:
        """The full JID when the resource is known, else the bare JID."""
        bare = self.bare_jid
        return f"{bare}/{self._resource}" if self._resource else bare

    @property
    def person(self) -> str:
        return self.bare_jid

    @property
    def client(self) -> str | None:
        return self._resource

    @property
    def nick(self) -> str:
        return self._node or self._domain

    @property
    def fullname(self) -> str | None:
        return None

    @property
    def aclattr(self) -> str:
        return self.bare_jid

    def __str__(self) -> str:
        return self.jid

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"

    def __eq__(self, other: object) -> bool:
        # The resource counts: "alice@x/phone" and "alice@x/laptop" are two conversations.
        return (
            type(other) is type(self)
            and isinstance(other, XMPPPerson)
            and (other._node, other._domain, other._resource)
            == (self._node, self._domain, self._resource)
        )

    def __hash__(self) -> int:
        return hash((self._node, self._domain, self._resource))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _from_text, (str(self),)


class XMPPRoomOccupant(XMPPPerson, RoomOccupant):
    """Someone in a MUC room: ``room@conference.example.org/nick``."""

    def __init__(self, room: XMPPRoom, nick: str, real_jid: str | None = None) -> None:
        super().__init__(room.node, room.domain, nick)
        self._room = room
        self._real_jid = real_jid or None

    @property
    def room(self) -> XMPPRoom:
        return self._room

    @property
    def nick(self) -> str:
        return self._resource or ""

    @property
    def person(self) -> str:
        # The occupant JID: unique in the room and the address replies go to.
        return self.jid

    @property
    def real_jid(self) -> str | None:
        """The occupant's own JID, when the room lets the bot see it."""
        return self._real_jid

    @property
    def aclattr(self) -> str:
        if self._real_jid:
            return self._real_jid.split("/", 1)[0]
        return self.jid

    @property
    def fullname(self) -> str | None:
        return self.nick
