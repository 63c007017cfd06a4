"""Start an XMPP bot the way ``errbot`` does (setup_bot, then serve_forever on a thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .bot_runner import RunningBot, fast_reconnection, make_bot, serve, wait_for
from .prosody import ProsodyServer

__all__ = ["BOT", "HUMAN", "MUC", "OTHER", "RunningBot", "start_bot", "wait_for"]

HUMAN = "human@localhost"
OTHER = "other@localhost"
BOT = "bot@localhost"
MUC = "conference.localhost"


def start_bot(
    server: ProsodyServer,
    data_dir: Path,
    *,
    wait: bool = True,
    identity: dict[str, Any] | None = None,
    **settings: Any,
) -> RunningBot:
    bot = make_bot(
        "XMPP",
        data_dir,
        {
            "BOT_ADMINS": (HUMAN,),
            "BOT_IDENTITY": {
                "username": f"{BOT}/errbot",
                "password": "botpw",
                "server": ("127.0.0.1", server.port),
                **(identity or {}),
            },
            "XMPP_CA_CERT_FILE": str(server.ca_file),
            "CHATROOM_FN": "Errbot",
            **settings,
        },
    )
    fast_reconnection(bot)
    bot.refusal_retry_delay = 1.0
    running = serve(bot, "xmpp-bot")
    if wait:
        running.wait_connected()
    return running
