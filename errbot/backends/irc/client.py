"""The IRC connection of the backend, on the bot's event loop.

Built on the ``irc`` library's asyncio connection (line parsing, CTCP, PING answers). This
module adds what a bot needs around it: registration with nick-collision fallbacks, clear
errors for bad settings, channel state, joins that wait for the server's answer, paced
outgoing lines held while offline, and a clean QUIT. Every method runs on the loop; the
backend (`errbot.backends.irc.backend`) hands calls over from other threads.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Protocol

from irc.client import Event, InvalidCharacters, MessageTooLong, NickMask, is_channel
from irc.client_aio import AioConnection, AioReactor
from irc.connection import AioFactory
from jaraco.stream.buffer import LenientDecodingLineBuffer

from errbot.backends.base import RoomError
from errbot.backends.irc.channels import ChannelBook, fold
from errbot.backends.irc.events import IRCConnectError, Match, ServerEvents
from errbot.backends.irc.lines import split_lines, text_budget
from errbot.backends.irc.outbox import Lane

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 20.0
REGISTER_TIMEOUT = 30.0
ANSWER_TIMEOUT = 10.0
QUIT_TIMEOUT = 2.0

_JOIN_ERRORS = {
    "channelisfull",
    "inviteonlychan",
    "bannedfromchan",
    "badchannelkey",
    "nosuchchannel",
    "toomanychannels",
    "badchanmask",
    "unavailresource",
    "nochanmodes",
}


@dataclass
class IRCSettings:
    nickname: str
    server: str
    port: int
    password: str | None = None
    ssl: bool = False
    bind_address: tuple[str, int] | None = None
    ipv6: bool = False
    username: str | None = None
    realname: str | None = None
    nickserv_password: str | None = None
    ca_file: str | None = None
    channel_rate: float = 1.0
    private_rate: float = 1.0
    rejoin_on_kick: float | None = 5.0

    @property
    def address(self) -> str:
        return f"{self.server}:{self.port}{' (TLS)' if self.ssl else ''}"


class Listener(Protocol):
    """What the connection reports to the backend (called on the loop)."""

    def on_message(self, kind: str, source: NickMask, target: str, text: str) -> None: ...
    def on_join(self, channel: str, source: NickMask) -> None: ...
    def on_part(self, channel: str, source: NickMask) -> None: ...
    def on_kick(self, channel: str, nick: str, by: NickMask) -> None: ...
    def on_quit(self, source: NickMask, channels: list[str]) -> None: ...
    def on_topic(self, channel: str) -> None: ...
    def on_invite(self, channel: str, by: NickMask) -> None: ...
    def on_nick(self, nick: str, mask: str | None) -> None: ...


class _Connection(AioConnection):
    # Not every IRC client sends UTF-8: fall back to Latin-1 instead of failing the line.
    buffer_class = LenientDecodingLineBuffer

    def process_data(self, new_data: bytes) -> None:
        # One bad line (or a bug in a handler) must not close the connection, which is what
        # asyncio does when data_received raises.
        self.buffer.feed(new_data)
        for line in self.buffer:
            if not line:
                continue
            try:
                self._process_line(line)
            except Exception:
                log.exception("IRC: could not handle the line %r", line)


class IRCClient(ServerEvents):
    """One IRC connection at a time (reconnecting reuses the object and its channels)."""

    def __init__(self, settings: IRCSettings, loop: asyncio.AbstractEventLoop, listener: Listener):
        self.settings = settings
        self.loop = loop
        self.listener = listener
        self.nick = settings.nickname
        self.mask: str | None = None
        self.book = ChannelBook()
        self.registered = False
        self.online = asyncio.Event()
        self.close_reason = ""
        self._reactor = AioReactor(loop=loop)
        self._reactor.connection_class = _Connection
        self._reactor.add_global_handler("all_events", self._on_event, 0)
        self._conn: _Connection = self._reactor.server()
        self._registered: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[str] | None = None
        self._waiters: list[tuple[Match, asyncio.Future[Any]]] = []
        self._nick_attempt = 0
        self._stopping = False
        self.channel_lane = Lane("channel", settings.channel_rate, self.online, self._write)
        self.private_lane = Lane("private", settings.private_rate, self.online, self._write)

    # -- connecting ----------------------------------------------------------------------
    def _tls_context(self) -> ssl.SSLContext:
        try:
            # Certificates and host names are always verified; a private CA is trusted by
            # naming its file, never by turning verification off.
            return ssl.create_default_context(cafile=self.settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise IRCConnectError(
                f"IRC_CA_CERT_FILE = {self.settings.ca_file!r} cannot be used: {exc}"
            ) from exc

    async def connect(self) -> None:
        """Connect and register; raises IRCConnectError saying what to fix."""
        s = self.settings
        if self._conn.is_connected():
            # A previous connection still open (its end not processed yet): close it first,
            # so its "disconnect" event cannot be taken for the new connection's.
            self._conn.disconnect("reconnecting")
        self._registered = self.loop.create_future()
        self._closed = self.loop.create_future()
        self.registered = False
        self.close_reason = ""
        self._nick_attempt = 0
        self.nick = s.nickname
        self.mask = None
        options: dict[str, Any] = {}
        if s.ssl:
            options["ssl"] = self._tls_context()
        if s.bind_address:
            options["local_addr"] = s.bind_address
        if s.ipv6:
            options["family"] = socket.AF_INET6
        try:
            await asyncio.wait_for(
                self._conn.connect(
                    s.server,
                    s.port,
                    s.nickname,
                    password=s.password,
                    username=s.username or s.nickname,
                    ircname=s.realname or s.nickname,
                    connect_factory=AioFactory(**options),
                ),
                CONNECT_TIMEOUT,
            )
        except ssl.SSLCertVerificationError as exc:
            raise IRCConnectError(
                f"the TLS certificate of {s.address} is not trusted: {exc.verify_message}. "
                "Set IRC_CA_CERT_FILE to the CA file that signed it."
            ) from exc
        except ssl.SSLError as exc:
            raise IRCConnectError(
                f"TLS with {s.address} failed: {exc.reason or exc}. Check that "
                "BOT_IDENTITY['ssl'] and BOT_IDENTITY['port'] match the server."
            ) from exc
        except TimeoutError as exc:
            raise IRCConnectError(
                f"no answer from {s.address} within {CONNECT_TIMEOUT:.0f} s: check "
                "BOT_IDENTITY['server'] and BOT_IDENTITY['port']."
            ) from exc
        except OSError as exc:
            detail = exc.strerror or str(exc) or type(exc).__name__
            # A plain port answering a TLS handshake usually just drops the connection.
            tls_hint = " (does this port speak TLS? BOT_IDENTITY['ssl'])" if s.ssl else ""
            # With 'ipv6' only IPv6 addresses are tried: an IPv4-only server name fails.
            family = ", BOT_IDENTITY['ipv6']" if s.ipv6 else ""
            raise IRCConnectError(
                f"cannot connect to {s.address}: {detail}. Check BOT_IDENTITY['server'], "
                f"BOT_IDENTITY['port']{tls_hint}{family} and BOT_IDENTITY['bind_address']."
            ) from exc
        try:
            await asyncio.wait_for(asyncio.shield(self._registered), REGISTER_TIMEOUT)
        except TimeoutError:
            self._hang_up()
            raise IRCConnectError(
                f"{s.address} accepted the connection but did not register the bot within "
                f"{REGISTER_TIMEOUT:.0f} s."
            ) from None
        except IRCConnectError:
            self._hang_up()
            raise
        self.registered = True
        log.info("IRC: connected to %s as %s.", s.address, self.nick)
        if s.nickserv_password:
            # Right after registration, before the plugins are activated and join their
            # channels: a channel for registered nicks only (+R) needs the bot identified.
            self._conn.privmsg("NickServ", f"IDENTIFY {s.nickserv_password}")

    async def start_session(self) -> None:
        """After registration: join the wanted channels, release held lines."""
        for name, key in list(self.book.wanted.values()):
            try:
                await self.join(name, key)
            except RoomError as exc:
                log.error("IRC: could not join %s again: %s", name, exc)
        self.channel_lane.start()
        self.private_lane.start()
        if self.registered:
            self.online.set()

    async def wait_closed(self) -> str:
        """Wait until the connection ends; returns why."""
        assert self._closed is not None
        return await asyncio.shield(self._closed)

    async def quit(self, reason: str, drain_timeout: float = 5.0) -> None:
        """Send what is queued (within ``drain_timeout``), QUIT, close, stop the lanes."""
        self._stopping = True
        if self.registered and self.online.is_set():
            for lane in (self.private_lane, self.channel_lane):
                await lane.drain(drain_timeout)
        if self.registered:
            try:
                self._conn.quit(reason)
            except Exception:
                log.debug("IRC: QUIT could not be sent", exc_info=True)
            if self._closed is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(self._closed), QUIT_TIMEOUT)
                except TimeoutError:
                    pass
        self._hang_up()
        for lane in (self.private_lane, self.channel_lane):
            dropped = lane.discard()
            if dropped:
                log.warning("IRC: %d %s line(s) were never sent: stopping.", dropped, lane.name)
            await lane.stop()

    def _hang_up(self) -> None:
        transport = getattr(self._conn, "transport", None)
        if transport is not None and not transport.is_closing():
            transport.close()

    # -- sending ---------------------------------------------------------------------------
    def send_text(self, target: str, text: str, notice: bool = False) -> None:
        """Queue ``text`` for ``target``, one IRC line per line, each within the limit."""
        command = "NOTICE" if notice else "PRIVMSG"
        lines = split_lines(text, text_budget(command, target, self.nick, self.mask))
        lane = self.channel_lane if is_channel(target) else self.private_lane
        lane.put(command, target, lines)

    def _write(self, command: str, target: str, text: str) -> bool:
        if not self.registered or not self._conn.is_connected():
            return False
        try:
            self._conn.send_raw(f"{command} {target} :{text}")
        except (InvalidCharacters, MessageTooLong):
            log.exception("IRC: a line to %s could not be sent", target)
        return True

    # -- channels ------------------------------------------------------------------------
    async def join(self, name: str, key: str | None = None) -> None:
        self.book.want(name, key)
        if not self.registered:
            log.info("IRC: not connected; %s will be joined once connected.", name)
            return
        if self.book.is_joined(name):
            return
        folded = fold(name)

        def match(event: Event) -> tuple[bool, Any] | None:
            args = event.arguments
            if event.type == "endofnames" and args and fold(args[0]) == folded:
                return (True, None) if self.book.is_joined(name) else None
            if event.type in _JOIN_ERRORS and args and fold(args[0]) == folded:
                return False, f"cannot join {name}: {args[-1]}"
            return None

        waiter = self._expect(match)
        self._conn.join(name, key or "")
        try:
            await self._answer(waiter, f"joining {name}")
        except RoomError:
            self.book.unwant(name)
            raise

    async def part(self, name: str, reason: str | None = None) -> None:
        self.book.unwant(name)
        if not self.registered or not self.book.is_joined(name):
            return
        folded = fold(name)

        def match(event: Event) -> tuple[bool, Any] | None:
            if event.type == "part" and fold(event.target or "") == folded:
                return (True, None) if self._is_me(event.source) else None
            if event.type == "notonchannel" and event.arguments:
                return (True, None) if fold(event.arguments[0]) == folded else None
            return None

        waiter = self._expect(match)
        self._conn.part(name, reason or "")
        await self._answer(waiter, f"leaving {name}")

    async def set_topic(self, name: str, topic: str) -> None:
        if not self.registered:
            raise RoomError(f"cannot set the topic of {name}: not connected to IRC.")
        folded = fold(name)

        def match(event: Event) -> tuple[bool, Any] | None:
            if event.type == "topic" and fold(event.target or "") == folded:
                return True, None
            if event.type in ("chanoprivsneeded", "notonchannel", "nosuchchannel"):
                if event.arguments and fold(event.arguments[0]) == folded:
                    return False, event.arguments[-1]
            return None

        waiter = self._expect(match)
        self._conn.topic(name, topic)
        await self._answer(waiter, f"setting the topic of {name}")

    async def names(self, name: str) -> dict[str, str]:
        """Ask the server who is in ``name``: folded nick -> nick (or mask when known)."""
        if not self.registered:
            return {}
        folded = fold(name)

        def match(event: Event) -> tuple[bool, Any] | None:
            if event.type == "endofnames" and event.arguments:
                if fold(event.arguments[0]) == folded:
                    return True, dict(self.book.last_names.get(folded, {}))
            return None

        waiter = self._expect(match)
        self._conn.names([name])
        names: dict[str, str] = await self._answer(waiter, f"listing {name}")
        channel = self.book.channels.get(folded)
        if channel is not None and channel.joined:
            return dict(channel.members)
        return names

    def set_away(self, message: str | None) -> None:
        """Mark the bot away with ``message``, or back when None."""
        if self.registered:
            self._conn.send_raw(f"AWAY :{message}" if message else "AWAY")

    def invite(self, name: str, nick: str) -> None:
        if not self.registered:
            raise RoomError(f"cannot invite {nick} into {name}: not connected to IRC.")
        self._conn.invite(nick, name)

    def _expect(self, match: Match) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self.loop.create_future()
        self._waiters.append((match, future))
        return future

    async def _answer(self, future: asyncio.Future[Any], what: str) -> Any:
        try:
            ok, value = await asyncio.wait_for(future, ANSWER_TIMEOUT)
        except TimeoutError:
            raise RoomError(f"no answer from the IRC server {what}.") from None
        finally:
            self._waiters = [w for w in self._waiters if w[1] is not future]
        if not ok:
            raise RoomError(value)
        return value
