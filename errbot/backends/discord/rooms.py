"""Identifier parsing and the rooms API of the Discord backend (a mixin of DiscordBackend).

Lookups read discord.py's caches (filled from the gateway), so they cost no request;
`set_channel_topic` is the only REST call here. Plugins call these from worker threads: the
caches are only read there, and the one write goes through the event loop.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from errbot.backends.base import (
    Identifier,
    Room,
    RoomDoesNotExistError,
    RoomError,
    RoomOccupant,
    UserDoesNotExistError,
    UserNotUniqueError,
)
from errbot.backends.discord.events import room_of
from errbot.backends.discord.identifiers import (
    CHANNEL_MENTION,
    SNOWFLAKE,
    USER_MENTION,
    DiscordPerson,
    DiscordRoom,
    DiscordRoomOccupant,
)

log = logging.getLogger(__name__)


class DiscordRoomsMixin:
    """Needs ``self._client`` (a discord.Client or None), ``self._default_guild`` (the
    DISCORD_GUILD setting) and ``self.runtime``."""

    _client: discord.Client | None
    _default_guild: str | None
    runtime: Any
    request_timeout: float

    # -- identifiers ----------------------------------------------------------------------
    def build_identifier(self, txtrep: str) -> Identifier:
        """``<@123>``, ``<@!123>`` or ``123`` is a user, as is ``@name``/``name`` (a unique
        username, or ``name#1234``); ``<#456>`` or ``#name`` is a channel (or thread)."""
        text = str(txtrep).strip()
        mention = USER_MENTION.fullmatch(text)
        if mention or SNOWFLAKE.fullmatch(text):
            return self._person(int(mention.group(1) if mention else text))
        if CHANNEL_MENTION.fullmatch(text) or text.startswith("#"):
            return self.query_room(text)
        if not text:
            raise ValueError("An empty Discord identifier: use <@id>, a username or <#id>.")
        return self._person_named(text.removeprefix("@"))

    def _person(self, user_id: int) -> DiscordPerson:
        user = self._client.get_user(user_id) if self._client is not None else None
        return DiscordPerson.from_user(user) if user is not None else DiscordPerson(user_id)

    def _person_named(self, name: str) -> DiscordPerson:
        found: dict[int, Any] = {}
        for user in self._all_users():
            legacy = f"{user.name}#{user.discriminator}"
            if name in (user.name, legacy) or (user.global_name and name == user.global_name):
                found[user.id] = user
        if not found:
            raise UserDoesNotExistError(f"No Discord user named {name!r} is known to the bot.")
        if len(found) > 1:
            ids = ", ".join(f"<@{uid}>" for uid in sorted(found))
            raise UserNotUniqueError(f"Several Discord users are named {name!r}: {ids}.")
        return DiscordPerson.from_user(next(iter(found.values())))

    def _all_users(self) -> list[Any]:
        return list(self._client.users) if self._client is not None else []

    # -- rooms ----------------------------------------------------------------------------
    def _guilds(self) -> list[discord.Guild]:
        """The guilds to search by name: DISCORD_GUILD (an id or a name) if set, else all."""
        client = self._client
        if client is None:
            return []
        guilds = list(client.guilds)
        wanted = self._default_guild
        if wanted:
            guilds = [g for g in guilds if str(g.id) == str(wanted) or g.name == str(wanted)]
        return guilds

    def query_room(self, room: str) -> DiscordRoom:
        text = str(room).strip()
        mention = CHANNEL_MENTION.fullmatch(text)
        if mention or SNOWFLAKE.fullmatch(text):
            channel_id = int(mention.group(1) if mention else text)
            channel = self._client.get_channel(channel_id) if self._client else None
            return room_of(channel) if channel is not None else DiscordRoom(channel_id)
        name = text.removeprefix("#")
        matches = [
            channel
            for guild in self._guilds()
            for channel in (*guild.text_channels, *guild.threads)
            if channel.name == name
        ]
        if not matches:
            raise RoomDoesNotExistError(
                f"No Discord channel named #{name} is visible to the bot"
                + (f" in the server {self._default_guild}." if self._default_guild else ".")
            )
        if len(matches) > 1:
            where = ", ".join(f"<#{c.id}> ({c.guild.name})" for c in matches)
            raise RoomError(
                f"Several channels are named #{name}: {where}. Use <#id>, or set DISCORD_GUILD."
            )
        return room_of(matches[0])

    def rooms(self) -> list[Room]:
        """The text channels of every server the bot is in that it may read."""
        found: list[Room] = []
        for guild in self._guilds() if self._client is not None else []:
            me = guild.me
            for channel in guild.text_channels:
                if me is None or channel.permissions_for(me).read_messages:
                    found.append(room_of(channel))
        return found

    def _channel(self, channel_id: int) -> Any:
        channel = self._client.get_channel(channel_id) if self._client is not None else None
        if channel is None:
            raise RoomDoesNotExistError(f"The Discord channel <#{channel_id}> is not visible.")
        return channel

    def channel_exists(self, channel_id: int) -> bool:
        return self._client is not None and self._client.get_channel(channel_id) is not None

    def channel_topic(self, channel_id: int) -> str | None:
        return getattr(self._channel(channel_id), "topic", None) or None

    def set_channel_topic(self, channel_id: int, topic: str) -> None:
        channel = self._channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise RoomError(f"<#{channel_id}> has no topic (only text channels have one).")
        coro = channel.edit(topic=topic)
        if self.runtime.in_loop():
            self.runtime.spawn(coro)  # async plugin code: the loop cannot wait for itself
            return
        try:
            self.runtime.run_sync(coro, timeout=self.request_timeout)
        except discord.HTTPException as exc:
            raise RoomError(f"Discord refused the topic of <#{channel_id}>: {exc}") from None

    def channel_occupants(self, room: DiscordRoom) -> list[RoomOccupant]:
        """Members who can read the channel (from the member cache: DISCORD_MEMBERS_INTENT);
        for a thread, those of its channel; for a DM, its recipient and the bot."""
        channel = self._channel(room.id)
        if isinstance(channel, discord.Thread):
            channel = channel.parent or channel
        if isinstance(channel, discord.DMChannel):
            members = [u for u in (channel.recipient, channel.me) if u is not None]
        else:
            members = list(getattr(channel, "members", []))
        return [DiscordRoomOccupant.from_member(m, room) for m in members]
