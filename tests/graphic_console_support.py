"""A Graphic bot served in a thread, its demo plugin and an HTTP/SSE client, for the tests.

Shared by test_graphic_console.py (HTTP, token, identities) and test_graphic_browser.py
(headless Chromium).
"""

from __future__ import annotations

import http.client
import json
import queue
import re
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

DENIED = "This command requires bot-admin privileges"

DEMO_CODE = '''\
import io

from errbot import BotPlugin, arg_botcmd, botcmd


class GraphicDemo(BotPlugin):
    """Replies that exercise the graphic console ({version})."""

    @botcmd
    def demo_table(self, msg, args):
        """A Markdown table and highlighted code."""
        return ("| name | value |\\n| --- | --- |\\n| answer | 42 |\\n\\n"
                "```python\\ndef answer():\\n    return 42\\n```")

    @botcmd
    def demo_card(self, msg, args):
        """A card."""
        self.send_card(title="Build {version}", body="**green**", summary="all good",
                       fields=(("branch", "main"),), color="green", in_reply_to=msg)

    @botcmd
    def demo_file(self, msg, args):
        """A file to download."""
        self.send_stream_request(msg.frm, io.BytesIO(b"hello file"), name="hello.txt",
                                 size=10, stream_type="text/plain")
        return "file sent"

    @botcmd(admin_only=True)
    def demo_secret(self, msg, args):
        """Only for admins."""
        return "the secret"

    @arg_botcmd("--count", type=int, default=1, help="how many")
    def demo_args(self, msg, count):
        """Arguments with a syntax."""
        return "x" * count
'''


class DemoPlugin:
    """The GraphicDemo plugin folder; each bot gets its own module name."""

    def __init__(self, root: Path, tag: str) -> None:
        self.folder = root / "demo"
        self.folder.mkdir(parents=True)
        self.module = "graphic_demo_" + re.sub(r"\W", "_", tag).lower()[-40:]
        (self.folder / "demo.plug").write_text(
            f"[Core]\nName = GraphicDemo\nModule = {self.module}\n"
            "[Documentation]\nDescription = demo\n"
        )
        self.write("v1")

    def write(self, version: str) -> None:
        (self.folder / f"{self.module}.py").write_text(DEMO_CODE.format(version=version))

    def break_it(self) -> None:
        (self.folder / f"{self.module}.py").write_text("def broken(:\n    pass\n")


class RunningConsole:
    """`errbot -G` in a thread: the backend, its address and a plain HTTP client."""

    def __init__(self, root: Path, tag: str, *, broken: bool = False, **settings: Any) -> None:
        """``broken``: the demo plugin has a syntax error when the bot starts."""
        data = root / "data"
        data.mkdir()
        self.plugin = DemoPlugin(root / "plugins", tag)
        if broken:
            self.plugin.break_it()
        values = {
            "BOT_DATA_DIR": str(data),
            "STORAGE": "Memory",
            "BOT_ADMINS": ("@admin",),
            "BOT_EXTRA_PLUGIN_DIR": str(root / "plugins"),
            "GRAPHIC_PORT": 0,
            "GRAPHIC_OPEN_BROWSER": False,
            **settings,
        }
        self.bot: Any = setup_bot("Graphic", config_from_dict(values))
        self._thread = threading.Thread(target=self.bot.serve_forever, daemon=True)
        self._thread.start()
        if not self.bot.ready.wait(30):
            raise RuntimeError("the graphic console did not start")
        self.url: str = self.bot.url
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "", parts.port or 0
        self.token: str = self.bot.token

    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request; ``token=""`` uses the right token, None sends none."""
        sent = dict(headers or {})
        if token is not None:
            sent.setdefault("X-Errbot-Token", token or self.token)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, \
                response.read()
        finally:
            connection.close()

    def api(self, path: str, body: Any = None) -> Any:
        status, _, content = self.request("POST" if body is not None else "GET", path, body)
        assert status == 200, content
        return json.loads(content)

    def close(self) -> None:
        self.bot.stop()
        self._thread.join(30)
        assert not self._thread.is_alive()


class EventStream:
    """Reads the console's Server-Sent Events in a thread; events land in a queue."""

    def __init__(self, console: RunningConsole, since: int = 0) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connection = http.client.HTTPConnection(console.host, console.port, timeout=30)
        path = f"/events?token={console.token}" + (f"&since={since}" if since else "")
        self.connection.request("GET", path)
        self.response = self.connection.getresponse()
        assert self.response.status == 200
        self.ids: list[int] = []
        # Set when the server ended the stream properly (its last chunk), not cut it off.
        self.ended = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("id: "):
                    self.ids.append(int(line[4:]))
                elif line.startswith("data: "):
                    self.events.put(json.loads(line[6:]))
            self.ended.set()
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # closed by `close`: http.client then fails in various ways

    def wait_for(self, kind: str, predicate: Any = None, timeout: float = 20) -> dict[str, Any]:
        """The next event of ``kind`` for which ``predicate`` holds (others are skipped)."""
        while True:
            event = self.events.get(timeout=timeout)
            if event["kind"] == kind and (predicate is None or predicate(event)):
                return event

    def close(self) -> None:
        # Shut the socket down first: that wakes the reading thread, which holds the
        # response's lock that a plain close would wait for (up to the server's next ping).
        sock = self.connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.connection.close()
