"""Identifiers and replies of the Mattermost backend: text to people and channels, the
lookups the event translator needs, who a reply goes to and in which thread."""

from __future__ import annotations

import re
from typing import Any

from mattermostautodriver.exceptions import MattermostError

from errbot.backends.base import Identifier, Message, Room
from errbot.backends.mattermost.client import MattermostConnection
from errbot.backends.mattermost.directory import Directory
from errbot.backends.mattermost.identifiers import MattermostPerson, MattermostRoomOccupant
from errbot.backends.mattermost.rooms import MattermostRoom

__all__ = ["MattermostAddressingMixin"]

_ID = re.compile(r"[a-z0-9]{26}")


class MattermostAddressingMixin:
    """Mixed into `MattermostBackend`; expects ``runtime``, ``connection``, ``directory``,
    ``bot_identifier``, ``userid``, ``team_name`` and ``_options``."""

    runtime: Any
    connection: MattermostConnection | None
    directory: Directory
    bot_identifier: MattermostPerson
    userid: str | None
    team_name: str
    _options: dict[str, Any]

    def build_identifier(self, txtrep: str) -> Identifier:
        """``@username``, ``~channel``, ``~team/channel``, ``~channel/@username``, or an id."""
        text = str(txtrep).strip()
        if text.startswith("~") and "/@" in text:
            room_text, _, name = text.rpartition("/@")
            room = self.query_room(room_text)
            return MattermostRoomOccupant(room, self._person(f"@{name}"))
        if text.startswith("~"):
            return self.query_room(text)
        if text.startswith("@"):
            return self._person(text)
        if _ID.fullmatch(text):
            if text in self.directory.rooms_by_id:
                return self.directory.rooms_by_id[text]
            return self._by_id(text)
        raise ValueError(
            f"{text!r} is not a Mattermost identifier: use @username, ~channel, "
            "~team/channel, ~channel/@username or an id."
        )

    def _person(self, text: str) -> MattermostPerson:
        known = self.directory.cached_user(text)
        if known is not None:
            return known
        if self.runtime.in_loop() or self.connection is None:
            # The loop cannot wait for itself: the id is looked up when it is needed.
            return MattermostPerson(username=text.lstrip("@"))
        return self.runtime.run_sync(
            self.directory.person_by_name(text, missing_ok=False), timeout=30
        )

    def _by_id(self, text: str) -> Identifier:
        known = self.directory.cached_user(text)
        if known is not None:
            return known
        if self.runtime.in_loop() or self.connection is None:
            return MattermostPerson(userid=text)

        async def look_up() -> Identifier:
            try:
                return await self.directory.person(text)
            except Exception:
                room = await self.directory.room_of(text)
                if room is None:
                    raise ValueError(f"{text} is neither a user nor a channel.") from None
                return room

        return self.runtime.run_sync(look_up(), timeout=30)

    def query_room(self, room: str) -> MattermostRoom:
        text = str(room).strip().lstrip("~")
        if _ID.fullmatch(text) and text in self.directory.rooms_by_id:
            return self.directory.rooms_by_id[text]
        team, _, name = text.rpartition("/")
        if not name:
            raise ValueError(f"{room!r} is not a channel name (~channel or ~team/channel).")
        return self.directory.room(name.lower(), team or self.team_name)

    def rooms(self) -> list[Room]:
        return [r for r in self.directory.rooms_by_id.values() if r.member]

    def known_channel(self, channelid: str) -> MattermostRoom | None:
        return self.directory.rooms_by_id.get(channelid)

    def team_name_of(self, team_id: str | None) -> str | None:
        return self.directory.team_name_of(team_id)

    # Used by the event translator (on the loop).
    async def person(self, userid: str) -> MattermostPerson:
        return await self.directory.person(userid)

    async def person_by_name(self, name: str) -> MattermostPerson | None:
        return await self.directory.person_by_name(name)

    async def room_of(self, channelid: str, refresh: bool = False) -> MattermostRoom | None:
        return await self.directory.room_of(channelid, refresh)

    async def post_of(self, post_id: str) -> dict[str, Any] | None:
        conn = self.connection
        if conn is None or not post_id:
            return None
        try:
            return await conn.call("get post", conn.driver.posts.get_post, post_id)
        except MattermostError:
            return None

    def remember_direct_channel(self, person: MattermostPerson, channel_id: Any) -> None:
        if person.userid and channel_id:
            self.directory.direct[person.userid] = str(channel_id)

    def post_url(self, post: dict[str, Any]) -> str:
        o = self._options
        default = (o["scheme"] == "https" and o["port"] == 443) or o["port"] == 80
        port = "" if default else f":{o['port']}"
        return f"{o['scheme']}://{o['url']}{port}/{self.team_name}/pl/{post.get('id')}"

    def bot_occupant(self, room: MattermostRoom) -> MattermostRoomOccupant:
        return MattermostRoomOccupant(room, self.bot_identifier)

    def is_from_self(self, msg: Message) -> bool:
        frm = msg.frm
        return (
            isinstance(frm, MattermostPerson) and bool(self.userid) and (frm.userid == self.userid)
        )

    # -- replies ------------------------------------------------------------------------
    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        reply = self.build_message(text or "")  # type: ignore[attr-defined]
        frm = msg.frm
        if msg.is_group and isinstance(frm, MattermostRoomOccupant) and not private:
            reply.to = frm.room
            reply.frm = self.bot_occupant(frm.room)
        else:
            reply.to = (
                MattermostPerson(frm.userid, frm.username)
                if isinstance(frm, MattermostRoomOccupant)
                else frm
            )
            reply.frm = self.bot_identifier
        # A message in a thread is answered in that thread, threaded or not.
        if threaded or msg.extras.get("root_id"):
            reply.parent = msg
        return reply

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)  # type: ignore[misc]
        message.body = f"@{getattr(identifier, 'nick', identifier)} {message.body}"
