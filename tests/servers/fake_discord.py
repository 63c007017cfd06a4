"""A local stand-in for Discord: the REST API slice and the Gateway the Discord backend uses.

The real ``discord.py`` client talks to it unmodified; tests redirect the library with the two
class attributes it reads its addresses from (`redirect`). Everything runs on a private event
loop in a thread, bound to 127.0.0.1 on a free port. Every REST call and every gateway payload
the bot sends is recorded, so tests assert on exactly what went over the wire.

Payload shapes follow Discord's API documentation (v10). Two details the client insists on:
JSON responses carry exactly ``Content-Type: application/json`` (anything else is read as
text), and gateway payloads go out as text frames (binary frames are taken as zlib data). A
429 must carry a ``Via`` header, or discord.py takes it for a Cloudflare ban.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import yarl
from aiohttp import web

from .discord_payloads import (
    ALICE_ID,
    BOT_ID,
    DM_ID,
    GENERAL_ID,
    GUILD_ID,
    TOKEN,
    USERS,
    channel_payload,
    guild_create,
    member_payload,
    thread_payload,
)
from .processes import free_port as free_port


@dataclass
class Call:
    """One REST request the bot made."""

    method: str
    path: str  # after /api/v10
    json: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class FakeDiscord:
    """Start with `start()`, stop with `stop()`; tests use the thread-safe helpers."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.gateway_received: list[dict] = []  # every payload the bot sent on the gateway
        self.rate_limits: dict[str, float] = {}  # "POST /channels/600/messages" → retry_after
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self._ids = itertools.count(900_000)
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = 0
        self._session = 0
        self.threads: set[str] = set()  # message ids that have a thread
        self.gateway_down = False  # refuse websocket upgrades (503)
        self.refuse_intents = False  # close with 4014 at IDENTIFY
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        assert ready.wait(10), "the fake Discord did not start"

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        ready.set()
        self.loop.run_forever()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/discord/gw", self._gateway)
        app.router.add_route("*", "/discord/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        async def shutdown() -> None:
            for ws in list(self._sockets):
                await ws.close()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self.loop.close()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/discord/api/v10"

    @property
    def gateway_url(self) -> yarl.URL:
        return yarl.URL(f"ws://127.0.0.1:{self.port}/discord/gw")

    def redirect(self, monkeypatch: Any) -> None:
        """Point discord.py at this server (it has no public option for that)."""
        import discord.gateway
        import discord.http

        monkeypatch.setattr(discord.http.Route, "BASE", self.api_base)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", self.gateway_url)

    # -- test helpers (any thread) ----------------------------------------------------------
    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def dispatch(self, event: str, data: dict) -> None:
        """Push a gateway DISPATCH event to the connected bot."""
        self._call(self._dispatch(event, data))

    def drop_gateway(self, code: int = 4000) -> None:
        """Close the bot's gateway websocket, as Discord does when it restarts a node."""

        async def drop() -> None:
            for ws in list(self._sockets):
                await ws.close(code=code)

        self._call(drop())

    def message_event(
        self,
        content: str,
        *,
        author: int = ALICE_ID,
        channel: int = GENERAL_ID,
        guild: bool = True,
        mentions: tuple[int, ...] = (),
        message_id: int | None = None,
    ) -> dict:
        data = self._message(str(channel), content, author, mentions, message_id)
        if guild:
            data["guild_id"] = str(GUILD_ID)
            data["member"] = {k: v for k, v in member_payload(author).items() if k != "user"}
        return data

    def say(self, content: str, **kwargs: Any) -> dict:
        data = self.message_event(content, **kwargs)
        self.dispatch("MESSAGE_CREATE", data)
        return data

    def posted(self, path: str | None = None, method: str = "POST") -> list[Call]:
        return [c for c in self.calls if c.method == method and (path is None or c.path == path)]

    def wait_posted(
        self, path: str, count: int = 1, timeout: float = 10.0, method: str = "POST"
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        while len(self.posted(path, method)) < count:
            if time.monotonic() > deadline:
                seen = [f"{c.method} {c.path}" for c in self.calls]
                raise AssertionError(f"no {count}× {method} {path}; calls: {seen}")
            time.sleep(0.02)
        return self.posted(path, method)

    def wait_gateway(self, op: int, count: int = 1, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(found := [p for p in self.gateway_received if p.get("op") == op]) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {count}× gateway op {op}")
            time.sleep(0.02)
        return found

    # -- gateway ----------------------------------------------------------------------------
    async def _dispatch(self, event: str, data: dict) -> None:
        for ws in list(self._sockets):
            self._seq += 1
            await ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.gateway_down:
            return web.Response(status=503, text="gateway unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        try:
            async for frame in ws:
                payload = json.loads(frame.data)
                self.gateway_received.append(payload)
                await self._on_gateway(ws, payload)
        finally:
            self._sockets.remove(ws)
        return ws

    async def _on_gateway(self, ws: web.WebSocketResponse, payload: dict) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            await ws.send_str(json.dumps({"op": 11}))
        elif op == 2:
            if data.get("token") != TOKEN:
                await ws.close(code=4004, message=b"Authentication failed.")
                return
            if self.refuse_intents:
                await ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            self._session += 1
            self._seq = 1
            ready = {
                "v": 10,
                "user": USERS[BOT_ID],
                "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                "session_id": f"session-{self._session}",
                "resume_gateway_url": str(self.gateway_url),
                "application": {"id": str(BOT_ID), "flags": 0},
            }
            await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": 1, "d": ready}))
            self._seq += 1
            create = {"op": 0, "t": "GUILD_CREATE", "s": self._seq, "d": guild_create()}
            await ws.send_str(json.dumps(create))
        elif op == 6:
            self._seq += 1
            await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": self._seq, "d": {}}))

    # -- REST -------------------------------------------------------------------------------
    def _message(
        self,
        channel_id: str,
        content: str,
        author: int,
        mentions: tuple[int, ...] = (),
        message_id: int | None = None,
    ) -> dict:
        return {
            "id": str(message_id or next(self._ids)),
            "channel_id": channel_id,
            "author": USERS[author],
            "content": content,
            "timestamp": "2024-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [USERS[m] for m in mentions],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        call = Call(request.method, path, headers=dict(request.headers))
        if request.content_type == "application/json":
            call.json = await request.json()
        elif request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":
                    call.json = json.loads(data)
                else:
                    call.files[str(part.name)] = bytes(data)
                    call.headers[f"filename:{part.name}"] = str(part.filename)
        self.calls.append(call)
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        key = f"{request.method} {path}"
        if key in self.rate_limits:
            retry = self.rate_limits.pop(key)
            body = {"message": "You are being rate limited.", "retry_after": retry, "global": False}
            headers = {"Retry-After": str(retry), "Via": "1.1 google", "X-RateLimit-Scope": "user"}
            return _json(body, 429, headers)
        return self._answer(request.method, path, call)

    def _answer(self, method: str, path: str, call: Call) -> web.Response:
        parts = path.strip("/").split("/")
        if (method, path) == ("GET", "/users/@me"):
            return _json(USERS[BOT_ID])
        if (method, path) == ("GET", "/oauth2/applications/@me"):
            return _json(
                {
                    "id": str(BOT_ID),
                    "name": "errbot",
                    "icon": None,
                    "description": "",
                    "rpc_origins": [],
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "verify_key": "0" * 64,
                    "flags": 0,
                    "owner": USERS[ALICE_ID],
                    "team": None,
                    "summary": "",
                }
            )
        if (method, path) == ("POST", "/users/@me/channels"):
            recipient = int(call.json["recipient_id"])
            return _json({"id": str(DM_ID), "type": 1, "recipients": [USERS[recipient]]})
        if method == "GET" and parts[0] == "users" and len(parts) == 2:
            found = USERS.get(int(parts[1]))
            return _json(found) if found else _json({"message": "Unknown User", "code": 10013}, 404)
        if parts[0] == "channels" and len(parts) == 3 and parts[2] == "messages":
            body = call.json or {}
            message = self._message(parts[1], body.get("content") or "", BOT_ID)
            message["embeds"] = body.get("embeds") or []
            if call.files:
                message["attachments"] = [
                    {
                        "id": str(next(self._ids)),
                        "filename": call.headers.get(f"filename:{name}", "file"),
                        "size": len(data),
                        "url": "https://cdn.example.invalid/f",
                        "proxy_url": "https://cdn.example.invalid/f",
                    }
                    for name, data in call.files.items()
                ]
            return _json(message)
        if parts[0] == "channels" and len(parts) == 5 and parts[4] == "threads":
            if parts[3] in self.threads:
                error = {
                    "message": "A thread has already been created for this message",
                    "code": 160004,
                }
                return _json(error, 400)
            self.threads.add(parts[3])
            thread = thread_payload(int(parts[3]), call.json["name"], int(parts[1]))
            return _json(thread, 201)
        if method == "PATCH" and parts[0] == "channels" and len(parts) == 2:
            channel = channel_payload(int(parts[1]), "general", call.json.get("topic"), 0)
            self.loop.create_task(self._dispatch("CHANNEL_UPDATE", channel))
            return _json(channel)
        if method == "PUT" and "reactions" in parts:
            return web.Response(status=204)
        return _json({"message": "404: Not Found", "code": 0}, 404)
