"""The Slack backend (``BACKEND = "SlackV3"``, or ``"Slack"``; needs ``pip install errbot[slack]``).

Drop-in for errbot-backend-slackv3: the same BOT_IDENTITY keys (``token``, ``app_token``,
``signing_secret``), identifiers (``@user``, ``#channel``, ``<@U123>``...), ``mode`` and the
helpers its plugins call (`compat`).

This module starts, serves and stops the connection; the rest is in mixins of one job each:
`outbox` (sending, in order, through a bounded queue), `files` (uploads), `reactions`
(the bot's reactions and presence), `addressing` (identifiers and replies), `rooms`
(conversations.*), `compat` (slackv3's helpers); incoming events are translated in `events`.

Threads: slack-sdk and Bolt run on the bot's own event loop, so this class sets
``loop_affine`` and every outgoing message is handed to the loop whichever thread sends it
(commands, pollers, webhooks).

Start-up: ``auth.test`` checks the bot token (a refused token stops the bot with one error
naming BOT_IDENTITY['token']; an unreachable Slack is retried with a capped, jittered
back-off). Socket Mode then opens its websocket (slack-sdk replaces it whenever it drops);
in HTTP mode the Events API endpoint is routed on the bot's webserver. See
docs/backends/slack.md.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError

from errbot.backends.network import NetworkBackendMixin
from errbot.backends.slack.addressing import SlackAddressingMixin
from errbot.backends.slack.client import (
    DEFAULT_API_URL,
    SlackDirectory,
    make_web_client,
    refused,
)
from errbot.backends.slack.compat import SlackCompatMixin
from errbot.backends.slack.events import EventTranslator
from errbot.backends.slack.files import SlackFilesMixin
from errbot.backends.slack.identifiers import SlackPerson, SlackRoom, SlackRoomOccupant
from errbot.backends.slack.outbox import NETWORK_ERRORS, Outgoing, SlackOutboxMixin
from errbot.backends.slack.reactions import SlackReactionsMixin
from errbot.backends.slack.rooms import SlackRoomsMixin
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

__all__ = ["SlackBackend", "SlackPerson", "SlackRoom", "SlackRoomOccupant"]

STARTED, REFUSED, FAILED = "started", "refused", "failed"
# Slack cuts messages at 40 000 characters; long ones are split sooner, for readability.
READABLE_LIMIT = 4000
SLACK_LIMIT = 40000


class SlackBackend(
    SlackOutboxMixin,
    SlackFilesMixin,
    SlackReactionsMixin,
    SlackAddressingMixin,
    SlackRoomsMixin,  # its room_call and _logged, not NetworkBackendMixin's
    SlackCompatMixin,
    NetworkBackendMixin,
    ErrBot,
):
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
    close_failure_text = "Closing the Slack connection failed"

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
        self._outbox: collections.deque[Outgoing] = collections.deque()
        self._wake: asyncio.Event | None = None
        self._sender: asyncio.Task[None] | None = None
        self.started = False
        self.last_failure: str | None = None

    @property
    def mode(self) -> str:
        # errbot-backend-slackv3's value: plugins test it, and the backend's storage is named
        # after it, so a data directory kept from slackv3 is found again.
        return "slackv3"

    @property
    def socket_mode(self) -> bool:
        return self._app_token is not None

    def set_message_size_limit(
        self, limit: int = READABLE_LIMIT, hard_limit: int = SLACK_LIMIT
    ) -> None:
        super().set_message_size_limit(limit, hard_limit)

    # -- serving --------------------------------------------------------------------------
    def serve_forever(self) -> None:
        backoff = self.reconnection_backoff()
        try:
            while not self._stop.is_set():
                outcome = self._wait(self._start())
                if outcome == STARTED or outcome == REFUSED or self._stop.is_set():
                    break
                wait = backoff.next_delay()
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
        try:
            await self._accept_listed_user_ids(self.bot_config)
        except NETWORK_ERRORS as exc:  # not fatal: ids in the ACLs just match no one yet
            log.warning("Could not look up the user ids listed in BOT_ADMINS/ACLs: %s", exc)
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
    # The shutdown template is NetworkBackendMixin's; this closes what Slack opened.
    async def _close(self) -> None:
        await self._close_outbox()
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()
        if self._route is not None:
            self.webhooks.remove(self._route)
            self._route = None
