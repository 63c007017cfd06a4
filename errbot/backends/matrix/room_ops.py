"""Room and direct-chat operations of the Matrix backend (a mixin of `MatrixBackend`).

`MatrixRoom` methods are called from plugin threads; `room_call` (from `NetworkBackendMixin`)
runs the matching ``_room_<operation>`` coroutine on the bot's event loop and waits for it.
Direct chats are ordinary rooms the bot records in its ``m.direct`` account data (as every
client does), so a reply to a person goes to the chat they already have with the bot, and a
first message creates one (the person is invited to it).
"""

from __future__ import annotations

import logging
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from nio import (
    JoinedMembersResponse,
    JoinResponse,
    RoomCreateResponse,
    RoomInviteResponse,
    RoomLeaveResponse,
    RoomPreset,
    RoomPutStateResponse,
    RoomResolveAliasResponse,
)

from errbot.backends.base import RoomError, RoomOccupant
from errbot.backends.matrix.client import Disconnected, MatrixConnection, MatrixRequestError
from errbot.backends.matrix.identifiers import ALIAS_RE, MatrixPerson, MatrixRoomOccupant
from errbot.backends.matrix.rooms import MatrixRoom

if TYPE_CHECKING:
    from errbot.backends.matrix.backend import MatrixBackend

log = logging.getLogger(__name__)


class RoomOperations:
    """Rooms, aliases and direct chats; mixed into `MatrixBackend`."""

    _rooms: dict[str, MatrixRoom]
    _aliases: dict[str, MatrixRoom]
    _direct: dict[str, list[str]]  # user ID -> direct chat room IDs (m.direct)
    _direct_ids: set[str]
    _conn: MatrixConnection | None
    request_timeout: float

    # -- the room table -----------------------------------------------------------------
    def room_by_id(self: MatrixBackend, room_id: str) -> MatrixRoom:
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = MatrixRoom(self, room_id=room_id)
        return room

    def learn_alias(self: MatrixBackend, room: MatrixRoom, alias: str) -> None:
        if not ALIAS_RE.match(alias):
            return
        room.alias = room.alias or alias
        self._aliases[alias] = room

    def query_room(self: MatrixBackend, room: str) -> MatrixRoom:
        """A room by ID (``!id:server``) or alias (``#name:server``)."""
        text = str(room).strip()
        if text.startswith("!"):
            return self.room_by_id(text)
        known = self._aliases.get(text)
        if known is None:
            known = self._aliases[text] = MatrixRoom(self, alias=text)
        return known

    def rooms(self: MatrixBackend) -> list[MatrixRoom]:
        """The rooms the bot is in, direct chats excepted."""
        return [
            room
            for room in self._rooms.values()
            if room.is_joined and room.room_id not in self._direct_ids
        ]

    def is_direct_room(self, room: MatrixRoom) -> bool:
        return room.room_id in self._direct_ids

    def learn_direct_rooms(self, mapping: dict[str, Any]) -> None:
        """The ``m.direct`` account data, from a sync or read at start-up."""
        self._direct = {
            str(user): [str(room) for room in rooms]
            for user, rooms in mapping.items()
            if isinstance(rooms, list)
        }
        self._direct_ids = {r for rooms in self._direct.values() for r in rooms}

    def bot_occupant(self: MatrixBackend, room: MatrixRoom) -> MatrixRoomOccupant:
        return MatrixRoomOccupant(room, self.user_id, self.display_name)

    def display_name_in(self: MatrixBackend, room: MatrixRoom, user_id: str) -> str | None:
        conn = self._conn
        state = conn.client.rooms.get(room.room_id or "") if conn is not None else None
        user = state.users.get(user_id) if state is not None else None
        return getattr(user, "display_name", None) or None

    # -- calls from plugin threads ---------------------------------------------------------
    def _connection(self) -> MatrixConnection:
        if self._conn is None or not self._conn.logged_in:
            raise RoomError("Not connected to the Matrix homeserver.")
        return self._conn

    async def _request(self, what: str, coro: Any, expected: Any) -> Any:
        try:
            return await self._connection().call(what, coro, expected)
        except (MatrixRequestError, Disconnected) as exc:
            raise RoomError(f"Matrix: {exc}") from None

    async def room_id_of(self, room: MatrixRoom) -> str:
        """The room's ID, resolving its alias with the server the first time."""
        if room.room_id:
            return room.room_id
        client = self._connection().client
        answer = await self._request(
            f"resolving {room.alias}",
            client.room_resolve_alias(str(room.alias)),
            RoomResolveAliasResponse,
        )
        self._adopt(room, str(answer.room_id))
        return str(room.room_id)

    def _adopt(self, room: MatrixRoom, room_id: str) -> None:
        """``room`` (known by alias) is ``room_id``: one object for both names from now on.

        The sync may have seen the room first (under its ID): ``room``, the object a plugin
        holds, takes that one's place and state."""
        existing = self._rooms.get(room_id)
        room.room_id = room_id
        if existing is not None and existing is not room:
            room.is_joined = room.is_joined or existing.is_joined
            room.subject = room.subject or existing.subject
            room.alias = room.alias or existing.alias
        self._rooms[room_id] = room
        if room.alias:
            self._aliases[room.alias] = room

    # -- operations (on the loop) ---------------------------------------------------------
    async def _room_join(self: MatrixBackend, room: MatrixRoom, invited_by: Any = None) -> None:
        if room.is_joined:
            return
        client = self._connection().client
        try:
            answer = await self._connection().call(
                f"joining {room}", client.join(room.address), JoinResponse
            )
        except MatrixRequestError as exc:
            if exc.code == "M_NOT_FOUND" and room.alias and not room.room_id:
                await self._room_create(room)
                return
            raise RoomError(f"Cannot join the room {room}: {exc.code} {exc.detail}") from None
        except Disconnected as exc:
            raise RoomError(f"Cannot join the room {room}: {exc}") from None
        self._joined(room, str(answer.room_id), invited_by)

    def _joined(self: MatrixBackend, room: MatrixRoom, room_id: str, invited_by: Any) -> None:
        if room.room_id != room_id:
            self._adopt(room, room_id)
        room = self._rooms[room_id]
        room.is_joined = True
        log.info("Joined the Matrix room %s.", room)
        self.callback_room_joined(room, self.bot_occupant(room), invited_by)

    async def _room_create(self: MatrixBackend, room: MatrixRoom) -> None:
        if room.room_id:
            raise RoomError(f"The room {room} already exists (it has an ID).")
        local = None
        if room.alias:
            local, _, server = room.alias[1:].partition(":")
            if server != self.user_id.partition(":")[2]:
                raise RoomError(
                    f"Cannot create {room.alias}: aliases can only be made on the bot's "
                    "own homeserver."
                )
        client = self._connection().client
        answer = await self._request(
            f"creating {room}",
            client.room_create(alias=local, name=local, preset=RoomPreset.private_chat),
            RoomCreateResponse,
        )
        self._joined(room, str(answer.room_id), None)

    async def _room_leave(self: MatrixBackend, room: MatrixRoom, reason: str | None) -> None:
        if not room.room_id or not room.is_joined:
            return
        client = self._connection().client
        await self._request(f"leaving {room}", client.room_leave(room.room_id), RoomLeaveResponse)
        room.is_joined = False  # before the sync reports it: that leave is not a kick
        self.callback_room_left(room, self.bot_occupant(room))

    async def _room_invite(self: MatrixBackend, room: MatrixRoom, users: list[str]) -> None:
        room_id = await self.room_id_of(room)
        client = self._connection().client
        for user in users:
            await self._request(
                f"inviting {user} to {room}", client.room_invite(room_id, user), RoomInviteResponse
            )

    async def _room_occupants(self: MatrixBackend, room: MatrixRoom) -> list[RoomOccupant]:
        room_id = await self.room_id_of(room)
        client = self._connection().client
        answer = await self._request(
            f"listing {room}", client.joined_members(room_id), JoinedMembersResponse
        )
        return [
            MatrixRoomOccupant(room, member.user_id, member.display_name or None)
            for member in sorted(answer.members, key=lambda m: m.user_id)
        ]

    async def _room_set_topic(self: MatrixBackend, room: MatrixRoom, topic: str) -> None:
        room_id = await self.room_id_of(room)
        client = self._connection().client
        await self._request(
            f"setting the topic of {room}",
            client.room_put_state(room_id, "m.room.topic", {"topic": topic}),
            RoomPutStateResponse,
        )
        if topic != room.subject:
            room.subject = topic or None
            self.callback_room_topic(room)

    async def _room_exists(self: MatrixBackend, room: MatrixRoom) -> bool:
        try:
            await self.room_id_of(room)
        except RoomError:
            return False
        return True

    # -- invitations and direct chats --------------------------------------------------------
    def invited(self: MatrixBackend, room_id: str, inviter: MatrixPerson, direct: bool) -> None:
        if not self.accepts_invitation(inviter, direct):
            why = (
                "MATRIX_AUTO_JOIN_ON_INVITE is False"
                if self.auto_join is False
                else "by default only direct chats and rooms of BOT_ADMINS are joined"
            )
            log.info(
                "Invited to the Matrix room %s by %s: not joining (%s; set "
                "MATRIX_AUTO_JOIN_ON_INVITE = True to accept every invitation).",
                room_id,
                inviter,
                why,
            )
            return
        self.runtime.spawn(self._logged(self._accept(room_id, inviter, direct), f"join {room_id}"))

    def accepts_invitation(self: MatrixBackend, inviter: MatrixPerson, direct: bool) -> bool:
        """MATRIX_AUTO_JOIN_ON_INVITE True or False decides alone. Unset, a direct chat is
        accepted from anyone (people expect to be able to talk to a bot, as on other chat
        systems; commands are still subject to the ACLs) and a room only when a bot admin
        asks (anyone else could pull the bot into any number of rooms)."""
        if self.auto_join is not None:
            return self.auto_join
        if direct:
            return True
        admins = getattr(self.bot_config, "BOT_ADMINS", None) or ()
        if isinstance(admins, str):
            admins = (admins,)
        return any(fnmatchcase(inviter.user_id, str(pattern)) for pattern in admins)

    async def _accept(
        self: MatrixBackend, room_id: str, inviter: MatrixPerson, direct: bool
    ) -> None:
        room = self.room_by_id(room_id)
        if direct:
            await self._remember_direct(inviter.user_id, room_id)
        await self._room_join(room, invited_by=inviter)

    async def _remember_direct(self, user_id: str, room_id: str) -> None:
        rooms = self._direct.setdefault(user_id, [])
        if room_id in rooms:
            return
        rooms.insert(0, room_id)  # the newest chat with someone is the one to use
        self._direct_ids.add(room_id)
        try:
            await self._connection().set_direct_rooms(self._direct)
        except (MatrixRequestError, Disconnected, RoomError) as exc:
            log.warning("Could not save the Matrix direct chats (m.direct): %s", exc)

    async def direct_room_for(self: MatrixBackend, user_id: str) -> str:
        """The direct chat with ``user_id``, created (and the person invited) when none."""
        for room_id in self._direct.get(user_id, []):
            room = self._rooms.get(room_id)
            if room is not None and room.is_joined:
                return room_id
        client = self._connection().client
        answer = await self._connection().call(
            f"creating a direct chat with {user_id}",
            client.room_create(
                is_direct=True, invite=[user_id], preset=RoomPreset.trusted_private_chat
            ),
            RoomCreateResponse,
        )
        room_id = str(answer.room_id)
        self.room_by_id(room_id).is_joined = True
        await self._remember_direct(user_id, room_id)
        log.info("Created a direct chat %s with %s.", room_id, user_id)
        return room_id
