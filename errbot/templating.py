"""Jinja2 templates for command replies (``template=`` on commands, ``send_templated``).

Look-up order for ``render_template("status", ..., plugin_name="Health")``:

1. ``Health/status.md``: the file ``status.md`` in the templates directory registered for the
   plugin named "Health". Plugins can therefore reuse common names without clashing.
2. ``status.md`` searched through the core templates directory (``errbot/templates``), then
   through every registered plugin templates directory in registration order. First hit wins.

The environment is built on first use (jinja2 is not imported before), with Errbot's options:
``trim_blocks=True``, ``keep_trailing_newline=False``, ``autoescape=True``. Values are therefore
HTML-escaped; the Markdown converters unescape entities when rendering for chat.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

    from errbot.plugin_info import PluginInfo

log = logging.getLogger(__name__)

__all__ = [
    "add_plugin_templates_path",
    "make_templates_path",
    "remove_plugin_templates_path",
    "render_template",
    "system_templates_path",
    "tenv",
]

TEMPLATE_SUFFIX = ".md"


def make_templates_path(root: str | os.PathLike[str]) -> Path:
    """The templates directory of a plugin (or of the core) rooted at ``root``."""
    return Path(root) / "templates"


system_templates_path = str(make_templates_path(Path(__file__).parent))

_lock = threading.Lock()
# Plugin name -> templates directory; dict order is registration order.
_plugin_paths: dict[str, Path] = {}
_env: jinja2.Environment | None = None


def tenv() -> jinja2.Environment:
    """The shared Jinja2 environment (created on first call, then reused)."""
    env = _env
    if env is None:
        with _lock:
            env = _env if _env is not None else _create_env()
    return env


def add_plugin_templates_path(
    plugin_name: str | PluginInfo, path: str | os.PathLike[str] | None = None
) -> bool:
    """Register the templates directory ``path`` of the plugin ``plugin_name``.

    Registering a name again replaces its directory and moves it to the end of the global
    search order, as re-activating a plugin does. Errbot's form, a single PluginInfo, is
    accepted too: its directory is ``templates`` next to the ``.plug`` file.
    Returns False (and registers nothing) when the directory does not exist.
    """
    name, directory = _resolve(plugin_name, path)
    if not directory.is_dir():
        log.debug("No templates directory for plugin %s in %s", name, directory)
        return False
    with _lock:
        _plugin_paths.pop(name, None)
        _plugin_paths[name] = directory
        _refresh()
    log.debug("Templates directory registered for plugin %s: %s", name, directory)
    return True


def remove_plugin_templates_path(plugin_name: str | PluginInfo) -> None:
    """Forget the templates directory of ``plugin_name``; unknown names are ignored."""
    name = plugin_name if isinstance(plugin_name, str) else plugin_name.name
    with _lock:
        if _plugin_paths.pop(name, None) is not None:
            _refresh()


def render_template(
    template_name: str, params: Mapping[str, Any], plugin_name: str | None = None
) -> str:
    """Render ``<template_name>.md`` with ``params``, looked up as the module doc describes.

    Raises jinja2.TemplateNotFound when no candidate exists.
    """
    filename = template_name
    if not filename.endswith(TEMPLATE_SUFFIX):
        filename += TEMPLATE_SUFFIX
    candidates = [filename]
    if plugin_name:
        candidates.insert(0, f"{plugin_name}/{filename}")
    template = tenv().select_template(candidates)
    return template.render(dict(params))


def _resolve(
    plugin_name: str | PluginInfo, path: str | os.PathLike[str] | None
) -> tuple[str, Path]:
    if isinstance(plugin_name, str):
        if path is None:
            raise TypeError("add_plugin_templates_path needs the templates directory")
        return plugin_name, Path(path)
    location = plugin_name.location
    if location is None:
        raise ValueError(f"plugin {plugin_name.name} has no location on disk")
    return plugin_name.name, make_templates_path(Path(location).parent)


def _create_env() -> jinja2.Environment:
    """Build the environment; the caller holds the lock."""
    global _env
    import jinja2

    _env = jinja2.Environment(
        loader=_build_loader(),
        trim_blocks=True,
        keep_trailing_newline=False,
        autoescape=True,
    )
    return _env


def _refresh() -> None:
    """Point the environment at the current registrations; the caller holds the lock."""
    if _env is None:
        return  # the first tenv() call reads the registrations
    _env.loader = _build_loader()
    # Cached templates were resolved against the old search path.
    if _env.cache is not None:
        _env.cache.clear()


def _build_loader() -> jinja2.BaseLoader:
    import jinja2

    by_plugin = {
        name: jinja2.FileSystemLoader(str(directory)) for name, directory in _plugin_paths.items()
    }
    search_path = [system_templates_path, *(str(d) for d in _plugin_paths.values())]
    return jinja2.ChoiceLoader(
        [
            jinja2.PrefixLoader(by_plugin, delimiter="/"),
            jinja2.FileSystemLoader(search_path),
        ]
    )
