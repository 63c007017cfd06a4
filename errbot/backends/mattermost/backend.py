"""The Mattermost backend (``BACKEND = "Mattermost"``), built on mattermostautodriver.

Threads: the driver (httpx for REST, aiohttp for the websocket) runs on the bot's own event
loop (``self.runtime.loop``). The thread that calls `serve_forever` only supervises: it waits
for connections to start and end, applies the reconnection back-off and activates the
plugins. `send_message` always runs on the loop (``loop_affine``); a call from another thread
is handed over, so ``self.send()`` works from webhooks, pollers and threads.

Sending: every post, card and file goes through one outbox, sent in order by one task. While
the bot is disconnected the outbox holds up to `send_queue_limit` items (beyond that a send is
refused with an error in the log) and is flushed once the connection is back.

Connections: log in, load the team and the channels the bot is in, open the websocket and
wait for its ``hello``. A token the server refuses at start-up stops the bot with one error
naming ``BOT_IDENTITY['token']``; once connected, any loss is retried with a capped back-off.
This module connects, supervises and stops; the rest is in mixins of one job each:
`outbox` (sending), `files` (uploads), `addressing` (identifiers and replies), `channel_ops`
(rooms); incoming events are translated in `events`. See docs/backends/mattermost.md.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import weakref
from typing import Any

import httpx
from mattermostautodriver.exceptions import MattermostError, ResourceNotFound

from errbot.backends.mattermost import identifiers
from errbot.backends.mattermost.addressing import MattermostAddressingMixin
from errbot.backends.mattermost.channel_ops import ChannelOperations
from errbot.backends.mattermost.client import (
    AUTH_FAILED,
    CONNECTED,
    MattermostConnection,
    driver_options,
)
from errbot.backends.mattermost.directory import Directory
from errbot.backends.mattermost.events import EventTranslator
from errbot.backends.mattermost.files import MattermostFilesMixin
from errbot.backends.mattermost.identifiers import MattermostPerson, MattermostRoomOccupant
from errbot.backends.mattermost.outbox import Job, MattermostOutboxMixin
from errbot.backends.mattermost.rooms import MattermostRoom
from errbot.backends.network import NetworkBackendMixin
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

__all__ = ["MattermostBackend", "MattermostPerson", "MattermostRoom", "MattermostRoomOccupant"]

# Mattermost refuses posts longer than 16383 characters (runes).
POST_SIZE_LIMIT = 16383


class FatalSettingError(Exception):
    """A setting the server refuses: retrying cannot help (logged, the bot stops)."""


class MattermostBackend(
    MattermostOutboxMixin,
    MattermostFilesMixin,
    MattermostAddressingMixin,
    ChannelOperations,
    NetworkBackendMixin,
    ErrBot,
):
    """A bot on a Mattermost server: channels of one team, direct messages, threads."""

    loop_affine = True

    # Reconnection back-off (seconds), capped, with jitter.
    reconnect_initial_delay = 1.0
    reconnect_factor = 1.75
    reconnect_max_delay = 300.0
    reconnect_jitter = 1.0
    refusal_retry_delay = 60.0  # a token refused after having worked (revoked?)
    refusal_outcomes = (AUTH_FAILED,)
    connect_timeout = 30.0
    # Posts waiting while disconnected; beyond this, sends are refused (and logged).
    send_queue_limit = 1000
    # HTTP 429: how many times to wait and retry a call, and the longest wait accepted.
    rate_limit_retries = 5
    rate_limit_max_wait = 120.0
    close_timeout = 5.0
    close_failure_text = "Closing the Mattermost connection failed"
    operation_failure_text = "Mattermost operation %s failed: %s"

    def room_call_timeout(self) -> float:
        return 60.0  # a channel operation is a few REST calls, rate limits included

    def __init__(self, config: Any) -> None:
        identity = dict(getattr(config, "BOT_IDENTITY", None) or {})
        self._options = driver_options(identity)
        team = str(identity.get("team") or "").strip()
        if not team:
            raise ValueError("BOT_IDENTITY['team'] must be the name of the bot's team.")
        # The real name and id are learnt at login.
        self.bot_identifier = MattermostPerson(username=str(identity.get("login") or "errbot"))
        super().__init__(config)
        self.team_name = team
        self.team_id: str | None = None
        self.userid: str | None = None
        self.answer_webhooks = bool(getattr(config, "MATTERMOST_ANSWER_WEBHOOKS", False))
        from errbot.rendering import md

        self._md = md()
        self.directory = Directory(self)
        self._events = EventTranslator(self)
        self.connection: MattermostConnection | None = None
        self._attempt: MattermostConnection | None = None
        self._outbox: collections.deque[tuple[str, Job]] = collections.deque()
        self._wake: asyncio.Event | None = None
        self._sender: asyncio.Task[None] | None = None
        self._ever_connected = False
        self._online = False
        self.connections = 0
        self.last_failure: str | None = None
        identifiers.live_backend = weakref.ref(self)

    @property
    def mode(self) -> str:
        return "mattermost"

    @property
    def connected(self) -> bool:
        """Whether the websocket session is up (events arrive, posts go out at once)."""
        return self._online

    def set_message_size_limit(self, limit: int = POST_SIZE_LIMIT, hard_limit: int = 0) -> None:
        super().set_message_size_limit(POST_SIZE_LIMIT, POST_SIZE_LIMIT)

    # -- serving ------------------------------------------------------------------------
    def serve_forever(self) -> None:
        self._reconnect_forever(
            self._serve_connection,
            "The Mattermost connection failed unexpectedly",
            "Reconnecting to Mattermost in %.1f s.",
            fatal=(FatalSettingError,),
        )

    def serve_once(self) -> bool:
        try:
            self._serve_connection()
        except FatalSettingError:
            return True
        return self._stop.is_set()

    def _serve_connection(self) -> str | None:
        self.connections += 1
        outcome = self._wait(self._open())
        if outcome != CONNECTED:
            return outcome
        self._ever_connected = True
        self.reset_reconnection_count()
        self._activate_plugins()
        self._online = True  # plugins active: what `connected` promises
        self._wait(self._until_disconnected())
        return None

    async def _open(self) -> str | None:
        conn = MattermostConnection(
            self._options, self.rate_limit_retries, self.rate_limit_max_wait
        )
        self._attempt = conn
        outcome = await conn.open()
        where = f"{self._options['scheme']}://{self._options['url']}:{self._options['port']}"
        if outcome == AUTH_FAILED:
            await conn.close()
            setting = "token" if self._options["token"] else "login'] / BOT_IDENTITY['password"
            text = (
                f"The Mattermost server {where} refused the bot's credentials "
                f"({conn.failure_detail}): check BOT_IDENTITY['{setting}']."
            )
            self.last_failure = outcome
            if not self._ever_connected:
                log.error("%s The bot stops.", text)
                self._stop.set()
                raise FatalSettingError(text)
            log.error(text)
            return outcome
        if outcome != CONNECTED:
            await conn.close()
            if self.last_failure != outcome:
                log.error(
                    "Cannot reach the Mattermost server %s (%s): check BOT_IDENTITY['server'], "
                    "['port'] and ['scheme'].",
                    where,
                    conn.failure_detail,
                )
            else:
                log.info("Mattermost server %s still unreachable.", where)
            self.last_failure = outcome
            return outcome
        self._learn_identity(conn.me)
        self.connection = conn  # the directory needs it from here on
        try:
            await self._load_team()
            conn.start_websocket(self._events.handle)
            done, _ = await asyncio.wait(
                {conn.hello, conn.ws_task},
                timeout=self.connect_timeout,  # type: ignore[arg-type]
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not conn.hello.done():
                reason = await conn.until_closed() if conn.ws_task in done else "no hello"
                raise ConnectionError(f"the websocket did not open: {reason}")
        except FatalSettingError:
            self.connection = None
            await conn.close()
            raise
        except (ConnectionError, MattermostError, httpx.HTTPError, OSError) as exc:
            self.connection = None
            await conn.close()
            log.error("Connecting to Mattermost %s failed: %s", where, exc)
            self.last_failure = "websocket"
            return "websocket"
        log.info("Connected to Mattermost %s as @%s.", where, conn.me.get("username"))
        self.last_failure = None
        self._wake_sender()
        return CONNECTED

    def _learn_identity(self, me: dict[str, Any]) -> None:
        self.userid = me["id"]
        self.bot_identifier = self.directory.remember_user(me)
        # "@bot help" is how Mattermost users address a bot: accept it as a prefix.
        name = f"@{me.get('username')}"
        alts = tuple(getattr(self.bot_config, "BOT_ALT_PREFIXES", ()) or ())
        wanted = [f"{name}:", f"{name},", name]
        if any(w not in alts for w in wanted):
            self.bot_config.BOT_ALT_PREFIXES = alts + tuple(w for w in wanted if w not in alts)

    async def _load_team(self) -> None:
        try:
            self.team_id = await self.directory.team_id(self.team_name)
        except ResourceNotFound:
            text = (
                f"There is no Mattermost team {self.team_name!r} the bot can see: check "
                "BOT_IDENTITY['team'] (the team's name in its URL) and that the bot is a member."
            )
            if not self._ever_connected:
                log.error("%s The bot stops.", text)
                self._stop.set()
                raise FatalSettingError(text) from None
            raise ConnectionError(text) from None
        await self.directory.load_memberships(self.team_id)

    def session_ready(self, server_version: Any) -> None:
        """The websocket's ``hello``: the session is authenticated."""
        conn = self._attempt
        if conn is not None and not conn.hello.done():
            log.debug("Mattermost websocket ready (server %s).", server_version)
            conn.hello.set_result(True)

    async def _until_disconnected(self) -> None:
        conn = self.connection
        if conn is None:
            return
        try:
            reason = await conn.until_closed()
        finally:
            self._online = False
            self.connection = None
            await conn.close()
        if not self._stop.is_set():
            log.warning("Disconnected from Mattermost (%s).", reason)

    # -- stopping (the shutdown template is NetworkBackendMixin's) ------------------------
    async def _close(self) -> None:
        # Give the goodbyes of the plugins a moment to be posted.
        for _ in range(20):
            if not self._outbox or self.connection is None:
                break
            await asyncio.sleep(0.05)
        if self._outbox:
            log.warning("Stopping with %d unsent Mattermost posts.", len(self._outbox))
        if self._sender is not None:
            self._sender.cancel()
        for conn in {c for c in (self.connection, self._attempt) if c}:
            await conn.close()
        self.connection = self._attempt = None

    def change_presence(self, status: str = "online", message: str = "") -> None:
        """online, away, dnd or offline (Mattermost has no status message in this API)."""
        wanted = status if status in ("online", "away", "dnd", "offline") else "online"

        async def change() -> None:
            conn = self.connection
            if conn is None or not self.userid:
                log.warning("Not connected to Mattermost: presence not changed.")
                return
            await conn.call(
                "set status", conn.driver.status.update_user_status, self.userid, wanted
            )

        self.runtime.spawn(self._logged(change(), "change presence"))
