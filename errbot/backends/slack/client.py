"""The Slack connection: Web API client, Bolt app, Socket Mode or Events API over HTTP.

Everything here runs on the bot's event loop. The Web API client (`AsyncWebClient`) retries
HTTP 429 answers after the ``Retry-After`` delay Slack gives (slack-sdk's rate-limit retry
handler), and connection errors once. Events reach a Bolt `AsyncApp`, which acknowledges
them, drops the bot's own events and hands the rest to the backend's event translator:

* Socket Mode (``BOT_IDENTITY["app_token"]``, an ``xapp-`` token): Bolt's
  `AsyncSocketModeHandler` keeps a websocket open and replaces it when Slack or the network
  drops it (it asks ``apps.connections.open`` for a new URL).
* Events API (``BOT_IDENTITY["signing_secret"]``): Slack POSTs events to the bot's own
  webserver (the Webserver core plugin) on SLACK_EVENTS_PATH; the route checks the request
  signature with errbot.web.signatures before Bolt sees the request, and Bolt answers
  Slack's ``url_verification`` challenge.

`SlackDirectory` caches users and channels so that identifiers carry names (ACLs match
``@username`` and ``#channel``) without a Web API call per message.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

__all__ = ["SlackDirectory", "TokenRefused", "make_web_client", "refused"]

DEFAULT_API_URL = "https://slack.com/api/"
# Errors of auth.test / apps.connections.open that retrying cannot fix: the token is wrong.
TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


class TokenRefused(Exception):
    """Slack refused a token; the message names the setting to fix."""


def refused(exc: Exception) -> str | None:
    """The Slack error code when ``exc`` is a refused token, else None."""
    if isinstance(exc, SlackApiError):
        code = str((exc.response or {}).get("error") or "")
        if code in TOKEN_ERRORS:
            return code
    return None


def make_web_client(token: str, base_url: str | None, rate_limit_retries: int) -> AsyncWebClient:
    """A Web API client on ``base_url`` (which must end with "/"), retrying 429s."""
    url = base_url or DEFAULT_API_URL
    if not url.endswith("/"):
        url += "/"  # slack-sdk joins method names onto it
    return AsyncWebClient(
        token=token,
        base_url=url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ],
    )


class SlackDirectory:
    """Users and channels by id and name, filled on demand from the Web API."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self.users: dict[str, dict[str, Any]] = {}
        self.user_ids: dict[str, str] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.channel_ids: dict[str, str] = {}
        self.dm_channels: dict[str, str] = {}

    # -- users -------------------------------------------------------------------------
    def remember_user(self, user: dict[str, Any]) -> None:
        self.users[user["id"]] = user
        if user.get("name"):
            self.user_ids[user["name"]] = user["id"]

    async def user(self, userid: str) -> dict[str, Any]:
        """users.info, cached; a user Slack will not describe becomes ``{"id": userid}``."""
        if userid not in self.users:
            try:
                answer = await self.client.users_info(user=userid)
                self.remember_user(dict(answer["user"]))
            except SlackApiError as exc:
                log.warning("Slack: users.info %s failed: %s", userid, _code(exc))
                return {"id": userid}
        return self.users[userid]

    def cached_user(self, userid: str) -> dict[str, Any] | None:
        return self.users.get(userid)

    async def user_id(self, username: str) -> str | None:
        """The id of ``username`` (users.list is walked once, then on every cache miss)."""
        name = username.lstrip("@")
        if name not in self.user_ids:
            cursor = None
            while True:
                answer = await self.client.users_list(limit=200, cursor=cursor)
                for user in answer.get("members", []):
                    self.remember_user(dict(user))
                cursor = (answer.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        return self.user_ids.get(name)

    # -- channels ----------------------------------------------------------------------
    def remember_channel(self, channel: dict[str, Any]) -> None:
        self.channels[channel["id"]] = channel
        if channel.get("name"):
            self.channel_ids[channel["name"]] = channel["id"]

    async def channel(self, channelid: str, refresh: bool = False) -> dict[str, Any] | None:
        """conversations.info, cached; None when the channel does not exist (or is hidden)."""
        if refresh or channelid not in self.channels:
            try:
                answer = await self.client.conversations_info(channel=channelid)
            except SlackApiError as exc:
                if _code(exc) in ("channel_not_found", "not_in_channel"):
                    return None
                raise
            self.remember_channel(dict(answer["channel"]))
        return self.channels[channelid]

    async def list_channels(self, member_only: bool = False) -> list[dict[str, Any]]:
        """conversations.list (public and private channels), every page."""
        method = self.client.users_conversations if member_only else self.client.conversations_list
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            answer = await method(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor,
            )
            for channel in answer.get("channels", []):
                channel = dict(channel)
                if member_only:
                    channel["is_member"] = True
                self.remember_channel(channel)
                found.append(channel)
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def channel_id(self, name: str) -> str | None:
        name = name.lstrip("#")
        if name not in self.channel_ids:
            await self.list_channels()
        return self.channel_ids.get(name)

    async def dm_channel(self, userid: str) -> str:
        """The direct-message conversation with ``userid`` (conversations.open, cached)."""
        if userid not in self.dm_channels:
            answer = await self.client.conversations_open(users=userid)
            self.dm_channels[userid] = answer["channel"]["id"]
        return self.dm_channels[userid]


def _code(exc: SlackApiError) -> str:
    return str((exc.response or {}).get("error") or exc)


# -- mentions in incoming text ------------------------------------------------------------------
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
CHANNEL_LINK = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")
SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
