"""Each network backend is one package under errbot/backends, found through its .plug file,
and the module paths plugins written for Errbot import from keep working."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

from errbot.bootstrap import BUILTIN_BACKENDS_DIR, load_backend_class
from errbot.plugin_info import PluginInfo

REPO_ROOT = Path(__file__).resolve().parents[1]

# backend Name -> (its package, the names the package re-exports)
PACKAGES = {
    "IRC": ("irc", ["IRCBackend", "IRCPerson", "IRCRoom", "IRCRoomOccupant"]),
    "XMPP": ("xmpp", ["XMPPBackend", "XMPPPerson", "XMPPRoom", "XMPPRoomOccupant"]),
    "SlackV3": ("slack", ["SlackBackend", "SlackPerson", "SlackRoom", "SlackRoomOccupant"]),
    "Slack": ("slack", ["SlackBackend", "SlackPerson", "SlackRoom", "SlackRoomOccupant"]),
    "Telegram": (
        "telegram",
        ["TelegramBackend", "TelegramMUCOccupant", "TelegramPerson", "TelegramRoom"],
    ),
    "Discord": (
        "discord",
        ["DiscordBackend", "DiscordPerson", "DiscordRoom", "DiscordRoomOccupant"],
    ),
    "Mattermost": (
        "mattermost",
        ["MattermostBackend", "MattermostPerson", "MattermostRoom", "MattermostRoomOccupant"],
    ),
    "Matrix": ("matrix", ["MatrixBackend", "MatrixPerson", "MatrixRoom", "MatrixRoomOccupant"]),
}


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_the_plug_loads_the_backend_from_its_package(name: str) -> None:
    package, exported = PACKAGES[name]
    backend_class = load_backend_class(name, types.SimpleNamespace(BOT_EXTRA_BACKEND_DIR=None))
    assert backend_class.__module__ == f"errbot.backends.{package}.backend"
    module = importlib.import_module(f"errbot.backends.{package}")
    assert sorted(module.__all__) == sorted(exported)
    assert getattr(module, exported[0]) is backend_class
    # The package is a folder next to its descriptor, which stays at the top level so the
    # loader imports it as a built-in (no sys.path entry for the backend's own folder).
    assert (BUILTIN_BACKENDS_DIR / package / "__init__.py").is_file()
    plugs = [p for p in BUILTIN_BACKENDS_DIR.glob("*.plug") if PluginInfo.load(p).name == name]
    assert len(plugs) == 1 and PluginInfo.load(plugs[0]).module == package


def test_errbot_module_names_still_import() -> None:
    # Errbot's own module names for its built-in network backends.
    from errbot.backends import telegram, telegram_messenger
    from errbot.backends.irc import IRCBackend, IRCPerson, IRCRoom, IRCRoomOccupant
    from errbot.backends.irc.identifiers import IRCRoom as DefiningModuleRoom
    from errbot.backends.xmpp import XMPPBackend, XMPPPerson, XMPPRoom, XMPPRoomOccupant

    assert IRCRoom is DefiningModuleRoom
    assert IRCBackend.__name__ == "IRCBackend" and XMPPBackend.__name__ == "XMPPBackend"
    assert issubclass(IRCRoomOccupant, IRCPerson)
    assert issubclass(XMPPRoomOccupant, XMPPPerson) and XMPPRoom.__name__ == "XMPPRoom"
    for name in telegram.__all__:
        assert getattr(telegram_messenger, name) is getattr(telegram, name)


def test_no_network_backend_module_is_left_flat() -> None:
    flat = sorted(
        p.name
        for p in BUILTIN_BACKENDS_DIR.glob("*.py")
        if p.stem.split("_")[0] in {v[0] for v in PACKAGES.values()}
        and p.stem != "telegram_messenger"
    )
    assert flat == []


def test_the_discord_package_does_not_hide_the_discord_library(tmp_path: Path) -> None:
    # A fresh interpreter: load the Discord backend first, then import the library by name.
    code = (
        "import errbot.backends.discord, discord, sys;"
        "assert discord.__name__ == 'discord' and hasattr(discord, 'Client');"
        "assert sys.modules['discord'] is not errbot.backends.discord;"
        "print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        cwd=tmp_path, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
