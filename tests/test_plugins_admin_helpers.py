"""Shared helpers of the ``test_plugins_admin*`` modules (no tests here)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from errbot.backends.test import TestBot

PLUGINS = Path(__file__).parent / "plugins"
ADMIN_SIMPLE = str(PLUGINS / "admin_simple")
ADMIN_CONFIG = str(PLUGINS / "admin_config")
ADMIN_FRAGILE = str(PLUGINS / "admin_fragile")
DENIED = "This command requires bot-admin privileges"


@contextlib.contextmanager
def started_bot(
    plugin_dirs: Any, loglevel: int = logging.WARNING, **config: Any
) -> Iterator[tuple[TestBot, list[str]]]:
    """A started TestBot and the messages it sent before answering "ready" (start-up notices
    and errors sent to the admins, which `TestBot.start` would swallow)."""
    testbot = TestBot(extra_plugin_dir=plugin_dirs, loglevel=loglevel, extra_config=config)
    bot = testbot.bot
    testbot.bot_thread = threading.Thread(
        target=bot.serve_forever, name="TestBot main thread", daemon=True
    )
    testbot.bot_thread.start()
    try:
        bot.push_message("!echo ready")
        startup: list[str] = []
        while (reply := bot.pop_message(timeout=60)) != "ready":
            startup.append(reply)
        yield testbot, startup
    finally:
        testbot.stop()


def bullets(names: Any) -> str:
    return "\n".join(f"- {n}" for n in sorted(names, key=lambda n: (n.lower(), n)))


def active(testbot: TestBot, name: str) -> bool:
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name(name)
    return plugin is not None and plugin.is_activated


def as_user(testbot: TestBot, person: str = "joe@localhost") -> None:
    testbot.bot.sender = testbot.bot.build_identifier(person)
