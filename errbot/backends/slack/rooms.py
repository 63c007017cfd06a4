"""Room operations of the Slack backend (conversations.* of the Web API).

`SlackRoom` methods and properties call `room_call`, from any thread. From a worker thread
(a plain plugin command) the call waits for Slack's answer; from the event loop (``async
def`` plugin code) it cannot wait on itself: actions are started in the background, and
properties answer from what the bot already knows (the channel cache) or raise RoomError.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from errbot.backends.base import Room, RoomDoesNotExistError, RoomError, RoomOccupant
from errbot.backends.slack.identifiers import SlackPerson, SlackRoom, SlackRoomOccupant

if TYPE_CHECKING:
    from errbot.backends.slack.client import SlackDirectory

log = logging.getLogger(__name__)

__all__ = ["SlackRoomsMixin"]


class SlackRoomsMixin:
    """Mixed into `SlackBackend`; expects ``runtime``, ``directory`` and ``request_timeout``."""

    runtime: Any
    directory: SlackDirectory | None
    request_timeout: float
    bot_userid: str | None
    _rooms: dict[str, SlackRoom]

    def room_for(self, channelid: str | None, name: str | None = None) -> SlackRoom:
        """The one SlackRoom object of a channel (so that equal rooms stay identical)."""
        if channelid and channelid in self._rooms:
            room = self._rooms[channelid]
            room.name = room.name or name
            return room
        room = SlackRoom(self, channelid, name)  # type: ignore[arg-type]
        if channelid:
            self._rooms[channelid] = room
        return room

    def room_call(self, room: SlackRoom, operation: str, *args: Any, wait: bool = False) -> Any:
        if self.directory is None:
            raise RoomError("Not connected to Slack yet.")
        if self.runtime.in_loop():
            if operation == "info" and room.channelid:
                return self.directory.channels.get(room.channelid)
            if wait:
                raise RoomError(
                    f"Slack room {operation} cannot be waited for on the event loop; "
                    "call it from a plain (not async) command."
                )
            self.runtime.spawn(self._logged(getattr(self, f"_room_{operation}")(room, *args)))
            return None
        coro = getattr(self, f"_room_{operation}")(room, *args)
        return self.runtime.run_sync(coro, timeout=2 * self.request_timeout + 5)

    @staticmethod
    async def _logged(coro: Coroutine[Any, Any, Any]) -> None:
        try:
            await coro
        except Exception as exc:
            log.error("Slack room operation failed: %s", exc)

    async def room_id(self, room: SlackRoom) -> str:
        """The channel id of ``room`` (looked up by name once); RoomDoesNotExistError."""
        assert self.directory is not None
        if not room.channelid:
            channelid = await self.directory.channel_id(room.name or "")
            if channelid is None:
                raise RoomDoesNotExistError(f"The Slack channel {room} does not exist.")
            room.channelid = channelid
            self._rooms.setdefault(channelid, room)
        return room.channelid

    async def _room_info(self, room: SlackRoom) -> dict[str, Any] | None:
        assert self.directory is not None
        try:
            channelid = await self.room_id(room)
        except RoomDoesNotExistError:
            return None
        info = await self.directory.channel(channelid, refresh=True)
        if info and info.get("name"):
            room.name = info["name"]
        return info

    async def _room_join(self, room: SlackRoom) -> None:
        assert self.directory is not None
        try:
            channelid = await self.room_id(room)
        except RoomDoesNotExistError:
            # Errbot's join creates the room when needed.
            await self._room_create(room)
            return
        await self.directory.client.conversations_join(channel=channelid)
        self.directory.channels.pop(channelid, None)

    async def _room_leave(self, room: SlackRoom) -> None:
        assert self.directory is not None
        channelid = await self.room_id(room)
        await self.directory.client.conversations_leave(channel=channelid)
        self.directory.channels.pop(channelid, None)

    async def _room_create(self, room: SlackRoom, private: bool = False) -> None:
        assert self.directory is not None
        if not room.name:
            raise RoomError("Only a room given by name (#name) can be created.")
        answer = await self.directory.client.conversations_create(
            name=room.name, is_private=bool(private)
        )
        channel = dict(answer["channel"])
        self.directory.remember_channel(channel)
        room.channelid = channel["id"]
        self._rooms[channel["id"]] = room

    async def _room_archive(self, room: SlackRoom) -> None:
        assert self.directory is not None
        channelid = await self.room_id(room)
        await self.directory.client.conversations_archive(channel=channelid)
        self.directory.channels.pop(channelid, None)

    async def _room_invite(self, room: SlackRoom, people: list[Any]) -> None:
        assert self.directory is not None
        channelid = await self.room_id(room)
        ids = [await self.user_id_of(person) for person in people]
        await self.directory.client.conversations_invite(channel=channelid, users=",".join(ids))

    async def _room_set_topic(self, room: SlackRoom, topic: str) -> None:
        assert self.directory is not None
        channelid = await self.room_id(room)
        await self.directory.client.conversations_setTopic(channel=channelid, topic=topic)
        self.directory.channels.pop(channelid, None)

    async def _room_occupants(self, room: SlackRoom) -> list[RoomOccupant]:
        assert self.directory is not None
        channelid = await self.room_id(room)
        members: list[str] = []
        cursor = None
        while True:
            try:
                answer = await self.directory.client.conversations_members(
                    channel=channelid, limit=200, cursor=cursor
                )
            except SlackApiError as exc:
                raise RoomError(f"Cannot list the members of {room}: {exc}") from None
            members += answer.get("members", [])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        occupants: list[RoomOccupant] = []
        for userid in members:
            user = await self.directory.user(userid)
            occupants.append(
                SlackRoomOccupant(
                    room,
                    userid,
                    username=user.get("name"),
                    fullname=user.get("real_name"),
                )
            )
        return occupants

    async def user_id_of(self, person: Any) -> str:
        """The user id of a person given as identifier or text (resolving @username)."""
        assert self.directory is not None
        if isinstance(person, str):
            person = self.build_identifier(person)  # type: ignore[attr-defined]
        if isinstance(person, SlackPerson) and person.userid:
            return person.userid
        name = getattr(person, "username", None) or str(person)
        userid = await self.directory.user_id(name)
        if userid is None:
            from errbot.backends.base import UserDoesNotExistError

            raise UserDoesNotExistError(f"No Slack user is called {name}.")
        return userid

    def rooms(self) -> list[Room]:
        """The channels the bot is a member of (users.conversations)."""
        if self.directory is None:
            return []
        if self.runtime.in_loop():
            channels = [c for c in self.directory.channels.values() if c.get("is_member")]
        else:
            channels = self.runtime.run_sync(
                self.directory.list_channels(member_only=True), timeout=self.request_timeout + 5
            )
        return [self.room_for(c["id"], c.get("name")) for c in channels]
