"""The Telegram backend's error paths against the fake Bot API: flood control (429 with
retry_after), a rejected token, the API going away and coming back, the bounded outbox,
a group migrated to a supergroup. Each test has its own server and bot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers.fake_telegram import GROUP, HUMAN, FakeTelegram
from servers.telegram_bot import RunningBot, start_bot, wait_for

from errbot.backends.telegram import TelegramPerson, TelegramRoom
from errbot.backends.telegram.client import INVALID_TOKEN


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
def bots() -> Iterator[list[RunningBot]]:
    started: list[RunningBot] = []
    yield started
    for running in started:
        running.stop()


def test_flood_control_retry_after_is_honoured(
    fake: FakeTelegram,
    tmp_path: Path,
    bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="errbot.backends.telegram.client")
    running = start_bot(fake, tmp_path)
    bots.append(running)
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    fake.message("!echo first")
    fake.message("!echo second")
    fake.wait_sent("second")
    attempts = fake.calls_to("sendMessage")
    assert [c.params for c in attempts] == [
        {"chat_id": "1001", "text": text, "parse_mode": "HTML"}
        for text in ("first", "first", "second")
    ]
    # The retry waited the second Telegram asked for, and the next message waited too.
    assert attempts[1].at - attempts[0].at >= 1.0
    assert "Telegram flood control: waiting 1 s before sending." in caplog.text


def test_flood_control_on_get_updates(
    fake: FakeTelegram, tmp_path: Path, bots: list[RunningBot]
) -> None:
    fake.fail("getUpdates", 429, "Too Many Requests: retry after 1", retry_after=1)
    started = time.monotonic()
    running = start_bot(fake, tmp_path)
    bots.append(running)
    fake.message("!echo polled")
    fake.wait_sent("polled")
    assert time.monotonic() - started >= 1.0


def test_an_invalid_token_is_one_clear_error_and_stops_the_bot(
    fake: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    running = start_bot(fake, tmp_path, wait=False, token="999:not-the-token")
    running.thread.join(15)
    assert not running.thread.is_alive()
    assert running.bot.last_failure == INVALID_TOKEN
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "BOT_IDENTITY['token']" in errors[0].getMessage()
    assert [c.method for c in fake.calls] == ["getMe"]


@pytest.mark.parametrize("token", ["", "no-colon", "abc:def", "123:"])
def test_a_malformed_token_is_refused_at_once(
    fake: FakeTelegram, tmp_path: Path, token: str
) -> None:
    from errbot.backends.telegram import TelegramBackend
    from errbot.settings import config_from_dict

    config = config_from_dict({"BOT_IDENTITY": {"token": token}, "BOT_DATA_DIR": str(tmp_path)})
    with pytest.raises(ValueError, match=r"BOT_IDENTITY\['token'\]"):
        TelegramBackend(config)


def test_the_api_going_away_and_coming_back(
    fake: FakeTelegram,
    tmp_path: Path,
    bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="errbot.backends.telegram.client")
    running = start_bot(fake, tmp_path)
    bots.append(running)
    bot = running.bot
    fake.message("!echo before")
    fake.wait_sent("before")
    fake.stop()
    wait_for(lambda: not bot.client.online, 10, "the outage to be noticed")
    bot.send(TelegramPerson(HUMAN["id"]), "sent while offline")
    time.sleep(0.3)
    fake.start()  # same port
    fake.wait_sent("sent while offline")
    fake.message("!echo after")
    fake.wait_sent("after")
    assert bot.client.online and running.thread.is_alive()
    assert "Lost contact with the Telegram Bot API" in caplog.text
    assert "In contact with the Telegram Bot API again." in caplog.text


def test_the_api_unreachable_at_start_is_retried(
    tmp_path: Path, bots: list[RunningBot], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="errbot.backends.telegram.client")
    server = FakeTelegram()  # not started yet
    running = start_bot(server, tmp_path, wait=False)
    bots.append(running)
    wait_for(lambda: "Cannot reach the Telegram Bot API" in caplog.text, 10, "a retry log")
    server.start()
    try:
        running.wait_connected()
        server.message("!echo late start")
        server.wait_sent("late start")
    finally:
        running.stop()
        bots.remove(running)
        server.stop()


def test_the_outbox_is_bounded(
    fake: FakeTelegram,
    tmp_path: Path,
    bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    running = start_bot(fake, tmp_path)
    bots.append(running)
    bot = running.bot
    bot.client.outbox_limit = 3
    fake.stop()
    wait_for(lambda: not bot.client.online, 10, "the outage to be noticed")
    for i in range(6):
        bot.send(TelegramPerson(HUMAN["id"]), f"queued {i}")
    # Sends are handed to the loop in order: once a later coroutine has run there, all six
    # have been queued or refused.
    bot.runtime.run_sync(asyncio.sleep(0), timeout=5)
    wait_for(lambda: "is refused" in caplog.text, 5, "a refusal")
    refused = caplog.text.count("messages are already waiting to be sent")
    fake.start()
    # Everything not refused arrives, however slow the machine is, and nothing else follows.
    fake.wait_calls("sendMessage", 6 - refused)
    time.sleep(0.3)
    texts = [c.params["text"] for c in fake.calls_to("sendMessage")]
    # Three wait in the outbox, plus the one being retried if it had left the queue when the
    # others came (so which later ones are refused depends on timing); the rest are refused
    # with a log line; what is sent keeps its order and starts with the first message.
    assert refused in (2, 3) and len(texts) == 6 - refused
    numbers = [int(text.removeprefix("queued ")) for text in texts]
    assert numbers[0] == 0 and numbers == sorted(set(numbers))
    assert all(0 <= n < 6 for n in numbers)


def test_a_migrated_group_gets_the_message_at_its_new_id(
    fake: FakeTelegram, tmp_path: Path, bots: list[RunningBot]
) -> None:
    running = start_bot(fake, tmp_path)
    bots.append(running)
    fake.fail(
        "sendMessage",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=GROUP["id"],
    )
    running.bot.send(TelegramRoom(-77), "hello group")
    fake.wait_calls("sendMessage", 2)
    assert [c.params["chat_id"] for c in fake.calls_to("sendMessage")] == ["-77", "-1001234"]
