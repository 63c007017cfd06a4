"""Matrix backend pieces without a homeserver: rate limits (a tiny aiohttp fake answering
429 M_LIMIT_EXCEEDED), event size limits, mention prefixes, reply fallbacks, identifiers.

The 429 path is tested here rather than against Synapse: provoking Synapse's rc_message
limit needs a second server with its own configuration and makes the timing depend on the
server's token bucket; the fake answers exactly once with ``retry_after_ms`` and records when
the retry came.
"""

from __future__ import annotations

import asyncio
import pickle
import time

from aiohttp import web

from errbot.backends.matrix.client import MatrixConnection
from errbot.backends.matrix.events import mention_as_prefix, strip_reply_fallback
from errbot.backends.matrix.identifiers import MatrixPerson
from errbot.backends.matrix.markup import (
    MAX_CONTENT_BYTES,
    content_size,
    message_contents,
    relate,
)


def test_a_429_is_retried_after_retry_after_ms() -> None:
    calls: list[tuple[float, str, dict]] = []

    async def send(request: web.Request) -> web.Response:
        calls.append((time.monotonic(), request.path, await request.json()))
        if len(calls) == 1:
            body = {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many", "retry_after_ms": 400}
            return web.json_response(body, status=429)
        return web.json_response({"event_id": "$sent"})

    async def scenario() -> None:
        app = web.Application()
        app.router.add_put("/_matrix/client/v3/rooms/{room}/send/{kind}/{txn}", send)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        conn = MatrixConnection(
            f"http://127.0.0.1:{port}", "@bot:localhost", password=None, token="t",
            device_id="DEV", request_timeout=5,
        )
        conn.client.access_token = "t"
        try:
            sent = await conn.send_event("!r:localhost", {"body": "hi"}, "m.room.message")
            assert sent == "$sent"
        finally:
            await conn.close()
            await runner.cleanup()

    asyncio.run(scenario())
    assert len(calls) == 2
    (first, path1, body1), (second, path2, body2) = calls
    assert second - first >= 0.4  # the server's retry_after_ms was honoured
    assert path1 == path2  # same transaction ID: the retry cannot duplicate the message
    assert body1 == body2 == {"body": "hi"}


def test_html_is_dropped_then_text_split_when_an_event_is_too_large() -> None:
    small = message_contents("hi", "<p>hi</p>")
    assert small == [
        {
            "msgtype": "m.text",
            "body": "hi",
            "format": "org.matrix.custom.html",
            "formatted_body": "<p>hi</p>",
            "m.mentions": {},
        }
    ]
    plain = "<" * 15_000
    [only] = message_contents(plain, "&lt;" * 15_000 + "x" * 40_000)
    assert "formatted_body" not in only and only["body"] == plain
    emoji = "😀" * 16_000  # 64,000 bytes of UTF-8
    parts = message_contents(emoji, emoji)
    assert len(parts) >= 2 and "".join(p["body"] for p in parts) == emoji
    assert all(content_size(p) <= MAX_CONTENT_BYTES for p in parts)


def test_relations_for_replies_and_threads() -> None:
    reply: dict = {}
    relate(reply, "$a", None)
    assert reply == {"m.relates_to": {"m.in_reply_to": {"event_id": "$a"}}}
    threaded: dict = {}
    relate(threaded, "$b", "$root")
    assert threaded["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$b"},
    }
    untouched: dict = {}
    relate(untouched, None, None)
    assert untouched == {}


def test_a_leading_mention_of_the_bot_is_a_prefix() -> None:
    names = ("@bot:localhost", "bot", "Errbot")
    assert mention_as_prefix("Errbot: help", names, "!") == "!help"
    assert mention_as_prefix("errbot, !status", names, "!") == "!status"
    assert mention_as_prefix("@bot:localhost: echo x", names, "!") == "!echo x"
    assert mention_as_prefix("Errbot is great", names, "!") == "Errbot is great"
    assert mention_as_prefix("hello Errbot: x", names, "!") == "hello Errbot: x"


def test_reply_fallbacks_are_stripped() -> None:
    assert strip_reply_fallback("> <@a:b> old\n> more\n\n!echo new") == "!echo new"
    assert strip_reply_fallback("> a quote of mine") == "> a quote of mine"
    assert strip_reply_fallback("plain") == "plain"


def test_people_compare_by_mxid_and_pickle() -> None:
    alice = MatrixPerson("@alice:example.org", "Alice")
    assert alice == MatrixPerson("@alice:example.org") and hash(alice) == hash(
        MatrixPerson("@alice:example.org")
    )
    assert (alice.person, alice.nick, alice.fullname, alice.aclattr) == (
        "@alice:example.org", "alice", "Alice", "@alice:example.org",
    )
    assert pickle.loads(pickle.dumps(alice)) == alice
    for bad in ("alice", "@alice", "alice:example.org"):
        try:
            MatrixPerson(bad)
        except ValueError as exc:
            assert "@user:example.org" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")
