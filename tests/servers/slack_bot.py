"""Start a Slack bot against the fake Slack the way ``errbot`` does (setup_bot, then
serve_forever on a thread). Import as ``from servers.slack_bot import ...``."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

from .fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack

PROBE_DIR = str(Path(__file__).resolve().parent.parent / "plugins" / "slack_probe")


def wait_for(condition: Any, timeout: float = 10.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class RunningBot:
    def __init__(self, bot: Any, thread: threading.Thread) -> None:
        self.bot = bot
        self.thread = thread

    def probe(self) -> Any:
        return self.bot.plugin_manager.get_plugin_obj_by_name("SlackProbe")

    def events(self, kind: str) -> list[tuple[Any, ...]]:
        probe = self.probe()
        return [e for e in list(getattr(probe, "events", [])) if e[0] == kind]

    def stop(self) -> None:
        self.bot.shutdown()
        self.thread.join(15)
        assert not self.thread.is_alive(), "serve_forever did not return"


def start_bot(
    fake: FakeSlack,
    data_dir: Path,
    *,
    wait: bool = True,
    backend: str = "SlackV3",
    identity: dict[str, Any] | None = None,
    **settings: Any,
) -> RunningBot:
    values: dict[str, Any] = {
        "BACKEND": backend,
        "BOT_DATA_DIR": str(data_dir),
        "STORAGE": "Memory",
        "VERSION_CHECK_URL": None,  # never reach the internet from tests
        "BOT_LOG_LEVEL": logging.DEBUG,
        "BOT_ADMINS": ("@alice",),
        "BOT_EXTRA_PLUGIN_DIR": PROBE_DIR,
        "BOT_IDENTITY": {"token": BOT_TOKEN, "app_token": APP_TOKEN, **(identity or {})},
        "SLACK_API_URL": fake.api_url,
    }
    values.update(settings)
    bot = setup_bot(backend, config_from_dict(values))
    # Short delays so that retries and reconnections take a second, not minutes.
    bot.reconnect_initial_delay = 0.2
    bot.reconnect_max_delay = 1.0
    bot.reconnect_jitter = 0.0
    bot.socket_ping_interval = 0.5
    thread = threading.Thread(target=bot.serve_forever, name="slack-bot", daemon=True)
    thread.start()
    running = RunningBot(bot, thread)
    if wait:
        # The probe's object exists before its commands are registered: wait for those.
        wait_for(
            lambda: running.bot.started and "slack_admin" in running.bot.commands, 15, "the bot"
        )
    return running
