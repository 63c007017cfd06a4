"""Identifiers and replies of the Slack backend: text to people and rooms, who a reply goes
to and in which thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from errbot.backends.base import Identifier, Message, RoomError, UserDoesNotExistError
from errbot.backends.slack.identifiers import (
    SlackPerson,
    SlackRoom,
    SlackRoomOccupant,
    parse_identifier,
)

if TYPE_CHECKING:
    from errbot.backends.slack.client import SlackDirectory

__all__ = ["SlackAddressingMixin"]


class SlackAddressingMixin:
    """Mixed into `SlackBackend`; expects ``runtime``, ``directory``, ``bot_identifier``,
    ``bot_userid``, ``request_timeout`` and the rooms mixin's ``room_for``."""

    runtime: Any
    directory: SlackDirectory | None
    bot_identifier: Any
    bot_userid: str | None
    request_timeout: float

    def build_identifier(self, txtrep: str) -> Identifier:
        kind, parts = parse_identifier(txtrep)
        if kind == "room":
            return self.room_for(parts["channelid"], parts["channelname"])  # type: ignore[attr-defined]
        person = self._person(parts.get("userid"), parts.get("username"))
        if kind == "occupant":
            room = self.room_for(parts["channelid"], parts["channelname"])  # type: ignore[attr-defined]
            return SlackRoomOccupant(
                room,
                person.userid,
                username=person._username,
                fullname=person.fullname,
                email=person.email,
            )
        return person

    def _person(self, userid: str | None, username: str | None) -> SlackPerson:
        """A person with as much as is known; Slack is asked unless on the event loop (where
        the name is resolved when something is sent to them)."""
        directory = self.directory
        can_wait = directory is not None and self.runtime.running and not self.runtime.in_loop()
        if directory is not None and not userid and username:
            userid = directory.user_ids.get(username)
            if userid is None and can_wait:
                userid = self.runtime.run_sync(directory.user_id(username), self.request_timeout)
                if userid is None:
                    raise UserDoesNotExistError(f"No Slack user is called @{username}.")
        user: dict[str, Any] = {}
        if directory is not None and userid:
            user = directory.cached_user(userid) or {}
            if not user and can_wait:
                user = self.runtime.run_sync(directory.user(userid), self.request_timeout)
        profile = user.get("profile") or {}
        return SlackPerson(
            userid,
            username=user.get("name") or username,
            fullname=user.get("real_name") or profile.get("real_name"),
            email=profile.get("email"),
        )

    def query_room(self, room: str) -> SlackRoom:
        identifier = self.build_identifier(room)
        if isinstance(identifier, SlackRoomOccupant):
            return identifier.room
        if not isinstance(identifier, SlackRoom):
            raise RoomError(f"{room!r} is not a Slack channel (#name or C123).")
        return identifier

    def bot_occupant(self, room: SlackRoom) -> SlackRoomOccupant:
        bot = self.bot_identifier
        return SlackRoomOccupant(room, bot.userid, username=bot.username)

    def is_from_self(self, msg: Message) -> bool:
        frm = msg.frm
        return isinstance(frm, SlackPerson) and bool(frm.userid) and frm.userid == self.bot_userid

    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        reply = self.build_message(text or "")  # type: ignore[attr-defined]
        frm = msg.frm
        if msg.is_group and isinstance(frm, SlackRoomOccupant) and not private:
            reply.to = frm.room
            reply.frm = self.bot_occupant(frm.room)
        else:
            if isinstance(frm, SlackRoomOccupant):
                # A private answer to someone in a channel goes to their direct messages.
                frm = SlackPerson(frm.userid, username=frm._username, fullname=frm.fullname)
            reply.to = frm
            reply.frm = self.bot_identifier
        in_a_thread = bool(msg.extras.get("thread_ts"))
        if threaded or (in_a_thread and not (private and msg.is_group)):
            # A question asked in a thread is answered in that thread.
            reply.parent = msg
        return reply

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)  # type: ignore[misc]
        userid = getattr(identifier, "userid", None)
        who = f"<@{userid}>" if userid else f"@{getattr(identifier, 'nick', identifier)}"
        message.body = f"{who} {message.body}"
