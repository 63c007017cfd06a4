"""Start a Discord bot the way ``errbot`` does (setup_bot, then serve_forever on a thread),
against the local fake Discord (`fake_discord`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

from .discord_payloads import ALICE_ID, TOKEN
from .fake_discord import FakeDiscord


class RunningBot:
    def __init__(self, bot: Any, thread: threading.Thread) -> None:
        self.bot = bot
        self.thread = thread

    def wait_connected(self, timeout: float = 10.0) -> None:
        wait_for(lambda: self.bot.connected and self.bot.activated.is_set(), timeout, "the bot")

    def stop(self) -> None:
        self.bot.shutdown()
        self.thread.join(15)
        assert not self.thread.is_alive(), "serve_forever did not return"


def wait_for(condition: Any, timeout: float = 10.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def start_bot(
    data_dir: Path, *, wait: bool = True, token: str = TOKEN, **settings: Any
) -> RunningBot:
    values: dict[str, Any] = {
        "BACKEND": "Discord",
        "BOT_DATA_DIR": str(data_dir),
        "STORAGE": "Memory",
        "VERSION_CHECK_URL": None,  # never reach the internet from tests
        "BOT_LOG_LEVEL": logging.DEBUG,
        "BOT_ADMINS": (str(ALICE_ID),),
        "BOT_IDENTITY": {"token": token},
        "CHATROOM_FN": "errbot",
    }
    values.update(settings)
    bot = setup_bot("Discord", config_from_dict(values))
    # No guild arrives after the first: do not wait discord.py's default 2 s for more.
    bot.guild_ready_timeout = 0.05
    bot.reconnect_initial_delay = 0.2
    bot.reconnect_max_delay = 1.0
    bot.reconnect_jitter = 0.0
    thread = threading.Thread(target=bot.serve_forever, name="discord-bot", daemon=True)
    thread.start()
    running = RunningBot(bot, thread)
    if wait:
        running.wait_connected()
    return running


def fake_discord_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscord]:
    """A started fake with discord.py redirected to it; stopped afterwards."""
    server = FakeDiscord()
    server.start()
    server.redirect(monkeypatch)
    try:
        yield server
    finally:
        server.stop()
