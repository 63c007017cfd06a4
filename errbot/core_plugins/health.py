"""Core plugin ``Health``: ``!status``, ``!uptime``, ``!restart`` and ``!shutdown``.

``!status`` reports the plugins, the machine load, the garbage collector and, beyond Errbot,
the bot's own traffic counters (messages received, commands dispatched, replies sent).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from errbot import BotPlugin, arg_botcmd, botcmd
from errbot.backends.base import Message
from errbot.utils import format_timedelta

log = logging.getLogger(__name__)

ACTIVATED = "A"
DEACTIVATED = "D"
BLACKLISTED = "B"
NEEDS_CONFIGURATION = "C"


def plugin_status(manager: Any, name: str) -> str:
    """The status code of a plugin shown by ``!status plugins``."""
    plugin = manager.get_plugin_obj_by_name(name)
    active = plugin is not None and bool(plugin.is_activated)
    state = ACTIVATED if active else DEACTIVATED
    if manager.is_plugin_blacklisted(name):
        return f"{BLACKLISTED},{state}"
    if active:
        return ACTIVATED
    if (
        plugin is not None
        and plugin.get_configuration_template() is not None
        and manager.get_plugin_configuration(name) is None
    ):
        return NEEDS_CONFIGURATION
    return DEACTIVATED


def load_averages() -> tuple[str, str, str] | None:
    """The 1, 5 and 15 minutes load averages, or None where the system has none."""
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):
        return None
    return f"{one:.2f}", f"{five:.2f}", f"{fifteen:.2f}"


def restart_command() -> list[str]:
    """The command line that started this process, to run it again.

    ``sys.orig_argv`` keeps the interpreter options and ``-m errbot``; ``sys.argv`` would turn
    ``python -m errbot`` into ``python .../errbot/__main__.py``.
    """
    original = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    return [sys.executable, *original[1:]]


def interrupt_main_thread() -> None:
    """Deliver SIGINT to the main thread, so a blocking read there is interrupted too."""
    if hasattr(signal, "pthread_kill"):
        main = threading.main_thread().ident
        if main is not None:
            signal.pthread_kill(main, signal.SIGINT)
            return
    os.kill(os.getpid(), signal.SIGINT)


class Health(BotPlugin):
    """Is the bot alive and well: status, uptime, restart and shutdown."""

    # -- pieces of the status page -------------------------------------------------------
    def _plugins_statuses(self) -> list[tuple[str, str]]:
        manager = self._bot.plugin_manager
        names = set(manager.plugin_infos)
        # Dynamic plugins (create_dynamic_plugin) have no .plug file: they are found among
        # the active plugins, and leave the table when destroyed, as they leave the actives.
        names.update(
            plugin.name
            for plugin in manager.get_all_active_plugins()
            if plugin.name not in manager.plugin_infos
        )
        ordered = sorted(names, key=lambda n: (n.lower(), n))
        return [(plugin_status(manager, name), name) for name in ordered]

    def _counters(self) -> dict[str, Any]:
        snapshot = self._bot.metrics.snapshot()
        return {key: snapshot.get(key, 0) for key in ("messages", "commands", "replies")}

    # -- commands ----------------------------------------------------------------------
    @botcmd(template="status")
    def status(self, msg: Message, args: str) -> dict[str, Any]:
        """Show that I am alive, with my plugins, the load and the garbage collector."""
        return {
            "plugins_statuses": self._plugins_statuses(),
            "loads": load_averages(),
            "gc": gc.get_count(),
            "counters": self._counters(),
        }

    @botcmd(template="status_plugins")
    def status_plugins(self, msg: Message, args: str) -> dict[str, Any]:
        """Show the status of every plugin (activated, deactivated, blacklisted...)."""
        return {"plugins_statuses": self._plugins_statuses()}

    @botcmd(template="status_load")
    def status_load(self, msg: Message, args: str) -> dict[str, Any]:
        """Show the load averages of the machine over 1, 5 and 15 minutes."""
        return {"loads": load_averages()}

    @botcmd(template="status_gc")
    def status_gc(self, msg: Message, args: str) -> dict[str, Any]:
        """Show the object counts of the three garbage collector generations."""
        return {"gc": gc.get_count()}

    @botcmd
    def uptime(self, msg: Message, args: str) -> str:
        """Tell for how long I have been running."""
        started: datetime = self._bot.startup_time
        since = started.strftime("%A, %b %d at %H:%M")
        return f"I've been up for {format_timedelta(datetime.now() - started)} (since {since})."

    @botcmd(admin_only=True)
    def restart(self, msg: Message, args: str) -> None:
        """Restart the bot: stop every plugin, then run the same command line again."""
        self.send(msg.frm, "Deactivating all the plugins...")
        self._bot.plugin_manager.deactivate_all_plugins()
        self.send(msg.frm, "Restarting")
        self._bot.shutdown()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        command = restart_command()
        os.execv(command[0], command)

    @arg_botcmd(
        "--kill",
        dest="kill",
        action="store_true",
        help="die at once (SIGKILL) instead of shutting down cleanly",
        admin_only=True,
    )
    @arg_botcmd(
        "--confirm",
        dest="confirmed",
        action="store_true",
        help="confirm that you really want me to shut down",
        admin_only=True,
    )
    def shutdown(self, msg: Message, confirmed: bool, kill: bool) -> Iterator[str]:
        """Shut the bot down, e.g. when it misbehaves and you cannot reach its machine."""
        if not confirmed:
            yield "Please provide `--confirm` to confirm you really want me to shut down."
            return
        if kill:
            yield "Killing myself right now!"
            os.kill(os.getpid(), signal.SIGKILL)
            return
        yield "Roger that. I am shutting down."
        interrupt_main_thread()
