"""The Slack backend (``BACKEND = "SlackV3"``, or ``"Slack"``; needs ``pip install errbot[slack]``).

Drop-in for errbot-backend-slackv3: the same BOT_IDENTITY keys (``token``, ``app_token``,
``signing_secret``) and identifiers (``@user``, ``#channel``, ``<@U123>``...).

Threads: slack-sdk and Bolt run on the bot's own event loop, so this class sets
``loop_affine`` and every outgoing message is handed to the loop whichever thread sends it
(commands, pollers, webhooks). Outgoing messages go through one FIFO sender task, so the
chunks of a long reply arrive in order; while the Web API cannot be reached they wait there,
up to a bound (beyond it, sends are refused with a log line).

Start-up: ``auth.test`` checks the bot token (a refused token stops the bot with one error
naming BOT_IDENTITY['token']; an unreachable Slack is retried with a capped, jittered
back-off). Socket Mode then opens its websocket (slack-sdk replaces it whenever it drops);
in HTTP mode the Events API endpoint is routed on the bot's webserver. See
docs/backends/slack.md.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import random
import re
import threading
from collections.abc import Coroutine
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from errbot.backends.base import (
    ONLINE,
    Card,
    Identifier,
    Message,
    RoomError,
    Stream,
    UserDoesNotExistError,
)
from errbot.backends.slack_cards import card_attachment
from errbot.backends.slack_client import (
    DEFAULT_API_URL,
    SlackDirectory,
    make_web_client,
    refused,
)
from errbot.backends.slack_events import EventTranslator
from errbot.backends.slack_identifiers import (
    SlackPerson,
    SlackRoom,
    SlackRoomOccupant,
    parse_identifier,
)
from errbot.backends.slack_markup import md_to_mrkdwn
from errbot.backends.slack_rooms import SlackRoomsMixin
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

__all__ = ["SlackBackend", "SlackPerson", "SlackRoom", "SlackRoomOccupant"]

STARTED, REFUSED, FAILED = "started", "refused", "failed"
# Slack cuts messages at 40 000 characters; long ones are split sooner, for readability.
READABLE_LIMIT = 4000
SLACK_LIMIT = 40000
NETWORK_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


class SlackBackend(SlackRoomsMixin, ErrBot):
    """A bot in a Slack workspace: channels, direct messages, threads, reactions, files."""

    loop_affine = True

    # Start-up retries while Slack cannot be reached: capped back-off with jitter.
    reconnect_initial_delay = 1.0
    reconnect_factor = 1.75
    reconnect_max_delay = 300.0
    reconnect_jitter = 1.0
    # Socket Mode ping interval (s): a dead websocket is noticed and replaced within ~4x this.
    socket_ping_interval = 10.0
    rate_limit_retries = 5
    request_timeout = 30.0
    send_queue_limit = 1000

    def __init__(self, config: Any) -> None:
        identity = dict(getattr(config, "BOT_IDENTITY", None) or {})
        self._token = str(identity.get("token") or "")
        if not self._token:
            raise ValueError(
                "BOT_IDENTITY['token'] must be the Slack app's Bot User OAuth Token (xoxb-...)."
            )
        self._app_token = str(identity.get("app_token") or "") or None
        self._signing_secret = str(identity.get("signing_secret") or "") or None
        if not self._app_token and not self._signing_secret:
            raise ValueError(
                "The Slack backend needs BOT_IDENTITY['app_token'] (xapp-..., Socket Mode) or "
                "BOT_IDENTITY['signing_secret'] (Events API over HTTP)."
            )
        self.bot_identifier = SlackPerson(None, username="errbot")
        super().__init__(config)
        self._api_url = getattr(config, "SLACK_API_URL", None) or DEFAULT_API_URL
        self._events_path = str(getattr(config, "SLACK_EVENTS_PATH", None) or "/slack/events")
        self.client: Any = None
        self.directory: SlackDirectory | None = None
        self.bot_userid: str | None = None
        self.bot_botid: str | None = None
        self._app: Any = None
        self._socket: Any = None
        self._route: Any = None
        self._events = EventTranslator(self)
        self._rooms: dict[str, SlackRoom] = {}
        self._outbox: collections.deque[tuple[Any, str | None, dict[str, Any]]] = (
            collections.deque()
        )
        self._wake: asyncio.Event | None = None
        self._sender: asyncio.Task[None] | None = None
        self._stop = threading.Event()
        self._closing = False
        self._plugins_active = False
        self.started = False
        self.last_failure: str | None = None

    @property
    def mode(self) -> str:
        return "slack"

    @property
    def socket_mode(self) -> bool:
        return self._app_token is not None

    def set_message_size_limit(
        self, limit: int = READABLE_LIMIT, hard_limit: int = SLACK_LIMIT
    ) -> None:
        super().set_message_size_limit(limit, hard_limit)

    # -- serving --------------------------------------------------------------------------
    def serve_forever(self) -> None:
        delay = self.reconnect_initial_delay
        try:
            while not self._stop.is_set():
                outcome = self._wait(self._start())
                if outcome == STARTED or outcome == REFUSED or self._stop.is_set():
                    break
                wait = delay + random.random() * self.reconnect_jitter
                delay = min(delay * self.reconnect_factor, self.reconnect_max_delay)
                log.info("Retrying to reach Slack in %.1f s.", wait)
                if self._stop.wait(wait):
                    break
            if self.started and not self._stop.is_set():
                self.reset_reconnection_count()
                self._plugins_active = True
                self.connect_callback()
                self._stop.wait()  # Socket Mode reconnects by itself; HTTP needs nothing
        except KeyboardInterrupt:
            log.info("Interrupted, stopping the bot.")
        finally:
            self.shutdown()

    def serve_once(self) -> bool:
        return self._wait(self._start()) != FAILED

    def _wait(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the loop; give up (cancelling it) when the bot stops."""
        if self._stop.is_set() or not self.runtime.running:
            coro.close()
            return None
        future = asyncio.run_coroutine_threadsafe(coro, self.runtime.loop)
        while True:
            try:
                return future.result(timeout=0.2)
            except concurrent.futures.TimeoutError:
                if self._stop.is_set():
                    future.cancel()
                    return None

    async def _start(self) -> str:
        if self.client is None:
            self.client = make_web_client(self._token, self._api_url, self.rate_limit_retries)
            self.directory = SlackDirectory(self.client)
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            return self._failed("token", exc)
        except NETWORK_ERRORS as exc:
            log.error("Cannot reach the Slack Web API at %s: %s", self._api_url, exc)
            return FAILED
        self.bot_userid = str(auth["user_id"])
        self.bot_botid = auth.get("bot_id")
        name = str(auth.get("user") or "errbot")
        self.bot_identifier = SlackPerson(self.bot_userid, username=name)
        self._add_mention_prefix(name)
        from slack_bolt.async_app import AsyncApp

        # Signatures are checked by errbot.web before Bolt sees an HTTP request.
        app = AsyncApp(client=self.client, request_verification_enabled=False)
        app.event(re.compile(".*"))(self._on_bolt_event)
        self._app = app
        self._start_sender()
        if self.socket_mode:
            outcome = await self._open_socket(app)
            if outcome != STARTED:
                return outcome
        else:
            self._route_events()
        self.started = True
        self.last_failure = None
        log.info("Connected to Slack as @%s (%s).", name, self.bot_userid)
        return STARTED

    def _failed(self, which: str, exc: SlackApiError) -> str:
        code = refused(exc)
        if code:
            kind = "Bot User OAuth Token (xoxb-...)" if which == "token" else "App-Level Token"
            log.error(
                "Slack refused BOT_IDENTITY['%s'] (%s): set it to the app's %s.", which, code, kind
            )
            self.last_failure = REFUSED
            return REFUSED
        log.error("Slack start-up failed: %s", exc)
        return FAILED

    async def _open_socket(self, app: Any) -> str:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        # The first websocket URL is asked for here so that a wrong app token gives one clear
        # error instead of slack-sdk's endless "Failed to connect; Retrying...".
        try:
            answer = await self.client.apps_connections_open(app_token=self._app_token)
        except SlackApiError as exc:
            return self._failed("app_token", exc)
        except NETWORK_ERRORS as exc:
            log.error("Cannot open a Slack Socket Mode connection: %s", exc)
            return FAILED
        handler = AsyncSocketModeHandler(
            app, self._app_token, ping_interval=self.socket_ping_interval
        )
        handler.client.wss_uri = answer["url"]
        await handler.connect_async()
        self._socket = handler
        return STARTED

    def _route_events(self) -> None:
        from errbot.web.signatures import SignatureSpec

        router = getattr(self, "webhooks", None)
        if router is None:
            log.error("This bot has no webhook router: Slack events cannot be received.")
            return
        self._route = router.add(
            self._events_path,
            self.slack_events,
            methods=("POST",),
            raw=True,
            signature=SignatureSpec("slack", secret=self._signing_secret),
            owner=self,
        )
        log.info(
            "Slack Events API requests are answered on %s of the bot's webserver (configure "
            "the Webserver plugin and give Slack its public URL).",
            self._events_path,
        )

    async def slack_events(self, request: Any) -> Any:
        """The Events API endpoint (signature already checked): Bolt answers the request."""
        from flask import Response
        from slack_bolt.request.async_request import AsyncBoltRequest

        bolt_request = AsyncBoltRequest(
            body=request.get_data(as_text=True),
            query=request.query_string.decode("latin-1"),
            headers={key.lower(): value for key, value in request.headers.items()},
        )
        answer = await self._app.async_dispatch(bolt_request)
        content_type = (answer.headers.get("content-type") or ["text/plain"])[0]
        return Response(answer.body, status=answer.status, content_type=content_type)

    async def _on_bolt_event(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        await self._events.handle(event, body)

    def _add_mention_prefix(self, name: str) -> None:
        """``@botname`` (what a leading ``<@Ubot>`` becomes) is an alternative prefix."""
        config = self.bot_config
        mention = f"@{name}"
        alts = tuple(getattr(config, "BOT_ALT_PREFIXES", ()) or ())
        if mention.lower() not in (alt.lower() for alt in alts):
            config.BOT_ALT_PREFIXES = (*alts, mention)

    def bot_mention_as_prefix(self, text: str) -> str:
        """``@bot: cmd`` and ``@bot, cmd`` as ``@bot cmd``, so the prefix is recognised
        whatever BOT_ALT_PREFIX_SEPARATORS says."""
        mention = f"@{self.bot_identifier.username}"
        if text.lower().startswith(mention.lower()):
            rest = text[len(mention) :]
            if rest[:1] in (":", ","):
                return f"{mention} {rest[1:].lstrip()}"
        return text

    # -- stopping -------------------------------------------------------------------------
    def shutdown(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._stop.set()
        try:
            if self._plugins_active:
                self._plugins_active = False
                self.disconnect_callback()
            if self.runtime.running and not self.runtime.in_loop():
                try:
                    self.runtime.run_sync(self._close(), timeout=10)
                except Exception:
                    log.exception("Closing the Slack connection failed")
            elif self.runtime.running:
                self.runtime.spawn(self._close())
        finally:
            super().shutdown()

    async def _close(self) -> None:
        if self._outbox and self._sender is not None:
            for _ in range(40):  # goodbyes from deactivating plugins: up to 2 s
                if not self._outbox:
                    break
                await asyncio.sleep(0.05)
        if self._outbox:
            log.warning("Stopping with %d unsent Slack messages.", len(self._outbox))
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()
        if self._route is not None:
            self.webhooks.remove(self._route)
            self._route = None

    # -- sending --------------------------------------------------------------------------
    def send_message(self, msg: Message) -> None:
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_message, msg)
            return
        super().send_message(msg)
        self._enqueue(msg.to, _thread_of(msg), {"text": md_to_mrkdwn(msg.body)})

    def send_card(self, card: Card) -> None:
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_card, card)
            return
        payload = {"text": md_to_mrkdwn(card.summary or ""), "attachments": [card_attachment(card)]}
        # Plugins always give a card the message it answers: it stays in that message's
        # thread when there is one, but does not start a thread of its own.
        self._enqueue(card.to, _thread_of(card, start=False), payload)

    def _enqueue(self, to: Any, thread_ts: str | None, payload: dict[str, Any]) -> None:
        if len(self._outbox) >= self.send_queue_limit:
            log.error(
                "%d Slack messages are already waiting: the message to %s is refused.",
                len(self._outbox),
                to,
            )
            return
        self._outbox.append((to, thread_ts, payload))
        if self._wake is not None:
            self._wake.set()

    def _start_sender(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_loop())
        self._wake.set()

    async def _send_loop(self) -> None:
        assert self._wake is not None
        delay = self.reconnect_initial_delay
        while True:
            if not self._outbox:
                self._wake.clear()
                await self._wake.wait()
                continue
            to, thread_ts, payload = self._outbox[0]
            try:
                await self._post(to, thread_ts, payload)
            except NETWORK_ERRORS as exc:
                log.warning(
                    "Slack is unreachable (%s); %d messages wait, next try in %.1f s.",
                    exc,
                    len(self._outbox),
                    delay,
                )
                await asyncio.sleep(delay + random.random() * self.reconnect_jitter)
                delay = min(delay * self.reconnect_factor, self.reconnect_max_delay)
                continue
            except SlackApiError as exc:
                log.error("Slack refused the message to %s: %s", to, exc.response.get("error"))
            except Exception:
                log.exception("Sending a Slack message to %s failed", to)
            delay = self.reconnect_initial_delay
            self._outbox.popleft()

    async def _post(self, to: Any, thread_ts: str | None, payload: dict[str, Any]) -> None:
        arguments = dict(payload, channel=await self.channel_of(to))
        if thread_ts:
            arguments["thread_ts"] = thread_ts
        await self.client.chat_postMessage(**arguments)

    async def channel_of(self, identifier: Any) -> str:
        """The conversation id to post to for a room, a person (their DM) or text."""
        assert self.directory is not None
        if isinstance(identifier, str):
            identifier = self.build_identifier(identifier)
        if isinstance(identifier, SlackRoom):
            return await self.room_id(identifier)
        if isinstance(identifier, SlackPerson):
            if not isinstance(identifier, SlackRoomOccupant) and str(
                identifier.channelid or ""
            ).startswith("D"):
                return str(identifier.channelid)
            return await self.directory.dm_channel(await self.user_id_of(identifier))
        raise ValueError(f"Cannot send a Slack message to {identifier!r}.")

    def send_stream_request(
        self,
        user: Identifier,
        fsource: Any,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> Stream:
        """Upload a file to a person or a channel (files.getUploadURLExternal, the upload,
        files.completeUploadExternal); the returned Stream tells how it went."""
        stream = Stream(user, fsource, name, size, stream_type)
        data = stream.read()  # here, on the caller's thread: reading may block
        self.runtime.spawn(self._upload(stream, data))
        return stream

    async def _upload(self, stream: Stream, data: bytes) -> None:
        stream.accept()
        name = stream.name or "file"
        try:
            channel = await self.channel_of(stream.identifier)
            await self.client.files_upload_v2(channel=channel, file=data, filename=name, title=name)
        except Exception as exc:
            log.error("Uploading %s to %s failed: %s", name, stream.identifier, exc)
            stream.error(str(exc))
            return
        stream.ack_data(len(data))
        stream.success()

    def add_reaction(self, msg: Message, reaction: str) -> None:
        """React to an incoming message with the emoji ``reaction`` (name without colons)."""
        self._react(msg, reaction, "add")

    def remove_reaction(self, msg: Message, reaction: str) -> None:
        self._react(msg, reaction, "remove")

    def _react(self, msg: Message, reaction: str, action: str) -> None:
        channel, ts = msg.extras.get("channel"), msg.extras.get("ts")
        if not channel or not ts:
            raise ValueError("Only messages received from Slack can get reactions.")
        method = getattr(self.client, f"reactions_{action}")
        self.runtime.spawn(
            self._logged(method(channel=channel, timestamp=ts, name=reaction.strip(":")))
        )

    def change_presence(self, status: str = ONLINE, message: str = "") -> None:
        if self.client is None:
            return
        presence = "auto" if status == ONLINE else "away"
        self.runtime.spawn(self._logged(self.client.users_setPresence(presence=presence)))

    # -- identifiers and replies --------------------------------------------------------------
    def build_identifier(self, txtrep: str) -> Identifier:
        kind, parts = parse_identifier(txtrep)
        if kind == "room":
            return self.room_for(parts["channelid"], parts["channelname"])
        person = self._person(parts.get("userid"), parts.get("username"))
        if kind == "occupant":
            room = self.room_for(parts["channelid"], parts["channelname"])
            return SlackRoomOccupant(
                room,
                person.userid,
                username=person._username,
                fullname=person.fullname,
                email=person.email,
            )
        return person

    def _person(self, userid: str | None, username: str | None) -> SlackPerson:
        """A person with as much as is known; Slack is asked unless on the event loop (where
        the name is resolved when something is sent to them)."""
        directory = self.directory
        can_wait = directory is not None and self.runtime.running and not self.runtime.in_loop()
        if directory is not None and not userid and username:
            userid = directory.user_ids.get(username)
            if userid is None and can_wait:
                userid = self.runtime.run_sync(directory.user_id(username), self.request_timeout)
                if userid is None:
                    raise UserDoesNotExistError(f"No Slack user is called @{username}.")
        user: dict[str, Any] = {}
        if directory is not None and userid:
            user = directory.cached_user(userid) or {}
            if not user and can_wait:
                user = self.runtime.run_sync(directory.user(userid), self.request_timeout)
        profile = user.get("profile") or {}
        return SlackPerson(
            userid,
            username=user.get("name") or username,
            fullname=user.get("real_name") or profile.get("real_name"),
            email=profile.get("email"),
        )

    def query_room(self, room: str) -> SlackRoom:
        identifier = self.build_identifier(room)
        if isinstance(identifier, SlackRoomOccupant):
            return identifier.room
        if not isinstance(identifier, SlackRoom):
            raise RoomError(f"{room!r} is not a Slack channel (#name or C123).")
        return identifier

    def bot_occupant(self, room: SlackRoom) -> SlackRoomOccupant:
        bot = self.bot_identifier
        return SlackRoomOccupant(room, bot.userid, username=bot.username)

    def is_from_self(self, msg: Message) -> bool:
        frm = msg.frm
        return isinstance(frm, SlackPerson) and bool(frm.userid) and frm.userid == self.bot_userid

    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        reply = self.build_message(text or "")
        frm = msg.frm
        if msg.is_group and isinstance(frm, SlackRoomOccupant) and not private:
            reply.to = frm.room
            reply.frm = self.bot_occupant(frm.room)
        else:
            if isinstance(frm, SlackRoomOccupant):
                # A private answer to someone in a channel goes to their direct messages.
                frm = SlackPerson(frm.userid, username=frm._username, fullname=frm.fullname)
            reply.to = frm
            reply.frm = self.bot_identifier
        in_a_thread = bool(msg.extras.get("thread_ts"))
        if threaded or (in_a_thread and not (private and msg.is_group)):
            # A question asked in a thread is answered in that thread.
            reply.parent = msg
        return reply

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)
        userid = getattr(identifier, "userid", None)
        who = f"<@{userid}>" if userid else f"@{getattr(identifier, 'nick', identifier)}"
        message.body = f"{who} {message.body}"


def _thread_of(msg: Message, start: bool = True) -> str | None:
    """The thread a message goes to: its parent's thread, or (``start``) the thread the
    parent starts."""
    parent = msg.parent
    if parent is None:
        return None
    thread = parent.extras.get("thread_ts")
    return thread or (parent.extras.get("ts") if start else None) or None
