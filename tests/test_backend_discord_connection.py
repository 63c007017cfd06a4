"""The Discord backend's connection handling against the fake Discord: HTTP 429 honoured,
a refused token or intents reported once without retrying, the gateway dropped and resumed,
sends held while offline, an unreachable API retried with back-off, incoming presence."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers.discord_bot import RunningBot, fake_discord_fixture, start_bot, wait_for
from servers.discord_payloads import ALICE_ID, GENERAL_ID, GUILD_ID
from servers.fake_discord import FakeDiscord, free_port

from errbot.backends.base import AWAY
from errbot.backends.discord.outbox import Job, Outbox
from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

GENERAL = f"/channels/{GENERAL_ID}/messages"
PROBE_DIR = str(Path(__file__).parent / "plugins" / "discord_probe")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscord]:
    yield from fake_discord_fixture(monkeypatch)


@pytest.fixture
def stop_later() -> Iterator[list[RunningBot]]:
    bots: list[RunningBot] = []
    yield bots
    for running in bots:
        running.stop()


def test_http_429_retry_after_is_honoured(
    server: FakeDiscord, tmp_path: Path, stop_later: list[RunningBot]
) -> None:
    stop_later.append(start_bot(tmp_path))
    server.rate_limits[f"POST {GENERAL}"] = 0.4
    server.say("!echo after the limit")
    first, second = server.wait_posted(GENERAL, 2)
    assert first.json["content"] == second.json["content"] == "after the limit"
    assert second.at - first.at >= 0.4  # waited retry_after before trying again
    assert len(server.posted(GENERAL)) == 2


def test_an_invalid_token_is_one_clear_error_and_no_retry(
    server: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    running = start_bot(tmp_path, wait=False, token="not-the-token")
    running.thread.join(10)
    assert not running.thread.is_alive(), "the bot should stop on a refused token"
    assert [c.path for c in server.calls] == ["/users/@me"]  # one attempt, no loop
    assert server.connections == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "BOT_IDENTITY['token']" in errors[0].getMessage()
    assert running.bot.last_failure == "token refused"


def test_a_missing_token_names_the_setting(tmp_path: Path) -> None:
    config = config_from_dict(
        {
            "BACKEND": "Discord",
            "BOT_DATA_DIR": str(tmp_path),
            "STORAGE": "Memory",
            "VERSION_CHECK_URL": None,
            "BOT_ADMINS": ("1",),
            "BOT_IDENTITY": {},
        }
    )
    with pytest.raises(ValueError, match=r"BOT_IDENTITY\['token'\]"):
        setup_bot("Discord", config)


def test_refused_privileged_intents_are_reported_once(
    server: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server.refuse_intents = True
    running = start_bot(tmp_path, wait=False)
    running.thread.join(10)
    assert not running.thread.is_alive()
    assert server.connections == 1
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("errbot") and r.levelno >= logging.ERROR
    ]
    assert len(errors) == 1 and "Message Content Intent" in errors[0]
    assert "DISCORD_MEMBERS_INTENT" in errors[0]


def test_a_dropped_gateway_is_resumed_and_the_bot_answers_again(
    server: FakeDiscord, tmp_path: Path, stop_later: list[RunningBot]
) -> None:
    stop_later.append(start_bot(tmp_path))
    server.say("!echo before")
    server.wait_posted(GENERAL, 1)
    server.drop_gateway(4000)
    resume = server.wait_gateway(6)[0]["d"]
    assert resume["session_id"] == "session-1" and resume["token"] == "bot-token-for-tests"
    assert resume["seq"] >= 2
    wait_for(lambda: stop_later[0].bot.connected, what="the resumed session")
    server.say("!echo after")
    assert server.wait_posted(GENERAL, 2)[-1].json["content"] == "after"
    assert len(server.wait_gateway(2)) == 1  # resumed: no second IDENTIFY


def test_sends_wait_while_offline_and_go_out_once_reconnected(
    server: FakeDiscord, tmp_path: Path, stop_later: list[RunningBot]
) -> None:
    running = start_bot(tmp_path)
    stop_later.append(running)
    bot = running.bot
    server.gateway_down = True
    server.drop_gateway(4000)
    wait_for(lambda: not bot.connected, what="the disconnection")
    bot.send(bot.build_identifier(f"<#{GENERAL_ID}>"), "written while offline")
    for _ in range(10):
        assert not server.posted(GENERAL)
        asyncio.run(asyncio.sleep(0.02))
    server.gateway_down = False
    assert server.wait_posted(GENERAL, 1, timeout=15)[0].json["content"] == "written while offline"


def test_an_unreachable_api_is_retried_with_back_off(
    server: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    stop_later: list[RunningBot],
) -> None:
    import discord.http

    caplog.set_level(logging.INFO, logger="errbot.backends.discord")
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{free_port()}/api/v10")
    running = start_bot(tmp_path, wait=False)
    stop_later.append(running)
    wait_for(lambda: running.bot.connections >= 3, what="three attempts")
    assert running.thread.is_alive() and not running.bot.connected
    delays = [float(d) for d in re.findall(r"Reconnecting to Discord in ([\d.]+) s", caplog.text)]
    assert delays[:2] == [0.2, 0.35] and all(d <= 1.0 for d in delays)  # grows, capped
    monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
    running.wait_connected()


def test_presence_updates_reach_callback_presence(
    server: FakeDiscord, tmp_path: Path, stop_later: list[RunningBot]
) -> None:
    running = start_bot(tmp_path, BOT_EXTRA_PLUGIN_DIR=PROBE_DIR, DISCORD_PRESENCE_INTENT=True)
    stop_later.append(running)
    intents = server.wait_gateway(2)[0]["d"]["intents"]
    assert intents & (1 << 8) and intents & (1 << 15) and intents & (1 << 1)
    probe: Any = running.bot.plugin_manager.get_plugin_obj_by_name("DiscordProbe")
    server.dispatch(
        "PRESENCE_UPDATE",
        {
            "user": {"id": str(ALICE_ID)},
            "guild_id": str(GUILD_ID),
            "status": "idle",
            "activities": [{"type": 4, "name": "Custom Status", "state": "lunch"}],
            "client_status": {"desktop": "idle"},
        },
    )
    wait_for(lambda: any(e[0] == "presence" for e in probe.events), what="the presence")
    presence = next(e[1] for e in probe.events if e[0] == "presence")
    assert presence.status == AWAY and presence.message == "lunch"
    assert presence.identifier.aclattr == str(ALICE_ID)


def test_the_outbox_refuses_beyond_its_bound(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> list[str]:
        sent: list[str] = []
        outbox = Outbox(lambda exc: False, limit=2)

        def job(text: str) -> Job:
            async def run() -> None:
                sent.append(text)

            return Job(f"message {text}", run)

        assert outbox.put(job("a")) and outbox.put(job("b"))
        assert not outbox.put(job("c"))  # offline and full: refused
        outbox.start()
        outbox.online.set()
        for _ in range(20):
            await asyncio.sleep(0)
        await outbox.stop()
        return sent

    assert asyncio.run(scenario()) == ["a", "b"]
    assert "the message c is refused" in caplog.text


def test_a_transient_failure_is_retried_and_a_refusal_dropped() -> None:
    async def scenario() -> list[str]:
        log: list[str] = []
        outbox = Outbox(lambda exc: isinstance(exc, OSError), retry_initial=0.01)
        attempts = {"flaky": 0}

        async def flaky() -> None:
            attempts["flaky"] += 1
            if attempts["flaky"] < 3:
                raise OSError("network down")
            log.append("flaky")

        async def refused() -> None:
            raise ValueError("403 Forbidden")

        async def last() -> None:
            log.append("last")

        outbox.start()
        outbox.online.set()
        for what, run in (("flaky", flaky), ("refused", refused), ("last", last)):
            outbox.put(Job(what, run))
        for _ in range(100):
            if "last" in log:
                break
            await asyncio.sleep(0.01)
        await outbox.stop()
        return log

    assert asyncio.run(scenario()) == ["flaky", "last"]
