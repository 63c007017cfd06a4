"""Webhooks of every shape: URL variables, methods, form_param, raw, async, failing ones,
Flask-style return values and signed requests. Each answers with what it saw."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from flask import abort as flask_abort
from flask import after_this_request, jsonify
from flask import request as flask_request
from werkzeug.exceptions import Conflict
from werkzeug.wrappers import Response

from errbot import BotPlugin, webhook
from errbot.web import abort


class WebHooks(BotPlugin):
    """Webhooks of every shape."""

    # -- payloads ------------------------------------------------------------------------
    @webhook
    def payload_kind(self, payload: Any) -> dict[str, Any]:
        return {
            "type": type(payload).__name__,
            "payload": payload,
            "thread": threading.current_thread().name,
        }

    @webhook("/items/<int:item_id>/<name>/", methods=("GET", "PUT"))
    def item(self, payload: Any, item_id: int, name: str) -> dict[str, Any]:
        return {"item_id": item_id, "id_type": type(item_id).__name__, "name": name}

    @webhook("/form", form_param="form")
    def form(self, payload: Any) -> str:
        return repr(payload)

    @webhook("/raw", raw=True)
    def raw(self, request: Any) -> dict[str, Any]:
        return {
            "type": str(type(request)),
            "method": request.method,
            "path": request.path,
            "args": request.args.to_dict(),
            "form": request.form.to_dict(),
            "data": request.data.decode(),
            "json": request.get_json(silent=True),
            "json_attr": request.json if request.is_json else None,
            "header": request.headers.get("X-Test"),
            "remote_addr": request.remote_addr,
            "files": {name: f.read().decode() for name, f in request.files.items()},
        }

    @webhook("/async")
    async def asynchronous(self, payload: Any) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"thread": threading.current_thread().name, "payload": payload}

    # -- failures ------------------------------------------------------------------------
    @webhook("/boom")
    def boom(self, payload: Any) -> str:
        raise RuntimeError("the webhook exploded")

    @webhook("/async_boom")
    async def async_boom(self, payload: Any) -> str:
        raise RuntimeError("the async webhook exploded")

    @webhook("/forbidden")
    def forbidden(self, payload: Any) -> str:
        flask_abort(403)

    @webhook("/teapot")
    def teapot(self, payload: Any) -> str:
        abort(418)

    @webhook("/conflict")
    async def conflict(self, payload: Any) -> str:
        raise Conflict("already there")

    # -- return values -------------------------------------------------------------------
    @webhook("/created", methods=("POST",))
    def created(self, payload: Any) -> tuple[str, int, dict[str, str]]:
        return "created", 201, {"X-Powered-By": "Errbot"}

    @webhook("/with_headers")
    def with_headers(self, payload: Any) -> tuple[str, dict[str, str]]:
        return "hello", {"X-Powered-By": "Errbot"}

    @webhook("/response")
    def response(self, payload: Any) -> Response:
        return Response("plain", status=202, mimetype="text/plain", headers={"X-Kind": "wz"})

    @webhook("/nothing")
    def nothing(self, payload: Any) -> None:
        return None

    @webhook("/bytes")
    def raw_bytes(self, payload: Any) -> bytes:
        return b"\x00\x01binary"

    @webhook("/flask_context")
    def flask_context(self, payload: Any) -> Any:
        @after_this_request
        def stamp(response: Any) -> Any:
            response.headers["X-After"] = "yes"
            return response

        return jsonify(method=flask_request.method, header=flask_request.headers.get("X-Test"))

    # -- side effects and signatures -----------------------------------------------------
    @webhook("/notify", methods=("POST",))
    def notify(self, payload: Any) -> str:
        self.send(self.build_identifier(payload["to"]), payload["text"])
        return "sent"

    @webhook("/github", signature="github", secret_setting="WEB_TEST_GITHUB_SECRET")
    def github(self, payload: Any) -> dict[str, Any]:
        return {"action": payload.get("action")}

    @webhook("/slack")
    def slack(self, payload: Any) -> dict[str, Any]:
        # signed requests only: the test configures SIGNATURES for /slack in the Webserver
        return {"got": payload}
