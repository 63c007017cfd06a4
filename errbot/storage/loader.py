"""Find and build the storage plugin named by ``STORAGE`` in the configuration.

Storage plugins are discovered like backends: a ``.plug`` file whose ``[Core] Name`` is the
configured name, looked for in order under the built-in ``errbot/storage`` directory,
``BOT_EXTRA_STORAGE_PLUGINS_DIR``, then the directories of installed distributions declaring
the entry-point group ``errbot.storage_plugins`` or ``errbot.backend_plugins`` (the group
Errbot used). The first match wins. Only the chosen plugin's module is imported, and the
entry points are only scanned when the earlier places had no match, which keeps start-up fast.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from errbot.plugin_info import (
    PluginDescriptorError,
    PluginInfo,
    entry_point_dirs,
    find_class,
    find_descriptors,
)
from errbot.storage import StoragePluginNotFound, StoreException
from errbot.storage.base import StoragePluginBase

__all__ = ["BUILTIN_DIR", "DEFAULT_STORAGE", "ENTRY_POINT_GROUPS", "load_storage_plugin"]

log = logging.getLogger(__name__)

DEFAULT_STORAGE = "SQLite"
BUILTIN_DIR = Path(__file__).resolve().parent
ENTRY_POINT_GROUPS = ("errbot.storage_plugins", "errbot.backend_plugins")
_PACKAGE = "errbot.storage"


def load_storage_plugin(bot_config: Any) -> StoragePluginBase:
    """Build the storage plugin named ``bot_config.STORAGE`` (default "SQLite").

    Raises `StoragePluginNotFound` naming every directory searched when no ``.plug`` carries
    that name, and `StoreException` when the module found has no `StoragePluginBase` subclass.
    """
    name = getattr(bot_config, "STORAGE", None) or DEFAULT_STORAGE
    searched: list[str] = []
    for roots_of in _search_order(bot_config):
        roots = roots_of()
        searched.extend(str(root) for root in roots)
        info = _find_descriptor(name, roots)
        if info is not None:
            plugin_class = _import_plugin_class(info)
            log.debug("Storage plugin %s is %s.", name, plugin_class.__qualname__)
            return plugin_class(bot_config)
    raise StoragePluginNotFound(
        f'Could not find the storage plugin named "{name}" in {", ".join(searched)}.'
    )


def _search_order(bot_config: Any) -> Iterator[Callable[[], list[Path]]]:
    # Callables, so the entry-point scan (which reads every installed distribution's metadata)
    # only happens when the built-in and extra directories have no match.
    yield lambda: [BUILTIN_DIR]
    yield lambda: _as_paths(getattr(bot_config, "BOT_EXTRA_STORAGE_PLUGINS_DIR", None))
    yield lambda: [Path(d) for group in ENTRY_POINT_GROUPS for d in entry_point_dirs(group)]


_PathOrPaths = str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None


def _as_paths(value: _PathOrPaths) -> list[Path]:
    if not value:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [Path(value)]
    return [Path(item) for item in value]


def _find_descriptor(name: str, roots: list[Path]) -> PluginInfo | None:
    for path in find_descriptors(roots):
        try:
            info = PluginInfo.load(path)
        except PluginDescriptorError as exc:
            log.warning("Skipping a storage plugin descriptor: %s", exc)
            continue
        if info.name == name:
            return info
    return None


def _import_plugin_class(info: PluginInfo) -> type[StoragePluginBase]:
    location = info.location
    if location is None:  # descriptors found on disk always have one; keeps type checkers calm
        raise StoreException(f'The storage plugin "{info.name}" has no location.')
    directory = location.parent.resolve()
    if directory == BUILTIN_DIR:
        # Built-ins are real submodules of this package: a normal import reuses them.
        module = importlib.import_module(f"{_PACKAGE}.{info.module}")
    else:
        # As Errbot does for backends: the plugin may import sibling modules of its own.
        if str(directory) not in sys.path:
            sys.path.append(str(directory))
        module = info.load_module(_PACKAGE)
    try:
        plugin_class = find_class(module, StoragePluginBase, str(location))
    except PluginDescriptorError as exc:
        raise StoreException(
            f'The storage plugin "{info.name}" ({location}) defines no subclass of '
            f"errbot.storage.base.StoragePluginBase."
        ) from exc
    return plugin_class
