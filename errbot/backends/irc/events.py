"""Server events of the IRC connection: registration, membership, topics, messages.

`IRCClient` inherits these handlers. The ``irc`` library names each event (``welcome``,
``join``, ``namreply``...); ``_on_event`` calls ``_ev_<name>`` when there is one, then
resolves the requests waiting for that event (a join waits for the end of NAMES, a topic
change for TOPIC...). Handlers keep the channel state (`ChannelBook`) true to the server and
tell the backend (`Listener`). Everything runs on the bot's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from irc.client import Event, NickMask

from errbot.backends.base import RoomError
from errbot.backends.irc.channels import ChannelBook, fold

if TYPE_CHECKING:
    from errbot.backends.irc.client import IRCSettings, Listener, _Connection

log = logging.getLogger(__name__)

MAX_NICK_ATTEMPTS = 8

Match = Callable[[Event], "tuple[bool, Any] | None"]


class IRCConnectError(Exception):
    """Connecting or registering failed; the message says which setting to check."""


class ServerEvents:
    """The event handlers of `IRCClient` (a mixin: the attributes are the client's)."""

    settings: IRCSettings
    listener: Listener
    loop: asyncio.AbstractEventLoop
    book: ChannelBook
    nick: str
    mask: str | None
    registered: bool
    online: asyncio.Event
    close_reason: str
    _conn: _Connection
    _registered: asyncio.Future[None] | None
    _closed: asyncio.Future[str] | None
    _waiters: list[tuple[Match, asyncio.Future[Any]]]
    _nick_attempt: int
    _stopping: bool

    async def join(self, name: str, key: str | None = None) -> None:
        raise NotImplementedError

    def _is_me(self, source: Any) -> bool:
        return source is not None and fold(NickMask(source).nick) == fold(self.nick)

    # -- events ----------------------------------------------------------------------------
    def _on_event(self, connection: Any, event: Event) -> None:
        handler = getattr(self, f"_ev_{event.type}", None)
        try:
            if handler is not None:
                handler(event)
        except Exception:
            log.exception("IRC: could not handle the %s event %s", event.type, event.arguments)
        finally:
            for match, future in list(self._waiters):
                if not future.done():
                    result = match(event)
                    if result is not None:
                        future.set_result(result)

    def _fail_registration(self, message: str) -> None:
        if self._registered is not None and not self._registered.done():
            self._registered.set_exception(IRCConnectError(message))
            # connect() may have stopped waiting (timeout): no "never retrieved" warning.
            self._registered.exception()

    def _ev_welcome(self, event: Event) -> None:
        self.nick = event.target or self.nick
        # Most servers end RPL_WELCOME with the client's full mask: the exact prefix the
        # server puts in front of our lines, which sizes them.
        words = (event.arguments[0] if event.arguments else "").split()
        if words and "!" in words[-1] and "@" in words[-1]:
            self.mask = words[-1]
        if self._registered is not None and not self._registered.done():
            self._registered.set_result(None)
        self.listener.on_nick(self.nick, self.mask)

    def _ev_nicknameinuse(self, event: Event) -> None:
        if self.registered:
            return
        self._nick_attempt += 1
        if self._nick_attempt > MAX_NICK_ATTEMPTS:
            self._fail_registration(
                f"the nickname {self.settings.nickname!r} and {MAX_NICK_ATTEMPTS} variants "
                "with '_' are taken: change BOT_IDENTITY['nickname']."
            )
            return
        # Errbot's way: nick_, nick__, ...
        self.nick = self.settings.nickname + "_" * self._nick_attempt
        log.warning("IRC: nickname %s is taken, trying %s.", event.arguments[0], self.nick)
        self._conn.nick(self.nick)

    _ev_unavailresource = _ev_nicknameinuse

    def _ev_erroneusnickname(self, event: Event) -> None:
        if not self.registered:
            self._fail_registration(
                f"the server refuses the nickname {self.nick!r} "
                f"({event.arguments[-1] if event.arguments else 'erroneous nickname'}): "
                "change BOT_IDENTITY['nickname']."
            )

    def _ev_passwdmismatch(self, event: Event) -> None:
        self._fail_registration(
            f"{self.settings.address} refused the server password: check BOT_IDENTITY['password']."
        )

    def _ev_yourebannedcreep(self, event: Event) -> None:
        reason = event.arguments[-1] if event.arguments else "banned"
        self._fail_registration(f"{self.settings.address} refuses the bot: {reason}")

    def _ev_error(self, event: Event) -> None:
        reason = event.target or (event.arguments[0] if event.arguments else "")
        self.close_reason = reason
        if not self.registered:
            hint = " (check BOT_IDENTITY['password'])" if "password" in reason.lower() else ""
            self._fail_registration(
                f"{self.settings.address} closed the connection: {reason}{hint}"
            )

    def _ev_disconnect(self, event: Event) -> None:
        was_registered = self.registered
        self.registered = False
        self.online.clear()
        self.book.reset()
        reason = self.close_reason or "connection closed"
        if self.close_reason:
            self._fail_registration(f"{self.settings.address} closed the connection: {reason}.")
        else:
            # No ERROR line: typically a TLS port spoken to in plain text.
            self._fail_registration(
                f"{self.settings.address} closed the connection before registering the bot: "
                "check BOT_IDENTITY['port'] and BOT_IDENTITY['ssl'] (a TLS port needs "
                "'ssl': True)."
            )
        for _, future in self._waiters:
            if not future.done():
                future.set_result((False, "the IRC connection was lost."))
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(reason)
        if was_registered and not self._stopping:
            log.warning("IRC: disconnected from %s: %s", self.settings.address, reason)

    def _ev_nick(self, event: Event) -> None:
        old = NickMask(event.source)
        new = event.target or ""
        new_mask = f"{new}!{old.userhost}" if old.userhost else new
        if self._is_me(event.source):
            self.nick = new
            self.mask = new_mask if old.userhost else None
            self.listener.on_nick(self.nick, self.mask)
        self.book.member_renamed(old.nick, new, new_mask)

    def _ev_join(self, event: Event) -> None:
        source = NickMask(event.source)
        channel = event.target or ""
        if self._is_me(source):
            self.mask = str(source)  # the server's own view of our prefix
            self.book.self_joined(channel)
        else:
            self.book.member_joined(channel, str(source), source.nick)
        self.listener.on_join(channel, source)

    def _ev_part(self, event: Event) -> None:
        source = NickMask(event.source)
        channel = event.target or ""
        if self._is_me(source):
            self.book.self_left(channel)
        else:
            self.book.member_left(channel, source.nick)
        self.listener.on_part(channel, source)

    def _ev_kick(self, event: Event) -> None:
        channel = event.target or ""
        kicked = event.arguments[0] if event.arguments else ""
        if fold(kicked) == fold(self.nick):
            self.book.self_left(channel)
            delay = self.settings.rejoin_on_kick
            wanted = self.book.wanted.get(fold(channel))
            if delay is not None and wanted is not None:
                log.info("IRC: kicked from %s, joining again in %s s.", channel, delay)
                self.loop.call_later(float(delay), self._rejoin, *wanted)
            else:
                self.book.unwant(channel)
        else:
            self.book.member_left(channel, kicked)
        self.listener.on_kick(channel, kicked, NickMask(event.source))

    def _rejoin(self, name: str, key: str | None) -> None:
        async def rejoin() -> None:
            try:
                await self.join(name, key)
            except RoomError as exc:
                log.error("IRC: could not join %s again after a kick: %s", name, exc)

        self.loop.create_task(rejoin())

    def _ev_quit(self, event: Event) -> None:
        source = NickMask(event.source)
        self.listener.on_quit(source, self.book.member_quit(source.nick))

    def _ev_namreply(self, event: Event) -> None:
        if len(event.arguments) >= 3:
            self.book.names_part(event.arguments[1], event.arguments[2])

    def _ev_endofnames(self, event: Event) -> None:
        if event.arguments:
            self.book.names_end(event.arguments[0])

    def _ev_currenttopic(self, event: Event) -> None:
        if len(event.arguments) >= 2:
            self.book.get(event.arguments[0]).topic = event.arguments[1] or None

    def _ev_notopic(self, event: Event) -> None:
        if event.arguments:
            self.book.get(event.arguments[0]).topic = None

    def _ev_topic(self, event: Event) -> None:
        channel = event.target or ""
        self.book.get(channel).topic = (event.arguments[0] if event.arguments else "") or None
        self.listener.on_topic(channel)

    def _ev_invite(self, event: Event) -> None:
        if event.arguments:
            self.listener.on_invite(event.arguments[0], NickMask(event.source))

    def _ev_cannotsendtochan(self, event: Event) -> None:
        # The server dropped one of our lines: say so rather than lose it silently.
        where = event.arguments[0] if event.arguments else "?"
        log.warning("IRC: a line to %s was refused: %s", where, event.arguments[-1:])

    _ev_nosuchnick = _ev_nosuchchannel = _ev_cannotsendtochan

    def _message(self, event: Event) -> None:
        source = NickMask(event.source or "")
        text = event.arguments[0] if event.arguments else ""
        if event.type == "pubmsg" and source.user:
            self.book.seen(event.target or "", str(source), source.nick)
        self.listener.on_message(event.type, source, event.target or "", text)

    _ev_pubmsg = _ev_privmsg = _ev_pubnotice = _ev_privnotice = _ev_action = _message
