"""``/sync`` responses turned into the bot's callbacks.

Runs on the bot's event loop, once per sync response, in timeline order. The first sync of
the bot's life only records state (joined rooms, topics, pending invitations): its timeline
is history, and re-running old commands at every start would be wrong. Later syncs, even
after a reconnection, continue from the saved since-token, so messages sent while the bot
was cut off are answered once it is back.
"""

from __future__ import annotations

import collections
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nio import (
    InviteMemberEvent,
    PresenceEvent,
    ReactionEvent,
    RedactionEvent,
    RoomMemberEvent,
    RoomMessageEmote,
    RoomMessageText,
    RoomTopicEvent,
    SyncResponse,
)

from errbot.backends.base import (
    AWAY,
    OFFLINE,
    ONLINE,
    REACTION_ADDED,
    REACTION_REMOVED,
    Message,
    Presence,
    Reaction,
)
from errbot.backends.matrix.identifiers import MatrixPerson, MatrixRoomOccupant

if TYPE_CHECKING:
    from errbot.backends.matrix.backend import MatrixBackend
    from errbot.backends.matrix.rooms import MatrixRoom

log = logging.getLogger(__name__)

_PRESENCE = {"online": ONLINE, "unavailable": AWAY, "offline": OFFLINE}
# Events remembered for reactions (who wrote the message reacted to; what a redacted
# reaction was): enough for a busy afternoon, bounded for a bot running for months.
REMEMBERED_EVENTS = 2000


class EventTranslator:
    def __init__(self, backend: MatrixBackend) -> None:
        self.bot = backend
        # event ID -> sender (messages) or (sender, key, target event) (reactions)
        self._events: collections.OrderedDict[str, Any] = collections.OrderedDict()

    def _remember(self, event_id: str, value: Any) -> None:
        self._events[event_id] = value
        while len(self._events) > REMEMBERED_EVENTS:
            self._events.popitem(last=False)

    # -- one sync response --------------------------------------------------------------
    def handle(self, response: SyncResponse, initial: bool) -> None:
        bot = self.bot
        for event in response.account_data_events:
            if getattr(event, "type", None) == "m.direct":  # nio: UnknownAccountDataEvent
                bot.learn_direct_rooms(dict(getattr(event, "content", None) or {}))
        for room_id, info in response.rooms.join.items():
            room = bot.room_by_id(room_id)
            room.is_joined = True
            for event in info.state:
                self._state(room, event, quiet=True)
            for event in info.timeline.events:
                if initial:
                    self._state(room, event, quiet=True)
                    self._remember_event(event)
                else:
                    self.on_timeline(room, event)
        for room_id in response.rooms.leave:
            room = bot.room_by_id(room_id)
            if room.is_joined:
                room.is_joined = False
                log.warning("The bot is no longer in the room %s.", room)
                bot.callback_room_left(room, bot.bot_occupant(room))
        for room_id, info in response.rooms.invite.items():
            self.on_invite(room_id, info.invite_state)
        if not initial:
            for presence in response.presence_events:
                self.on_presence(presence)

    def _remember_event(self, event: Any) -> None:
        if isinstance(event, ReactionEvent):
            self._remember(event.event_id, (event.sender, event.key, event.reacts_to))
        elif getattr(event, "event_id", None):
            self._remember(event.event_id, event.sender)

    def _state(self, room: MatrixRoom, event: Any, quiet: bool) -> bool:
        """Room state the bot keeps; True when ``event`` was one."""
        if isinstance(event, RoomTopicEvent):
            topic = event.topic or None
            if topic != room.subject:
                room.subject = topic
                if not quiet:
                    self.bot.callback_room_topic(room)
            return True
        kind = getattr(event, "source", {}).get("type")
        if kind == "m.room.canonical_alias":
            alias = event.source.get("content", {}).get("alias")
            if alias:
                self.bot.learn_alias(room, alias)
            return True
        return False

    # -- timeline -------------------------------------------------------------------------
    def on_timeline(self, room: MatrixRoom, event: Any) -> None:
        bot = self.bot
        self._remember_event(event)
        sender = getattr(event, "sender", None)
        if sender == bot.user_id:
            return  # our own messages, and our own joins and topic changes
        if self._state(room, event, quiet=False):
            return
        if isinstance(event, RoomMessageText | RoomMessageEmote):
            self.on_message(room, event)
        elif isinstance(event, ReactionEvent):
            self.on_reaction(room, event, REACTION_ADDED, event.key, event.reacts_to)
        elif isinstance(event, RedactionEvent):
            removed = self._events.get(event.redacts)
            if isinstance(removed, tuple):  # a reaction taken back
                self.on_reaction(room, event, REACTION_REMOVED, removed[1], removed[2])
        elif isinstance(event, RoomMemberEvent):
            self.on_member(room, event)
        else:
            # m.notice (bots talking to bots), files, calls, stickers, polls, new types...
            kind = getattr(event, "source", {}).get("type", type(event).__name__)
            msgtype = getattr(event, "source", {}).get("content", {}).get("msgtype", "")
            log.debug("Ignored a %s %s event in %s.", kind, msgtype, room)

    def on_message(self, room: MatrixRoom, event: Any) -> None:
        bot = self.bot
        content = event.source.get("content", {})
        relation = content.get("m.relates_to") or {}
        if relation.get("rel_type") == "m.replace":
            log.debug("Ignored an edit in %s.", room)  # an edit is not a new command
            return
        thread_root = relation.get("event_id") if relation.get("rel_type") == "m.thread" else None
        body = strip_reply_fallback(event.body or "")
        name = bot.display_name_in(room, event.sender)
        extras = {
            "room_id": room.room_id,
            "event_id": event.event_id,
            "thread_root": thread_root,
            "matrix_event": event.source,
        }
        if bot.is_direct_room(room):
            frm: MatrixPerson = MatrixPerson(event.sender, name)
            msg = Message(bot.addressed(body), frm=frm, to=bot.bot_identifier, extras=extras)
            bot.callback_message(msg)
            return
        frm = MatrixRoomOccupant(room, event.sender, name)
        mentioned = self.mentions(room, content, body)
        if bot.user_id in [m.user_id for m in mentioned]:
            body = bot.addressed(body)
        msg = Message(body, frm=frm, to=room, extras=extras)
        bot.callback_message(msg)
        if mentioned:
            bot.callback_mention(msg, mentioned)

    def mentions(self, room: MatrixRoom, content: dict[str, Any], body: str) -> list[Any]:
        """Intentional mentions (``m.mentions``), else the bot's ID or name in the text."""
        bot = self.bot
        ids = list((content.get("m.mentions") or {}).get("user_ids") or [])
        if "m.mentions" not in content:
            # An older client: look for the bot's ID or display name as a word.
            names = [bot.user_id, bot.display_name or ""]
            for name in filter(None, names):
                if re.search(rf"(?<![\w@]){re.escape(name)}(?!\w)", body, re.IGNORECASE):
                    ids.append(bot.user_id)
                    break
        found = []
        for user_id in dict.fromkeys(ids):
            try:
                found.append(MatrixRoomOccupant(room, user_id, bot.display_name_in(room, user_id)))
            except ValueError:
                log.debug("Ignored a malformed mention %r in %s.", user_id, room)
        return found

    def on_reaction(
        self, room: MatrixRoom, event: Any, action: str, key: str, target: str
    ) -> None:
        bot = self.bot
        owner = self._events.get(target)
        reactor: MatrixPerson
        if bot.is_direct_room(room):
            reactor = MatrixPerson(event.sender, bot.display_name_in(room, event.sender))
        else:
            name = bot.display_name_in(room, event.sender)
            reactor = MatrixRoomOccupant(room, event.sender, name)
        owner_id = MatrixPerson(owner) if isinstance(owner, str) else None
        bot.callback_reaction(
            Reaction(
                reactor=reactor,
                reacted_to_owner=owner_id,
                action=action,
                timestamp=str(getattr(event, "server_timestamp", "")),
                reaction_name=key,
                reacted_to={"room_id": room.room_id, "event_id": target},
            )
        )

    def on_member(self, room: MatrixRoom, event: RoomMemberEvent) -> None:
        bot = self.bot
        before = (event.prev_content or {}).get("membership")
        after = event.membership
        who = MatrixRoomOccupant(room, event.state_key, bot.display_name_in(room, event.state_key))
        if after == "join" and before != "join":
            bot.callback_room_joined(room, who)
        elif after in ("leave", "ban") and before == "join":
            by = None
            if event.sender != event.state_key:
                by = MatrixRoomOccupant(room, event.sender, bot.display_name_in(room, event.sender))
            bot.callback_room_left(room, who, kicked_by=by)

    # -- invitations, presence ------------------------------------------------------------
    def on_invite(self, room_id: str, state: list[Any]) -> None:
        bot = self.bot
        inviter, direct = None, False
        for event in state:
            if isinstance(event, InviteMemberEvent) and event.state_key == bot.user_id:
                if event.membership == "invite":
                    inviter = event.sender
                    direct = bool((event.content or {}).get("is_direct"))
        if inviter is None:
            return
        bot.invited(room_id, MatrixPerson(inviter), direct)

    def on_presence(self, event: PresenceEvent) -> None:
        if event.user_id == self.bot.user_id:
            return
        status = _PRESENCE.get(event.presence)
        if status is None and not event.status_msg:
            log.debug("Ignored a presence %r of %s.", event.presence, event.user_id)
            return
        try:
            who = MatrixPerson(event.user_id)
        except ValueError:
            return
        self.bot.callback_presence(
            Presence(who, status=status, message=event.status_msg or None)
        )


_FALLBACK_LINE = re.compile(r"^> ")


def strip_reply_fallback(body: str) -> str:
    """Remove the quoted "> <@x:y> text" lines clients put before a reply's own text."""
    if not body.startswith("> <"):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and _FALLBACK_LINE.match(lines[index]):
        index += 1
    if index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:])


def mention_as_prefix(body: str, names: Sequence[str], prefix: str) -> str:
    """A message that starts with one of the bot's ``names`` and ``:`` or ``,`` (what
    clients insert when one clicks a name) is a command: "Errbot: help" reads "!help"."""
    for name in sorted(filter(None, set(names)), key=len, reverse=True):
        match = re.match(rf"\s*@?{re.escape(name)}\s*[:,]\s*(?=\S)", body, re.IGNORECASE)
        if match:
            rest = body[match.end() :]
            return rest if rest.startswith(prefix) else prefix + rest
    return body
