"""Starting a real IRC bot for the IRC backend tests (see tests/servers/ngircd.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

PROBE_DIR = str(Path(__file__).parent / "plugins" / "irc_probe")
CORE = ("ACLs", "ChatRoom", "CommandNotFoundFilter", "Help", "Utils", "Health")


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what or condition}")


class RunningBot:
    """An IRC bot built like `errbot` builds it, served on a thread of its own."""

    def __init__(
        self, data_dir: Path, port: int, identity: dict[str, Any] | None = None, **settings: Any
    ) -> None:
        config = {
            "BACKEND": "IRC",
            "BOT_DATA_DIR": str(data_dir),
            "STORAGE": "Memory",
            "VERSION_CHECK_URL": None,  # never reach the internet from tests
            "BOT_ADMINS": ("boss!*@*",),
            "BOT_IDENTITY": {
                "nickname": "errbot",
                "server": "127.0.0.1",
                "port": port,
                **(identity or {}),
            },
            "BOT_EXTRA_PLUGIN_DIR": PROBE_DIR,
            "CORE_PLUGINS": CORE,
            "IRC_CHANNEL_RATE": 0,
            "IRC_PRIVATE_RATE": 0,
            "IRC_RECONNECT_ON_DISCONNECT": 0.2,
            "IRC_RECONNECT_ON_KICK": 0.2,
            **settings,
        }
        data_dir.mkdir(parents=True, exist_ok=True)
        self.bot = setup_bot("IRC", config_from_dict(config))
        self.thread = threading.Thread(target=self.bot.serve_forever, daemon=True)
        self.thread.start()

    def wait_online(self, *channels: str, timeout: float = 10.0) -> None:
        client = self.bot.client
        wait_until(
            lambda: client.online.is_set() and all(client.book.is_joined(c) for c in channels),
            timeout,
            "the bot to be online",
        )

    def stop(self) -> None:
        self.bot.stop()
        self.thread.join(15)
        assert not self.thread.is_alive(), "the bot did not stop"
