"""A local stand-in for Slack: the Web API methods the backend uses and Socket Mode.

Import as ``from servers.fake_slack import FakeSlack``. It is an aiohttp application on its
own thread and event loop, bound to 127.0.0.1 on a free port, so the *unmodified*
slack-sdk / slack-bolt talk to it over real HTTP and a real websocket:

* ``POST|GET /api/<method>``: answers like Slack's Web API (``{"ok": true, ...}``) for the
  methods below; every call is recorded in `calls` as ``(method, arguments, token)`` with
  query, form and JSON arguments merged.
* ``apps.connections.open`` hands out ``ws://.../ws``; the websocket greets with
  ``{"type": "hello"}``, events are pushed as ``events_api`` envelopes (`push`) and the acks
  (``{"envelope_id": ...}``) are collected in `acks`. `drop` closes every websocket.
* ``POST /upload/<file id>``: the upload URL of files.getUploadURLExternal; bytes in `uploads`.
* `rate_limit(method, times, retry_after)`: the next calls answer HTTP 429 with Retry-After.
* `go_down` / `come_back`: stop listening (new connections are refused, as when Slack or the
  network is down; open websockets stay) and listen again on the same port.

Payload shapes follow Slack's API reference (docs.slack.dev/reference).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from typing import Any

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
TEAM = "T0TEAM"
BOT_USER = "UBOT"
BOT_ID = "BBOT"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str]] = []
        self.acks: list[dict[str, Any]] = []
        self.uploads: dict[str, bytes] = {}
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_count = 0
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}
        self._limits: dict[str, list[int]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(100)
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = 0
        self.add_user(BOT_USER, "errbot", "Errbot")
        self.add_user("UALICE", "alice", "Alice Liddell")
        self.add_user("UBOB", "bob", "Bob Builder")
        self.add_channel("CGENERAL", "general", members=[BOT_USER, "UALICE", "UBOB"])
        self.add_channel("CRANDOM", "random", members=["UALICE"])

    # -- state ----------------------------------------------------------------------------
    def add_user(self, userid: str, name: str, real_name: str) -> None:
        self.users[userid] = {
            "id": userid,
            "team_id": TEAM,
            "name": name,
            "real_name": real_name,
            "is_bot": userid == BOT_USER,
            "profile": {"real_name": real_name, "email": f"{name}@example.org"},
        }

    def add_channel(self, channelid: str, name: str, members: list[str]) -> None:
        self.channels[channelid] = {
            "id": channelid,
            "name": name,
            "is_channel": True,
            "is_private": False,
            "is_archived": False,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        self.members[channelid] = list(members)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [arguments for name, arguments, _ in list(self.calls) if name == method]

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        self._limits[method] = [times, retry_after]

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-slack", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Slack did not start")

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/ws", self._websocket)
        app.router.add_post("/upload/{file}", self._upload)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await self._listen()

    async def _listen(self) -> None:
        assert self._runner is not None
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self._site = site
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def go_down(self) -> None:
        """Stop accepting connections: the Web API becomes unreachable."""

        async def stop() -> None:
            if self._site is not None:
                await self._site.stop()
                self._site = None

        self._run(stop())

    def come_back(self) -> None:
        self._run(self._listen())

    def stop(self) -> None:
        if self._thread is None:
            return
        self._run(self._shutdown(), 10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    async def _shutdown(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _run(self, coro: Any, timeout: float = 5) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- Socket Mode ------------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        self.socket_count += 1
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self.acks.append(data)
        if ws in self.sockets:
            self.sockets.remove(ws)
        return ws

    def connected(self) -> bool:
        return any(not ws.closed for ws in self.sockets)

    def envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        """An ``event_callback`` body as Slack sends it (also the Events API HTTP body)."""
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "api_app_id": "A0APP",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._ids)}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        }

    def push(self, event: dict[str, Any], body: dict[str, Any] | None = None) -> str:
        """Send ``event`` on the open websocket; returns the envelope id."""
        envelope_id = str(uuid.uuid4())
        frame = {
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "payload": body or self.envelope(event),
        }

        async def send() -> None:
            live = [ws for ws in self.sockets if not ws.closed]
            if not live:
                raise RuntimeError("no Socket Mode connection to push to")
            await live[-1].send_str(json.dumps(frame))

        self._run(send())
        return envelope_id

    def drop(self) -> None:
        """Close every websocket, as a network cut or a Slack restart would."""

        async def close() -> None:
            for ws in list(self.sockets):
                await ws.close(code=1001, message=b"going away")

        self._run(close())

    def message_event(
        self, text: str, user: str = "UALICE", channel: str = "CGENERAL", **extra: Any
    ):
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "team": TEAM,
            "channel_type": "im" if channel.startswith("D") else "channel",
        }
        event.update(extra)
        return event

    # -- Web API --------------------------------------------------------------------------
    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file"]] = await request.read()
        return web.Response(text="OK - 200")

    async def _arguments(self, request: web.Request) -> dict[str, Any]:
        arguments: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                arguments.update(await request.json())
            else:
                arguments.update(dict(await request.post()))
        return arguments

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arguments = await self._arguments(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.calls.append((method, arguments, token))
        limit = self._limits.get(method)
        if limit and limit[0] > 0:
            limit[0] -= 1
            return _json(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(limit[1])},
            )
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return _json({"ok": False, "error": "invalid_auth"})
            return _json({"ok": True, "url": f"ws://127.0.0.1:{self.port}/ws"})
        if token != BOT_TOKEN:
            return _json({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "api_" + method.replace(".", "_"), None)
        if handler is None:
            return _json({"ok": False, "error": "unknown_method"})
        return _json(handler(arguments))

    def api_auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": "Test",
            "user": "errbot",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        message = {"type": "message", "text": args.get("text", ""), "user": BOT_USER, "ts": ts}
        return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": message}

    def api_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def api_users_list(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "members": list(self.users.values()), "response_metadata": {}}

    def _channel(self, channelid: str) -> dict[str, Any] | None:
        channel = self.channels.get(channelid)
        if channel is None:
            return None
        return dict(channel, is_member=BOT_USER in self.members.get(channelid, []))

    def api_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        return {"ok": True, "channel": channel} if channel else _not_found()

    def api_conversations_list(self, _: dict[str, Any]) -> dict[str, Any]:
        channels = [self._channel(c) for c in self.channels]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def api_users_conversations(self, _: dict[str, Any]) -> dict[str, Any]:
        mine = [self._channel(c) for c, who in self.members.items() if BOT_USER in who]
        return {"ok": True, "channels": mine, "response_metadata": {"next_cursor": ""}}

    def api_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        members = self.members.get(args.get("channel", ""))
        if members is None:
            return _not_found()
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}

    def api_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channelid = args.get("channel", "")
        if channelid not in self.channels:
            return _not_found()
        self.members[channelid].append(BOT_USER)
        return {"ok": True, "channel": self._channel(channelid)}

    def api_conversations_leave(self, args: dict[str, Any]) -> dict[str, Any]:
        channelid = args.get("channel", "")
        if BOT_USER in self.members.get(channelid, []):
            self.members[channelid].remove(BOT_USER)
        return {"ok": True}

    def api_conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        channelid = f"C{next(self._ids)}"
        self.add_channel(channelid, args["name"], members=[BOT_USER])
        return {"ok": True, "channel": self._channel(channelid)}

    def api_conversations_archive(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def api_conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channelid = args.get("channel", "")
        self.members.setdefault(channelid, []).extend(args.get("users", "").split(","))
        return {"ok": True, "channel": self._channel(channelid)}

    def api_conversations_setTopic(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        channel = self.channels[args["channel"]]
        channel["topic"] = {"value": args["topic"], "creator": BOT_USER, "last_set": 1}
        return {"ok": True, "channel": self._channel(args["channel"])}

    def api_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": {"id": "D" + args.get("users", "").lstrip("U")}}

    def api_reactions_add(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def api_reactions_remove(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def api_users_setPresence(self, _: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {"ok": True}

    def api_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        file_id = f"F{next(self._ids)}"
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def api_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        files = json.loads(args.get("files", "[]"))
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}


def _not_found() -> dict[str, Any]:
    return {"ok": False, "error": "channel_not_found"}
