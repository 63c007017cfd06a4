"""Start a Telegram bot the way ``errbot`` does (setup_bot, then serve_forever on a thread),
pointed at the fake Bot API with TELEGRAM_API_URL."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

from .fake_telegram import HUMAN, FakeTelegram


class RunningBot:
    def __init__(self, bot: Any, thread: threading.Thread) -> None:
        self.bot = bot
        self.thread = thread

    def wait_connected(self, timeout: float = 15.0) -> None:
        wait_for(lambda: self.bot.connected, timeout, "the bot to connect")

    def stop(self) -> None:
        self.bot.shutdown()
        self.thread.join(15)
        assert not self.thread.is_alive(), "serve_forever did not return"


def wait_for(condition: Any, timeout: float = 15.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def start_bot(
    server: FakeTelegram,
    data_dir: Path,
    *,
    wait: bool = True,
    token: str | None = None,
    **settings: Any,
) -> RunningBot:
    values: dict[str, Any] = {
        "BACKEND": "Telegram",
        "BOT_DATA_DIR": str(data_dir),
        "STORAGE": "Memory",
        "VERSION_CHECK_URL": None,  # never reach the internet from tests
        "BOT_LOG_LEVEL": logging.DEBUG,
        "BOT_ADMINS": (str(HUMAN["id"]),),
        "BOT_IDENTITY": {"token": token or server.token},
        "TELEGRAM_API_URL": server.url,
    }
    values.update(settings)
    bot = setup_bot("Telegram", config_from_dict(values))
    # Short back-off and long-poll so outage tests take a second or two, not minutes.
    client = bot.client
    client.initial_delay = 0.1
    client.max_delay = 0.5
    client.jitter = 0.0
    client.poll_timeout = 1.0
    client.drain_timeout = 1.0
    thread = threading.Thread(target=bot.serve_forever, name="telegram-bot", daemon=True)
    thread.start()
    running = RunningBot(bot, thread)
    if wait:
        running.wait_connected()
    return running
