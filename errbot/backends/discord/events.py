"""discord.py events turned into the bot's callbacks (runs on the bot's event loop).

Messages: a DM is a direct message (``to`` is the bot); a message in a guild channel or a
thread is a group message whose ``to`` is that channel or thread, so replies land where the
question was asked. A leading mention of the bot (``<@id> status``) is rewritten to
``@botname status`` and ``@botname`` is an alternative prefix (set by the backend at READY):
Discord users address bots that way. Everyone mentioned is passed to ``callback_mention``.
"""

from __future__ import annotations

import datetime
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from errbot.backends.base import (
    AWAY,
    DND,
    OFFLINE,
    ONLINE,
    REACTION_ADDED,
    REACTION_REMOVED,
    Message,
    Presence,
    Reaction,
)
from errbot.backends.discord.identifiers import DiscordPerson, DiscordRoom, DiscordRoomOccupant

if TYPE_CHECKING:
    from errbot.backends.discord.backend import DiscordBackend

log = logging.getLogger(__name__)

_STATUS = {"online": ONLINE, "idle": AWAY, "dnd": DND, "offline": OFFLINE, "invisible": OFFLINE}
# Ordinary messages and replies; joins, pins, boosts, thread-created notices are not chat.
_CHAT_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def room_of(channel: Any) -> DiscordRoom:
    """The DiscordRoom for a discord.py channel or thread."""
    guild = getattr(channel, "guild", None)
    parent = getattr(channel, "parent_id", None) if isinstance(channel, discord.Thread) else None
    return DiscordRoom(
        channel.id, getattr(channel, "name", None), guild.id if guild else None, parent
    )


class EventTranslator:
    def __init__(self, backend: DiscordBackend) -> None:
        self.bot = backend

    # -- connection ---------------------------------------------------------------------
    def on_ready(self, client: discord.Client) -> None:
        self.bot.gateway_ready(client, resumed=False)

    def on_resumed(self, client: discord.Client) -> None:
        self.bot.gateway_ready(client, resumed=True)

    def on_disconnect(self, client: discord.Client) -> None:
        self.bot.gateway_lost(client)

    # -- messages -----------------------------------------------------------------------
    def on_message(self, client: discord.Client, message: discord.Message) -> None:
        me = client.user
        if me is not None and message.author.id == me.id:
            return  # our own message, echoed by the gateway
        if message.type not in _CHAT_TYPES:
            log.debug("Ignoring a Discord %s message.", message.type)
            return
        body = self._body(message.content, me)
        extras = {
            "id": message.id,
            "channel_id": message.channel.id,
            "guild_id": message.guild.id if message.guild else None,
            "url": message.jump_url,
            "attachments": [a.url for a in message.attachments],
        }
        bot = self.bot
        if message.guild is None:
            frm: DiscordPerson = DiscordPerson.from_user(message.author)
            msg = Message(body, frm=frm, to=bot.bot_identifier, extras=extras)
            bot.callback_message(msg)
            people: list[DiscordPerson] = [DiscordPerson.from_user(u) for u in message.mentions]
        else:
            room = room_of(message.channel)
            frm = DiscordRoomOccupant.from_member(message.author, room)
            msg = Message(body, frm=frm, to=room, extras=extras)
            bot.callback_message(msg)
            people = [DiscordRoomOccupant.from_member(u, room) for u in message.mentions]
        if people:
            bot.callback_mention(msg, people)

    def _body(self, content: str, me: Any) -> str:
        if me is None:
            return content
        lead = re.match(rf"\s*<@!?{me.id}>[\s:,]*", content)
        if lead:
            return f"@{me.name} {content[lead.end() :]}"
        return content

    # -- reactions ----------------------------------------------------------------------
    def on_reaction(self, client: discord.Client, payload: discord.RawReactionActionEvent) -> None:
        me = client.user
        if me is not None and payload.user_id == me.id:
            return
        bot = self.bot
        channel = client.get_channel(payload.channel_id)
        room = room_of(channel) if channel is not None and payload.guild_id else None
        user = payload.member or client.get_user(payload.user_id)
        if room is not None:
            reactor: DiscordPerson = (
                DiscordRoomOccupant.from_member(user, room)
                if user is not None
                else DiscordRoomOccupant(payload.user_id, room)
            )
        else:
            reactor = DiscordPerson.from_user(user) if user else DiscordPerson(payload.user_id)
        owner_id = payload.message_author_id
        owner = None
        if owner_id is not None:
            owner_user = client.get_user(owner_id)
            owner = DiscordPerson.from_user(owner_user) if owner_user else DiscordPerson(owner_id)
        added = payload.event_type == "REACTION_ADD"
        reaction = Reaction(
            reactor=reactor,
            reacted_to_owner=owner,
            action=REACTION_ADDED if added else REACTION_REMOVED,
            timestamp=datetime.datetime.now(datetime.UTC).isoformat(),
            reaction_name=payload.emoji.name or str(payload.emoji),
            reacted_to={
                "message_id": payload.message_id,
                "channel_id": payload.channel_id,
                "guild_id": payload.guild_id,
                "room": room,
                "emoji": str(payload.emoji),
            },
        )
        bot.callback_reaction(reaction)

    # -- presence and channels ----------------------------------------------------------
    def on_presence(self, client: discord.Client, before: Any, after: Any) -> None:
        old = _STATUS.get(str(before.status), ONLINE)
        new = _STATUS.get(str(after.status), ONLINE)
        old_text = _custom_status(before)
        new_text = _custom_status(after)
        if old == new and old_text == new_text:
            return  # an activity change (game, music) only
        who = DiscordPerson.from_user(after)
        self.bot.callback_presence(Presence(who, status=new, message=new_text))

    def on_channel_update(self, before: Any, after: Any) -> None:
        if getattr(before, "topic", None) != getattr(after, "topic", None):
            self.bot.callback_room_topic(room_of(after))


def _custom_status(member: Any) -> str | None:
    for activity in getattr(member, "activities", ()) or ():
        if isinstance(activity, discord.CustomActivity):
            return activity.name or activity.state
    return None
