"""Building a bot from a configuration: storage, backend, plugin manager, plugins.

`setup_bot` returns a ready bot whose plugins are loaded (not yet activated: the backend
activates them when it connects). `bootstrap` also runs it until it stops.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from errbot.plugin_info import PluginInfo, entry_point_dirs, find_class, find_descriptors

log = logging.getLogger(__name__)

BUILTIN_BACKENDS_DIR = Path(__file__).parent / "backends"


class BackendNotFoundError(Exception):
    pass


class BackendDependencyError(BackendNotFoundError):
    """A built-in backend whose client library (its pip extra) is not installed."""


# The pip extra that brings each built-in network backend's client library.
BACKEND_EXTRAS = {
    "IRC": "irc",
    "XMPP": "xmpp",
    "SlackV3": "slack",
    "Slack": "slack",
    "Telegram": "telegram",
    "Discord": "discord",
    "Mattermost": "mattermost",
    "Matrix": "matrix",
}


def _import_builtin_backend(name: str, module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"errbot.backends.{module}")
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == "errbot" or missing.startswith("errbot."):
            raise
        extra = BACKEND_EXTRAS.get(name)
        hint = f": pip install 'errbot[{extra}]'" if extra else ""
        raise BackendDependencyError(
            f"the {name} backend needs packages that are not installed "
            f"(no module named {missing!r}){hint}"
        ) from exc


def _dirs(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [str(value)]
    return [str(v) for v in value]


def backend_search_roots(config: Any) -> list[str]:
    return [
        str(BUILTIN_BACKENDS_DIR),
        *_dirs(getattr(config, "BOT_EXTRA_BACKEND_DIR", None)),
        *entry_point_dirs("errbot.backend_plugins"),
    ]


def available_backends(config: Any) -> list[str]:
    names: list[str] = []
    for descriptor in find_descriptors(backend_search_roots(config)):
        try:
            name = PluginInfo.load(descriptor).name
        except Exception:
            continue
        if name not in names:
            names.append(name)
    return names


def load_backend_class(name: str, config: Any) -> type:
    """The ErrBot subclass of the backend whose `.plug` Name is ``name``.

    Built-in and BOT_EXTRA_BACKEND_DIR backends are searched first; installed distributions
    (an `importlib.metadata` scan, the slow part) only when the name is not found there.
    """
    from errbot.core.bot import ErrBot

    local = [str(BUILTIN_BACKENDS_DIR), *_dirs(getattr(config, "BOT_EXTRA_BACKEND_DIR", None))]
    for roots in (local, None):
        if roots is None:
            roots = entry_point_dirs("errbot.backend_plugins")
        for descriptor in find_descriptors(roots):
            try:
                info = PluginInfo.load(descriptor)
            except Exception:
                log.warning("Skipping the malformed backend descriptor %s", descriptor)
                continue
            if info.name != name:
                continue
            if descriptor.parent == BUILTIN_BACKENDS_DIR:
                module = _import_builtin_backend(name, info.module)
            else:
                import sys

                folder = str(descriptor.parent)
                if folder not in sys.path:
                    sys.path.append(folder)
                module = info.load_module("errbot.backends")
            return find_class(module, ErrBot, str(descriptor))
    raise BackendNotFoundError(
        f"Could not find the plugin named {name} in {backend_search_roots(config)}."
    )


def setup_bot(backend_name: str, config: Any, restore: str | None = None) -> Any:
    """Build the bot: storage plugin, backend, plugin manager; plugins loaded, not active."""
    from errbot.plugin_manager import BotPluginManager
    from errbot.settings import apply_defaults
    from errbot.storage.loader import load_storage_plugin

    apply_defaults(config)
    storage_plugin = load_storage_plugin(config)
    plugins_dir = Path(config.BOT_DATA_DIR) / "plugins"
    plugins_dir.mkdir(parents=True, exist_ok=True)
    backend_class = load_backend_class(backend_name, config)
    bot = backend_class(config)
    bot.plugin_dir = str(plugins_dir)
    from errbot.web.routing import WebhookRouter

    # This bot's webhook table: plugins' webhooks are routed here at activation.
    bot.webhooks = WebhookRouter(bot)
    bot.attach_storage_plugin(storage_plugin)
    from errbot.repos import RepoManager

    # Namespace "repomgr"; repositories are installed under <BOT_DATA_DIR>/plugins.
    bot.attach_repo_manager(RepoManager(storage_plugin, bot.plugin_dir, config))
    manager = BotPluginManager(
        bot,
        storage_plugin,
        getattr(config, "BOT_EXTRA_PLUGIN_DIR", None),
        getattr(config, "CORE_PLUGINS", None),
    )
    bot.attach_plugin_manager(manager)
    from errbot.flow_executor import FlowExecutor

    bot.flow_executor = FlowExecutor(bot)
    bot.initialize_backend_storage()
    errors = manager.update_plugin_places(bot.repo_manager.get_all_repos_paths())
    for path, error in errors.items():
        log.error("Some plugins failed to load: %s: %s", path, error)
    return bot


def bootstrap(backend_name: str, config: Any) -> None:
    """Build the bot and serve until it stops."""
    bot = setup_bot(backend_name, config)
    log.debug("Start serving commands from the %s backend.", bot.mode)
    bot.serve_forever()
