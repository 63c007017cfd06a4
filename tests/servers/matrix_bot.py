"""Start a Matrix bot the way ``errbot`` does (setup_bot, then serve_forever on a thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .bot_runner import RunningBot as _RunningBot
from .bot_runner import fast_reconnection, make_bot, serve, wait_for
from .synapse import SynapseServer

__all__ = ["BOT", "RunningBot", "start_bot", "wait_for"]

BOT = "@bot:localhost"


class RunningBot(_RunningBot):
    connect_timeout = 20.0
    connect_what = "the bot to sync"


def start_bot(
    server: SynapseServer,
    data_dir: Path,
    *,
    wait: bool = True,
    identity: dict[str, Any] | None = None,
    **settings: Any,
) -> RunningBot:
    bot = make_bot(
        "Matrix",
        data_dir,
        {
            "BOT_ADMINS": ("@admin:localhost",),
            "BOT_IDENTITY": {
                "homeserver": server.url,
                "username": BOT,
                "password": "botpw",
                **(identity or {}),
            },
            "MATRIX_AUTO_JOIN_ON_INVITE": True,
            **settings,
        },
    )
    # Short back-off and long-poll so reconnection tests take seconds, not minutes.
    fast_reconnection(bot)
    bot.refusal_retry_delay = 30.0
    bot.sync_timeout_ms = 2_000
    bot.request_timeout = 5.0
    running = serve(bot, "matrix-bot", RunningBot)
    if wait:
        running.wait_connected()
    return running
