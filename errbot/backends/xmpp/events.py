"""Incoming XMPP stanzas turned into the bot's callbacks.

Runs on the bot's event loop (slixmpp's handlers). Handlers here are plain functions on
purpose: slixmpp runs them at once, in stanza order, before its MUC plugin updates its
occupant list, which is how a new occupant is told from a status change.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from errbot.backends.base import AWAY, DND, OFFLINE, ONLINE, Message, Presence
from errbot.backends.xmpp.identifiers import XMPPPerson

if TYPE_CHECKING:
    from errbot.backends.xmpp.backend import XMPPBackend
    from errbot.backends.xmpp.client import XMPPConnection
    from errbot.backends.xmpp.rooms import XMPPRoom

log = logging.getLogger(__name__)

_SHOW = {"": ONLINE, "chat": ONLINE, "away": AWAY, "xa": AWAY, "dnd": DND}
KICKED = 307
BANNED = 301


def _status(presence: Any) -> str:
    if presence["type"] in ("unavailable", "error"):
        return OFFLINE
    return _SHOW.get(str(presence["show"] or ""), ONLINE)


def _is_delayed(stanza: Any) -> bool:
    return stanza.get_plugin("delay", check=True) is not None


class EventTranslator:
    """Subscribes to one connection's events and calls the backend's callbacks."""

    def __init__(self, backend: XMPPBackend) -> None:
        self.bot = backend

    def attach(self, conn: XMPPConnection) -> None:
        self.conn = conn
        conn.add_event_handler("message", self.on_message)
        conn.add_event_handler("groupchat_presence", self.on_room_presence)
        conn.add_event_handler("presence", self.on_presence)
        conn.add_event_handler("groupchat_subject", self.on_subject)
        conn.add_event_handler("groupchat_invite", self.on_invite)

    # -- messages -----------------------------------------------------------------------
    def on_message(self, stanza: Any) -> None:
        kind = stanza["type"]
        body = stanza["body"]
        if kind in ("error", "headline") or not body:
            return
        sender = stanza["from"]
        bot = self.bot
        if kind == "groupchat":
            room = bot.known_room(sender.bare)
            nick = sender.resource
            if room is None or not room.joined or not nick:
                return  # not (yet) in the room, or the room service itself speaking
            if nick == room.joined_nick:
                return  # our own message, echoed back by the room
            if _is_delayed(stanza):
                return  # history replayed at join: already answered, or never for us
            frm = bot.occupant(room, nick)
            msg = Message(body, frm=frm, to=room, extras={"id": stanza["id"]})
            bot.callback_message(msg)
            self._mentions(msg, room)
            return
        room = bot.known_room(sender.bare) if sender.resource else None
        if room is not None:
            person: XMPPPerson = bot.occupant(room, sender.resource)  # a private message in a room
        else:
            person = XMPPPerson(sender.user, sender.domain, sender.resource or None)
        msg = Message(body, frm=person, to=bot.bot_identifier, extras={"id": stanza["id"]})
        # Offline storage delivers old messages with a delay: never run them as commands.
        msg.delayed = _is_delayed(stanza)
        bot.callback_message(msg)

    def _mentions(self, msg: Message, room: XMPPRoom) -> None:
        """``@nick`` or a leading ``nick:`` naming someone in the room (or the bot)."""
        nicks = set(self.conn.muc.rooms[None].get(self.conn_room(room), {}).keys())
        if room.joined_nick:
            nicks.add(room.joined_nick)
        body = msg.body
        mentioned = []
        for nick in sorted(nicks, key=len, reverse=True):
            escaped = re.escape(nick)
            if re.search(rf"(?<!\w)@{escaped}(?!\w)", body) or re.match(
                rf"\s*{escaped}\s*[:,]", body
            ):
                if nick == room.joined_nick:
                    mentioned.append(self.bot.bot_occupant(room))
                else:
                    mentioned.append(self.bot.occupant(room, nick))
        if mentioned:
            self.bot.callback_mention(msg, mentioned)

    @staticmethod
    def conn_room(room: XMPPRoom) -> Any:
        from slixmpp.jid import JID

        return JID(room.jid)

    # -- presence -----------------------------------------------------------------------
    def on_presence(self, presence: Any) -> None:
        # slixmpp reports the show value ("away", "dnd"...) as the presence's type.
        if presence["type"] not in ("available", "unavailable", *_SHOW):
            return  # subscription requests, errors, probes
        if presence.get_plugin("muc", check=True) is not None:
            return  # room presences are handled by on_room_presence
        sender = presence["from"]
        if sender == self.conn.boundjid or self.bot.known_room(sender.bare) is not None:
            return
        who = XMPPPerson(sender.user, sender.domain, sender.resource or None)
        self.bot.callback_presence(
            Presence(who, status=_status(presence), message=presence["status"] or None)
        )

    def on_room_presence(self, presence: Any) -> None:
        bot = self.bot
        if presence["type"] == "error":
            return
        room = bot.known_room(presence["from"].bare)
        nick = presence["from"].resource
        if room is None or not nick:
            return
        codes = set(presence["muc"]["status_codes"])
        unavailable = presence["type"] == "unavailable"
        if 110 in codes:  # about the bot itself
            if unavailable and room.joined and nick == room.joined_nick:
                actor = presence["muc"]["item"].get_plugin("actor", check=True)
                by = bot.occupant(room, actor["nick"]) if actor and actor["nick"] else None
                reason = "kicked" if KICKED in codes else "banned" if BANNED in codes else "left"
                log.warning("The bot is out of the room %s (%s).", room, reason)
                bot.room_lost(room, kicked_by=by)
            return
        if not room.joined:
            return  # the occupant list sent while joining, not people arriving
        real = presence["muc"]["jid"]
        occupant = bot.occupant(room, nick, str(real) if real and real.bare else None)
        roster = self.conn.muc.rooms[None].get(self.conn_room(room), {})
        if unavailable:
            actor = presence["muc"]["item"].get_plugin("actor", check=True)
            by = bot.occupant(room, actor["nick"]) if actor and actor["nick"] else None
            bot.callback_room_left(room, occupant, kicked_by=by)
        elif nick not in roster:
            bot.callback_room_joined(room, occupant)
        bot.callback_presence(
            Presence(occupant, status=_status(presence), message=presence["status"] or None)
        )

    # -- rooms --------------------------------------------------------------------------
    def on_subject(self, stanza: Any) -> None:
        room = self.bot.known_room(stanza["from"].bare)
        if room is None or not room.joined:
            return  # the subject sent at join is read by the join itself
        subject = stanza["subject"] or ""
        if subject != (room.subject or ""):
            room.subject = subject
            self.bot.callback_room_topic(room)

    def on_invite(self, stanza: Any) -> None:
        invite = stanza["muc"]["invite"]
        room_jid = stanza["from"].bare
        inviter = invite["from"]
        password = stanza["muc"]["password"] or None
        log.info("Invited to the room %s by %s.", room_jid, inviter)
        by: XMPPPerson | None = None
        if inviter and inviter.bare == room_jid and inviter.resource:
            # An anonymous room (Prosody's default) names the inviter by room nickname.
            by = self.bot.occupant(self.bot.query_room(room_jid), inviter.resource)
        elif inviter:
            by = XMPPPerson(inviter.user, inviter.domain, inviter.resource or None)
        self.bot.accept_invitation(room_jid, password, by)
