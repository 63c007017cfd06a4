"""What the Mattermost backend knows about users, channels and teams, and how it learns it.

Posts name their sender and channel by id only; people and plugins name them ``@username``
and ``~channel``. The directory turns one into the other with the REST API and caches the
answers (ids never change; a username or header that changes is refreshed by the events
that announce it). All lookups run on the bot's event loop.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mattermostautodriver.exceptions import MattermostError, ResourceNotFound

from errbot.backends.base import RoomDoesNotExistError, UserDoesNotExistError
from errbot.backends.mattermost.identifiers import MattermostPerson
from errbot.backends.mattermost.rooms import GROUP, MattermostRoom

if TYPE_CHECKING:
    from errbot.backends.mattermost.backend import MattermostBackend
    from errbot.backends.mattermost.client import MattermostConnection

log = logging.getLogger(__name__)

# "@word"s of messages that are not users, remembered so that chat full of e-mail addresses
# or "@here" does not cost one lookup per message; bounded, then forgotten all at once.
_MAX_MISSES = 2000


class Directory:
    def __init__(self, backend: MattermostBackend) -> None:
        self.bot = backend
        self.users: dict[str, MattermostPerson] = {}
        self.user_ids: dict[str, str] = {}  # lowercase username -> id
        self.misses: set[str] = set()
        self.rooms_by_id: dict[str, MattermostRoom] = {}
        self.rooms_by_name: dict[tuple[str, str], MattermostRoom] = {}
        self.teams: dict[str, str] = {}  # team id -> team name
        self.team_ids: dict[str, str] = {}  # team name -> team id
        self.direct: dict[str, str] = {}  # user id -> direct channel id

    def _conn(self) -> MattermostConnection:
        conn = self.bot.connection
        if conn is None:
            raise ConnectionError("Not connected to the Mattermost server.")
        return conn

    # -- users --------------------------------------------------------------------------
    def remember_user(self, user: dict[str, Any]) -> MattermostPerson:
        person = MattermostPerson.from_user(user)
        if person.userid:
            self.users[person.userid] = person
            if person.username:
                self.user_ids[person.username.lower()] = person.userid
        return person

    def cached_user(self, text: str) -> MattermostPerson | None:
        """``@name`` or a user id, if already known."""
        if text.startswith("@"):
            userid = self.user_ids.get(text[1:].lower())
            return self.users.get(userid) if userid else None
        return self.users.get(text)

    async def person(self, userid: str) -> MattermostPerson:
        known = self.users.get(userid)
        if known is not None:
            return known
        conn = self._conn()
        try:
            user = await conn.call("get user", conn.driver.users.get_user, userid)
        except ResourceNotFound:
            raise UserDoesNotExistError(f"No Mattermost user has the id {userid}.") from None
        return self.remember_user(user)

    async def person_by_name(self, username: str, missing_ok: bool = True) -> Any:
        name = username.lstrip("@").lower()
        userid = self.user_ids.get(name)
        if userid is not None:
            return self.users[userid]
        if name in self.misses:
            if missing_ok:
                return None
            raise UserDoesNotExistError(f"No Mattermost user is called @{name}.")
        conn = self._conn()
        try:
            user = await conn.call("get user", conn.driver.users.get_user_by_username, name)
        except ResourceNotFound:
            if len(self.misses) >= _MAX_MISSES:
                self.misses.clear()
            self.misses.add(name)
            if missing_ok:
                return None
            raise UserDoesNotExistError(f"No Mattermost user is called @{name}.") from None
        return self.remember_user(user)

    async def resolve_person(self, person: MattermostPerson) -> str:
        """The user id of ``person`` (built from ``@name`` it may not know it yet)."""
        if person.userid:
            return person.userid
        found = await self.person_by_name(person.username or "", missing_ok=False)
        return str(found.userid)

    # -- teams --------------------------------------------------------------------------
    async def team_id(self, name: str) -> str:
        known = self.team_ids.get(name)
        if known:
            return known
        conn = self._conn()
        team = await conn.call("get team", conn.driver.teams.get_team_by_name, name)
        self.teams[team["id"]] = team["name"]
        self.team_ids[team["name"]] = team["id"]
        return str(team["id"])

    def team_name_of(self, team_id: str | None) -> str | None:
        return self.teams.get(team_id or "")

    async def team_name(self, team_id: str) -> str | None:
        if not team_id:
            return None
        if team_id not in self.teams:
            conn = self._conn()
            try:
                team = await conn.call("get team", conn.driver.teams.get_team, team_id)
            except MattermostError:
                return None
            self.teams[team["id"]] = team["name"]
            self.team_ids[team["name"]] = team["id"]
        return self.teams[team_id]

    # -- channels -----------------------------------------------------------------------
    def room(self, name: str | None, team: str | None, channelid: str | None = None) -> Any:
        """The one room object for a channel (created, unresolved, if new)."""
        if channelid and channelid in self.rooms_by_id:
            return self.rooms_by_id[channelid]
        if name and (team or "", name) in self.rooms_by_name:
            room = self.rooms_by_name[(team or "", name)]
        else:
            room = MattermostRoom(name, team, self.bot, channelid)
            if name:
                self.rooms_by_name[(team or "", name)] = room
        if channelid:
            room.channelid = channelid
            self.rooms_by_id[channelid] = room
        return room

    async def remember_channel(self, channel: dict[str, Any]) -> MattermostRoom:
        team = await self.team_name(channel.get("team_id") or "")
        name = None if channel.get("type") == GROUP else channel.get("name")
        room = self.room(name, team, channel["id"])
        room.describe(channel, team)
        return room

    async def room_of(self, channelid: str, refresh: bool = False) -> MattermostRoom | None:
        """The room of a channel id (None for a direct channel: that is a person)."""
        room = self.rooms_by_id.get(channelid)
        if room is not None and not refresh:
            return room
        conn = self._conn()
        try:
            channel = await conn.call("get channel", conn.driver.channels.get_channel, channelid)
        except MattermostError as exc:
            log.debug("Cannot look the channel %s up: %s", channelid, exc)
            return room
        if channel.get("type") == "D":
            return None
        return await self.remember_channel(channel)

    async def resolve_room(self, room: MattermostRoom) -> str:
        """The channel id of ``room``; RoomDoesNotExistError if there is no such channel."""
        if room.channelid:
            return room.channelid
        conn = self._conn()
        team = room.team or self.bot.team_name
        try:
            team_id = await self.team_id(team)
            channel = await conn.call(
                "get channel",
                conn.driver.channels.get_channel_by_name,
                team_id,
                room.name,
            )
        except ResourceNotFound:
            raise RoomDoesNotExistError(f"There is no channel {room} in the team {team}.") from None
        room.describe(channel, team)
        self.rooms_by_id[channel["id"]] = room
        return str(channel["id"])

    async def direct_channel(self, userid: str) -> str:
        known = self.direct.get(userid)
        if known:
            return known
        conn = self._conn()
        channel = await conn.call(
            "open direct channel",
            conn.driver.channels.create_direct_channel,
            [self.bot.userid, userid],
        )
        self.direct[userid] = channel["id"]
        return str(channel["id"])

    async def load_memberships(self, team_id: str) -> None:
        """The channels of the configured team the bot is in, marked as joined."""
        conn = self._conn()
        channels = await conn.call(
            "list channels",
            conn.driver.channels.get_channels_for_team_for_user,
            self.bot.userid,
            team_id,
        )
        member = set()
        for channel in channels or []:
            if channel.get("type") == "D":
                continue
            room = await self.remember_channel(channel)
            room.member = True
            member.add(room.channelid)
        for room in self.rooms_by_id.values():
            if room.channelid not in member and room.team == self.bot.team_name:
                room.member = False
