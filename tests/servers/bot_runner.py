"""Start a network bot the way ``errbot`` does: `setup_bot`, then `serve_forever` on a thread.

Shared by the per-backend helpers (``xmpp_bot``, ``slack_bot``...), which add their server's
address and credentials. Storage is Memory and the version check is off, so a test touches
neither the disk outside its ``data_dir`` nor the internet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict


def wait_for(
    condition: Callable[[], Any], timeout: float = 15.0, what: str = "the condition"
) -> Any:
    """Poll ``condition`` until it is truthy and return its value; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class RunningBot:
    """A bot serving on its own thread; `stop()` shuts it down and checks the thread ended."""

    connect_timeout = 15.0
    connect_what = "the bot to connect"
    join_timeout = 15.0

    def __init__(self, bot: Any, thread: threading.Thread) -> None:
        self.bot = bot
        self.thread = thread

    def is_connected(self) -> bool:
        return bool(self.bot.connected)

    def wait_connected(self, timeout: float | None = None) -> None:
        wait_for(self.is_connected, timeout or self.connect_timeout, self.connect_what)

    def stop(self) -> None:
        self.bot.shutdown()
        self.thread.join(self.join_timeout)
        assert not self.thread.is_alive(), "serve_forever did not return"


def make_bot(backend: str, data_dir: Path, settings: dict[str, Any]) -> Any:
    """`setup_bot` with the test defaults; ``settings`` add to them or override them."""
    values: dict[str, Any] = {
        "BACKEND": backend,
        "BOT_DATA_DIR": str(data_dir),
        "STORAGE": "Memory",
        "VERSION_CHECK_URL": None,  # never reach the internet from tests
        "BOT_LOG_LEVEL": logging.DEBUG,
        **settings,
    }
    return setup_bot(backend, config_from_dict(values))


def fast_reconnection(bot: Any) -> None:
    """Short back-off so reconnection tests take seconds, not minutes."""
    bot.reconnect_initial_delay = 0.2
    bot.reconnect_max_delay = 1.0
    bot.reconnect_jitter = 0.0


def serve(bot: Any, name: str, running_class: type[RunningBot] = RunningBot) -> RunningBot:
    """Run ``bot.serve_forever`` on a daemon thread named ``name``."""
    thread = threading.Thread(target=bot.serve_forever, name=name, daemon=True)
    thread.start()
    return running_class(bot, thread)
