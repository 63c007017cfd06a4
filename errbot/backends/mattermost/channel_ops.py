"""Channel operations of the Mattermost backend: join, leave, create, archive, invite,
members and header (the topic), behind the blocking `MattermostRoom` methods.

`MattermostRoom` calls `room_call` (`NetworkBackendMixin`) from any thread; the work runs on
the bot's event loop. Called from async plugin code (on the loop itself) an operation cannot
be waited for: it is started and its failure logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mattermostautodriver.exceptions import MattermostError

from errbot.backends.base import RoomDoesNotExistError, RoomError, RoomOccupant
from errbot.backends.mattermost.identifiers import MattermostPerson, MattermostRoomOccupant
from errbot.backends.mattermost.rooms import OPEN, PRIVATE, MattermostRoom

if TYPE_CHECKING:
    from errbot.backends.mattermost.client import MattermostConnection
    from errbot.backends.mattermost.directory import Directory
    from errbot.core.runtime import Runtime

log = logging.getLogger("errbot.backends.mattermost.backend")


class ChannelOperations:
    """Mixed into `MattermostBackend`."""

    if TYPE_CHECKING:
        connection: MattermostConnection | None
        directory: Directory
        runtime: Runtime
        userid: str | None
        team_name: str

        def _person(self, text: str) -> MattermostPerson: ...
        def bot_occupant(self, room: MattermostRoom) -> MattermostRoomOccupant: ...
        def callback_room_joined(
            self, room: Any, identifier: Any = None, invited_by: Any = None
        ) -> None: ...
        def callback_room_left(
            self, room: Any, identifier: Any = None, kicked_by: Any = None
        ) -> None: ...
        def callback_room_topic(self, room: Any) -> None: ...

    def _conn(self) -> MattermostConnection:
        if self.connection is None:
            raise RoomError("Not connected to the Mattermost server.")
        return self.connection

    async def _room_exists(self, room: MattermostRoom) -> bool:
        try:
            await self.directory.resolve_room(room)
        except RoomDoesNotExistError:
            return False
        return True

    async def _room_join(self, room: MattermostRoom) -> None:
        conn = self._conn()
        try:
            channel_id = await self.directory.resolve_room(room)
        except RoomDoesNotExistError:
            await self._room_create(room)
            return
        if room.member:
            return
        try:
            await conn.call(
                "join channel", conn.driver.channels.add_channel_member, channel_id, self.userid
            )
        except MattermostError as exc:
            why = (
                " (a private channel: ask a member to add the bot)" if room.kind == PRIVATE else ""
            )
            raise RoomError(f"Cannot join the channel {room}: {exc}{why}") from None
        self._joined(room)

    def _joined(self, room: MattermostRoom) -> None:
        if not room.member:
            room.member = True
            self.callback_room_joined(room, self.bot_occupant(room))

    async def _room_create(self, room: MattermostRoom, private: bool = False) -> None:
        conn = self._conn()
        if not room.name:
            raise RoomError("Only named channels can be created.")
        team_id = await self.directory.team_id(room.team or self.team_name)
        try:
            channel = await conn.call(
                "create channel",
                conn.driver.channels.create_channel,
                team_id,
                room.name,
                room.name,
                PRIVATE if private else OPEN,
            )
        except MattermostError as exc:
            raise RoomError(f"Cannot create the channel {room}: {exc}") from None
        room.describe(channel, room.team or self.team_name)
        self.directory.rooms_by_id[channel["id"]] = room
        self._joined(room)  # the creator is a member

    async def _room_leave(self, room: MattermostRoom) -> None:
        conn = self._conn()
        channel_id = await self.directory.resolve_room(room)
        try:
            await conn.call(
                "leave channel",
                conn.driver.channels.remove_user_from_channel,
                channel_id,
                self.userid,
            )
        except MattermostError as exc:
            raise RoomError(f"Cannot leave the channel {room}: {exc}") from None
        if room.member:
            room.member = False
            self.callback_room_left(room, self.bot_occupant(room))

    async def _room_archive(self, room: MattermostRoom) -> None:
        conn = self._conn()
        channel_id = await self.directory.resolve_room(room)
        try:
            await conn.call("archive channel", conn.driver.channels.delete_channel, channel_id)
        except MattermostError as exc:
            raise RoomError(f"Cannot archive the channel {room}: {exc}") from None
        if room.member:
            room.member = False
            self.callback_room_left(room, self.bot_occupant(room))

    async def _room_invite(self, room: MattermostRoom, people: list[Any]) -> None:
        conn = self._conn()
        channel_id = await self.directory.resolve_room(room)
        for who in people:
            person = who if isinstance(who, MattermostPerson) else self._person(str(who))
            userid = await self.directory.resolve_person(person)
            try:
                await conn.call(
                    "add member", conn.driver.channels.add_channel_member, channel_id, userid
                )
            except MattermostError as exc:
                raise RoomError(f"Cannot add {person} to the channel {room}: {exc}") from None

    async def _room_occupants(self, room: MattermostRoom) -> list[RoomOccupant]:
        conn = self._conn()
        channel_id = await self.directory.resolve_room(room)
        people: list[RoomOccupant] = []
        page = 0
        while True:
            members = await conn.call(
                "list members",
                conn.driver.channels.get_channel_members,
                channel_id,
                page=page,
                per_page=200,
            )
            for member in members or []:
                person = await self.directory.person(member["user_id"])
                people.append(MattermostRoomOccupant(room, person))
            if len(members or []) < 200:
                return people
            page += 1

    async def _room_set_topic(self, room: MattermostRoom, topic: str) -> None:
        conn = self._conn()
        channel_id = await self.directory.resolve_room(room)
        try:
            channel = await conn.call(
                "set header", conn.driver.channels.patch_channel, channel_id, header=topic
            )
        except MattermostError as exc:
            raise RoomError(f"Cannot set the header of {room}: {exc}") from None
        room.describe(channel, room.team)
        self.callback_room_topic(room)
