"""Re-importing a plugin's code while it keeps its state (``!plugin reload``).

Errbot re-imports only the plugin's top module (Errbot #1346): helpers the plugin imports from
its own folder keep their old code. Here every module loaded from the plugin's folder is
imported again, the top module last, so it binds the new helpers.

The new code is imported completely before the running plugin is touched. When the import
fails (a syntax error in the module or in a helper), every module is put back as it was and
the plugin keeps running its previous version; the error names the file and the line.

The plugin object survives the reload: its class is swapped for the new class and its
``__dict__`` (attributes, pollers bookkeeping, ...) is kept, as in Errbot. Attributes that only
the new ``__init__`` would create do not exist until the plugin is restarted.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from errbot.plugin_info import PluginInfo, find_class

log = logging.getLogger(__name__)

__all__ = [
    "PluginReloadError",
    "ReloadedCode",
    "import_new_code",
    "plugin_submodules",
    "swap_class",
]

# Modules of the framework itself are never reloaded, even when a plugin folder is inside the
# errbot package (the core plugins): only plugin modules are.
_FRAMEWORK_PREFIX = "errbot."
_PLUGIN_NAMESPACE = "errbot.plugins."


class PluginReloadError(Exception):
    """The new code of a plugin could not be imported; the old code is still running."""


@dataclass
class ReloadedCode:
    """The freshly imported top module of a plugin and the plugin class found in it."""

    module: ModuleType
    plugin_class: type


def _module_file(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    if not file:
        return None
    try:
        return Path(file).resolve()
    except (OSError, RuntimeError):
        return None


def _has_own_descriptor(directory: Path) -> bool:
    try:
        return any(entry.suffix == ".plug" for entry in directory.iterdir())
    except OSError:
        return False


def _belongs_to(file: Path, folder: Path) -> bool:
    """Whether ``file`` is under ``folder`` and not inside another plugin's folder below it."""
    if folder not in file.parents:
        return False
    directory = file.parent
    while directory != folder:
        if _has_own_descriptor(directory):
            return False
        directory = directory.parent
    return True


def plugin_submodules(
    info: PluginInfo, top_modules: set[str] | None = None
) -> dict[str, ModuleType]:
    """The modules currently imported from the plugin's folder, its top module excluded.

    ``top_modules`` are the module names of the loaded plugins; another plugin sharing the
    folder is never reloaded along with this one.
    """
    assert info.location is not None
    folder = info.location.parent.resolve()
    top = f"errbot.plugins.{info.module}"
    excluded = set(top_modules or ()) | {top}
    found: dict[str, ModuleType] = {}
    for name, module in list(sys.modules.items()):
        if module is None or name in excluded:
            continue
        if name.startswith(_FRAMEWORK_PREFIX) and not name.startswith(_PLUGIN_NAMESPACE):
            continue
        file = _module_file(module)
        if file is not None and _belongs_to(file, folder):
            found[name] = module
    return found


def _drop_bytecode(file: Path) -> None:
    """Remove the cached bytecode of ``file``.

    CPython trusts a ``.pyc`` whose recorded source mtime (whole seconds) and size match; an
    edit within the same second that keeps the size would run the old code.
    """
    try:
        cached = importlib.util.cache_from_source(str(file))
    except (NotImplementedError, ValueError):
        return
    try:
        os.remove(cached)
    except OSError:
        pass


def _set_parent_attribute(name: str, module: ModuleType | None) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = sys.modules.get(parent_name) if parent_name else None
    if parent is None:
        return
    if module is None:
        if getattr(parent, child, None) is not None:
            try:
                delattr(parent, child)
            except AttributeError:
                pass
    else:
        setattr(parent, child, module)


def import_new_code(
    info: PluginInfo, class_name: str, base: type, top_modules: set[str] | None = None
) -> ReloadedCode:
    """Import the plugin's module and its sub-modules afresh; find the new plugin class.

    On success the new modules are in ``sys.modules``. On failure ``sys.modules`` is
    restored and PluginReloadError says what went wrong, with file and line.
    """
    from errbot.plugin_manager import describe_import_error

    assert info.location is not None
    folder = info.location.parent.resolve()
    top = f"errbot.plugins.{info.module}"
    submodules = plugin_submodules(info, top_modules)
    saved: dict[str, ModuleType | None] = {name: sys.modules.get(name) for name in submodules}
    saved[top] = sys.modules.get(top)

    for name, module in submodules.items():
        file = _module_file(module)
        if file is not None:
            _drop_bytecode(file)
        del sys.modules[name]
    _drop_bytecode(info.module_path.resolve())
    importlib.invalidate_caches()

    try:
        module = info.load_module("errbot.plugins")
        candidate = getattr(module, class_name, None)
        if isinstance(candidate, type) and issubclass(candidate, base) and candidate is not base:
            plugin_class = candidate
        else:
            plugin_class = find_class(module, base, str(info.location))
    except Exception as exc:
        _restore(saved, folder, top_modules)
        raise PluginReloadError(describe_import_error(exc, info.module_path)) from exc
    # Sub-modules the new code no longer imports stay out of sys.modules: a later import of
    # them reads the file again instead of reusing the old copy.
    return ReloadedCode(module, plugin_class)


def _restore(
    saved: dict[str, ModuleType | None], folder: Path, top_modules: set[str] | None
) -> None:
    """Put back the modules of before the failed import; forget the half-imported ones."""
    excluded = set(top_modules or ())
    for name, module in list(sys.modules.items()):
        if name in saved or name in excluded or module is None:
            continue
        if name.startswith(_FRAMEWORK_PREFIX) and not name.startswith(_PLUGIN_NAMESPACE):
            continue
        file = _module_file(module)
        if file is not None and _belongs_to(file, folder):
            del sys.modules[name]
            _set_parent_attribute(name, None)
    for name, old in saved.items():
        if old is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = old
        _set_parent_attribute(name, old)


def swap_class(plugin: Any, new_class: type) -> None:
    """Make ``plugin`` an instance of ``new_class``, keeping its attributes."""
    plugin.__class__ = new_class
