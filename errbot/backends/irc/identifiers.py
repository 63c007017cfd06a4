"""Identifiers of the IRC backend: people (``nick!user@host``), channels, people in channels.

Text forms, all accepted back by ``IRCBackend.build_identifier``:

* a person: ``nick!user@host`` (or a bare ``nick`` when the rest is not known);
* a channel: ``#chan`` (any IRC channel prefix: ``#&+!``);
* a person in a channel: ``nick!user@host`` and the channel on two lines (``mask\\n#chan``),
  the form Errbot uses.

Nick and channel names are compared the IRC way: case-insensitively, with ``[]\\~`` equal to
``{}|^`` (RFC 1459 case mapping).
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any

from irc.client import NickMask, is_channel
from irc.strings import lower as irc_lower

from errbot.backends.base import Identifier, Person, Room, RoomOccupant

if TYPE_CHECKING:
    from errbot.backends.irc.backend import IRCBackend

log = logging.getLogger(__name__)

DEFAULT_ACL_PATTERN = "{nick}!{user}@{host}"


class IRCPerson(Person):
    """Someone on IRC, known by their mask ``nick!user@host``.

    ``person`` and ``nick`` are the nick (history and flows follow the nick), ``client`` is
    ``user@host``, ``aclattr`` is IRC_ACL_PATTERN filled with nick, user and host (parts the
    network has not told are empty).
    """

    def __init__(self, mask: str, acl_pattern: str = DEFAULT_ACL_PATTERN) -> None:
        self._mask = NickMask(mask)
        self._acl_pattern = acl_pattern

    @property
    def mask(self) -> str:
        return str(self._mask)

    @property
    def nick(self) -> str:
        return self._mask.nick

    @property
    def user(self) -> str | None:
        return self._mask.user

    @property
    def host(self) -> str | None:
        return self._mask.host

    @property
    def person(self) -> str:
        return self._mask.nick

    @property
    def client(self) -> str | None:
        return self._mask.userhost or None

    @property
    def fullname(self) -> str | None:
        return None

    @property
    def aclattr(self) -> str:
        return self._acl_pattern.format(nick=self.nick, user=self.user or "", host=self.host or "")

    def __str__(self) -> str:
        return str(self._mask)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._mask}>"

    def __eq__(self, other: object) -> bool:
        # One nick is one person on the network at a time; the rest of the mask is often
        # unknown (a bare nick from build_identifier), so it does not take part.
        if not isinstance(other, IRCPerson) or isinstance(other, RoomOccupant):
            return False
        return irc_lower(self.nick) == irc_lower(other.nick)

    def __hash__(self) -> int:
        return hash(irc_lower(self.nick))


class IRCRoom(Room):
    """An IRC channel, seen through the backend's connection.

    The object holds no state of its own: whether the bot is in the channel, the topic and
    the people in it are what the connection currently knows, so two objects for the same
    channel always agree. Calls that need the server's answer (joining, setting the topic,
    listing occupants) wait for it when made from a thread other than the event loop's;
    made on the loop (from an ``async def`` command), they send the request and return.
    """

    def __init__(self, name: str, bot: IRCBackend | None) -> None:
        if not is_channel(name):
            raise ValueError(f"{name!r} is not an IRC channel name (it must start with #).")
        self._name = name
        self._bot_ref = weakref.ref(bot) if bot is not None else None

    @property
    def name(self) -> str:
        return self._name

    @property
    def _bot(self) -> IRCBackend:
        bot = self._bot_ref() if self._bot_ref is not None else None
        if bot is None:
            raise RuntimeError(f"{self._name}: the IRC backend is gone.")
        return bot

    def join(self, username: str | None = None, password: str | None = None) -> None:
        """Join the channel (with its key ``password``); IRC has no per-room nick, so
        ``username`` is ignored. Raises RoomError when the server refuses."""
        self._bot.join_channel(self._name, password)

    def leave(self, reason: str | None = None) -> None:
        self._bot.part_channel(self._name, reason)

    def create(self) -> None:
        # A channel comes into being when its first member joins it.
        log.info("IRC has no room creation: joining %s instead.", self._name)
        self.join()

    def destroy(self) -> None:
        # A channel disappears when its last member leaves it.
        log.info("IRC has no room destruction: leaving %s instead.", self._name)
        self.leave()

    def invite(self, *identifiers: Identifier) -> None:
        nicks = [str(getattr(i, "nick", None) or i) for i in identifiers]
        self._bot.invite_to_channel(self._name, nicks)

    @property
    def exists(self) -> bool:
        """Whether the channel has members (secret channels the bot is not in look empty)."""
        return self._bot.channel_exists(self._name)

    @property
    def joined(self) -> bool:
        return self._bot.channel_joined(self._name)

    @property
    def topic(self) -> str | None:
        return self._bot.channel_topic(self._name)

    @topic.setter
    def topic(self, topic: str) -> None:
        self._bot.set_channel_topic(self._name, topic)

    @property
    def occupants(self) -> list[RoomOccupant]:
        return self._bot.channel_occupants(self._name)

    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"<IRCRoom {self._name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IRCRoom) and irc_lower(other._name) == irc_lower(self._name)

    def __hash__(self) -> int:
        return hash(irc_lower(self._name))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # The backend cannot be pickled; a stored room is rebuilt around the running one.
        return _rebuild, (self._name,)


class IRCRoomOccupant(IRCPerson, RoomOccupant):
    """Someone seen in a channel."""

    def __init__(self, mask: str, room: IRCRoom, acl_pattern: str = DEFAULT_ACL_PATTERN) -> None:
        super().__init__(mask, acl_pattern)
        self._room = room

    @property
    def room(self) -> IRCRoom:
        return self._room

    def __str__(self) -> str:
        return f"{self._mask}\n{self._room}"

    def __repr__(self) -> str:
        return f"<IRCRoomOccupant {self._mask} in {self._room}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, IRCRoomOccupant)
            and irc_lower(self.nick) == irc_lower(other.nick)
            and self._room == other._room
        )

    def __hash__(self) -> int:
        return hash((irc_lower(self.nick), self._room))


# The running backend, for unpickling rooms. One IRC bot per process is the norm; with more,
# a room unpickles bound to the latest one.
_live_backend: weakref.ref[IRCBackend] | None = None


def set_live_backend(bot: IRCBackend) -> None:
    global _live_backend
    _live_backend = weakref.ref(bot)


def _rebuild(name: str) -> IRCRoom:
    bot = _live_backend() if _live_backend is not None else None
    return IRCRoom(name, bot)
