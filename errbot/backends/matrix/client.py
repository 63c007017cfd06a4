"""The Matrix connection: one matrix-nio `AsyncClient` on the bot's event loop.

The client lives as long as the backend: its access token (from BOT_IDENTITY's password
login, or given as ``token``) survives a lost connection, so a reconnection is just the next
``/sync`` with the saved since-token, with no new login and no new device. The backend owns
the reconnection back-off; nio retries a failed request only a couple of times before the
error comes back here as `Disconnected`.

Rate limits: nio retries a request answered ``429 M_LIMIT_EXCEEDED`` after the server's
``retry_after_ms`` (5 s when absent), up to `MAX_RATE_LIMITED` times in a row.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    LoginResponse,
    SyncResponse,
    WhoamiResponse,
)

log = logging.getLogger(__name__)

# Outcomes of a connection attempt.
CONNECTED = "connected"
AUTH_FAILED = "authentication failed"
UNREACHABLE = "server unreachable"
FAILED = "failed"

MAX_RATE_LIMITED = 8
# Login answers that retrying will not change: the password, token or user name is wrong.
_REFUSALS = frozenset(
    {"M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_USER_DEACTIVATED",
     "M_INVALID_USERNAME"}
)
DEVICE_NAME = "Errbot"


class Disconnected(Exception):
    """The homeserver cannot be reached (connection refused, dropped, timed out)."""


class MatrixRequestError(Exception):
    """The homeserver answered a request with an error."""

    def __init__(self, what: str, error: ErrorResponse | Any) -> None:
        self.code = str(getattr(error, "status_code", "") or "")
        self.detail = str(getattr(error, "message", "") or error)
        super().__init__(f"{what}: {self.code} {self.detail}".strip())


_NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


class MatrixConnection:
    """The bot's Matrix session: login, ``/sync``, and the requests the backend makes."""

    def __init__(
        self,
        homeserver: str,
        user_id: str,
        *,
        password: str | None,
        token: str | None,
        device_id: str | None,
        request_timeout: float,
        saved_token: str | None = None,
    ) -> None:
        config = AsyncClientConfig(
            encryption_enabled=False,  # E2EE is out of scope (docs/backends/matrix.md)
            store_sync_tokens=False,
            max_limit_exceeded=MAX_RATE_LIMITED,
            max_timeouts=2,
            request_timeout=request_timeout,
        )
        self.client = AsyncClient(
            homeserver.rstrip("/"), user_id, device_id=device_id or "", config=config
        )
        self._password = password
        self._token = token
        self.requested_user_id = user_id
        # A password login's token from an earlier run (with its device_id): reused so each
        # start does not add a device to the bot's account.
        self._saved_token = saved_token if password else None
        self.homeserver = homeserver
        self.logged_in = False
        self.resumed = False
        self.failure_detail = ""

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    # -- session ------------------------------------------------------------------------
    async def login(self) -> str:
        """Log in (password) or check the access token; returns an outcome."""
        if self.logged_in:
            return CONNECTED
        try:
            if self._token:
                answer: Any = await self._whoami(self._token)
            else:
                answer = await self._resume() or await self.client.login(
                    self._password, device_name=DEVICE_NAME
                )
        except _NETWORK_ERRORS as exc:
            self.failure_detail = str(exc) or type(exc).__name__
            return UNREACHABLE
        except json.JSONDecodeError as exc:
            self.failure_detail = f"not a Matrix homeserver ({exc})"
            return FAILED
        if isinstance(answer, LoginResponse | WhoamiResponse):
            self.logged_in = True
            return CONNECTED
        code = str(getattr(answer, "status_code", "") or "")
        self.failure_detail = f"{code} {getattr(answer, 'message', '') or answer}".strip()
        if code in _REFUSALS:
            return AUTH_FAILED
        return FAILED

    async def _whoami(self, token: str) -> Any:
        self.client.access_token = token
        answer = await self.client.whoami()
        if isinstance(answer, WhoamiResponse):
            self.client.user_id = answer.user_id
            if answer.device_id:
                self.client.device_id = answer.device_id
        return answer

    async def _resume(self) -> WhoamiResponse | None:
        """The saved session, if the homeserver still accepts its token for this user."""
        token, self._saved_token = self._saved_token, None
        if not token:
            return None
        wanted = self.requested_user_id
        answer = await self._whoami(token)
        if isinstance(answer, WhoamiResponse) and answer.user_id == wanted:
            self.resumed = True
            log.info("Resumed the saved Matrix session (device %s).", self.client.device_id)
            return answer
        # Logged out or revoked meanwhile: a password login, on the same device if known.
        log.info("The saved Matrix session is no longer valid: logging in with the password.")
        self.client.access_token = ""
        return None

    @property
    def session(self) -> dict[str, str]:
        """What to save to resume this login next time (see `_resume`)."""
        return {
            "user_id": self.user_id,
            "device_id": str(self.client.device_id or ""),
            "access_token": str(self.client.access_token or ""),
        }

    async def sync(self, since: str | None, timeout_ms: int) -> SyncResponse:
        """One ``/sync``; the first (``since`` None) asks for the full state at once."""
        try:
            if since is None:
                answer = await self.client.sync(timeout=0, full_state=True)
            else:
                answer = await self.client.sync(timeout=timeout_ms, since=since)
        except _NETWORK_ERRORS as exc:
            raise Disconnected(str(exc) or type(exc).__name__) from None
        if isinstance(answer, SyncResponse):
            return answer
        if getattr(answer, "status_code", "") in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
            # Logged out elsewhere (or the token was revoked): log in again next time.
            self.logged_in = False
        if getattr(answer, "transport_response", None) is not None:
            status = answer.transport_response.status
            if status >= 500:
                raise Disconnected(f"HTTP {status}")
        raise MatrixRequestError("sync", answer)

    async def close(self) -> None:
        try:
            await self.client.close()
        except Exception:  # closing must not raise, whatever state the session is in
            log.debug("Closing the Matrix HTTP session failed", exc_info=True)

    # -- requests -----------------------------------------------------------------------
    async def call(self, what: str, coro: Any, expected: type | tuple[type, ...]) -> Any:
        """Await a nio request; its answer, or MatrixRequestError / Disconnected."""
        try:
            answer = await coro
        except _NETWORK_ERRORS as exc:
            raise Disconnected(str(exc) or type(exc).__name__) from None
        if isinstance(answer, tuple):  # upload() answers (response, decryption keys)
            answer = answer[0]
        if not isinstance(answer, expected):
            transport = getattr(answer, "transport_response", None)
            if transport is not None and transport.status >= 500:
                raise Disconnected(f"HTTP {transport.status}")
            raise MatrixRequestError(what, answer)
        return answer

    async def send_event(self, room_id: str, content: dict[str, Any], kind: str) -> str:
        """Send one event; returns its ID."""
        from nio import RoomSendResponse

        answer = await self.call(
            f"sending to {room_id}",
            self.client.room_send(room_id, kind, content, ignore_unverified_devices=True),
            RoomSendResponse,
        )
        return str(answer.event_id)

    async def raw(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """A client-server API call nio has no method for (account data)."""
        url = f"/_matrix/client/v3{path}"
        try:
            answer = await self.client.send(
                method,
                url,
                json.dumps(body) if body is not None else None,
                {
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self.client.access_token}",
                },
            )
            data = await answer.json(content_type=None)
        except _NETWORK_ERRORS as exc:
            raise Disconnected(str(exc) or type(exc).__name__) from None
        if answer.status >= 400:
            raise MatrixRequestError(
                f"{method} {path}",
                _Error(data.get("errcode", str(answer.status)), data.get("error", "")),
            )
        return dict(data or {})

    async def direct_rooms(self) -> dict[str, list[str]]:
        """The bot's ``m.direct`` account data: {user ID: [room IDs]}."""
        path = f"/user/{_quote(self.user_id)}/account_data/m.direct"
        try:
            data = await self.raw("GET", path)
        except MatrixRequestError as exc:
            if exc.code == "M_NOT_FOUND":
                return {}
            raise
        return {str(k): [str(r) for r in v] for k, v in data.items() if isinstance(v, list)}

    async def set_direct_rooms(self, mapping: dict[str, list[str]]) -> None:
        path = f"/user/{_quote(self.user_id)}/account_data/m.direct"
        await self.raw("PUT", path, mapping)


class _Error:
    def __init__(self, code: str, message: str) -> None:
        self.status_code = code
        self.message = message


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")

