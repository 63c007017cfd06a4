"""What plugins written for errbot-backend-slackv3 reach through ``self._bot``.

Kept (same names and arguments):

* ``slack_web``: a *synchronous* `slack_sdk.WebClient` with the bot token (and
  SLACK_API_URL), for any Web API method (``self._bot.slack_web.chat_postMessage(...)``).
  It blocks the calling thread: call it from plain (not ``async def``) plugin code.
* ``api_call(method, data=None, raise_errors=True)``: ``slack_web.api_call(method, **data)``
  returning the answer as a dict; Slack's ``ok: false`` raises `SlackAPIResponseError`
  (with ``.error``) unless ``raise_errors`` is False.
* ``userid_to_username``, ``username_to_userid``, ``channelid_to_channelname``,
  ``channelname_to_channelid``, ``get_im_channel`` and ``channels(...)``, answered from the
  backend's cache of users and channels (asking Slack on a miss).

ACLs: slackv3 identifies people by user id, so its users list ids (``U012ABC``, or
``<@U012ABC>``) in BOT_ADMINS and ACCESS_CONTROLS; this backend's ``aclattr`` is
``@username``. At connection, every listed id gains its ``@username`` beside it, so both
spellings keep matching.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from errbot.backends.base import UserDoesNotExistError

if TYPE_CHECKING:
    from errbot.backends.slack.client import SlackDirectory

log = logging.getLogger(__name__)

__all__ = ["SlackAPIResponseError", "SlackCompatMixin", "user_ids_with_names"]

_LISTED_ID = re.compile(r"^(?:<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>|([UW][A-Z0-9]{2,}))$")


class SlackAPIResponseError(RuntimeError):
    """Slack answered ``ok: false``; ``error`` is Slack's error code."""

    def __init__(self, *args: Any, error: str = "", **kwargs: Any) -> None:
        super().__init__(*args)
        self.error = error


class SlackCompatMixin:
    """Mixed into `SlackBackend`; expects ``runtime``, ``directory``, ``_token``,
    ``_api_url``, ``rate_limit_retries`` and ``request_timeout``."""

    runtime: Any
    directory: SlackDirectory | None
    request_timeout: float
    rate_limit_retries: int
    _token: str
    _api_url: str
    _slack_web: WebClient | None = None

    @property
    def slack_web(self) -> WebClient:
        if self._slack_web is None:
            url = self._api_url if self._api_url.endswith("/") else self._api_url + "/"
            self._slack_web = WebClient(
                token=self._token,
                base_url=url,
                timeout=int(self.request_timeout),
                retry_handlers=[
                    RateLimitErrorRetryHandler(max_retry_count=self.rate_limit_retries)
                ],
            )
        return self._slack_web

    def api_call(
        self, method: str, data: dict[str, Any] | None = None, raise_errors: bool = True
    ) -> dict[str, Any]:
        try:
            return dict(self.slack_web.api_call(method, **(data or {})).data)
        except SlackApiError as exc:
            answer = dict(exc.response.data) if isinstance(exc.response.data, dict) else {}
            if raise_errors:
                error = str(answer.get("error") or exc)
                raise SlackAPIResponseError(
                    f"Slack API call to {method} failed: {error}", error=error
                ) from exc
            return answer

    def _blocking(self, coro: Coroutine[Any, Any, Any]) -> Any:
        if self.directory is None:
            coro.close()
            raise RuntimeError("Not connected to Slack yet.")
        if self.runtime.in_loop():
            coro.close()
            raise RuntimeError(
                "This Slack lookup waits for Slack: call it from a plain (not async) command."
            )
        return self.runtime.run_sync(coro, timeout=self.request_timeout + 5)

    def userid_to_username(self, id_: str) -> str:
        user = self._blocking(self.directory.user(id_)) if self.directory else {}
        return str(user.get("name") or id_)

    def username_to_userid(self, name: str) -> str:
        userid = self._blocking(self.directory.user_id(name)) if self.directory else None
        if not userid:
            raise UserDoesNotExistError(f"Cannot find user '{name.lstrip('@')}'.")
        return str(userid)

    def channelid_to_channelname(self, id_: str) -> str:
        channel = self._blocking(self.directory.channel(id_)) if self.directory else None
        return str((channel or {}).get("name") or id_)

    def channelname_to_channelid(self, name: str) -> str | None:
        return self._blocking(self.directory.channel_id(name)) if self.directory else None

    def get_im_channel(self, id_: str) -> str:
        return str(self._blocking(self.directory.dm_channel(id_))) if self.directory else ""

    def channels(
        self,
        exclude_archived: bool = True,
        joined_only: bool = False,
        types: str = "public_channel,private_channel",
    ) -> list[dict[str, Any]]:
        """conversations.list as slackv3 gave it (every page)."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            answer = self.slack_web.conversations_list(
                exclude_archived=exclude_archived, types=types, limit=200, cursor=cursor
            )
            found += [
                c for c in answer.get("channels", []) if c.get("is_member") or not joined_only
            ]
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def _accept_listed_user_ids(self, config: Any) -> None:
        """Add ``@username`` beside every user id in BOT_ADMINS and ACCESS_CONTROLS."""
        assert self.directory is not None
        directory = self.directory

        async def name_of(userid: str) -> str | None:
            return (await directory.user(userid)).get("name")

        admins = tuple(getattr(config, "BOT_ADMINS", ()) or ())
        config.BOT_ADMINS = await user_ids_with_names(admins, name_of)
        for rules in (getattr(config, "ACCESS_CONTROLS", None) or {}).values():
            if not isinstance(rules, dict):
                continue
            for key in ("allowusers", "denyusers"):
                if isinstance(rules.get(key), (list, tuple)):
                    rules[key] = await user_ids_with_names(tuple(rules[key]), name_of)


async def user_ids_with_names(entries: tuple[Any, ...], name_of: Any) -> tuple[Any, ...]:
    """``entries`` with ``@name`` added after each Slack user id (kept) it contains."""
    result: list[Any] = []
    for entry in entries:
        result.append(entry)
        match = _LISTED_ID.match(str(entry).strip())
        if not match:
            continue
        name = await name_of(match.group(1) or match.group(2))
        if name and f"@{name}" not in entries:
            log.info("Slack: %s in the ACL settings is @%s.", entry, name)
            result.append(f"@{name}")
    return tuple(result)
