"""Websocket events of Mattermost turned into the bot's callbacks.

Runs on the bot's event loop, one event at a time in the order the server sent them (the
websocket is not read while an event is being handled, so a reply never overtakes the
message it answers). Events the bot has no use for are logged at debug level and ignored.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

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
from errbot.backends.mattermost.client import event_data
from errbot.backends.mattermost.identifiers import MattermostPerson, MattermostRoomOccupant
from errbot.backends.mattermost.rooms import DIRECT

if TYPE_CHECKING:
    from errbot.backends.mattermost.backend import MattermostBackend

log = logging.getLogger(__name__)

_STATUS = {"online": ONLINE, "away": AWAY, "dnd": DND, "offline": OFFLINE}
_MENTION = re.compile(r"(?<![\w@])@([a-z0-9][a-z0-9._-]*[a-z0-9]|[a-z0-9])", re.IGNORECASE)
# Post types that are not people talking: joins, leaves, header changes, ...
_SYSTEM = "system_"


class EventTranslator:
    def __init__(self, backend: MattermostBackend) -> None:
        self.bot = backend

    async def handle(self, raw: str) -> None:
        """The websocket handler: never raises (that would end the session)."""
        try:
            event = json.loads(raw)
        except ValueError:
            log.debug("Ignoring a websocket frame that is not JSON: %.200s", raw)
            return
        try:
            await self.dispatch(event)
        except Exception:
            log.exception("Handling the Mattermost event %s failed", event.get("event"))

    async def dispatch(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind is None:
            if event.get("status") == "FAIL":
                log.error("The Mattermost websocket refused a request: %s", event.get("error"))
            return  # replies to our own requests (seq_reply)
        handler = getattr(self, f"on_{kind}", None)
        if handler is None:
            log.debug("Ignoring the Mattermost event %r.", kind)
            return
        await handler(event)

    # -- session ------------------------------------------------------------------------
    async def on_hello(self, event: dict[str, Any]) -> None:
        self.bot.session_ready(event_data(event, "server_version"))

    # -- messages -----------------------------------------------------------------------
    async def on_posted(self, event: dict[str, Any]) -> None:
        post = event_data(event, "post")
        if not isinstance(post, dict):
            log.debug("Ignoring a posted event without a post.")
            return
        bot = self.bot
        if post.get("user_id") == bot.userid or str(post.get("type") or "").startswith(_SYSTEM):
            return  # our own posts echoed back, and system messages
        props = post.get("props") or {}
        if props.get("from_webhook") == "true" and not bot.answer_webhooks:
            return
        sender = await bot.person(post.get("user_id", ""))
        channel_type = (event.get("data") or {}).get("channel_type")
        extras = {
            "id": post.get("id"),
            "root_id": post.get("root_id") or None,
            "channel_id": post.get("channel_id"),
            "post": post,
            "url": bot.post_url(post),
        }
        text = post.get("message") or ""
        if channel_type == DIRECT:
            bot.remember_direct_channel(sender, post.get("channel_id"))
            msg = Message(text, frm=sender, to=bot.bot_identifier, extras=extras)
            bot.callback_message(msg)
            return
        room = await bot.room_of(post.get("channel_id", ""))
        if room is None:
            return
        msg = Message(text, frm=MattermostRoomOccupant(room, sender), to=room, extras=extras)
        bot.callback_message(msg)
        mentioned = await self._mentions(event, text, room)
        if mentioned:
            bot.callback_mention(msg, mentioned)

    async def _mentions(self, event: dict[str, Any], text: str, room: Any) -> list[Any]:
        """The people a channel message mentions: the user ids the server lists (it may send
        only those relevant to the bot) and the ``@username`` words of the text that are
        users."""
        bot = self.bot
        ids = event_data(event, "mentions")
        people: dict[str, MattermostPerson] = {}
        for userid in ids if isinstance(ids, list) else ():
            person = await bot.person(str(userid))
            people[person.userid or person.person] = person
        for name in dict.fromkeys(m.lower().rstrip(".") for m in _MENTION.findall(text)):
            found = await bot.person_by_name(name)
            if found is not None:
                people.setdefault(found.userid or found.person, found)
        return [MattermostRoomOccupant(room, p) for p in people.values()]

    async def on_post_edited(self, event: dict[str, Any]) -> None:
        log.debug("Ignoring an edited post (commands run once, when posted).")

    # -- reactions ----------------------------------------------------------------------
    async def on_reaction_added(self, event: dict[str, Any]) -> None:
        await self._reaction(event, REACTION_ADDED)

    async def on_reaction_removed(self, event: dict[str, Any]) -> None:
        await self._reaction(event, REACTION_REMOVED)

    async def _reaction(self, event: dict[str, Any], action: str) -> None:
        reaction = event_data(event, "reaction")
        if not isinstance(reaction, dict):
            return
        bot = self.bot
        if reaction.get("user_id") == bot.userid:
            return
        reactor = await bot.person(reaction.get("user_id", ""))
        post = await bot.post_of(reaction.get("post_id", ""))
        owner = await bot.person(post["user_id"]) if post and post.get("user_id") else None
        bot.callback_reaction(
            Reaction(
                reactor=reactor,
                reacted_to_owner=owner,
                action=action,
                timestamp=str(reaction.get("create_at") or ""),
                reaction_name=reaction.get("emoji_name", ""),
                reacted_to=post or {"id": reaction.get("post_id")},
            )
        )

    # -- presence -----------------------------------------------------------------------
    async def on_status_change(self, event: dict[str, Any]) -> None:
        data = event.get("data") or {}
        userid = data.get("user_id")
        if not userid or userid == self.bot.userid:
            return
        status = _STATUS.get(str(data.get("status")), ONLINE)
        self.bot.callback_presence(Presence(await self.bot.person(userid), status=status))

    # -- channels -----------------------------------------------------------------------
    async def on_user_added(self, event: dict[str, Any]) -> None:
        """Someone joined a channel (or was added); ``broadcast.channel_id`` is the channel."""
        userid = (event.get("data") or {}).get("user_id")
        channelid = (event.get("broadcast") or {}).get("channel_id")
        if not userid or not channelid:
            return
        bot = self.bot
        if userid == bot.userid:
            room = await bot.room_of(channelid, refresh=True)
            if room is not None and not room.member:
                room.member = True
                bot.callback_room_joined(room, bot.bot_occupant(room))
            return
        room = await bot.room_of(channelid)
        if room is not None:
            person = await bot.person(userid)
            bot.callback_room_joined(room, MattermostRoomOccupant(room, person))

    async def on_user_removed(self, event: dict[str, Any]) -> None:
        """Someone left a channel. Sent to the channel (``data.user_id`` left) and to the
        person removed (``broadcast.user_id``, with ``data.channel_id``)."""
        data = event.get("data") or {}
        broadcast = event.get("broadcast") or {}
        bot = self.bot
        if broadcast.get("user_id") == bot.userid and data.get("channel_id"):
            room = await bot.room_of(data["channel_id"])
            if room is not None and room.member:
                room.member = False
                remover = data.get("remover_id")
                by = await bot.person(remover) if remover and remover != bot.userid else None
                bot.callback_room_left(room, bot.bot_occupant(room), by)
            return
        userid, channelid = data.get("user_id"), broadcast.get("channel_id")
        if userid and channelid and userid != bot.userid:
            room = await bot.room_of(channelid)
            if room is not None:
                person = await bot.person(userid)
                bot.callback_room_left(room, MattermostRoomOccupant(room, person))

    async def on_channel_updated(self, event: dict[str, Any]) -> None:
        channel = event_data(event, "channel")
        if not isinstance(channel, dict) or not channel.get("id"):
            return
        room = self.bot.known_channel(channel["id"])
        if room is None:
            return
        before = room.header
        room.describe(channel, self.bot.team_name_of(channel.get("team_id")))
        if room.header != before:
            self.bot.callback_room_topic(room)

    async def on_channel_deleted(self, event: dict[str, Any]) -> None:
        channelid = (event.get("data") or {}).get("channel_id")
        room = self.bot.known_channel(channelid) if channelid else None
        if room is not None and room.member:
            room.member = False
            self.bot.callback_room_left(room, self.bot.bot_occupant(room))
