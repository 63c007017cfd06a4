"""The Mattermost connection: REST API v4 and the websocket, through mattermostautodriver.

`MattermostConnection` lives for one connection attempt, on the bot's event loop. It logs in
(``GET /users/me`` with the token, or ``POST /users/login``), then serves one websocket
session until it drops; the backend owns reconnection and its back-off.

Two things are done here instead of in the driver, on purpose:

* **Rate limits.** The driver's own retry loop is switched off (``max_retries=0``) and every
  call goes through `MattermostConnection.call`, which waits for what the server asks
  (``Retry-After``, else ``X-Ratelimit-Reset``, parsed by the driver) and retries. That also
  covers file uploads, whose body the driver will not resend, and logs each wait.
* **Websocket sessions.** The driver's `Websocket.connect` reconnects forever on its own with
  a fixed delay and swallows the reason; `SessionWebsocket` serves exactly one session (the
  driver's authentication challenge and read loop are reused) and returns why it ended.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from mattermostautodriver import AsyncTypedDriver
from mattermostautodriver.exceptions import (
    MattermostError,
    NoAccessTokenProvided,
    TooManyRequests,
)
from mattermostautodriver.websocket import Websocket

log = logging.getLogger(__name__)

# Outcomes of a connection attempt.
CONNECTED = "connected"
AUTH_FAILED = "authentication failed"
UNREACHABLE = "server unreachable"

EventHandler = Callable[[str], Awaitable[None]]


class _QuietAuthNoise(logging.Filter):
    """The driver logs "Websocket authentication failed" at ERROR for every frame that comes
    before ``hello`` (the server's OK to the challenge included): misleading, so dropped.
    A real refusal is reported by the backend (no ``hello``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Websocket authentication failed"


logging.getLogger("mattermostautodriver.websocket").addFilter(_QuietAuthNoise())


def driver_options(identity: dict[str, Any]) -> dict[str, Any]:
    """mattermostautodriver options from BOT_IDENTITY (keys of errbot-mattermost-backend).

    ``server`` is a host name (then ``scheme`` defaults to https and ``port`` to 8065, as
    that backend did) or a URL such as ``https://chat.example.org`` (its port, else 443/80).
    """
    server = str(identity.get("server") or "").strip()
    if not server:
        raise ValueError(
            "BOT_IDENTITY['server'] must be the Mattermost server: a host name "
            "(chat.example.org) or a URL (https://chat.example.org)."
        )
    scheme = str(identity.get("scheme") or "https").lower()
    port: Any = identity.get("port")
    if "://" in server:
        parts = urlsplit(server)
        scheme = parts.scheme.lower()
        if parts.path.strip("/"):
            raise ValueError(
                f"BOT_IDENTITY['server'] {server!r}: Mattermost under a sub-path is not supported."
            )
        server = parts.hostname or ""
        port = port or parts.port or (443 if scheme == "https" else 80)
    if scheme not in ("http", "https"):
        raise ValueError(f"BOT_IDENTITY['scheme'] must be 'https' or 'http', not {scheme!r}")
    try:
        port = int(port or 8065)
    except (TypeError, ValueError):
        raise ValueError(f"BOT_IDENTITY['port'] must be a number, not {port!r}") from None
    token = identity.get("token")
    login, password = identity.get("login"), identity.get("password")
    if not token and not (login and password):
        raise ValueError(
            "BOT_IDENTITY['token'] must be the bot's access token (or give "
            "BOT_IDENTITY['login'] and BOT_IDENTITY['password'])."
        )
    timeout = float(identity.get("timeout") or 30)
    return {
        "url": server,
        "port": port,
        "scheme": scheme,
        "token": token or None,
        "login_id": None if token else login,
        "password": None if token else password,
        "verify": not identity.get("insecure", False),
        "request_timeout": timeout,
        "timeout": timeout,
        "keepalive": False,
        "max_retries": 0,  # rate limits are handled by MattermostConnection.call
        # aiohttp pings the server and closes a connection that stops answering, which is
        # how a half-open connection (laptop sleep, NAT timeout) is noticed.
        "websocket_kw_args": {"heartbeat": timeout, "autoping": True},
    }


class SessionWebsocket(Websocket):
    """One websocket session of the driver, ended by `close` or by the server."""

    websocket: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self, event_handler: EventHandler) -> str:
        """Authenticate and read events until the session ends; returns why it ended."""
        options = self.options
        context: ssl.SSLContext | None = None
        if options["scheme"] == "https":
            context = ssl.create_default_context()
            if not options["verify"]:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        scheme = "wss" if context is not None else "ws"
        url = f"{scheme}://{options['url']}:{options['port']}/api/v4/websocket"
        self._alive = True
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(
                url,
                ssl=context or True,
                proxy=options["proxy"],
                **(options["websocket_kw_args"] or {}),
            ) as websocket:
                self.websocket = websocket
                try:
                    await self._authenticate_websocket(websocket, event_handler)
                    await self._start_loop(websocket, event_handler)
                except (TypeError, aiohttp.ClientError) as exc:
                    # aiohttp raises WSMessageTypeError (a TypeError) when a close frame
                    # arrives where text was expected: the session is over.
                    if not self._alive:
                        return "closed by the bot"
                    code = websocket.close_code
                    return f"websocket closed ({code})" if code else f"websocket lost ({exc})"
                finally:
                    self.websocket = None
        return "closed by the bot"

    async def close(self) -> None:
        self._alive = False
        websocket = self.websocket
        if websocket is not None and not websocket.closed:
            await websocket.close()


class MattermostConnection:
    """REST calls and one websocket session."""

    def __init__(self, options: dict[str, Any], rate_limit_retries: int, max_wait: float) -> None:
        self.options = options
        self.driver = AsyncTypedDriver(options)
        self.rate_limit_retries = rate_limit_retries
        self.max_wait = max_wait
        self.me: dict[str, Any] = {}
        self.failure_detail = ""
        self.ws: SessionWebsocket | None = None
        self.ws_task: asyncio.Task[str] | None = None
        self.hello = asyncio.get_running_loop().create_future()

    @property
    def token(self) -> str:
        return str(self.driver.client.token)

    async def call(
        self, what: str, fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any
    ) -> Any:
        """``await fn(*args, **kw)``, waiting and retrying as told when rate limited."""
        attempt = 0
        while True:
            try:
                return await fn(*args, **kw)
            except TooManyRequests as exc:
                wait = exc.retry_after if exc.retry_after is not None else 2.0**attempt
                if attempt >= self.rate_limit_retries or wait > self.max_wait:
                    log.error("Mattermost rate limit (HTTP 429) on %s: giving up.", what)
                    raise
                log.warning(
                    "Mattermost rate limit (HTTP 429) on %s: retrying in %.1f s.", what, wait
                )
                await asyncio.sleep(wait)
                attempt += 1

    async def open(self) -> str:
        """Log in; returns CONNECTED, AUTH_FAILED or UNREACHABLE (see failure_detail)."""
        try:
            me = await self.call("login", self.driver.login)
        except NoAccessTokenProvided as exc:
            self.failure_detail = str(exc)
            return AUTH_FAILED
        except MattermostError as exc:
            if getattr(exc, "status_code", None) in (401, 403):
                self.failure_detail = str(exc)
                return AUTH_FAILED
            self.failure_detail = f"HTTP {getattr(exc, 'status_code', '?')}: {exc}"
            return UNREACHABLE
        except (httpx.HTTPError, OSError) as exc:
            self.failure_detail = str(exc) or type(exc).__name__
            return UNREACHABLE
        if not isinstance(me, dict) or "id" not in me:
            # With login/password a refused login comes back as the raw response.
            status = getattr(me, "status_code", None)
            self.failure_detail = f"HTTP {status}" if status else "no user in the answer"
            return AUTH_FAILED if status in (401, 403) else UNREACHABLE
        self.me = me
        return CONNECTED

    def start_websocket(self, handler: EventHandler) -> None:
        self.ws = SessionWebsocket(self.driver.options, self.token)
        self.ws_task = asyncio.ensure_future(self.ws.connect(handler))

    async def until_closed(self) -> str:
        """Wait for the websocket session to end; returns the reason."""
        task = self.ws_task
        if task is None:
            return "no websocket"
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # connection refused, TLS, handshake refused...
            return f"websocket failed ({exc or type(exc).__name__})"

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 2)
            except Exception:  # closing must not raise, whatever state the socket is in
                pass
        task = self.ws_task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except BaseException:  # noqa: S110 - it was cancelled on purpose
                pass
        try:
            await self.driver.close()
        except Exception:
            pass


def event_data(event: dict[str, Any], key: str) -> Any:
    """``event["data"][key]``, decoded when the server sent it as a JSON string (posts,
    reactions, channels and mentions are sent that way)."""
    value = (event.get("data") or {}).get(key)
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value
