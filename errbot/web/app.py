"""The ASGI application answering one bot's webhooks.

Requests arrive from the HTTP server (uvicorn, on the bot's event loop) or in-process from
``!webhook test``. For each request:

1. the path is matched against the bot's router (unknown URL → 404, wrong method → 405);
2. the body is read, at most ``MAX_BODY_SIZE`` bytes (→ 413);
3. the HMAC signature is checked when the webhook asks for one (→ 401);
4. the payload is built (JSON body decoded, malformed JSON with a JSON content type → 400);
5. the handler runs: ``async def`` handlers on the event loop, plain ones on the bot's worker
   pool, each inside a Flask request context of a per-bot Flask app, so ``flask.request``,
   ``flask.abort``, ``flask.jsonify`` and ``flask.after_this_request`` behave as they did
   under Errbot's Flask server;
6. its return value becomes the response the way Flask's ``make_response`` does it (falsy
   values give an empty 200); an exception gives a 500 and a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from io import BytesIO
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    Unauthorized,
)
from werkzeug.wrappers import Response

from errbot.core.runtime import is_async_callable
from errbot.web.routing import WebhookRouter, WebRoute
from errbot.web.signatures import (
    MissingSecretError,
    SignatureError,
    resolve_secret,
    verify_signature,
)

log = logging.getLogger("errbot.web")

__all__ = ["Outcome", "WebhookApp", "build_environ", "default_payload"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# status, headers (lower-case names, latin-1 bytes), body
Outcome = tuple[int, list[tuple[bytes, bytes]], bytes]

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class ClientDisconnected(Exception):
    """The client went away before sending its whole body."""


class MissingFormParameter(Exception):
    """A ``form_param`` webhook received a request without that form field."""


# -- ASGI → WSGI environ -------------------------------------------------------------------
def build_environ(scope: Scope, body: bytes = b"") -> dict[str, Any]:
    """A WSGI environ describing the ASGI request ``scope`` with ``body`` as its input."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"].upper(),
        "SCRIPT_NAME": "",
        # WSGI carries the decoded path as latin-1 characters of its UTF-8 bytes.
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": "HTTP/" + str(scope.get("http_version", "1.1")),
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_LENGTH":
            continue  # the body is already read: its real length was set above
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        key = "HTTP_" + name
        if key in environ:
            separator = "; " if key == "HTTP_COOKIE" else ","
            environ[key] = environ[key] + separator + value
        else:
            environ[key] = value
    return environ


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            return value
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body; RequestEntityTooLarge past ``limit`` bytes."""
    declared = _header(scope, b"content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise BadRequest("Invalid Content-Length header.") from None
        if length > limit:
            raise RequestEntityTooLarge()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise RequestEntityTooLarge()
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


# -- payloads ----------------------------------------------------------------------------
def default_payload(request: Any, body: bytes) -> Any:
    """The payload of a webhook without ``raw`` or ``form_param``.

    JSON (by content type, or any body that parses as JSON) is decoded; a form post becomes
    a dict of its fields (first value of each); anything else is the body as text.
    """
    if request.is_json:
        if not body.strip():
            return ""
        try:
            return json.loads(body)
        except ValueError:
            raise BadRequest("The request body is not valid JSON.") from None
    if body:
        try:
            return json.loads(body)
        except ValueError:
            pass
    if request.mimetype in FORM_TYPES:
        return request.form.to_dict()
    charset = request.mimetype_params.get("charset") or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def form_payload(request: Any, name: str) -> Any:
    value = request.form.get(name)
    if value is None:
        raise MissingFormParameter(
            f"the webhook expects the form field {name!r}, missing from the request"
        )
    try:
        return json.loads(value)
    except ValueError:
        return value


# -- responses ---------------------------------------------------------------------------
def finish(response: Response, environ: dict[str, Any]) -> Outcome:
    """Render a werkzeug/Flask response completely (streamed bodies are joined)."""
    app_iter, status, headers = response.get_wsgi_response(environ)
    try:
        body = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return (
        int(status.split(" ", 1)[0]),
        [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        body,
    )


class WebhookApp:
    """ASGI 3 application for one bot's `WebhookRouter`."""

    def __init__(self, router: WebhookRouter) -> None:
        self.router = router
        # One Flask app per bot, used only for its request context and make_response: the
        # routing is the router's. static_folder=None: no /static route.
        self.flask = Flask(
            "errbot.web", static_folder=None, root_path=os.path.dirname(os.path.abspath(__file__))
        )
        self._limit = -1

    # -- ASGI entry point ------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets are not served
            return
        status, headers, body = await self.respond(scope, receive)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def respond(self, scope: Scope, receive: Receive) -> Outcome:
        """Answer one HTTP request: route, limits, signature, handler, response."""
        environ = build_environ(scope)
        try:
            route, arguments = self.router.match(scope["path"], scope["method"])
        except HTTPException as exc:
            return finish(exc.get_response(environ), environ)
        options = self.router.options
        try:
            body = await read_body(scope, receive, options.max_body_size)
        except HTTPException as exc:
            log.info("Webhook %s refused: %s", scope["path"], exc.description)
            return finish(exc.get_response(environ), environ)
        except ClientDisconnected:
            return 400, [], b""
        environ = build_environ(scope, body)
        refused = self._check_signature(route, environ, body)
        if refused is not None:
            return refused
        self._sync_limits(options.max_body_size)
        if is_async_callable(route.handler):
            return await self._run_async(route, arguments, environ, body)
        return await self._run_in_worker(route, arguments, environ, body)

    # -- checks ----------------------------------------------------------------------
    def _check_signature(
        self, route: WebRoute, environ: dict[str, Any], body: bytes
    ) -> Outcome | None:
        spec = self.router.options.signatures.get(route.rule) or route.signature
        if spec is None:
            return None
        bot_config = getattr(self.router.bot, "bot_config", None)
        try:
            secret = resolve_secret(spec, route.owner, bot_config)
        except MissingSecretError as exc:
            log.error("Webhook %s cannot check signatures: %s.", route.rule, exc)
            return finish(InternalServerError().get_response(environ), environ)
        from werkzeug.datastructures import EnvironHeaders

        try:
            verify_signature(spec, EnvironHeaders(environ), body, secret)
        except SignatureError as exc:
            log.warning("Webhook %s: request refused, %s.", route.rule, exc)
            return finish(Unauthorized(f"Invalid signature: {exc}.").get_response(environ), environ)
        return None

    def _sync_limits(self, limit: int) -> None:
        if limit != self._limit:
            self.flask.config["MAX_CONTENT_LENGTH"] = limit
            self.flask.config["MAX_FORM_MEMORY_SIZE"] = limit
            self._limit = limit

    # -- running handlers ----------------------------------------------------------------
    def _payload(self, route: WebRoute, body: bytes) -> Any:
        from flask import request

        if route.raw:
            return request  # the context-local proxy, exactly what Errbot handed over
        if route.form_param is not None:
            return form_payload(request, route.form_param)
        return default_payload(request, body)

    def _response(self, value: Any) -> Response:
        if isinstance(value, Response):
            return value
        if not isinstance(value, tuple) and not value:
            value = ""  # falsy (None, "", {}, ...) → empty 200, as in Errbot
        return self.flask.make_response(value)

    def _failed(self, route: WebRoute, environ: dict[str, Any]) -> Response:
        logger = getattr(route.owner, "log", None) or log
        logger.exception(
            "Webhook %s %s (%s) raised an exception.",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
            route.endpoint,
        )
        metrics = getattr(self.router.bot, "metrics", None)
        if metrics is not None:
            metrics.plugin_error(route.owner, "webhook")
        return InternalServerError().get_response(environ)

    def _push(self, route: WebRoute, arguments: dict[str, Any], environ: dict[str, Any]) -> Any:
        context = self.flask.request_context(environ)
        context.push()
        context.request.view_args = dict(arguments)
        context.request.routing_exception = None
        return context

    def _complete(self, route: WebRoute, response: Response, environ: dict[str, Any]) -> Outcome:
        try:
            response = self.flask.process_response(response)
        except Exception:
            response = self._failed(route, environ)
        try:
            return finish(response, environ)
        except Exception:
            return finish(self._failed(route, environ), environ)

    def run_sync(
        self, route: WebRoute, arguments: dict[str, Any], environ: dict[str, Any], body: bytes
    ) -> Outcome:
        """Run a plain handler in the calling thread (a worker of the bot's pool)."""
        context = self._push(route, arguments, environ)
        try:
            try:
                response = self._response(route.handler(self._payload(route, body), **arguments))
            except HTTPException as exc:
                response = exc.get_response(environ)
            except Exception:
                response = self._failed(route, environ)
            return self._complete(route, response, environ)
        finally:
            context.pop()

    async def _run_async(
        self, route: WebRoute, arguments: dict[str, Any], environ: dict[str, Any], body: bytes
    ) -> Outcome:
        context = self._push(route, arguments, environ)
        try:
            try:
                result = await route.handler(self._payload(route, body), **arguments)
                response = self._response(result)
            except HTTPException as exc:
                response = exc.get_response(environ)
            except Exception:
                response = self._failed(route, environ)
            return self._complete(route, response, environ)
        finally:
            context.pop()

    async def _run_in_worker(
        self, route: WebRoute, arguments: dict[str, Any], environ: dict[str, Any], body: bytes
    ) -> Outcome:
        runtime = getattr(self.router.bot, "runtime", None)
        if runtime is None:
            return await asyncio.to_thread(self.run_sync, route, arguments, environ, body)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()

        def settle(outcome: Outcome) -> None:
            if not future.done():
                future.set_result(outcome)

        def work() -> None:
            try:
                outcome = self.run_sync(route, arguments, environ, body)
            except BaseException:
                log.exception("Webhook %s failed outside its handler.", route.rule)
                outcome = (500, [], b"")
            try:
                loop.call_soon_threadsafe(settle, outcome)
            except RuntimeError:  # the loop closed meanwhile: nobody is waiting any more
                pass

        runtime.submit_background(work)
        return await future

    # -- in-process requests (``!webhook test``) ---------------------------------------------
    async def call(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        headers: Iterable[tuple[str, str]] = (),
    ) -> Outcome:
        """Send one request through the application without any network."""
        parts = urlsplit(url)
        path = parts.path or "/"
        if not path.startswith("/"):
            path = "/" + path
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method.upper(),
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode("latin-1", errors="replace"),
            "query_string": parts.query.encode("latin-1", errors="replace"),
            "root_path": "",
            "headers": [
                (b"host", b"localhost"),
                (b"content-length", str(len(body)).encode("ascii")),
                *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers),
            ],
            "client": ("127.0.0.1", 0),
            "server": ("localhost", 80),
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.respond(scope, receive)
