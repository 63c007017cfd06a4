"""The reload pane's plugins: the loaded ones, and the ones whose code did not even load.

A plugin with a syntax error when the bot starts never becomes a plugin object, so
``!plugin reload`` cannot reach it and the only way back used to be a restart. The console
lists such plugins too ("not loaded") and its Reload button loads them once they are fixed:
that is the usual state of the plugin someone is editing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from errbot.plugin_info import PluginInfo, find_descriptors

log = logging.getLogger(__name__)


def unloaded_plugins(manager: Any) -> dict[str, Path]:
    """The non-core plugins found in the plugin folders but not loaded: name to descriptor."""
    loaded = set(manager.get_all_plugin_names())
    found: dict[str, Path] = {}
    for descriptor in find_descriptors(getattr(manager, "plugin_places", ()), ".plug"):
        try:
            info = PluginInfo.load(descriptor)
        except Exception:  # a broken descriptor was reported at start-up; nothing to reload
            continue
        if not info.core and info.name not in loaded:
            found.setdefault(info.name, descriptor)
    return found


def plugin_list(manager: Any) -> list[dict[str, Any]]:
    """Every plugin the reload pane offers, with whether it is loaded, core and active."""
    result = []
    for name in manager.get_all_plugin_names():
        info = manager.plugin_infos.get(name)
        plugin = manager.get_plugin_obj_by_name(name)
        result.append({
            "name": name,
            "core": bool(getattr(info, "core", False)),
            "active": bool(getattr(plugin, "is_activated", False)),
            "loaded": True,
        })
    for name in unloaded_plugins(manager):
        result.append({"name": name, "core": False, "active": False, "loaded": False})
    return sorted(result, key=lambda entry: str(entry["name"]).lower())


def reload_plugin(manager: Any, name: str) -> str | None:
    """Reload ``name``, or load it when its code failed before; the error text, else None."""
    descriptor = unloaded_plugins(manager).get(name) if name not in manager.plugins else None
    try:
        if descriptor is None:
            manager.reload_plugin_by_name(name)
        else:
            key = str(descriptor)
            manager.errors.pop(key, None)
            errors = manager.update_plugin_places()
            if name not in manager.plugins:
                return errors.get(key) or f"{name} could not be loaded (see the log)."
            log.info("Plugin %s loaded from %s.", name, descriptor.parent)
        # Also after a reload: when the last try failed in activate(), the plugin was left
        # inactive, and pressing Reload on the fixed code must bring it back.
        plugin = manager.get_plugin_obj_by_name(name)
        if plugin is not None and not plugin.is_activated:
            if manager.is_plugin_blacklisted(name):
                return f"{name} is blacklisted, so it stays inactive: !plugin unblacklist {name}"
            manager.activate_plugin(name)
        return None
    except Exception as exc:  # the page shows any failure, whatever its type
        log.warning("Reloading %s from the graphic console failed: %s", name, exc)
        return str(exc) or type(exc).__name__
