"""The IRC backend (``BACKEND = "IRC"``, needs ``pip install errbot[irc]``).

The connection (`client`) runs on the bot's event loop, so this class sets
``loop_affine``: every outgoing message is handed to the loop, whichever thread sends it
(commands, pollers, webhooks). Incoming events arrive on the loop and become the usual
``callback_*`` calls. ``serve_once`` runs on the thread that called ``serve_forever``: it
connects, activates the plugins, and waits for the connection to end; the inherited
``serve_forever`` reconnects with back-off.

Identifiers and room semantics: `identifiers`. Settings: docs/backends/irc.md.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from irc.client import NickMask, is_channel

from errbot import rendering
from errbot.backends.base import (
    ONLINE,
    Identifier,
    Message,
    Person,
    RoomError,
    RoomNotJoinedError,
    RoomOccupant,
)
from errbot.backends.irc.channels import fold
from errbot.backends.irc.client import (
    ANSWER_TIMEOUT,
    IRCClient,
    IRCConnectError,
    IRCSettings,
)
from errbot.backends.irc.identifiers import (
    DEFAULT_ACL_PATTERN,
    IRCPerson,
    IRCRoom,
    IRCRoomOccupant,
    set_live_backend,
)
from errbot.backends.irc.lines import IRC_LINE_BYTES, addressed_nicks
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

QUIT_MESSAGE = "Errbot shutting down"
# Longest wait between two connection attempts, whatever IRC_RECONNECT_ON_DISCONNECT says.
MAX_RECONNECT_DELAY = 300.0


def settings_from_config(config: Any) -> IRCSettings:
    """The connection settings from BOT_IDENTITY and the IRC_* settings."""
    identity = dict(getattr(config, "BOT_IDENTITY", None) or {})
    nickname = identity.get("nickname")
    server = identity.get("server")
    if not nickname or not server:
        raise ValueError(
            "The IRC backend needs BOT_IDENTITY['nickname'] and BOT_IDENTITY['server']."
        )
    use_ssl = bool(identity.get("ssl", False))
    bind = identity.get("bind_address")
    if isinstance(bind, str):
        bind = (bind, 0)
    elif bind is not None:
        bind = (str(bind[0]), int(bind[1]))
    kick = getattr(config, "IRC_RECONNECT_ON_KICK", 5)
    return IRCSettings(
        nickname=str(nickname),
        server=str(server),
        port=int(identity.get("port") or (6697 if use_ssl else 6667)),
        password=identity.get("password") or None,
        ssl=use_ssl,
        bind_address=bind,
        ipv6=bool(identity.get("ipv6", False)),
        username=identity.get("username") or None,
        nickserv_password=identity.get("nickserv_password") or None,
        ca_file=getattr(config, "IRC_CA_CERT_FILE", None) or None,
        channel_rate=float(getattr(config, "IRC_CHANNEL_RATE", 1) or 0),
        private_rate=float(getattr(config, "IRC_PRIVATE_RATE", 1) or 0),
        rejoin_on_kick=None if kick is None else float(kick),
    )


class IRCBackend(ErrBot):
    loop_affine = True

    def __init__(self, config: Any) -> None:
        settings = settings_from_config(config)
        self.acl_pattern = str(getattr(config, "IRC_ACL_PATTERN", None) or DEFAULT_ACL_PATTERN)
        self.bot_identifier = IRCPerson(settings.nickname, self.acl_pattern)
        super().__init__(config)
        self.md = rendering.irc(bool(getattr(config, "COMPACT_OUTPUT", True)))
        self.client = IRCClient(settings, self.runtime.loop, self)
        self._stop_requested = threading.Event()
        self._invited_by: dict[str, Identifier] = {}
        reconnect = getattr(config, "IRC_RECONNECT_ON_DISCONNECT", 5)
        self._reconnect = reconnect is not None
        # The inherited serve_forever waits this long after a failed attempt, multiplied
        # by reconnect_factor each time up to the cap. A floor keeps 0 from spinning.
        first = max(float(reconnect or 0), 0.1)
        self.reconnect_initial_delay = first
        self.reconnect_max_delay = max(MAX_RECONNECT_DELAY, first)
        self.reconnect_jitter = min(3.0, first / 4)
        set_live_backend(self)

    @property
    def mode(self) -> str:
        return "irc"

    def set_message_size_limit(self, limit: int = IRC_LINE_BYTES, hard_limit: int = IRC_LINE_BYTES):
        super().set_message_size_limit(limit, hard_limit)

    # -- serving ---------------------------------------------------------------------------
    def serve_once(self) -> bool:
        if self._stop_requested.is_set():
            return True
        try:
            self.runtime.run_sync(self.client.connect())
        except IRCConnectError as exc:
            log.error("IRC: %s", exc)
            return self._stop_requested.is_set() or not self._reconnect
        if self._stop_requested.is_set():
            self.runtime.run_sync(self.client.quit(QUIT_MESSAGE))
            return True
        try:
            self.connect_callback()
            self.reset_reconnection_count()
            self.runtime.run_sync(self.client.start_session())
            reason = self.runtime.run_sync(self.client.wait_closed())
        finally:
            self.disconnect_callback()
        if self._stop_requested.is_set():
            return True
        if not self._reconnect:
            log.warning("IRC: disconnected (%s); IRC_RECONNECT_ON_DISCONNECT is None.", reason)
            return True
        return False

    def _wait_before_reconnecting(self, delay: float) -> None:
        self._stop_requested.wait(delay)  # stop() ends the wait at once

    def stop(self) -> None:
        """Leave IRC (QUIT) and make ``serve_forever`` return; safe from any thread."""
        self._stop_requested.set()
        self.runtime.spawn(self.client.quit(QUIT_MESSAGE))

    def shutdown(self) -> None:
        if self._shutdown_done:
            return
        self._stop_requested.set()
        if self.runtime.running:
            if self.runtime.in_loop():
                self.runtime.spawn(self.client.quit(QUIT_MESSAGE))
            else:
                try:
                    self.runtime.run_sync(self.client.quit(QUIT_MESSAGE), timeout=10)
                except Exception:
                    log.warning("IRC: no clean QUIT", exc_info=True)
        super().shutdown()

    # -- outgoing --------------------------------------------------------------------------
    def send_message(self, msg: Message) -> None:
        if not self.runtime.in_loop():
            # loop_affine covers the core's sends; this covers direct calls from threads.
            self.runtime.call_soon(self.send_message, msg)
            return
        super().send_message(msg)
        # Clients reset colours and styles at every line end, so the converter's closing
        # reset (\x0f) is a wasted byte that some clients and loggers show as garbage.
        text = "\n".join(line.rstrip("\x0f") for line in self.md.convert(msg.body).split("\n"))
        self.client.send_text(self._target(msg.to), text)

    @staticmethod
    def _target(identifier: Any) -> str:
        if isinstance(identifier, IRCRoom):
            return identifier.name
        nick = getattr(identifier, "nick", None)
        if nick:
            return str(nick)  # a person, or someone in a room: a private message
        text = str(identifier or "")
        if text and " " not in text:
            return text
        raise ValueError(f"Cannot send an IRC message to {identifier!r}.")

    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        reply = self.build_message(text or "")
        reply.frm = self.bot_identifier
        frm = msg.frm
        if isinstance(frm, RoomOccupant) and not private:
            reply.to = frm.room
        else:
            reply.to = frm
        return reply

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)
        message.body = f"{getattr(identifier, 'nick', identifier)}: {message.body}"

    def is_from_self(self, msg: Message) -> bool:
        nick = getattr(msg.frm, "nick", None)
        return bool(nick) and fold(str(nick)) == fold(self.client.nick)

    def change_presence(self, status: str = ONLINE, message: str = "") -> None:
        away = None if status == ONLINE else (message or status)
        self.runtime.call_soon(self.client.set_away, away)

    # -- identifiers and rooms ---------------------------------------------------------------
    def build_identifier(self, txtrep: str) -> Identifier:
        text = str(txtrep).strip()
        if "\n" in text:
            mask, room = (part.strip() for part in text.split("\n", 1))
            return IRCRoomOccupant(mask, IRCRoom(room, self), self.acl_pattern)
        if is_channel(text):
            return IRCRoom(text, self)
        if not text or " " in text:
            raise ValueError(
                f"{txtrep!r} is not an IRC identifier: use #channel, nick or nick!user@host."
            )
        return IRCPerson(text, self.acl_pattern)

    def query_room(self, room: str) -> IRCRoom:
        name = str(room).strip()
        return IRCRoom(name if is_channel(name) else f"#{name}", self)

    def rooms(self) -> list[IRCRoom]:
        return [IRCRoom(channel.name, self) for channel in self.client.book.joined()]

    # The IRCRoom methods land here; each works from any thread (see IRCRoom).
    def _call(self, coro: Coroutine[Any, Any, Any], what: str) -> Any:
        if self.runtime.in_loop():
            self.runtime.spawn(self._logged(coro, what))
            return None
        try:
            return self.runtime.run_sync(coro, timeout=ANSWER_TIMEOUT + 5)
        except concurrent.futures.TimeoutError:
            raise RoomError(f"no answer from the IRC server {what}.") from None

    @staticmethod
    async def _logged(coro: Coroutine[Any, Any, Any], what: str) -> None:
        try:
            await coro
        except RoomError as exc:
            log.error("IRC: %s failed: %s", what, exc)

    def join_channel(self, name: str, key: str | None) -> None:
        self._call(self.client.join(name, key), f"joining {name}")

    def part_channel(self, name: str, reason: str | None) -> None:
        self._call(self.client.part(name, reason), f"leaving {name}")

    def invite_to_channel(self, name: str, nicks: list[str]) -> None:
        async def invite() -> None:
            for nick in nicks:
                self.client.invite(name, nick)

        self._call(invite(), f"inviting into {name}")

    def channel_joined(self, name: str) -> bool:
        return self.client.book.is_joined(name)

    def channel_exists(self, name: str) -> bool:
        if self.client.book.is_joined(name):
            return True
        if self.runtime.in_loop():
            return False  # cannot wait for the server's answer here
        return bool(self._call(self.client.names(name), f"listing {name}"))

    def _joined_channel(self, name: str) -> Any:
        channel = self.client.book.channels.get(fold(name))
        if channel is None or not channel.joined:
            raise RoomNotJoinedError(f"I am not in {name}.")
        return channel

    def channel_topic(self, name: str) -> str | None:
        return self._joined_channel(name).topic

    def set_channel_topic(self, name: str, topic: str) -> None:
        self._joined_channel(name)
        self._call(self.client.set_topic(name, topic), f"setting the topic of {name}")

    def channel_occupants(self, name: str) -> list[RoomOccupant]:
        channel = self._joined_channel(name)
        if self.runtime.in_loop():
            members = dict(channel.members)
        else:
            members = self._call(self.client.names(name), f"listing {name}") or {}
        room = IRCRoom(channel.name, self)
        return [IRCRoomOccupant(mask, room, self.acl_pattern) for mask in members.values()]

    # -- events from the connection (on the loop) ----------------------------------------
    def on_nick(self, nick: str, mask: str | None) -> None:
        self.bot_identifier = IRCPerson(mask or nick, self.acl_pattern)

    def _is_me(self, nick: str) -> bool:
        return fold(nick) == fold(self.client.nick)

    def on_message(self, kind: str, source: NickMask, target: str, text: str) -> None:
        if not source.user:
            log.debug("IRC: %s from the server %s: %s", kind, source, text)
            return
        room = IRCRoom(target, self) if is_channel(target) else None
        frm: Person
        if room is not None:
            frm = IRCRoomOccupant(str(source), room, self.acl_pattern)
        else:
            frm = IRCPerson(str(source), self.acl_pattern)
        extras = {"notice": kind.endswith("notice"), "action": kind == "action"}
        msg = Message(text, frm=frm, to=room or self.bot_identifier, extras=extras)
        if kind in ("pubmsg", "privmsg"):
            self.callback_message(msg)
            if room is not None:
                self._mentions(msg, room, text)
        else:
            # RFC 1459: a NOTICE must never be answered automatically, and an ACTION (/me)
            # is not a command. Plugins still see both in callback_message.
            self.callbacks.dispatch("callback_message", msg)

    def _mentions(self, msg: Message, room: IRCRoom, text: str) -> None:
        nicks = addressed_nicks(text)
        if not nicks:
            return
        channel = self.client.book.channels.get(fold(room.name))
        members = channel.members if channel is not None else {}
        people: list[Identifier] = []
        for nick in nicks:
            if self._is_me(nick):
                people.append(IRCRoomOccupant(str(self.bot_identifier), room, self.acl_pattern))
            elif fold(nick) in members:
                people.append(IRCRoomOccupant(members[fold(nick)], room, self.acl_pattern))
        if people:
            self.callback_mention(msg, people)

    def _occupant(self, room: IRCRoom, who: str) -> Identifier:
        if self._is_me(NickMask(who).nick):
            return self.bot_identifier
        return IRCRoomOccupant(who, room, self.acl_pattern)

    def on_join(self, channel: str, source: NickMask) -> None:
        room = IRCRoom(channel, self)
        invited_by = self._invited_by.pop(fold(channel), None) if self._is_me(source.nick) else None
        self.callback_room_joined(room, self._occupant(room, str(source)), invited_by)

    def on_part(self, channel: str, source: NickMask) -> None:
        room = IRCRoom(channel, self)
        self.callback_room_left(room, self._occupant(room, str(source)))

    def on_kick(self, channel: str, nick: str, by: NickMask) -> None:
        room = IRCRoom(channel, self)
        self.callback_room_left(room, self._occupant(room, nick), self._occupant(room, str(by)))

    def on_quit(self, source: NickMask, channels: list[str]) -> None:
        for channel in channels:
            room = IRCRoom(channel, self)
            self.callback_room_left(room, self._occupant(room, str(source)))

    def on_topic(self, channel: str) -> None:
        self.callback_room_topic(IRCRoom(channel, self))

    def on_invite(self, channel: str, by: NickMask) -> None:
        if not getattr(self.bot_config, "IRC_JOIN_ON_INVITE", True):
            log.info("IRC: %s invited me into %s (IRC_JOIN_ON_INVITE is off).", by, channel)
            return
        log.info("IRC: %s invited me into %s, joining.", by, channel)
        room = IRCRoom(channel, self)
        self._invited_by[fold(channel)] = IRCRoomOccupant(str(by), room, self.acl_pattern)
        self.runtime.spawn(self._logged(self.client.join(channel), f"joining {channel}"))
