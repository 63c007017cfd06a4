"""The HTTP(S) server of one bot: uvicorn serving the bot's `WebhookApp` on the bot's loop.

uvicorn is driven through its public ``Server.serve(sockets=...)`` coroutine, run as a task of
the bot's event loop (no thread, no process-wide state). The listening socket is created here,
so binding errors surface as plain ``OSError`` when the Webserver activates (uvicorn would call
``sys.exit`` on them) and port 0 works (the chosen port is in `WebServer.addresses`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("errbot.web")

__all__ = ["Binding", "WebServer"]

GRACEFUL_SHUTDOWN_SECONDS = 5


@dataclass(frozen=True)
class Binding:
    """Where to listen, and with which certificate and key when serving HTTPS."""

    host: str
    port: int
    certificate: str | None = None
    key: str | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.certificate else "http"


def open_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (names and IPv6 literals accepted)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"cannot listen on {host}:{port}")


class WebServer:
    """One uvicorn server listening on one address, started and stopped on ``loop``."""

    def __init__(self, app: Any, binding: Binding, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.binding = binding
        self.loop = loop
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` actually listened on (empty when stopped)."""
        if self._socket is None:
            return []
        name = self._socket.getsockname()
        return [(str(name[0]), int(name[1]))]

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Bind, load the TLS material and start serving; raises on any failure."""
        import uvicorn

        binding = self.binding
        config = uvicorn.Config(
            self.app,
            log_config=None,  # the bot owns logging
            access_log=False,
            lifespan="off",
            ws="none",
            interface="asgi3",
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            ssl_certfile=binding.certificate or None,
            ssl_keyfile=binding.key or None,
        )
        config.load()  # TLS errors (missing or bad certificate/key) are raised here
        sock = open_socket(binding.host, binding.port)
        server = uvicorn.Server(config)
        task = self.loop.create_task(server.serve(sockets=[sock]), name="errbot-webserver")
        while not server.started and not task.done():
            await asyncio.sleep(0.005)
        if task.done():
            sock.close()
            task.result()  # re-raises the startup error
            raise RuntimeError("the webserver stopped while starting")
        self._server, self._task, self._socket = server, task, sock
        host, port = self.addresses[0]
        log.info("Webserver listening on %s://%s:%d", binding.scheme, host, port)

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish (a few seconds at most), close."""
        server, task, sock = self._server, self._task, self._socket
        if server is None or task is None:
            return
        host, port = self.addresses[0]
        where = f"{host}:{port}"
        self._server = self._task = self._socket = None
        server.should_exit = True
        try:
            await task
        except Exception:
            log.exception("The webserver failed while stopping")
        finally:
            if sock is not None:
                sock.close()
        log.info("Webserver on %s stopped.", where)

    def abandon(self) -> None:
        """Close the listening socket without the loop (used when the loop has stopped)."""
        sock, self._socket = self._socket, None
        self._server = self._task = None
        if sock is not None:
            sock.close()
