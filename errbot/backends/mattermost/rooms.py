"""Mattermost channels as Errbot rooms.

One `MattermostRoom` object per channel lives in the backend (`MattermostBackend.query_room`),
so what is known about a channel (its id, whether the bot is a member, its header) is shared
by every message and plugin that hands it out. The network work happens on the bot's event
loop in the backend; the methods here are the blocking, thread-safe face plugins call.

The channel *header* is the room's topic (what Mattermost shows under the channel name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from errbot.backends.base import Identifier, Room, RoomError, RoomNotJoinedError, RoomOccupant
from errbot.backends.mattermost.identifiers import from_text

if TYPE_CHECKING:
    from errbot.backends.mattermost.backend import MattermostBackend

# Channel types of the API.
OPEN, PRIVATE, DIRECT, GROUP = "O", "P", "D", "G"


class MattermostRoom(Room):
    """A channel: public (``O``), private (``P``) or a group message (``G``)."""

    def __init__(
        self,
        name: str | None,
        team: str | None,
        bot: MattermostBackend | None,
        channelid: str | None = None,
    ) -> None:
        if not name and not channelid:
            raise ValueError("A Mattermost channel needs a name or an id")
        self._name = name or None
        self._team = team or None
        self._bot = bot
        # State, written on the event loop only.
        self.channelid = channelid
        self.kind = OPEN
        self.display_name: str | None = None
        self.header: str | None = None
        self.purpose: str | None = None
        self.member = False  # the bot is a member of the channel

    def describe(self, channel: dict[str, Any], team_name: str | None) -> None:
        """Update from a channel object of the API."""
        self.channelid = channel.get("id") or self.channelid
        self.kind = channel.get("type") or self.kind
        if self.kind != GROUP:
            self._name = channel.get("name") or self._name
            self._team = team_name or self._team
        self.display_name = channel.get("display_name") or None
        self.header = channel.get("header") or None
        self.purpose = channel.get("purpose") or None

    # -- names ---------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        return self._name

    @property
    def team(self) -> str | None:
        return self._team

    def text(self, default_team: str | None) -> str:
        if self.kind == GROUP or not self._name:
            return str(self.channelid)
        if self._team and default_team and self._team != default_team:
            return f"~{self._team}/{self._name}"
        return f"~{self._name}"

    def __str__(self) -> str:
        default = self._bot.team_name if self._bot is not None else None
        return self.text(default)

    def __repr__(self) -> str:
        return f"<MattermostRoom {self} id={self.channelid}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MattermostRoom):
            return False
        if self.channelid and other.channelid:
            return self.channelid == other.channelid
        return (self._team, self._name) == (other._team, other._name)

    def __hash__(self) -> int:
        return hash((self._team, self._name) if self._name else self.channelid)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return from_text, (str(self),)

    def _backend(self) -> MattermostBackend:
        if self._bot is None:
            raise RoomError(f"The channel {self} is not attached to a running Mattermost backend.")
        return self._bot

    # -- membership ----------------------------------------------------------------
    @property
    def joined(self) -> bool:
        return self.member

    @property
    def exists(self) -> bool:
        if self.member:
            return True
        return bool(self._backend().room_call(self, "exists"))

    def join(self, username: str | None = None, password: str | None = None) -> None:
        """Join the channel (creating it, public, if it does not exist).

        A private channel cannot be joined: someone in it has to add the bot
        (``/invite @bot``)."""
        self._backend().room_call(self, "join")

    def leave(self, reason: str | None = None) -> None:
        self._backend().room_call(self, "leave")

    def create(self, private: bool = False) -> None:
        """Create the channel in its team (public unless ``private``); the bot is its member."""
        self._backend().room_call(self, "create", private)

    def destroy(self) -> None:
        """Archive the channel (Mattermost's delete: it can be restored by an admin)."""
        self._backend().room_call(self, "archive")

    def invite(self, *identifiers: Identifier) -> None:
        """Add people to the channel."""
        self._backend().room_call(self, "invite", list(identifiers))

    # -- contents ------------------------------------------------------------------
    @property
    def occupants(self) -> list[RoomOccupant]:
        if not self.member:
            raise RoomNotJoinedError(f"The bot is not in the channel {self}.")
        return list(self._backend().room_call(self, "occupants") or [])

    @property
    def topic(self) -> str | None:
        if not self.member:
            raise RoomNotJoinedError(f"The bot is not in the channel {self}.")
        return self.header or None

    @topic.setter
    def topic(self, topic: str) -> None:
        if not self.member:
            raise RoomNotJoinedError(f"The bot is not in the channel {self}.")
        self._backend().room_call(self, "set_topic", topic)
