"""Start a Discord bot the way ``errbot`` does (setup_bot, then serve_forever on a thread),
against the local fake Discord (`fake_discord`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .bot_runner import RunningBot as _RunningBot
from .bot_runner import fast_reconnection, make_bot, serve, wait_for
from .discord_payloads import ALICE_ID, TOKEN
from .fake_discord import FakeDiscord

__all__ = ["RunningBot", "fake_discord_fixture", "start_bot", "wait_for"]


class RunningBot(_RunningBot):
    connect_timeout = 10.0
    connect_what = "the bot"

    def is_connected(self) -> bool:
        return bool(self.bot.connected and self.bot.activated.is_set())


def start_bot(
    data_dir: Path, *, wait: bool = True, token: str = TOKEN, **settings: Any
) -> RunningBot:
    bot = make_bot(
        "Discord",
        data_dir,
        {
            "BOT_ADMINS": (str(ALICE_ID),),
            "BOT_IDENTITY": {"token": token},
            "CHATROOM_FN": "errbot",
            **settings,
        },
    )
    # No guild arrives after the first: do not wait discord.py's default 2 s for more.
    bot.guild_ready_timeout = 0.05
    fast_reconnection(bot)
    running = serve(bot, "discord-bot", RunningBot)
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
