"""The Matrix backend (``BACKEND = "Matrix"``), built on matrix-nio.

Threads: the nio client runs on the bot's own event loop (``self.runtime.loop``); the thread
that calls `serve_forever` only supervises: it waits for the session to start and end,
applies the reconnection back-off and activates the plugins. `send_message` always runs on
the loop (``loop_affine``), so ``self.send()`` works from webhooks and pollers too.

Sessions: one nio client and one access token for the bot's life. A lost connection ends the
sync loop; the next attempt continues ``/sync`` from the saved since-token (no new login).
Messages sent meanwhile wait in a bounded outbox (`outbox`). Only the first sync of the
process is treated as history: old commands are never run again at start-up.

Not supported: end-to-end encrypted rooms (see docs/backends/matrix.md).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any
from urllib.parse import urlparse

from errbot.backends.base import AWAY, DND, OFFLINE, Identifier, Message
from errbot.backends.matrix import identifiers
from errbot.backends.matrix.client import (
    AUTH_FAILED,
    CONNECTED,
    UNREACHABLE,
    Disconnected,
    MatrixConnection,
    MatrixRequestError,
)
from errbot.backends.matrix.events import EventTranslator, mention_as_prefix
from errbot.backends.matrix.identifiers import MatrixPerson, MatrixRoomOccupant
from errbot.backends.matrix.markup import MESSAGE_SIZE_LIMIT
from errbot.backends.matrix.outbox import Outbox
from errbot.backends.matrix.room_ops import RoomOperations
from errbot.backends.matrix.rooms import MatrixRoom
from errbot.backends.matrix.sending import IDENTIFIER_HELP, Sending
from errbot.backends.network import NetworkBackendMixin
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

# The backend's storage key of a password login's device and access token, reused by the next
# start instead of logging in again (each login would add a device to the bot's account).
SESSION_KEY = "matrix_session"

__all__ = ["MatrixBackend", "MatrixPerson", "MatrixRoom", "MatrixRoomOccupant"]


def _user_id(username: str, homeserver: str) -> str:
    """BOT_IDENTITY['username']: a full MXID, or a localpart on the homeserver's host."""
    if username.startswith("@"):
        return username
    host = urlparse(homeserver).hostname or homeserver
    return f"@{username}:{host}"


class MatrixBackend(Sending, RoomOperations, NetworkBackendMixin, ErrBot):
    """A bot on a Matrix homeserver: rooms, direct chats, threads, reactions, files."""

    loop_affine = True

    # Reconnection back-off (seconds), capped; a refused login is retried no sooner than
    # `refusal_retry_delay`: repeating a wrong password changes nothing and may lock it.
    reconnect_initial_delay = 1.0
    reconnect_factor = 1.75
    reconnect_max_delay = 300.0
    reconnect_jitter = 1.0
    refusal_retry_delay = 60.0
    refusal_outcomes = (AUTH_FAILED,)
    request_timeout = 30.0
    sync_timeout_ms = 30_000
    send_queue_limit = 1000
    close_failure_text = "Closing the Matrix session failed"
    operation_failure_text = "Matrix room operation %s failed: %s"

    def __init__(self, config: Any) -> None:
        identity = dict(getattr(config, "BOT_IDENTITY", None) or {})
        homeserver = str(identity.get("homeserver") or "")
        if not homeserver.startswith(("http://", "https://")):
            raise ValueError(
                "BOT_IDENTITY['homeserver'] must be the homeserver's URL "
                f"(https://matrix.example.org), not {homeserver!r}"
            )
        username = str(identity.get("username") or "")
        if not username:
            raise ValueError(
                "BOT_IDENTITY['username'] must be the bot's Matrix ID (@bot:example.org)"
            )
        try:
            self.bot_identifier = MatrixPerson(_user_id(username, homeserver))
        except ValueError as exc:
            raise ValueError(f"BOT_IDENTITY['username']: {exc}") from None
        password, token = identity.get("password"), identity.get("token")
        if not password and not token:
            raise ValueError(
                "BOT_IDENTITY needs the bot's 'password' or an access 'token' for Matrix"
            )
        super().__init__(config)
        self._homeserver = homeserver
        self._password = str(password) if password else None
        self._token = str(token) if token else None
        self._device_id = str(identity.get("device_id") or "") or None
        # True: every invitation; False: none; unset (None): direct chats from anyone and any
        # room from BOT_ADMINS (see RoomOperations.accepts_invitation).
        auto_join = getattr(config, "MATRIX_AUTO_JOIN_ON_INVITE", None)
        self.auto_join: bool | None = None if auto_join is None else bool(auto_join)
        from errbot.rendering import text, xhtml

        self._text = text()
        self._html = xhtml()
        self._rooms: dict[str, MatrixRoom] = {}
        self._aliases: dict[str, MatrixRoom] = {}
        self._direct: dict[str, list[str]] = {}
        self._direct_ids: set[str] = set()
        self._conn: MatrixConnection | None = None
        self._sync_task: asyncio.Task[Any] | None = None
        self._since: str | None = None
        self._online = asyncio.Event()
        self._outbox = Outbox(self._online, self.send_queue_limit)
        self._events = EventTranslator(self)
        self._ready = False  # plugins activated: `connected` means commands are answered
        self.display_name: str | None = None
        self.connections = 0
        self.last_failure: str | None = None
        identifiers.live_backend = weakref.ref(self)

    @property
    def mode(self) -> str:
        return "matrix"

    @property
    def user_id(self) -> str:
        return self.bot_identifier.user_id

    @property
    def connected(self) -> bool:
        """Whether the sync loop is up (sends go out at once) and the plugins are active."""
        return self._online.is_set() and self._ready

    def set_message_size_limit(
        self, limit: int = MESSAGE_SIZE_LIMIT, hard_limit: int = MESSAGE_SIZE_LIMIT
    ) -> None:
        super().set_message_size_limit(limit, hard_limit)

    # -- serving ------------------------------------------------------------------------
    def serve_forever(self) -> None:
        self._reconnect_forever(
            self._serve_session,
            "The Matrix session failed unexpectedly",
            "Syncing with the Matrix homeserver again in %.1f s.",
        )

    def serve_once(self) -> bool:
        self._serve_session()
        return self._stop.is_set()

    def _serve_session(self) -> str | None:
        self.connections += 1
        outcome = self._wait(self._open())
        if outcome != CONNECTED:
            return outcome
        self.reset_reconnection_count()
        self._activate_plugins()
        self._ready = True
        self._wait(self._sync_loop())
        return None

    async def _open(self) -> str | None:
        if self._conn is None:
            saved = self._saved_session()
            self._conn = MatrixConnection(
                self._homeserver,
                self.user_id,
                password=self._password,
                token=self._token,
                device_id=self._device_id or saved.get("device_id"),
                request_timeout=self.request_timeout,
                saved_token=saved.get("access_token"),
            )
        conn = self._conn
        first_login = not conn.logged_in
        outcome = await conn.login()
        if outcome != CONNECTED:
            self._log_failure(outcome, conn.failure_detail)
            return outcome
        try:
            if first_login:
                self._save_session(conn)
                await self._after_login(conn)
            initial = self._since is None
            response = await conn.sync(self._since, 0)
        except (Disconnected, MatrixRequestError) as exc:
            self._log_failure(UNREACHABLE, str(exc))
            return UNREACHABLE
        self._since = response.next_batch
        self._events.handle(response, initial=initial)
        log.info("Connected to the Matrix homeserver %s as %s.", self._homeserver, self.user_id)
        self.last_failure = None
        self._online.set()
        return CONNECTED

    def _saved_session(self) -> dict[str, str]:
        """The password login saved by an earlier run of this bot (same user and server)."""
        if not self._password:
            return {}
        try:
            saved = dict(self[SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            return {}
        same = (saved.get("user_id"), saved.get("homeserver")) == (self.user_id, self._homeserver)
        if not same or (self._device_id and saved.get("device_id") != self._device_id):
            return {}
        return {k: str(v) for k, v in saved.items() if v}

    def _save_session(self, conn: MatrixConnection) -> None:
        if not self._password or conn.resumed:
            return
        try:
            self[SESSION_KEY] = {**conn.session, "homeserver": self._homeserver}
        except Exception:  # no storage (closing, read-only): next start logs in again
            log.warning("Could not save the Matrix session for the next start", exc_info=True)

    async def _after_login(self, conn: MatrixConnection) -> None:
        if conn.user_id != self.user_id:  # an access token belongs to whoever it belongs to
            self.bot_identifier = MatrixPerson(conn.user_id)
        try:
            answer = await conn.client.get_displayname(conn.user_id)
            self.display_name = getattr(answer, "displayname", None) or None
            self.learn_direct_rooms(await conn.direct_rooms())
        except MatrixRequestError as exc:
            log.warning("Could not read the bot's Matrix profile: %s", exc)
        self.bot_identifier = MatrixPerson(conn.user_id, self.display_name)

    async def _sync_loop(self) -> None:
        self._sync_task = asyncio.current_task()
        conn = self._conn
        while conn is not None and not self._stop.is_set():
            try:
                response = await conn.sync(self._since, self.sync_timeout_ms)
            except Disconnected as exc:
                self._online.clear()
                if not self._stop.is_set():
                    log.warning("Lost the connection to the Matrix homeserver: %s", exc)
                return
            except MatrixRequestError as exc:
                self._online.clear()
                log.error("The Matrix homeserver refused the sync: %s", exc)
                return
            self._since = response.next_batch
            self._online.set()
            try:
                self._events.handle(response, initial=False)
            except Exception:  # one bad event must not stop the bot listening
                log.exception("Handling a Matrix sync response failed")

    def _log_failure(self, outcome: str | None, detail: str) -> None:
        why = f" ({detail})" if detail else ""
        if outcome == AUTH_FAILED:
            setting = "BOT_IDENTITY['token']" if self._token else "BOT_IDENTITY['password']"
            text = (
                f"The Matrix homeserver {self._homeserver} refused the login of "
                f"{self.user_id}{why}: check {setting} (and BOT_IDENTITY['username'])."
            )
        elif outcome == UNREACHABLE:
            text = (
                f"Cannot reach the Matrix homeserver {self._homeserver}{why}: check "
                "BOT_IDENTITY['homeserver']."
            )
        else:
            text = f"The Matrix homeserver {self._homeserver} failed the login{why}."
        self.last_failure = outcome
        log.error(text)

    # -- stopping -----------------------------------------------------------------------
    async def _close(self) -> None:
        if self._online.is_set():
            await self._outbox.drain(3.0)
        left = await self._outbox.stop()
        if left:
            log.warning("Stopping with %d unsent Matrix messages.", left)
        self._online.clear()
        # Stop the long poll before closing the session: nio would open a new session for
        # a request that fails on a closed one, and that session would never be closed.
        task, self._sync_task = self._sync_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=2)
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    # -- identifiers ----------------------------------------------------------------------
    def build_identifier(self, txtrep: str) -> Identifier:
        text = str(txtrep).strip()
        if text.startswith(("!", "#")):
            room_part, sep, user = text.partition("/")
            room = self.query_room(room_part)
            if sep:
                return MatrixRoomOccupant(room, user, self.display_name_in(room, user))
            return room
        if text.startswith("@"):
            return MatrixPerson(text)
        raise ValueError(f"{text!r} is not a Matrix identifier. {IDENTIFIER_HELP}")

    def is_from_self(self, msg: Message) -> bool:
        return getattr(msg.frm, "user_id", None) == self.user_id

    # -- replies ----------------------------------------------------------------------------
    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        frm = msg.frm
        extras: dict[str, Any] = {}
        reply = Message(text or "", extras=extras)
        if msg.is_group and isinstance(frm, MatrixRoomOccupant) and not private:
            reply.to, reply.frm = frm.room, self.bot_occupant(frm.room)
            if msg.extras.get("thread_root"):
                reply.parent = msg  # a message in a thread is answered in the thread
        else:
            user_id = getattr(frm, "user_id", None)
            reply.to = MatrixPerson(user_id, getattr(frm, "display_name", None)) if user_id else frm
            reply.frm = self.bot_identifier
            if msg.is_direct:
                extras["room_id"] = msg.extras.get("room_id")  # the chat it came from
                if msg.extras.get("thread_root"):
                    reply.parent = msg
        if threaded:
            reply.parent = msg
            extras["matrix_thread"] = True
        return reply

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)
        name = getattr(identifier, "display_name", None) or getattr(identifier, "nick", None)
        message.body = f"{name or identifier}: {message.body}"
        user_id = getattr(identifier, "user_id", None)
        if user_id and isinstance(message.extras, dict):
            message.extras["matrix_mentions"] = [user_id]

    def addressed(self, body: str) -> str:
        """"Errbot: help" (a mention of the bot first, as clients insert it) as "!help"."""
        names = (self.user_id, self.bot_identifier.localpart, self.display_name or "")
        return mention_as_prefix(body, names, self.prefix)

    def change_presence(self, status: str = "online", message: str = "") -> None:
        state = {AWAY: "unavailable", DND: "unavailable", OFFLINE: "offline"}.get(
            status, "online"
        )

        async def update() -> None:
            conn = self._conn
            if conn is None or not conn.logged_in:
                log.warning("Not connected to the Matrix homeserver: presence not changed.")
                return
            answer = await conn.client.set_presence(state, message or None)
            if getattr(answer, "status_code", None):
                log.warning("The Matrix presence was not changed: %s", answer)

        self.runtime.spawn(self._logged(update(), "presence"))
