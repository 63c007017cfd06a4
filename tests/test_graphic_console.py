"""The graphic console (`errbot -G`) without a browser: CLI, access rules, API, events.

The page itself is exercised in headless Chromium by test_graphic_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphic_console_support import DEMO_CODE, DENIED, EventStream, RunningConsole

from errbot.backends.graphic.app import ConsoleApp
from errbot.backends.graphic.backend import _port_setting
from errbot.backends.graphic.hub import EventHub
from errbot.backends.graphic.markup import to_html
from errbot.cli import main


@pytest.fixture
def console(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RunningConsole]:
    running = RunningConsole(tmp_path, request.node.name)
    try:
        yield running
    finally:
        running.close()


def out_message(stream: EventStream, text: str) -> dict[str, Any]:
    return stream.wait_for("message", lambda e: e["direction"] == "out" and text in e["html"])


# -- the command line ---------------------------------------------------------------------


def test_help_lists_the_graphic_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "-G, --graphic" in capsys.readouterr().out


def test_graphic_mode_cannot_be_a_daemon(capsys: pytest.CaptureFixture[str]) -> None:
    if os.name == "nt":
        pytest.skip("no daemon mode on Windows")
    assert main(["-G", "-d"]) == 1
    assert "graphic and daemon mode" in capsys.readouterr().err


def start_errbot_G(
    tmp_path: Path, *, open_browser: bool = False, env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """`errbot -G` as a newcomer runs it, in a folder with a config.py; stdout is piped."""
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "config.py").write_text(
        f"BOT_DATA_DIR = {str(data)!r}\nBOT_ADMINS = ('@admin',)\nSTORAGE = 'Memory'\n"
        f"BACKEND = 'Text'\nGRAPHIC_PORT = 0\nGRAPHIC_OPEN_BROWSER = {open_browser}\n"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "errbot", "-G", "-c", str(tmp_path / "config.py")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path,
        env=env,
    )


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()  # SIGTERM: the same clean stop as Ctrl-C
    try:
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_errbot_G_prints_the_address_serves_the_page_and_stops(tmp_path: Path) -> None:
    process = start_errbot_G(tmp_path)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)", line)
        assert found, line
        assert process.stdout.readline() == (
            "Open this address in a browser on this machine. Press Ctrl-C here to stop the"
            " bot.\n")
        port, token = int(found.group(1)), found.group(2)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(f"GET /?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Connection: close\r\n\r\n".encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
        assert b'id="messages"' in answer
    finally:
        stop(process)


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="a graphical session is detected from DISPLAY on Linux only")
@pytest.mark.parametrize("display, open_browser, opens", [
    (":99", True, True),     # a desktop session: the page opens
    ("", True, False),       # a server over ssh: only the address
    (":99", False, False),   # GRAPHIC_OPEN_BROWSER = False
])
def test_the_browser_opens_only_in_a_graphical_session(
    tmp_path: Path, display: str, open_browser: bool, opens: bool,
) -> None:
    # $BROWSER is how Python's webbrowser (and so errbot) picks the browser: a small program
    # standing in for it records the address it was given.
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "record-browser"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["BROWSER"] = f"{browser} %s"
    if display:
        env["DISPLAY"] = display
    process = start_errbot_G(tmp_path, open_browser=open_browser, env=env)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(": ", 1)[1].strip()
        hint = process.stdout.readline()
    finally:
        stop(process)
    if opens:
        assert hint.startswith("It is opening in your browser.")
        assert opened.read_text().strip() == url
    else:
        assert hint.startswith("Open this address in a browser")
        assert not opened.exists()


# -- who may talk to it -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/static/console.js", "/events", "/api/state",
                                  "/files/x"])
def test_every_route_needs_the_token(console: RunningConsole, path: str) -> None:
    assert console.request("GET", path, token=None)[0] == 403
    assert console.request("GET", path, token="wrong")[0] == 403
    status, _, body = console.request("POST", "/api/send", {"text": "!echo no"}, token="nope")
    assert status == 403 and b"token" in body


def test_the_page_without_token_explains_in_plain_text(console: RunningConsole) -> None:
    """Someone opening the bare address (as logged by the web server) reads why, not JSON."""
    status, headers, body = console.request("GET", "/", token=None)
    assert status == 403 and headers["content-type"].startswith("text/plain")
    assert body.decode() == ("Errbot's graphic console: Missing or wrong token: use the address"
                             " printed at start-up.\n")


def test_the_token_in_the_address_opens_the_page(console: RunningConsole) -> None:
    status, headers, body = console.request("GET", f"/?token={console.token}", token=None)
    assert status == 200
    assert f'content="{console.token}"'.encode() in body
    # The token must not travel to the sites of pictures and links shown in the chat.
    assert headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in headers["content-security-policy"]
    status, headers, _ = console.request("GET", f"/static/console.css?token={console.token}",
                                         token=None)
    assert status == 200 and headers["content-type"].startswith("text/css")
    assert console.request("GET", f"/static/../app.py?token={console.token}", token=None)[0] \
        == 404


def test_a_foreign_host_name_is_refused(console: RunningConsole) -> None:
    """A page of another site whose name points at 127.0.0.1 (DNS rebinding) gets nothing."""
    status, _, _ = console.request("GET", "/api/state", headers={"Host": "evil.example:80"})
    assert status == 403
    assert console.request("GET", "/api/state", headers={"Host": "localhost"})[0] == 200


def test_only_loopback_is_served(console: RunningConsole) -> None:
    assert console.host == "127.0.0.1"
    app = ConsoleApp(console.bot)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/api/state",
             "query_string": f"token={console.token}".encode(),
             "headers": [(b"host", b"127.0.0.1")], "client": ("192.0.2.7", 5000)}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 403


# -- the conversation ---------------------------------------------------------------------


def test_a_message_and_its_answer_reach_the_page(console: RunningConsole) -> None:
    stream = EventStream(console)
    try:
        assert console.api("/api/send", {"text": "!echo *hi* <b>x</b>"}) == {"ok": True}
        typed = stream.wait_for("message", lambda e: e["direction"] == "in")
        assert typed["text"] == "!echo *hi* <b>x</b>" and typed["frm"] == "@admin"
        answer = out_message(stream, "hi")
        assert answer["html"] == "<p><em>hi</em> &lt;b&gt;x&lt;/b&gt;</p>"
        assert answer["private"] is True and answer["to"] == "@admin"
    finally:
        stream.close()
    assert console.request("POST", "/api/send", {"text": "  "})[0] == 400


def test_ml_explains_the_keys_instead_of_switching_a_mode(console: RunningConsole) -> None:
    stream = EventStream(console)
    try:
        console.api("/api/send", {"text": "!ml"})
        answer = out_message(stream, "Shift+Enter")
        assert "Shift+Enter starts a new line and Enter sends" in answer["html"]
    finally:
        stream.close()
    assert console.bot.multiline is False


def test_cards_and_files(console: RunningConsole) -> None:
    stream = EventStream(console)
    try:
        console.api("/api/send", {"text": "!demo card"})
        card = stream.wait_for("card")
        assert card["title"] == "Build v1" and card["summary"] == "all good"
        assert card["html"] == "<p><strong>green</strong></p>"
        assert card["fields"] == [["branch", "main"]] and card["color"] == "green"
        console.api("/api/send", {"text": "!demo file"})
        offered = stream.wait_for("file")
        assert offered["name"] == "hello.txt" and offered["size"] == 10
        # Sent to the person talking one-on-one: the page labels it "(private)", not "in".
        assert offered["private"] is True and offered["to"] == "@admin"
    finally:
        stream.close()
    status, headers, body = console.request("GET", f"/files/{offered['id']}")
    assert status == 200 and body == b"hello file"
    assert headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"] == "attachment; filename*=UTF-8''hello.txt"
    assert console.request("GET", "/files/unknown")[0] == 404


def test_switching_identity_and_room(console: RunningConsole) -> None:
    state = console.api("/api/identity", {"admin": False, "user": "bob"})["state"]
    assert (state["user"], state["admin"], state["room"]) == ("@bob", False, None)
    state = console.api("/api/identity", {"room": "lab"})["state"]
    assert state["room"] == "#lab" and "#lab" in state["rooms"]
    assert str(console.bot.conversation()[0]) == "#lab/bob"
    # TextCmds keeps the switch, as after "!asuser bob" / "!inroom #lab" on the console.
    textcmds = console.bot.plugin_manager.get_plugin_obj_by_name("TextCmds")
    assert textcmds["user"] == "@bob" and textcmds["room"] == "#lab"
    state = console.api("/api/identity", {"in_person": True, "admin": True})["state"]
    assert (state["user"], state["admin"], state["room"]) == ("@admin", True, None)
    status, _, body = console.request("POST", "/api/identity", {"room": "#a/b"})
    assert status == 400 and b"not a room" in body
    assert console.request("POST", "/api/identity", {"admin": "yes"})[0] == 400


def test_typed_console_commands_update_the_page(console: RunningConsole) -> None:
    stream = EventStream(console)
    try:
        console.api("/api/send", {"text": "!inroom #ops"})
        state = stream.wait_for("state", lambda e: e["room"] == "#ops")
        assert state["user"] == "@admin"
    finally:
        stream.close()


def test_an_admin_command_is_refused_to_a_user(console: RunningConsole) -> None:
    stream = EventStream(console)
    try:
        console.api("/api/identity", {"admin": False})
        console.api("/api/send", {"text": "!demo secret"})
        assert DENIED in out_message(stream, DENIED)["html"]
        console.api("/api/identity", {"admin": True})
        console.api("/api/send", {"text": "!demo secret"})
        out_message(stream, "the secret")
    finally:
        stream.close()


# -- the developer's tools ----------------------------------------------------------------


def test_the_catalogue_feeds_completion(console: RunningConsole) -> None:
    commands = {c["name"]: c for c in console.api("/api/state")["commands"]}
    assert commands["!help"]["summary"].startswith("List the commands")
    assert commands["!demo args"]["syntax"] == "[-h] [--count COUNT]"
    assert commands["!demo args"]["summary"] == "Arguments with a syntax."
    assert "!inroom" in commands and "!asadmin" in commands  # TextCmds is active here


def test_reload_reports_the_error_then_works(console: RunningConsole) -> None:
    console.plugin.break_it()
    failed = console.api("/api/reload", {"plugin": "GraphicDemo"})
    assert failed["ok"] is False and "line 1" in failed["error"]
    console.plugin.write("v2")
    assert console.api("/api/reload", {"plugin": "GraphicDemo"})["ok"] is True
    assert console.api("/api/reload", {"plugin": "Nope"})["ok"] is False
    stream = EventStream(console)
    try:
        console.api("/api/send", {"text": "!demo card"})
        assert stream.wait_for("card")["title"] == "Build v2"
    finally:
        stream.close()


def test_a_failing_activate_is_reported_and_the_fixed_code_comes_back(
    console: RunningConsole,
) -> None:
    folder, module = console.plugin.folder, console.plugin.module
    (folder / f"{module}.py").write_text(
        DEMO_CODE.format(version="v3")
        + "\n    def activate(self):\n        raise RuntimeError('no database here')\n")
    failed = console.api("/api/reload", {"plugin": "GraphicDemo"})
    assert failed["ok"] is False and "no database here" in failed["error"]
    demo = next(p for p in failed["plugins"] if p["name"] == "GraphicDemo")
    assert demo["active"] is False  # as after "!plugin reload": the page says "(inactive)"
    console.plugin.write("v4")
    fixed = console.api("/api/reload", {"plugin": "GraphicDemo"})
    assert fixed["ok"] is True
    assert next(p for p in fixed["plugins"] if p["name"] == "GraphicDemo")["active"] is True
    stream = EventStream(console)
    try:
        console.api("/api/send", {"text": "!demo card"})
        assert stream.wait_for("card")["title"] == "Build v4"
    finally:
        stream.close()


def test_a_plugin_broken_at_start_up_is_listed_and_loads_once_fixed(tmp_path: Path) -> None:
    """The usual state of the plugin being edited: its code did not even import at start."""
    running = RunningConsole(tmp_path, "broken-at-start", broken=True)
    try:
        listed = {p["name"]: p for p in running.api("/api/state")["plugins"]}
        assert listed["GraphicDemo"] == {"name": "GraphicDemo", "core": False, "active": False,
                                         "loaded": False}
        assert listed["Help"]["loaded"] is True and listed["Help"]["core"] is True
        still = running.api("/api/reload", {"plugin": "GraphicDemo"})
        assert still["ok"] is False and "SyntaxError" in still["error"]
        assert "line 1" in still["error"]
        running.plugin.write("v1")
        loaded = running.api("/api/reload", {"plugin": "GraphicDemo"})
        assert loaded["ok"] is True and loaded["error"] is None
        demo = next(p for p in loaded["plugins"] if p["name"] == "GraphicDemo")
        assert demo["loaded"] is True and demo["active"] is True
        assert any(c["name"] == "!demo card" for c in loaded["commands"])
        stream = EventStream(running)
        try:
            running.api("/api/send", {"text": "!demo card"})
            assert stream.wait_for("card")["title"] == "Build v1"
        finally:
            stream.close()
        # From now on it is an ordinary loaded plugin: reloading it works as before.
        running.plugin.write("v2")
        assert running.api("/api/reload", {"plugin": "GraphicDemo"})["ok"] is True
    finally:
        running.close()


def test_log_records_are_streamed_and_replayed(console: RunningConsole) -> None:
    stream = EventStream(console)
    try:
        logging.getLogger("errbot.graphic.test").warning("look at %s", "this")
        record = stream.wait_for("log", lambda e: e["message"] == "look at this")
        assert record["level"] == "WARNING" and record["logger"] == "errbot.graphic.test"
    finally:
        stream.close()
    # A page that reconnects gets only what it has not seen.
    last = stream.ids[-1]
    logging.getLogger("errbot.graphic.test").error("after the reconnect")
    again = EventStream(console, since=last)
    try:
        first = again.wait_for("log")
        assert first["message"] == "after the reconnect"
    finally:
        again.close()


def test_stopping_ends_open_streams_at_once(tmp_path: Path) -> None:
    """An open page must not hold the bot's stop up: the server ends its stream itself."""
    running = RunningConsole(tmp_path, "stopping")
    stream = EventStream(running)
    try:
        stream.wait_for("state")  # the stream is up and replaying
        running.close()
        assert stream.ended.wait(30)  # the last chunk arrived: ended, not cut at a timeout
    finally:
        stream.close()


def test_closing_the_hub_ends_every_stream_at_once() -> None:
    """What makes stopping quick: each open stream's queue gets the end marker (None) right
    away, instead of the server waiting for the page to go."""

    async def scenario() -> list[Any]:
        hub = EventHub(asyncio.get_running_loop())
        queue = hub.subscribe()
        hub.publish("log", {"message": "before"})
        hub.close()
        late = hub.subscribe()  # a page connecting while the bot stops ends at once too
        got = [await queue.get(), await queue.get(), await late.get()]
        return [json.loads(e[2])["message"] if e else e for e in got]

    assert asyncio.run(scenario()) == ["before", None, None]


def test_a_taken_port_falls_back_to_a_free_one(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = RunningConsole(tmp_path, "port", GRAPHIC_PORT=port)
        try:
            assert running.port not in (0, port)
            assert running.request("GET", "/api/state")[0] == 200
        finally:
            running.close()


def test_the_configured_port_is_used(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = RunningConsole(tmp_path, "own-port", GRAPHIC_PORT=port)
    try:
        assert running.port == port and running.url.startswith(f"http://127.0.0.1:{port}/")
    finally:
        running.close()


@pytest.mark.parametrize("value", ["http", -1, 70000, True, 3.5j])
def test_a_wrong_port_setting_is_reported_and_the_default_used(
    value: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="errbot.backends.graphic.backend"):
        assert _port_setting(value) == 3142
    assert f"GRAPHIC_PORT = {value!r} is not a port number" in caplog.text
    assert _port_setting("8080") == 8080 and _port_setting(0) == 0


# -- Markdown to HTML ---------------------------------------------------------------------


def test_markdown_is_rendered_with_tables_code_lists_and_links() -> None:
    html = to_html("| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n\n[site](https://x.org)"
                   "\n\n```python\nx = 1\n```")
    assert "<table>" in html and "<td>2</td>" in html
    assert "<li>one</li>" in html
    assert '<a href="https://x.org" rel="noopener noreferrer" target="_blank">site</a>' in html
    assert '<div class="codehilite">' in html and '<span class="n">x</span>' in html


def test_pictures_are_shown_inline() -> None:
    assert to_html("https://example.org/cat.png") == \
        '<p><img alt="" src="https://example.org/cat.png"></p>'
    assert '<img alt="cat" src="/cat.gif">' in to_html("![cat](/cat.gif)")


@pytest.mark.parametrize("markdown, forbidden", [
    ("<script>alert(1)</script>", "<script"),
    ("hello <img src=x onerror=alert(1)>", "<img"),
    ("[x](javascript:alert(1))", "javascript:"),
    ("[x](JaVaScRiPt:alert(1))", "alert"),
    ("![x](data:image/svg+xml;base64,AAAA)", "data:"),
    ("paragraph\n{: onclick=\"alert(1)\" }", "onclick"),
    ("# title {: onmouseover=\"alert(1)\" }", "onmouseover"),
])
def test_replies_cannot_inject_markup(markdown: str, forbidden: str) -> None:
    """Whatever the Markdown, no tag of the HTML carries the dangerous part (as text it is
    harmless)."""
    tags = " ".join(re.findall(r"<[^>]*>", to_html(markdown)))
    assert forbidden not in tags.lower()

