"""Start a Slack bot against the fake Slack the way ``errbot`` does (setup_bot, then
serve_forever on a thread). Import as ``from servers.slack_bot import ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .bot_runner import RunningBot as _RunningBot
from .bot_runner import fast_reconnection, make_bot, serve, wait_for
from .fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack

__all__ = ["PROBE_DIR", "RunningBot", "start_bot", "wait_for"]

PROBE_DIR = str(Path(__file__).resolve().parent.parent / "plugins" / "slack_probe")


class RunningBot(_RunningBot):
    def probe(self) -> Any:
        return self.bot.plugin_manager.get_plugin_obj_by_name("SlackProbe")

    def events(self, kind: str) -> list[tuple[Any, ...]]:
        probe = self.probe()
        return [e for e in list(getattr(probe, "events", [])) if e[0] == kind]


def start_bot(
    fake: FakeSlack,
    data_dir: Path,
    *,
    wait: bool = True,
    backend: str = "SlackV3",
    identity: dict[str, Any] | None = None,
    **settings: Any,
) -> RunningBot:
    bot = make_bot(
        backend,
        data_dir,
        {
            "BOT_ADMINS": ("@alice",),
            "BOT_EXTRA_PLUGIN_DIR": PROBE_DIR,
            "BOT_IDENTITY": {"token": BOT_TOKEN, "app_token": APP_TOKEN, **(identity or {})},
            "SLACK_API_URL": fake.api_url,
            **settings,
        },
    )
    # Short delays so that retries and reconnections take a second, not minutes.
    fast_reconnection(bot)
    bot.socket_ping_interval = 0.5
    running = serve(bot, "slack-bot", RunningBot)
    if wait:
        # The probe's object exists before its commands are registered: wait for those.
        wait_for(
            lambda: running.bot.started and "slack_admin" in running.bot.commands, 15, "the bot"
        )
    return running
