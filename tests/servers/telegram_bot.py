"""Start a Telegram bot the way ``errbot`` does (setup_bot, then serve_forever on a thread),
pointed at the fake Bot API with TELEGRAM_API_URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .bot_runner import RunningBot, make_bot, serve, wait_for
from .fake_telegram import HUMAN, FakeTelegram

__all__ = ["RunningBot", "start_bot", "wait_for"]


def start_bot(
    server: FakeTelegram,
    data_dir: Path,
    *,
    wait: bool = True,
    token: str | None = None,
    **settings: Any,
) -> RunningBot:
    bot = make_bot(
        "Telegram",
        data_dir,
        {
            "BOT_ADMINS": (str(HUMAN["id"]),),
            "BOT_IDENTITY": {"token": token or server.token},
            "TELEGRAM_API_URL": server.url,
            **settings,
        },
    )
    # Short back-off and long-poll so outage tests take a second or two, not minutes.
    client = bot.client
    client.initial_delay = 0.1
    client.max_delay = 0.5
    client.jitter = 0.0
    client.poll_timeout = 1.0
    client.drain_timeout = 1.0
    running = serve(bot, "telegram-bot")
    if wait:
        running.wait_connected()
    return running
