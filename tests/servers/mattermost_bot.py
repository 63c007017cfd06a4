"""Start a Mattermost bot against the fake server the way ``errbot`` does (setup_bot, then
serve_forever on a thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .bot_runner import RunningBot as _RunningBot
from .bot_runner import fast_reconnection, make_bot, serve, wait_for
from .fake_mattermost import TOKEN, FakeMattermost

__all__ = ["RunningBot", "start_bot", "wait_for"]


class RunningBot(_RunningBot):
    connect_timeout = 10.0
    join_timeout = 10.0


def start_bot(
    server: FakeMattermost,
    data_dir: Path,
    *,
    wait: bool = True,
    identity: dict[str, Any] | None = None,
    **settings: Any,
) -> RunningBot:
    bot = make_bot(
        "Mattermost",
        data_dir,
        {
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
            **settings,
        },
    )
    fast_reconnection(bot)
    bot.refusal_retry_delay = 1.0
    running = serve(bot, "mattermost-bot", RunningBot)
    if wait:
        running.wait_connected()
    return running
