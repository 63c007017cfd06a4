"""The ASGI application of the graphic console: the page, its event stream, its JSON API.

Routes (every one needs the console's token, as ``?token=`` or an ``X-Errbot-Token`` header):

- ``GET /``: the page; ``GET /static/<file>``: its stylesheet and script;
- ``GET /events``: Server-Sent Events (chat, identity state, log records), replaying what
  the page missed (``Last-Event-ID``);
- ``GET /api/state``: identity, plugins and the command catalogue for completion;
- ``POST /api/send`` ``{"text"}``, ``POST /api/identity`` ``{"admin", "user", "room",
  "in_person"}``, ``POST /api/reload`` ``{"plugin"}``;
- ``GET /files/<id>``: a file a plugin sent, as a download.

Server-Sent Events plus POST need nothing beyond plain HTTP, so uvicorn serves this without
a websocket library. Requests from other machines, with a foreign ``Host`` (DNS rebinding)
or without the token get 403.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from errbot.backends.graphic.markup import highlight_css

if TYPE_CHECKING:
    from errbot.backends.graphic.backend import GraphicBackend

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

LOOPBACK_CLIENTS = ("127.0.0.1", "::1")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MAX_BODY = 64 * 1024
KEEPALIVE_SECONDS = 15.0
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".html": "text/html"}

# The page loads nothing from elsewhere but the pictures replies point to; the referrer
# policy keeps the token (in the page's address) from leaking to those sites.
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy",
     b"default-src 'self'; img-src * data: blob:; style-src 'self' 'unsafe-inline'; "
     b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'"),
]


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _static(name: str) -> bytes:
    return resources.files("errbot.backends.graphic").joinpath("static", name).read_bytes()


class ConsoleApp:
    """Serves one `GraphicBackend`'s page."""

    def __init__(self, backend: GraphicBackend) -> None:
        self.backend = backend

    # -- plumbing ----------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            self._check_access(scope)
            await self._route(scope, receive, send)
        except HttpError as exc:
            if scope.get("path") == "/":  # someone opened an address in a browser: plain words
                text = f"Errbot's graphic console: {exc}\n".encode()
                await _respond(send, exc.status, text, "text/plain; charset=utf-8")
            else:  # the page's script reads the JSON error
                await _respond(send, exc.status, {"error": str(exc)})

    def _check_access(self, scope: Scope) -> None:
        client = scope.get("client") or ("", 0)
        if client[0] not in LOOPBACK_CLIENTS:
            raise HttpError(403, "The graphic console only answers this machine.")
        host = _header(scope, b"host").rsplit(":", 1)[0] if _header(scope, b"host") else ""
        if host.lower() not in LOCAL_HOSTS:
            raise HttpError(403, "Unexpected Host header.")
        given = _query(scope).get("token") or _header(scope, b"x-errbot-token")
        if not hmac.compare_digest(given.encode(), self.backend.token.encode()):
            raise HttpError(403, "Missing or wrong token: use the address printed at start-up.")

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        if method == "GET":
            if path == "/":
                page = _static("index.html").replace(
                    b"{{TOKEN}}", quote(self.backend.token, safe="").encode()
                )
                return await _respond(send, 200, page, "text/html; charset=utf-8")
            if path == "/static/highlight.css":
                return await _respond(send, 200, highlight_css().encode(), "text/css")
            if path.startswith("/static/"):
                return await self._static_file(path.removeprefix("/static/"), send)
            if path == "/events":
                return await self._events(scope, receive, send)
            if path == "/api/state":
                return await _respond(send, 200, await self._blocking(self._full_state))
            if path.startswith("/files/"):
                return await self._download(path.removeprefix("/files/"), send)
        elif method == "POST":
            actions = {"/api/send": self._send, "/api/identity": self._identity,
                       "/api/reload": self._reload}
            action = actions.get(path)
            if action is not None:
                body = await _read_json(receive)
                return await _respond(send, 200, await self._blocking(action, body))
        raise HttpError(404, f"No {method} {path} here.")

    async def _blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` off the loop: sending, switching and reloading wait on the bot."""
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    # -- pages and files ---------------------------------------------------------------
    async def _static_file(self, name: str, send: Send) -> None:
        suffix = name[name.rfind("."):] if "." in name else ""
        if "/" in name or suffix not in STATIC_TYPES:
            raise HttpError(404, "No such file.")
        try:
            content = _static(name)
        except (FileNotFoundError, IsADirectoryError):
            raise HttpError(404, "No such file.") from None
        await _respond(send, 200, content, f"{STATIC_TYPES[suffix]}; charset=utf-8")

    async def _download(self, file_id: str, send: Send) -> None:
        download = self.backend.files.get(file_id)
        if download is None:
            raise HttpError(404, "This file is no longer kept.")
        # Always an attachment of an opaque type: a file must never render in our origin.
        disposition = f"attachment; filename*=UTF-8''{quote(download.name, safe='')}"
        await _respond(send, 200, download.content, "application/octet-stream",
                       [(b"content-disposition", disposition.encode("latin-1"))])

    # -- the API -----------------------------------------------------------------------
    def _full_state(self) -> dict[str, Any]:
        backend = self.backend
        return {"state": backend.state(), "plugins": backend.plugins(),
                "commands": backend.command_catalogue()}

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise HttpError(400, "Nothing to send.")
        self.backend.send_console_message(text)
        return {"ok": True}

    def _identity(self, body: dict[str, Any]) -> dict[str, Any]:
        admin, user, room = body.get("admin"), body.get("user"), body.get("room")
        if admin is not None and not isinstance(admin, bool):
            raise HttpError(400, "admin must be true or false.")
        for value in (user, room):
            if value is not None and not isinstance(value, str):
                raise HttpError(400, "user and room must be strings.")
        try:
            state = self.backend.switch(admin=admin, user=user, room=room,
                                        in_person=bool(body.get("in_person")))
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
        return {"ok": True, "state": state}

    def _reload(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("plugin")
        if not isinstance(name, str) or not name:
            raise HttpError(400, "Which plugin?")
        error = self.backend.reload_plugin(name)
        return {"ok": error is None, "error": error, "plugins": self.backend.plugins(),
                "commands": self.backend.command_catalogue()}

    # -- the event stream --------------------------------------------------------------
    async def _events(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = self.backend.hub
        try:
            last = int(_header(scope, b"last-event-id") or _query(scope).get("since") or 0)
        except ValueError:
            last = 0
        queue = hub.subscribe()  # before the replay: nothing falls in between
        backlog = hub.replay(last)
        disconnected = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"), *SECURITY_HEADERS]})
            for event in backlog:
                last = await _send_event(send, event, last)
            while not disconnected.done():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, disconnected}, timeout=KEEPALIVE_SECONDS,
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    if not done:  # a comment line keeps proxies and the browser patient
                        await send({"type": "http.response.body", "body": b": ping\n\n",
                                    "more_body": True})
                    continue
                event = getter.result()
                if event is None:  # the console is closing
                    break
                last = await _send_event(send, event, last)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the page went away mid-write
        finally:
            hub.unsubscribe(queue)
            disconnected.cancel()


async def _send_event(send: Send, event: tuple[int, str, str], last: int) -> int:
    event_id, _, data = event
    if event_id <= last:  # already sent from the replay buffer
        return last
    chunk = f"id: {event_id}\ndata: {data}\n\n".encode()
    await send({"type": "http.response.body", "body": chunk, "more_body": True})
    return event_id


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _query(scope: Scope) -> dict[str, str]:
    raw = bytes(scope.get("query_string") or b"").decode("latin-1")
    return {key: values[-1] for key, values in parse_qs(raw).items()}


async def _read_json(receive: Receive) -> dict[str, Any]:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HttpError(400, "The request was cut short.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise HttpError(413, "Request too large.")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    try:
        body = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        raise HttpError(400, "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise HttpError(400, "The body must be a JSON object.")
    return body


async def _respond(
    send: Send, status: int, body: Any, content_type: str = "application/json",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    if not isinstance(body, bytes):
        body = json.dumps(body, default=str).encode()
    headers = [(b"content-type", content_type.encode()),
               (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS, *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
