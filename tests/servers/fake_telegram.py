"""A local stand-in for the Telegram Bot API (https://core.telegram.org/bots/api), for tests.

An aiohttp server on 127.0.0.1 (its own thread and loop) answering
``POST /bot<token>/<method>`` the way the Bot API does: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}``, and serving
downloads at ``GET /file/bot<token>/<path>``. ``getUpdates`` long-polls: it answers as soon as
an update is pushed, or empty after its ``timeout`` (capped at 1 s to keep tests fast).

Every call is recorded (method, parameters decoded from the form or multipart body, uploaded
files) so tests assert on exactly what python-telegram-bot sent. Objects carry every field
the Bot API marks as required: python-telegram-bot refuses a User without ``is_bot``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .processes import free_port as free_port

TOKEN = "123456:TEST-token_abc"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Errbot",
    "username": "ErrTestBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
HUMAN = {
    "id": 1001,
    "is_bot": False,
    "first_name": "Ada",
    "last_name": "Lovelace",
    "username": "ada",
    "language_code": "en",
}
OTHER = {"id": 1002, "is_bot": False, "first_name": "Bob"}  # no username
GROUP = {"id": -1001234, "type": "supergroup", "title": "Ops"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _decode(value: str) -> Any:
    """PTB sends scalars as text and objects/lists as JSON text."""
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.port = free_port()
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self.failures: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.chat_descriptions: dict[int, str] = {}
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(500)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._new_update: asyncio.Event | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeTelegram:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._cleanup())
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:  # long polls still waiting
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        assert ready.wait(10), "the fake Telegram server did not start"
        return self

    async def _serve(self) -> None:
        self._new_update = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _cleanup(self) -> None:
        if self._new_update is not None:
            self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    def restart(self) -> None:
        """Same port, same recorded state: what the bot sees after a network outage."""
        self.stop()
        self.start()

    # -- test controls ------------------------------------------------------------------------
    def push(self, **update: Any) -> int:
        """Queue an update (``message=...``, ``message_reaction=...``); returns its id."""
        with self._lock:
            update_id = next(self._ids)
            self.updates.append({"update_id": update_id, **update})
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)
        return update_id

    def message(
        self,
        text: str,
        user: dict[str, Any] | None = None,
        chat: dict[str, Any] | None = None,
        **extra: Any,
    ) -> int:
        user = user or HUMAN
        chat = chat or {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
            **extra,
        }
        return self.push(message=message)

    def fail(
        self, method: str, status: int, description: str, times: int = 1, **parameters: Any
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self.failures.setdefault(method, []).extend([(status, body)] * times)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_calls(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} {method} call(s) expected, got {len(found)}: "
                    f"{[c.method for c in self.calls]}"
                )
            time.sleep(0.02)

    def wait_sent(self, text: str, timeout: float = 10.0) -> Call:
        """The first sendMessage whose text contains ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.calls_to("sendMessage"):
                if text in str(call.params.get("text")):
                    return call
            time.sleep(0.02)
        sent = [c.params.get("text") for c in self.calls_to("sendMessage")]
        raise AssertionError(f"no sendMessage containing {text!r}; sent: {sent}")

    # -- the API ------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.body_exists:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    params[key] = _decode(str(value))
        return params, files

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._params(request)
        with self._lock:
            self.calls.append(Call(method, params, files))
        if request.match_info["token"] != self.token:
            return _json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        pending = self.failures.get(method)
        if pending:
            status, body = pending.pop(0)
            return _json(body, status)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return _json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        try:
            result = await handler(params, files)
        except ApiError as exc:
            body = {"ok": False, "error_code": exc.status, "description": exc.description}
            return _json(body, exc.status)
        return _json({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["path"])
        if data is None or request.match_info["token"] != self.token:
            return web.Response(status=404)
        return web.Response(body=data, headers={"Content-Type": "application/octet-stream"})

    async def _getMe(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return BOT_USER

    async def _deleteWebhook(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return True

    async def _getUpdates(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 1.0)
        deadline = time.monotonic() + timeout
        assert self._new_update is not None
        while True:
            with self._lock:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline:
                return ready
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                pass

    def _sent(self, chat_id: Any, **content: Any) -> dict[str, Any]:
        chat_id = int(chat_id)
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            **content,
        }

    async def _sendMessage(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return self._sent(params["chat_id"], text=params["text"])

    async def _editMessageText(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return self._sent(params["chat_id"], text=params["text"])

    async def _sendDocument(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        name, data = next(iter(files.values()))
        document = {
            "file_id": f"doc{len(data)}",
            "file_unique_id": "u1",
            "file_name": name,
            "file_size": len(data),
        }
        return self._sent(params["chat_id"], document=document)

    async def _sendPhoto(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        # An uploaded photo, or one Telegram fetched from the URL given as ``photo``.
        size = len(next(iter(files.values()))[1]) if files else 0
        photo = {"file_id": "photo1", "file_unique_id": "p1", "width": 1, "height": 1}
        return self._sent(params["chat_id"], photo=[{**photo, "file_size": size}])

    async def _sendLocation(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        return self._sent(params["chat_id"], location=location)

    async def _setMessageReaction(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return True

    async def _getFile(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        file_id = params["file_id"]
        path = f"documents/{file_id}.bin"
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self.files.get(path, b"")),
            "file_path": path,
        }

    async def _getChat(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        chat_id = int(params["chat_id"])
        if chat_id != GROUP["id"]:
            raise ApiError(400, "Bad Request: chat not found")
        return {
            **GROUP,
            "description": self.chat_descriptions.get(chat_id, "Ops talk"),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _setChatDescription(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        self.chat_descriptions[int(params["chat_id"])] = params.get("description", "")
        return True

    async def _getChatMemberCount(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return 42

    async def _getChatAdministrators(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return [
            {"status": "creator", "user": HUMAN, "is_anonymous": False},
            {"status": "administrator", "user": BOT_USER, **_ADMIN_RIGHTS},
        ]

    async def _getChatMember(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return {"status": "member", "user": BOT_USER}

    async def _leaveChat(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return True


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}
