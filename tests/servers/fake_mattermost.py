"""A small Mattermost server for tests: the slice of REST API v4 and of the websocket API the
backend uses, played by aiohttp on 127.0.0.1 (a real Mattermost is a Go binary that cannot run
here).

It keeps users, one team, channels, members and posts in memory, records every HTTP call
(`calls`) and websocket frame from the bot, and sends the events a real server sends: a
``posted`` event for each post (the bot's own included), with ``data.post`` as a JSON string.
Answers carry ``Content-Type: application/json`` exactly (the driver checks it).

Tests drive it from their own thread: `say` posts as a person, `react`, `set_status`,
`push` any event, `drop_websockets`, `fail` scripts error answers (HTTP 429...).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .processes import free_port as free_port

TOKEN = "bot-token-0123456789"
BODY = web.RequestKey("body", object)
SEQ = web.ResponseKey("seq", int)


def new_id() -> str:
    return uuid.uuid4().hex[:26]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, message: str) -> web.Response:
    return _json(
        {
            "id": f"api.test.{status}",
            "message": message,
            "request_id": new_id(),
            "status_code": status,
            "detailed_error": "",
        },
        status,
    )


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    auth: str
    at: float = field(default_factory=time.monotonic)


class FakeMattermost:
    def __init__(self) -> None:
        self.port = free_port()
        self.calls: list[Call] = []
        self.ws_frames: list[dict[str, Any]] = []
        self.ws_connections = 0
        self.token = TOKEN
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self._failures: list[tuple[str, str, int, dict[str, str], int]] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._lock = threading.Lock()
        self.team = {"id": new_id(), "name": "acme", "display_name": "Acme"}
        self.bot = self.add_user("errbot", is_bot=True)
        self.alice = self.add_user("alice", "Alice", "Liddell")
        self.bob = self.add_user("bob", "Bob", "Builder")
        self.town = self.add_channel("town-square", members=[self.bot, self.alice, self.bob])
        self.off_topic = self.add_channel("off-topic", members=[self.alice])
        self.secret = self.add_channel("secret", kind="P", members=[self.alice])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    # -- data -------------------------------------------------------------------------
    def add_user(self, name: str, first: str = "", last: str = "", is_bot: bool = False) -> str:
        uid = new_id()
        self.users[uid] = {
            "id": uid,
            "username": name,
            "first_name": first,
            "last_name": last,
            "nickname": "",
            "email": f"{name}@example.org",
            "is_bot": is_bot,
            "roles": "system_user",
        }
        return uid

    def add_channel(self, name: str, kind: str = "O", members: list[str] | None = None) -> str:
        cid = new_id()
        self.channels[cid] = {
            "id": cid,
            "team_id": self.team["id"] if kind in "OP" else "",
            "type": kind,
            "name": name,
            "display_name": name.replace("-", " ").title(),
            "header": "",
            "purpose": "",
            "delete_at": 0,
        }
        self.members[cid] = list(members or [])
        return cid

    def bot_posts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [p for p in self.posts.values() if p["user_id"] == self.bot]

    def api_calls(self, method: str, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.path == path]

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method path`` with ``status``."""
        self._failures.append((method, path, status, dict(headers or {}), times))

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> FakeMattermost:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._record])
        api = "/api/v4"
        app.router.add_get(f"{api}/websocket", self._websocket)
        app.router.add_get(f"{api}/users/me", self._me)
        app.router.add_get(f"{api}/users/username/{{name}}", self._user_by_name)
        app.router.add_get(f"{api}/users/{{uid}}/teams/{{tid}}/channels", self._my_channels)
        app.router.add_put(f"{api}/users/{{uid}}/status", self._status)
        app.router.add_get(f"{api}/users/{{uid}}", self._user)
        app.router.add_get(f"{api}/teams/name/{{name}}", self._team_by_name)
        app.router.add_get(f"{api}/teams/{{tid}}", self._team)
        app.router.add_get(f"{api}/teams/{{tid}}/channels/name/{{name}}", self._channel_by_name)
        app.router.add_post(f"{api}/channels/direct", self._direct)
        app.router.add_post(f"{api}/channels", self._create_channel)
        app.router.add_get(f"{api}/channels/{{cid}}", self._channel)
        app.router.add_delete(f"{api}/channels/{{cid}}", self._delete_channel)
        app.router.add_put(f"{api}/channels/{{cid}}/patch", self._patch_channel)
        app.router.add_get(f"{api}/channels/{{cid}}/members", self._get_members)
        app.router.add_post(f"{api}/channels/{{cid}}/members", self._add_member)
        app.router.add_delete(f"{api}/channels/{{cid}}/members/{{uid}}", self._remove_member)
        app.router.add_post(f"{api}/posts", self._create_post)
        app.router.add_get(f"{api}/posts/{{pid}}", self._get_post)
        app.router.add_post(f"{api}/files", self._upload)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        async def stop() -> None:
            for ws in list(self._sockets):
                await ws.close()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # -- HTTP plumbing ------------------------------------------------------------------
    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.endswith("/websocket"):
            return await handler(request)
        body: Any = None
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            body = {}
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()
                body[part.name] = (
                    {
                        "filename": part.filename,
                        "data": bytes(data),
                        "content_type": part.headers.get("Content-Type"),
                    }
                    if part.filename
                    else data.decode()
                )
        call = Call(
            request.method,
            request.path,
            dict(request.query),
            body,
            request.headers.get("Authorization", ""),
        )
        with self._lock:
            self.calls.append(call)
        for i, (method, path, status, headers, times) in enumerate(self._failures):
            if method == request.method and path == request.path:
                if times <= 1:
                    del self._failures[i]
                else:
                    self._failures[i] = (method, path, status, headers, times - 1)
                if status == 429:  # Mattermost's limiter answers in plain text
                    return web.Response(status=429, text="limit exceeded", headers=headers)
                return _error(status, f"scripted failure {status}")
        if call.auth != f"Bearer {self.token}":
            return _error(401, "Invalid or expired session, please login again.")
        request[BODY] = body
        return await handler(request)

    async def _me(self, request: web.Request) -> web.Response:
        return _json(self.users[self.bot])

    async def _user(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["uid"])
        return _json(user) if user else _error(404, "Unable to find the user.")

    async def _user_by_name(self, request: web.Request) -> web.Response:
        for user in self.users.values():
            if user["username"] == request.match_info["name"]:
                return _json(user)
        return _error(404, "Unable to find an existing account matching your username.")

    async def _status(self, request: web.Request) -> web.Response:
        return _json(request[BODY])

    async def _team_by_name(self, request: web.Request) -> web.Response:
        if request.match_info["name"] != self.team["name"]:
            return _error(404, "Unable to find the existing team.")
        return _json(self.team)

    async def _team(self, request: web.Request) -> web.Response:
        if request.match_info["tid"] != self.team["id"]:
            return _error(404, "Unable to find the existing team.")
        return _json(self.team)

    async def _my_channels(self, request: web.Request) -> web.Response:
        uid = request.match_info["uid"]
        return _json(
            [
                c
                for cid, c in self.channels.items()
                if uid in self.members[cid] and not c["delete_at"]
            ]
        )

    async def _channel(self, request: web.Request) -> web.Response:
        channel = self.channels.get(request.match_info["cid"])
        return _json(channel) if channel else _error(404, "Unable to find the channel.")

    async def _channel_by_name(self, request: web.Request) -> web.Response:
        for channel in self.channels.values():
            if channel["name"] == request.match_info["name"] and not channel["delete_at"]:
                return _json(channel)
        return _error(404, "Unable to find the channel.")

    def direct_channel(self, a: str, b: str) -> str:
        name = "__".join(sorted((a, b)))
        for cid, channel in self.channels.items():
            if channel["name"] == name:
                return cid
        cid = self.add_channel(name, kind="D", members=[a, b])
        return cid

    async def _direct(self, request: web.Request) -> web.Response:
        a, b = request[BODY]
        return _json(self.channels[self.direct_channel(a, b)], 201)

    async def _create_channel(self, request: web.Request) -> web.Response:
        body = request[BODY]
        if any(c["name"] == body["name"] for c in self.channels.values()):
            return _error(400, "A channel with that name already exists on the same team.")
        cid = self.add_channel(body["name"], kind=body["type"], members=[self.bot])
        self.channels[cid]["display_name"] = body["display_name"]
        return _json(self.channels[cid], 201)

    async def _delete_channel(self, request: web.Request) -> web.Response:
        self.channels[request.match_info["cid"]]["delete_at"] = 1
        return _json({"status": "OK"})

    async def _patch_channel(self, request: web.Request) -> web.Response:
        channel = self.channels[request.match_info["cid"]]
        channel.update(request[BODY])
        await self._broadcast(
            "channel_updated", {"channel": json.dumps(channel)}, {"channel_id": channel["id"]}
        )
        return _json(channel)

    async def _get_members(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        page, per_page = int(request.query.get("page", 0)), int(request.query.get("per_page", 60))
        ids = self.members[cid][page * per_page : (page + 1) * per_page]
        return _json([{"channel_id": cid, "user_id": uid, "roles": "channel_user"} for uid in ids])

    async def _add_member(self, request: web.Request) -> web.Response:
        cid, uid = request.match_info["cid"], request[BODY]["user_id"]
        channel = self.channels[cid]
        if channel["type"] == "P" and self.bot not in self.members[cid]:
            return _error(403, "You do not have the appropriate permissions.")
        if uid not in self.members[cid]:
            self.members[cid].append(uid)
            await self._broadcast(
                "user_added", {"user_id": uid, "team_id": self.team["id"]}, {"channel_id": cid}
            )
        return _json({"channel_id": cid, "user_id": uid}, 201)

    async def _remove_member(self, request: web.Request) -> web.Response:
        cid, uid = request.match_info["cid"], request.match_info["uid"]
        if uid in self.members[cid]:
            self.members[cid].remove(uid)
            await self._broadcast(
                "user_removed", {"channel_id": cid, "remover_id": self.bot}, {"user_id": uid}
            )
        return _json({"status": "OK"})

    async def _create_post(self, request: web.Request) -> web.Response:
        body = request[BODY]
        if len(body.get("message", "")) > 16383:
            return _error(400, "Invalid message: too long.")
        post = await self._add_post(
            self.bot,
            body["channel_id"],
            body.get("message", ""),
            body.get("root_id") or "",
            body.get("props") or {},
            body.get("file_ids") or [],
        )
        return _json(post, 201)

    async def _get_post(self, request: web.Request) -> web.Response:
        post = self.posts.get(request.match_info["pid"])
        return _json(post) if post else _error(404, "Unable to find the post.")

    async def _upload(self, request: web.Request) -> web.Response:
        body = request[BODY]
        channel_id = body.get("channel_id") or request.query.get("channel_id")
        part = body["files"]
        fid = new_id()
        self.files[fid] = {**part, "channel_id": channel_id}
        info = {
            "id": fid,
            "name": part["filename"],
            "size": len(part["data"]),
            "mime_type": part["content_type"],
            "channel_id": channel_id,
        }
        return _json({"file_infos": [info], "client_ids": []}, 201)

    async def _add_post(
        self,
        user: str,
        channel_id: str,
        message: str,
        root_id: str = "",
        props: dict[str, Any] | None = None,
        file_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        pid = new_id()
        post = {
            "id": pid,
            "create_at": int(time.time() * 1000),
            "user_id": user,
            "channel_id": channel_id,
            "root_id": root_id,
            "message": message,
            "type": "",
            "props": props or {},
            "file_ids": file_ids or [],
        }
        with self._lock:
            self.posts[pid] = post
        channel = self.channels[channel_id]
        data = {
            "channel_display_name": channel["display_name"],
            "channel_name": channel["name"],
            "channel_type": channel["type"],
            "post": json.dumps(post),
            "sender_name": "@" + self.users[user]["username"],
            "team_id": channel["team_id"],
        }
        await self._broadcast("posted", data, {"channel_id": channel_id})
        return post

    # -- websocket ----------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.ws_connections += 1
        seq = 0
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            data = json.loads(frame.data)
            self.ws_frames.append(data)
            if data.get("action") == "authentication_challenge":
                if (data.get("data") or {}).get("token") != self.token:
                    await ws.send_str(
                        json.dumps(
                            {
                                "status": "FAIL",
                                "seq_reply": data.get("seq"),
                                "error": {"id": "api.web_socket.auth"},
                            }
                        )
                    )
                    await ws.close()
                    break
                await ws.send_str(json.dumps({"status": "OK", "seq_reply": data.get("seq")}))
                await ws.send_str(
                    json.dumps(
                        {
                            "event": "hello",
                            "data": {"server_version": "10.11.0.fake"},
                            "broadcast": {"user_id": self.bot, "channel_id": "", "team_id": ""},
                            "seq": seq,
                        }
                    )
                )
                seq += 1
                ws[SEQ] = seq
                self._sockets.append(ws)
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws

    async def _broadcast(self, event: str, data: dict[str, Any], broadcast: dict[str, Any]) -> None:
        for ws in list(self._sockets):
            frame = {
                "event": event,
                "data": data,
                "broadcast": {
                    "omit_users": None,
                    "user_id": "",
                    "channel_id": "",
                    "team_id": "",
                    **broadcast,
                },
                "seq": ws[SEQ],
            }
            ws[SEQ] += 1
            try:
                await ws.send_str(json.dumps(frame))
            except ConnectionError:
                pass

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- what tests call (from their thread) --------------------------------------------
    @property
    def websockets(self) -> int:
        return len(self._sockets)

    def say(self, user: str, channel_id: str, text: str, root_id: str = "") -> dict[str, Any]:
        return self._run(self._add_post(user, channel_id, text, root_id))

    def say_direct(self, user: str, text: str) -> dict[str, Any]:
        return self.say(user, self.direct_channel(user, self.bot), text)

    def react(self, user: str, post_id: str, emoji: str, removed: bool = False) -> None:
        reaction = {
            "user_id": user,
            "post_id": post_id,
            "emoji_name": emoji,
            "create_at": int(time.time() * 1000),
        }
        event = "reaction_removed" if removed else "reaction_added"
        channel_id = self.posts[post_id]["channel_id"]
        self.push(event, {"reaction": json.dumps(reaction)}, {"channel_id": channel_id})

    def set_status(self, user: str, status: str) -> None:
        self.push("status_change", {"status": status, "user_id": user}, {"user_id": user})

    def push(
        self, event: str, data: dict[str, Any], broadcast: dict[str, Any] | None = None
    ) -> None:
        self._run(self._broadcast(event, data, broadcast or {}))

    def push_raw(self, frame: str) -> None:
        async def send() -> None:
            for ws in list(self._sockets):
                await ws.send_str(frame)

        self._run(send())

    def drop_websockets(self) -> None:
        async def drop() -> None:
            for ws in list(self._sockets):
                self._sockets.remove(ws)
                await ws.close()

        self._run(drop())
