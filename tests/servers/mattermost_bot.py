"""Start a Mattermost bot against the fake server the way ``errbot`` does (setup_bot, then
serve_forever on a thread)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

from .fake_mattermost import TOKEN, FakeMattermost


class RunningBot:
    def __init__(self, bot: Any, thread: threading.Thread) -> None:
        self.bot = bot
        self.thread = thread

    def wait_connected(self, timeout: float = 10.0) -> None:
        wait_for(lambda: self.bot.connected, timeout, "the bot to connect")

    def stop(self) -> None:
        self.bot.shutdown()
        self.thread.join(10)
        assert not self.thread.is_alive(), "serve_forever did not return"


def wait_for(condition: Any, timeout: float = 10.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def start_bot(
    server: FakeMattermost,
    data_dir: Path,
    *,
    wait: bool = True,
    identity: dict[str, Any] | None = None,
    **settings: Any,
) -> RunningBot:
    values: dict[str, Any] = {
        "BACKEND": "Mattermost",
        "BOT_DATA_DIR": str(data_dir),
        "STORAGE": "Memory",
        "VERSION_CHECK_URL": None,  # never reach the internet from tests
        "BOT_LOG_LEVEL": logging.DEBUG,
        "BOT_ADMINS": ("@alice",),
        "BOT_IDENTITY": {
            "server": "127.0.0.1",
            "port": server.port,
            "scheme": "http",
            "token": TOKEN,
            "team": "acme",
            "timeout": 5,
            **(identity or {}),
        },
    }
    values.update(settings)
    bot = setup_bot("Mattermost", config_from_dict(values))
    # Short back-off so reconnection tests take seconds, not minutes.
    bot.reconnect_initial_delay = 0.2
    bot.reconnect_max_delay = 1.0
    bot.reconnect_jitter = 0.0
    bot.refusal_retry_delay = 1.0
    thread = threading.Thread(target=bot.serve_forever, name="mattermost-bot", daemon=True)
    thread.start()
    running = RunningBot(bot, thread)
    if wait:
        running.wait_connected()
    return running
