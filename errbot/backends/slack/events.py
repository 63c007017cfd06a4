"""Slack events (from Socket Mode or the Events API) to the bot's callbacks.

Slack delivers an event at least once: a retried delivery (HTTP mode, when the answer was
late) or the same message seen as ``message`` and ``app_mention`` must run a command once,
so events are remembered by id and messages by (channel, ts) for a while.

Incoming text is turned back into what a person typed: ``<@U123>`` becomes ``@username``
(and the person goes to `callback_mention`), ``<#C123|general>`` becomes ``#general``,
``<https://x|x>`` the URL, entities are unescaped. A message starting with the bot's own
mention therefore starts with ``@botname``, which the backend adds to BOT_ALT_PREFIXES.
"""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING, Any

from errbot.backends.base import (
    AWAY,
    ONLINE,
    REACTION_ADDED,
    REACTION_REMOVED,
    Message,
    Presence,
    Reaction,
)
from errbot.backends.slack.client import CHANNEL_LINK, LINK, MENTION, SPECIAL
from errbot.backends.slack.identifiers import SlackPerson, SlackRoom, SlackRoomOccupant
from errbot.backends.slack.markup import unescape

if TYPE_CHECKING:
    from errbot.backends.slack.backend import SlackBackend

log = logging.getLogger(__name__)

__all__ = ["EventTranslator"]

# Message subtypes that are someone talking; the others (joins, edits, deletions, bots'
# own posts...) are not commands.
TALKING = frozenset({None, "thread_broadcast", "file_share", "me_message"})
SEEN_LIMIT = 2000


class _Seen:
    """A bounded set of recently seen keys."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self._keys: collections.OrderedDict[Any, None] = collections.OrderedDict()
        self._limit = limit

    def first_time(self, key: Any) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)
        return True


class EventTranslator:
    def __init__(self, backend: SlackBackend) -> None:
        self.backend = backend
        self._events = _Seen()
        self._messages = _Seen()

    async def handle(self, event: dict[str, Any], body: dict[str, Any] | None = None) -> None:
        """One event (the ``event`` of an ``event_callback`` envelope)."""
        event_id = (body or {}).get("event_id")
        if event_id and not self._events.first_time(event_id):
            log.debug("Slack: event %s delivered again, ignored.", event_id)
            return
        kind = event.get("type")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            log.debug("Slack: event of type %r ignored.", kind)
            return
        try:
            await handler(event)
        except Exception:
            log.exception("Slack: handling a %s event failed", kind)

    # -- identifiers -------------------------------------------------------------------
    async def person(self, userid: str, channelid: str | None = None) -> SlackPerson:
        user = await self.backend.directory.user(userid)
        return SlackPerson(userid, channelid, **_names(user))

    async def room(self, channelid: str) -> SlackRoom:
        info = await self.backend.directory.channel(channelid)
        return self.backend.room_for(channelid, (info or {}).get("name"))

    async def occupant(self, room: SlackRoom, userid: str) -> SlackRoomOccupant:
        user = await self.backend.directory.user(userid)
        return SlackRoomOccupant(room, userid, **_names(user))

    async def author(self, userid: str, channelid: str, direct: bool) -> Any:
        if direct:
            return await self.person(userid, channelid)
        return await self.occupant(await self.room(channelid), userid)

    # -- text --------------------------------------------------------------------------
    async def readable(self, text: str) -> tuple[str, list[str]]:
        """Slack's markup as typed text; also the ids of the people mentioned, in order."""
        mentioned: list[str] = []
        names: dict[str, str] = {}
        for userid in MENTION.findall(text):
            if userid not in mentioned:
                mentioned.append(userid)
                user = await self.backend.directory.user(userid)
                names[userid] = str(user.get("name") or userid)
        text = MENTION.sub(lambda m: "@" + names[m.group(1)], text)
        text = CHANNEL_LINK.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
        text = LINK.sub(lambda m: m.group(1).removeprefix("mailto:"), text)
        text = SPECIAL.sub(lambda m: "@" + m.group(1), text)
        return unescape(text), mentioned

    # -- messages ----------------------------------------------------------------------
    async def _on_message(self, event: dict[str, Any]) -> None:
        subtype = event.get("subtype")
        channelid = str(event.get("channel") or "")
        if subtype in ("channel_topic", "group_topic"):
            room = await self.room(channelid)
            self.backend.directory.channels.pop(channelid, None)  # the cached topic is stale
            self.backend.callback_room_topic(room)
            return
        if subtype not in TALKING:
            log.debug("Slack: message of subtype %r ignored.", subtype)
            return
        userid = event.get("user")
        own_bot = bool(event.get("bot_id")) and event.get("bot_id") == self.backend.bot_botid
        if not userid or userid == self.backend.bot_userid or own_bot:
            return
        ts = str(event.get("ts") or "")
        if ts and not self._messages.first_time((channelid, ts)):
            return  # the same message as app_mention and message
        direct = event.get("channel_type") == "im" or channelid.startswith("D")
        text, mentioned = await self.readable(str(event.get("text") or ""))
        text = self.backend.bot_mention_as_prefix(text)
        frm = await self.author(userid, channelid, direct)
        to = self.backend.bot_identifier if direct else frm.room
        thread_ts = event.get("thread_ts")
        extras = {
            "ts": ts,
            "thread_ts": thread_ts,
            "channel": channelid,
            "team": event.get("team"),
            "files": event.get("files") or [],
            "attachments": event.get("attachments"),
            "slack_event": event,
        }
        parent = None
        if thread_ts and thread_ts != ts:
            # A reply in a thread: its parent stands for the thread's root message.
            parent = Message("", extras={"ts": thread_ts, "channel": channelid})
        msg = Message(text, frm=frm, to=to, parent=parent, extras=extras)
        self.backend.callback_message(msg)
        if mentioned:
            people = [await self.person(uid) for uid in mentioned]
            self.backend.callback_mention(msg, people)

    _on_app_mention = _on_message

    # -- reactions ---------------------------------------------------------------------
    async def _reaction(self, event: dict[str, Any], action: str) -> None:
        item = dict(event.get("item") or {})
        channelid = item.get("channel")
        userid = str(event.get("user") or "")
        if channelid and not str(channelid).startswith("D"):
            reactor: Any = await self.occupant(await self.room(channelid), userid)
        else:
            reactor = await self.person(userid, channelid)
        owner = event.get("item_user")
        reaction = Reaction(
            reactor=reactor,
            reacted_to_owner=await self.person(owner) if owner else None,
            action=action,
            timestamp=event.get("event_ts"),
            reaction_name=event.get("reaction"),
            reacted_to=item,
        )
        self.backend.callback_reaction(reaction)

    async def _on_reaction_added(self, event: dict[str, Any]) -> None:
        await self._reaction(event, REACTION_ADDED)

    async def _on_reaction_removed(self, event: dict[str, Any]) -> None:
        await self._reaction(event, REACTION_REMOVED)

    # -- presence and rooms ----------------------------------------------------------------
    async def _on_presence_change(self, event: dict[str, Any]) -> None:
        users = event.get("users") or ([event["user"]] if event.get("user") else [])
        status = ONLINE if event.get("presence") == "active" else AWAY
        for userid in users:
            self.backend.callback_presence(Presence(await self.person(userid), status))

    async def _on_member_joined_channel(self, event: dict[str, Any]) -> None:
        room = await self.room(str(event.get("channel")))
        who = await self.occupant(room, str(event.get("user")))
        inviter = event.get("inviter")
        self.backend.callback_room_joined(
            room, who, await self.person(inviter) if inviter else None
        )

    async def _on_member_left_channel(self, event: dict[str, Any]) -> None:
        room = await self.room(str(event.get("channel")))
        self.backend.callback_room_left(room, await self.occupant(room, str(event.get("user"))))

    async def _on_channel_left(self, event: dict[str, Any]) -> None:
        room = await self.room(str(event.get("channel")))
        self.backend.callback_room_left(room, self.backend.bot_occupant(room))

    _on_group_left = _on_channel_left


def _names(user: dict[str, Any]) -> dict[str, Any]:
    profile = user.get("profile") or {}
    return {
        "username": user.get("name") or None,
        "fullname": user.get("real_name") or profile.get("real_name") or None,
        "email": profile.get("email") or None,
    }
