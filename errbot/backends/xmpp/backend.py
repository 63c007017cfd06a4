"""The XMPP backend (``BACKEND = "XMPP"``), built on slixmpp.

Threads: slixmpp runs on the bot's own event loop (``self.runtime.loop``), so there is one
loop per bot and `async def` plugin code shares it with the network client. The thread that
calls `serve_forever` only supervises: it waits for connections to start and end, applies
the reconnection back-off and activates the plugins. `send_message` is always run on the
loop (``loop_affine``); a call from any other thread is handed over, which is what makes
``self.send()`` from webhooks and pollers work (Errbot #1532).

Connections: a new slixmpp client per attempt. When the connection drops the plugins stay
active, rooms are remembered and rejoined, and messages sent meanwhile wait in a bounded
queue. Failures that retrying will not fix soon (password, certificate) are logged with the
setting to change and retried slowly. See docs/backends/xmpp.md.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import weakref
from typing import Any

from errbot.backends.base import Identifier, Message, Room, RoomError, RoomOccupant
from errbot.backends.network import NetworkBackendMixin
from errbot.backends.xmpp import identifiers
from errbot.backends.xmpp.client import (
    AUTH_FAILED,
    BAD_CERTIFICATE,
    CONNECTED,
    NO_MECHANISM,
    TIMED_OUT,
    UNREACHABLE,
    NickTakenError,
    XMPPConnection,
    make_ssl_context,
    tls_minimum_version,
    xhtml_body,
)
from errbot.backends.xmpp.events import EventTranslator
from errbot.backends.xmpp.identifiers import XMPPPerson, XMPPRoomOccupant, split_jid
from errbot.backends.xmpp.rooms import XMPPRoom
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

__all__ = ["XMPPBackend", "XMPPPerson", "XMPPRoom", "XMPPRoomOccupant"]


def _server(value: Any) -> tuple[str | None, int | None]:
    """BOT_IDENTITY["server"]: ``"host"``, ``"host:port"``, ``("host",)`` or ``("host", port)``."""
    if not value:
        return None, None
    if isinstance(value, str):
        host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
        return (host, int(port)) if port else (value, None)
    parts = list(value)
    if not parts or not isinstance(parts[0], str):
        raise ValueError(f"BOT_IDENTITY['server'] must be (host, port), not {value!r}")
    return parts[0], int(parts[1]) if len(parts) > 1 and parts[1] else None


class XMPPBackend(NetworkBackendMixin, ErrBot):
    """A bot on an XMPP server: direct messages, MUC rooms, presence."""

    loop_affine = True

    # Reconnection back-off (seconds): capped; a refused login or certificate is retried no
    # sooner than `refusal_retry_delay`, since hammering a server with a wrong password
    # changes nothing and may get the account locked.
    reconnect_initial_delay = 1.0
    reconnect_factor = 1.75
    reconnect_max_delay = 300.0
    reconnect_jitter = 1.0
    refusal_retry_delay = 60.0
    refusal_outcomes = (AUTH_FAILED, NO_MECHANISM, BAD_CERTIFICATE)
    # How long to wait for a session to start, and for any one server request.
    connect_timeout = 30.0
    request_timeout = 15.0
    # Messages kept while disconnected; beyond this, sends are refused (and logged).
    send_queue_limit = 1000
    # Other room nicknames tried (nick_, nick__...) when the wanted one is taken.
    nick_variants = 3
    close_timeout = 5.0
    close_failure_text = "Closing the XMPP stream failed"
    operation_failure_text = "XMPP room operation %s failed: %s"

    def __init__(self, config: Any) -> None:
        identity = dict(getattr(config, "BOT_IDENTITY", None) or {})
        username = identity.get("username")
        if not username:
            raise ValueError("BOT_IDENTITY['username'] must be the bot's JID (bot@example.org)")
        node, domain, resource = split_jid(str(username))
        if not node:
            raise ValueError(f"BOT_IDENTITY['username'] {username!r} needs a user part")
        self.bot_identifier = XMPPPerson(node, domain, resource)
        super().__init__(config)
        self._jid = str(username)
        self._password = str(identity.get("password") or "")
        self._host, self._port = _server(identity.get("server"))
        self._direct_tls = bool(getattr(config, "XMPP_DIRECT_TLS", False))
        ca_file = getattr(config, "XMPP_CA_CERT_FILE", None)
        if ca_file:
            import os

            if not os.path.isfile(ca_file):
                raise ValueError(f"XMPP_CA_CERT_FILE {ca_file!r} is not a readable file")
        self._ssl_context = make_ssl_context(
            ca_file, tls_minimum_version(getattr(config, "XMPP_SSL_VERSION", None))
        )
        self._mechanisms = dict(getattr(config, "XMPP_FEATURE_MECHANISMS", None) or {})
        self._keepalive = getattr(config, "XMPP_KEEPALIVE_INTERVAL", None)
        self._use_ipv6 = bool(getattr(config, "XMPP_USE_IPV6", False))
        self.xhtmlim = bool(getattr(config, "XMPP_XHTML_IM", False))
        from errbot.rendering import text, xhtml

        self._text = text()
        self._xhtml = xhtml() if self.xhtmlim else None
        self._rooms: dict[str, XMPPRoom] = {}
        self._muc_domains: set[str] = set()
        self._conn: XMPPConnection | None = None
        self._attempt: XMPPConnection | None = None  # the newest connection, even failed
        self._events = EventTranslator(self)
        self._queue: collections.deque[Message] = collections.deque()
        self.connections = 0
        self.last_failure: str | None = None
        identifiers.live_backend = weakref.ref(self)

    @property
    def mode(self) -> str:
        return "xmpp"

    @property
    def connected(self) -> bool:
        """Whether a session is up and its rooms rejoined (sends go out at once)."""
        return self._conn is not None

    # -- serving ------------------------------------------------------------------------
    def serve_forever(self) -> None:
        self._reconnect_forever(
            self._serve_connection,
            "The XMPP connection failed unexpectedly",
            "Reconnecting to the XMPP server in %.1f s.",
        )

    def serve_once(self) -> bool:
        """One connection, served until it ends; True when the bot is stopping."""
        self._serve_connection()
        return self._stop.is_set()

    def _serve_connection(self) -> str | None:
        self.connections += 1
        outcome = self._wait(self._open())
        if outcome != CONNECTED:
            return outcome
        self.reset_reconnection_count()
        self._activate_plugins()
        self._wait(self._until_disconnected())
        return None

    def _new_connection(self) -> XMPPConnection:
        conn = XMPPConnection(
            self._jid,
            self._password,
            ssl_context=self._ssl_context,
            direct_tls=self._direct_tls,
            use_ipv6=self._use_ipv6,
            mechanisms=self._mechanisms,
            xhtml=self.xhtmlim,
            keepalive=self._keepalive,
            request_timeout=self.request_timeout,
        )
        self._events.attach(conn)
        return conn

    async def _open(self) -> str:
        conn = self._new_connection()
        self._attempt = conn
        outcome = await conn.open(self._host, self._port, self.connect_timeout)
        if outcome != CONNECTED:
            if not self._stop.is_set():
                self._log_failure(outcome, conn.failure_detail)
            await conn.close(0.5)
            return outcome
        log.info("Connected to the XMPP server as %s.", conn.boundjid)
        self.last_failure = None
        self._muc_domains |= await conn.muc_services()
        await self._rejoin_rooms(conn)
        self._conn = conn
        self._flush_queue(conn)
        return CONNECTED

    async def _until_disconnected(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            reason = await asyncio.shield(conn.ended)
        finally:
            self._conn = None
            for room in self._rooms.values():
                room.joined_nick = None
            await conn.close(0.5)
        if not self._stop.is_set():
            log.warning("Disconnected from the XMPP server%s.", f" ({reason})" if reason else "")

    def _log_failure(self, outcome: str, detail: str) -> None:
        why = f" ({detail})" if detail else ""
        where = f"{self._host or self.bot_identifier.domain}:{self._port or 'default port'}"
        if outcome == AUTH_FAILED:
            text = (
                f"The XMPP server refused the login of {self._jid}{why}: check "
                "BOT_IDENTITY['username'] and BOT_IDENTITY['password']."
            )
        elif outcome == NO_MECHANISM:
            text = (
                "No authentication mechanism acceptable to both the bot and the server: the "
                "connection may not be encrypted (see XMPP_FEATURE_MECHANISMS)."
            )
        elif outcome == BAD_CERTIFICATE:
            text = (
                f"The certificate of the XMPP server {where} is not trusted{why}: set "
                "XMPP_CA_CERT_FILE to the CA certificate that signed it."
            )
        elif outcome == UNREACHABLE:
            text = (
                f"Cannot reach the XMPP server {where}{why}: check BOT_IDENTITY['server'] "
                "(and XMPP_DIRECT_TLS, XMPP_USE_IPV6)."
            )
        elif outcome == TIMED_OUT:
            text = (
                f"No XMPP session with {where}{why}. If that port speaks TLS directly "
                "(usually 5223), set XMPP_DIRECT_TLS = True."
            )
        else:
            text = f"The XMPP server {where} closed the connection before login{why}."
        self.last_failure = outcome
        log.error(text)

    # -- stopping (the shutdown template is NetworkBackendMixin's) ------------------------
    async def _close(self) -> None:
        if self._queue:
            log.warning("Stopping with %d unsent XMPP messages.", len(self._queue))
        for conn in {c for c in (self._conn, self._attempt) if c}:
            await conn.close()
        self._conn = self._attempt = None

    # -- sending ------------------------------------------------------------------------
    def send_message(self, msg: Message) -> None:
        if not self.runtime.in_loop():
            # A direct call from another thread (split_and_send_message already hands
            # over): slixmpp must only be used on its loop.
            self.runtime.call_soon(self.send_message, msg)
            return
        super().send_message(msg)
        conn = self._conn
        if conn is None or self._queue:
            self._enqueue(msg)
            return
        self._deliver(conn, msg)

    def _enqueue(self, msg: Message) -> None:
        if len(self._queue) >= self.send_queue_limit:
            log.error(
                "Not connected to the XMPP server and %d messages are already waiting: "
                "the message to %s is dropped.",
                len(self._queue),
                msg.to,
            )
            return
        if not self._queue:
            log.warning("Not connected to the XMPP server: messages wait for the connection.")
        self._queue.append(msg)

    def _flush_queue(self, conn: XMPPConnection) -> None:
        if self._queue:
            log.info("Sending %d messages queued while disconnected.", len(self._queue))
        while self._queue:
            self._deliver(conn, self._queue.popleft())

    def _deliver(self, conn: XMPPConnection, msg: Message) -> None:
        to = msg.to
        if isinstance(to, XMPPRoom):
            kind, address = "groupchat", to.jid
        elif isinstance(to, XMPPPerson):
            kind, address = "chat", to.jid
        else:
            kind, address = "chat", str(to)
        stanza = conn.make_message(mto=address, mbody=self._text.convert(msg.body), mtype=kind)
        if self._xhtml is not None:
            html = xhtml_body(self._xhtml.convert(msg.body))
            if html is not None:
                stanza["html"]["body"] = html
        stanza.send()

    # -- identifiers ----------------------------------------------------------------------
    def build_identifier(self, txtrep: str) -> Identifier:
        """A JID: ``user@host[/resource]`` is a person; a room's JID (a room the bot knows,
        or on a MUC service of its server) is a room, and ``room/nick`` its occupant."""
        text = str(txtrep).strip()
        node, domain, resource = split_jid(text)
        bare = f"{node}@{domain}" if node else domain
        if node and (bare in self._rooms or domain in self._muc_domains):
            room = self.query_room(bare)
            return self.occupant(room, resource) if resource else room
        return XMPPPerson(node, domain, resource)

    def query_room(self, room: str) -> XMPPRoom:
        node, domain, _ = split_jid(str(room).strip())
        bare = f"{node}@{domain}"
        existing = self._rooms.get(bare)
        if existing is None:
            existing = self._rooms.setdefault(bare, XMPPRoom(bare, self))
        return existing

    def known_room(self, jid: str) -> XMPPRoom | None:
        return self._rooms.get(str(jid))

    def rooms(self) -> list[Room]:
        return [room for room in self._rooms.values() if room.joined]

    def occupant(self, room: XMPPRoom, nick: str, real_jid: str | None = None) -> XMPPRoomOccupant:
        """``room/nick``, with the real JID when the room shows it to the bot."""
        if real_jid is None and self._conn is not None:
            entry = self._conn.muc.rooms[None].get(self._events.conn_room(room), {}).get(nick)
            if entry and entry.get("jid"):
                real_jid = str(entry["jid"]) or None
        return XMPPRoomOccupant(room, nick, real_jid)

    def bot_occupant(self, room: XMPPRoom) -> XMPPRoomOccupant:
        nick = room.joined_nick or str(getattr(self.bot_config, "CHATROOM_FN", "Errbot"))
        return XMPPRoomOccupant(room, nick, self.bot_identifier.bare_jid)

    def room_occupants(self, room: XMPPRoom) -> list[RoomOccupant]:
        conn = self._conn
        if conn is None:
            raise RoomError("Not connected to the XMPP server.")
        entries = dict(conn.muc.rooms[None].get(self._events.conn_room(room), {}))
        return [
            XMPPRoomOccupant(room, nick, str(entry.get("jid") or "") or None)
            for nick, entry in sorted(entries.items())
        ]

    def is_from_self(self, msg: Message) -> bool:
        frm = msg.frm
        if isinstance(frm, XMPPRoomOccupant):
            return frm.nick == frm.room.joined_nick
        if isinstance(frm, XMPPPerson):
            conn = self._conn
            mine = str(conn.boundjid) if conn is not None else self.bot_identifier.jid
            return frm.jid == mine
        return False

    # -- replies ----------------------------------------------------------------------------
    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        reply = self.build_message(text or "")
        frm = msg.frm
        if msg.is_group and isinstance(frm, XMPPRoomOccupant) and not private:
            reply.to = frm.room
            reply.frm = self.bot_occupant(frm.room)
        else:
            # A private reply to someone in a room goes to their occupant JID (a MUC
            # private message), the only address the bot may know.
            reply.to = frm
            reply.frm = self.bot_identifier
        if threaded:
            reply.parent = msg
        return reply

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)
        message.body = f"@{getattr(identifier, 'nick', identifier)} {message.body}"

    def change_presence(self, status: str = "online", message: str = "") -> None:
        show = {"online": "", "away": "away", "dnd": "dnd", "offline": ""}.get(status, "")

        def send() -> None:
            conn = self._conn
            if conn is None:
                log.warning("Not connected to the XMPP server: presence not changed.")
                return
            if status == "offline":
                conn.send_presence(ptype="unavailable", pstatus=message or None)
                return  # not to the rooms: "unavailable" there means leaving them
            conn.send_presence(pshow=show or None, pstatus=message or None)
            # A room only sees the presence sent to it (XEP-0045 7.7): tell each joined room,
            # or its occupants would keep seeing the bot as it was when it joined.
            for room in self._rooms.values():
                if room.joined_nick:
                    conn.send_presence(
                        pto=f"{room.jid}/{room.joined_nick}",
                        pshow=show or None,
                        pstatus=message or None,
                    )

        self.runtime.call_soon(send)

    # -- rooms (called by XMPPRoom, from any thread) -------------------------------------------
    def _connection(self) -> XMPPConnection:
        if self._conn is None:
            raise RoomError("Not connected to the XMPP server.")
        return self._conn

    async def _room_join(
        self, room: XMPPRoom, nick: str, password: str | None, invited_by: Any = None
    ) -> None:
        room.nick, room.password, room.wanted = nick, password, True
        if room.joined:
            return
        conn = self._conn
        if conn is None:
            log.warning("Not connected: the room %s will be joined once connected.", room)
            return
        await self._join(conn, room, invited_by)

    async def _join(self, conn: XMPPConnection, room: XMPPRoom, invited_by: Any = None) -> None:
        nick = room.nick or str(getattr(self.bot_config, "CHATROOM_FN", "Errbot"))
        try:
            joined_nick, subject = await self._join_as(conn, room, nick)
        except RoomError as exc:
            room.wanted = False
            log.error("%s", exc)
            raise
        room.joined_nick, room.subject = joined_nick, subject or None
        self._muc_domains.add(room.domain)  # JIDs on this domain are rooms from now on
        log.info("Joined the room %s as %s.", room, joined_nick)
        self.callback_room_joined(room, self.bot_occupant(room), invited_by)

    async def _join_as(self, conn: XMPPConnection, room: XMPPRoom, nick: str) -> tuple[str, str]:
        """Join as ``nick``, or, when someone else holds it, as ``nick_``, ``nick__``... (the
        way IRC bots do), so a taken nickname does not keep the bot out of the room."""
        for extra in range(self.nick_variants + 1):
            try:
                return await conn.join_room(room.jid, nick + "_" * extra, room.password)
            except NickTakenError as exc:
                if extra == self.nick_variants:
                    raise
                log.warning("%s Trying %s.", exc, nick + "_" * (extra + 1))
        raise AssertionError("unreachable")

    async def _rejoin_rooms(self, conn: XMPPConnection) -> None:
        wanted = [room for room in self._rooms.values() if room.wanted and not room.joined]
        results = await asyncio.gather(
            *(self._join(conn, room) for room in wanted), return_exceptions=True
        )
        for room, result in zip(wanted, results, strict=True):
            if isinstance(result, BaseException):
                log.error("Could not rejoin the room %s: %s", room, result)

    def accept_invitation(self, room_jid: str, password: str | None, by: Any) -> None:
        room = self.query_room(room_jid)
        if room.joined:
            return
        room.password = password or room.password
        room.nick, room.wanted = room.nick or None, True
        conn = self._conn
        if conn is not None:
            self.runtime.spawn(self._logged(self._join(conn, room, by), f"join {room}"))

    def room_lost(self, room: XMPPRoom, kicked_by: Any = None) -> None:
        """The bot was kicked, banned, or the room was destroyed: do not rejoin it."""
        room.joined_nick, room.wanted = None, False
        self.callback_room_left(room, self.bot_occupant(room), kicked_by)

    async def _room_leave(self, room: XMPPRoom, reason: str | None) -> None:
        room.wanted = False
        nick = room.joined_nick
        if nick is None:
            return
        room.joined_nick = None  # before the server's answer: that presence is not a kick
        if self._conn is not None:
            self._conn.leave_room(room.jid, nick, reason)
        self.callback_room_left(room, self.bot_occupant(room))

    async def _room_destroy(self, room: XMPPRoom) -> None:
        conn = self._connection()
        await conn.destroy_room(room.jid)
        was_joined = room.joined
        room.joined_nick, room.wanted, room.subject = None, False, None
        if was_joined:
            self.callback_room_left(room, self.bot_occupant(room))

    async def _room_configure(self, room: XMPPRoom, fields: dict[str, Any]) -> None:
        await self._connection().configure_room(room.jid, fields)

    async def _room_invite(self, room: XMPPRoom, jids: list[str]) -> None:
        conn = self._connection()
        for jid in jids:
            conn.muc.invite(room.jid, jid)

    async def _room_exists(self, room: XMPPRoom) -> bool:
        return await self._connection().room_exists(room.jid)

    async def _room_set_topic(self, room: XMPPRoom, topic: str) -> None:
        self._connection().muc.set_subject(room.jid, topic)
