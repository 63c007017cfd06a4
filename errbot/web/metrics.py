"""``/metrics``: the bot's Prometheus registry, in front of the webhook application.

An ASGI wrapper rather than a webhook route: the endpoint exists only on the served port (not
in ``!webstatus`` nor ``!webhook test``), answers even when every worker is busy (when metrics
matter most: the text is built in asyncio's own thread, not the bot's pool), and needs no Flask
request context. Every other path goes to the webhook application unchanged. See docs/metrics.md.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger("errbot.web")

__all__ = ["METRICS_PATH", "MetricsEndpoint"]

METRICS_PATH = "/metrics"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Outcome = tuple[int, list[tuple[bytes, bytes]], bytes]


class MetricsEndpoint:
    """ASGI 3 application: ``GET /metrics`` from ``registry``, anything else to ``app``."""

    def __init__(self, app: Any, registry: CollectorRegistry, token: str | None = None) -> None:
        self.app = app
        self.registry = registry
        self._token = token.encode("utf-8") if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != METRICS_PATH:
            await self.app(scope, receive, send)
            return
        # asyncio's own thread, not the bot's worker pool (it still answers when every worker
        # is busy), and not the loop: a plugin's collector on this registry may be slow.
        status, headers, body = await asyncio.to_thread(self.respond, scope)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def respond(self, scope: Scope) -> Outcome:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            return 405, [(b"allow", b"GET, HEAD"), *_text()], b"Method Not Allowed\n"
        if self._token is not None and not self._authorized(scope):
            log.warning("Refused a /metrics request from %s: bad or missing token.", _client(scope))
            challenge = (b"www-authenticate", b'Bearer realm="errbot"')
            return 401, [challenge, *_text()], b"Unauthorized\n"
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        body = generate_latest(self.registry)
        headers = [
            (b"content-type", CONTENT_TYPE_LATEST.encode("latin-1")),
            (b"content-length", str(len(body)).encode("ascii")),
        ]
        return 200, headers, b"" if method == "HEAD" else body

    def _authorized(self, scope: Scope) -> bool:
        assert self._token is not None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    # compare_digest: the time taken must not tell how much of a guess matched.
                    return hmac.compare_digest(credentials.strip(), self._token)
        return False


def _text() -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"text/plain; charset=utf-8")]


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "an unknown client"
