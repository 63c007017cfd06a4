"""The Mattermost backend's connection handling against the fake server: a refused token or
unknown team stops the bot with one error naming the setting, HTTP 429 waits as the server
says, a dropped websocket is reconnected (posts sent meanwhile wait in a bounded outbox),
and BOT_IDENTITY is read as errbot-mattermost-backend users wrote it.

Each test has its own server, since they break it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers.fake_mattermost import FakeMattermost
from servers.mattermost_bot import RunningBot, start_bot, wait_for

from errbot.backends.mattermost.client import driver_options


@pytest.fixture
def server() -> Iterator[FakeMattermost]:
    fake = FakeMattermost().start()
    yield fake
    fake.stop()


@pytest.fixture
def stop_later() -> Iterator[list[RunningBot]]:
    bots: list[RunningBot] = []
    yield bots
    for running in bots:
        running.stop()


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("errbot.backends.mattermost")
    ]


def test_an_invalid_token_stops_the_bot_with_one_clear_error(
    server: FakeMattermost, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    running = start_bot(server, tmp_path, wait=False, identity={"token": "not-the-token"})
    running.thread.join(10)
    assert not running.thread.is_alive(), "the bot should stop on a refused token"
    (error,) = errors(caplog)
    assert "BOT_IDENTITY['token']" in error and "refused" in error
    calls = server.api_calls("GET", "/api/v4/users/me")
    assert len(calls) == 1 and calls[0].auth == "Bearer not-the-token"
    assert server.ws_connections == 0


def test_an_unknown_team_stops_the_bot_naming_the_setting(
    server: FakeMattermost, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    running = start_bot(server, tmp_path, wait=False, identity={"team": "nope"})
    running.thread.join(10)
    assert not running.thread.is_alive()
    (error,) = errors(caplog)
    assert "BOT_IDENTITY['team']" in error and "'nope'" in error


@pytest.mark.parametrize("header", ["Retry-After", "X-Ratelimit-Reset"])
def test_http_429_waits_as_long_as_the_server_says(
    server: FakeMattermost,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    stop_later: list[RunningBot],
    header: str,
) -> None:
    caplog.set_level(logging.INFO)
    running = start_bot(server, tmp_path)
    stop_later.append(running)
    server.fail("POST", "/api/v4/posts", 429, {header: "1", "X-Ratelimit-Remaining": "0"})
    server.say_direct(server.alice, "!echo slowly")
    wait_for(lambda: any(p["message"] == "slowly" for p in server.bot_posts()), 10)
    first, second = server.api_calls("POST", "/api/v4/posts")[-2:]
    assert (
        first.body == second.body == {"channel_id": first.body["channel_id"], "message": "slowly"}
    )
    assert second.at - first.at >= 0.95
    assert "Mattermost rate limit (HTTP 429) on create post: retrying in 1.0 s." in caplog.text


def test_a_dropped_websocket_is_reconnected_and_answers_again(
    server: FakeMattermost,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    stop_later: list[RunningBot],
) -> None:
    caplog.set_level(logging.INFO)
    running = start_bot(server, tmp_path)
    stop_later.append(running)
    bot = running.bot
    server.drop_websockets()
    wait_for(lambda: server.ws_connections == 2 and bot.connected, 10, "the reconnection")
    assert "Disconnected from Mattermost" in caplog.text
    server.say_direct(server.alice, "!echo back again")
    wait_for(lambda: any(p["message"] == "back again" for p in server.bot_posts()), 10)
    # The plugins stayed active: activated once, at the first connection.
    assert caplog.text.count("Activate internal commands") == 1
    # Each session authenticated with the token.
    challenges = [f for f in server.ws_frames if f.get("action") == "authentication_challenge"]
    assert [f["data"]["token"] for f in challenges] == [server.token] * 2


def test_posts_wait_while_disconnected_up_to_a_bound(
    server: FakeMattermost,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    stop_later: list[RunningBot],
) -> None:
    caplog.set_level(logging.INFO)
    running = start_bot(server, tmp_path)
    stop_later.append(running)
    bot = running.bot
    bot.send_queue_limit = 2
    alice = bot.build_identifier("@alice")
    server.fail("GET", "/api/v4/users/me", 503, times=3)  # the server is "down" a while
    server.drop_websockets()
    wait_for(lambda: not bot.connected, 5, "the disconnection")
    for text in ("queued one", "queued two", "queued three"):
        bot.send(alice, text)
    wait_for(lambda: bot.connected, 10, "the reconnection")
    wait_for(lambda: any(p["message"] == "queued two" for p in server.bot_posts()), 10)
    assert [p["message"] for p in server.bot_posts()] == ["queued one", "queued two"]
    assert any("queued" not in e and "dropped" in e for e in errors(caplog))
    assert "Cannot reach the Mattermost server" in caplog.text
    assert "BOT_IDENTITY['server']" in caplog.text


def test_bot_identity_settings() -> None:
    old_style = driver_options({"server": "chat.example.org", "token": "t", "team": "x"})
    assert (old_style["url"], old_style["port"], old_style["scheme"]) == (
        "chat.example.org",
        8065,
        "https",
    )
    assert old_style["verify"] and old_style["max_retries"] == 0
    url = driver_options({"server": "https://chat.example.org", "token": "t"})
    assert (url["url"], url["port"], url["scheme"]) == ("chat.example.org", 443, "https")
    insecure = driver_options(
        {"server": "h", "port": "8443", "insecure": True, "login": "bot", "password": "pw"}
    )
    assert insecure["port"] == 8443 and not insecure["verify"]
    assert (insecure["login_id"], insecure["password"], insecure["token"]) == ("bot", "pw", None)
    with pytest.raises(ValueError, match=r"BOT_IDENTITY\['server'\]"):
        driver_options({"token": "t"})
    with pytest.raises(ValueError, match=r"BOT_IDENTITY\['token'\]"):
        driver_options({"server": "h"})
    with pytest.raises(ValueError, match=r"BOT_IDENTITY\['scheme'\]"):
        driver_options({"server": "h", "token": "t", "scheme": "ftp"})
