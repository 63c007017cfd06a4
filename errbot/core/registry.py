"""The command table: which bound method answers which command name, and the filter chain.

Resolving a command is a dict look-up. Registration scans a plugin's class once for the
``_err_*`` marks the decorators leave, and renames clashing names as Errbot does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[..., Any]


def _marked_members(obj: Any, mark: str) -> Iterator[tuple[str, Handler]]:
    """Bound methods of ``obj`` whose function carries the attribute ``mark``.

    Looks at class attributes first so properties are never evaluated during the scan.
    """
    cls = type(obj)
    for attr_name in dir(cls):
        raw = getattr(cls, attr_name, None)
        if raw is None or not getattr(raw, mark, False):
            continue
        bound = getattr(obj, attr_name, None)
        if bound is not None and callable(bound):
            yield attr_name, bound


def plugin_of(handler: Handler) -> Any:
    return getattr(handler, "__self__", None)


class CommandRegistry:
    """Regular commands, regex commands and command filters of the active plugins."""

    def __init__(self) -> None:
        self.commands: dict[str, Handler] = {}
        self.re_commands: dict[str, Handler] = {}
        self.filters: list[Handler] = []
        self.max_words = 1
        # Bumped whenever a plugin's commands come or go: caches of per-command data
        # (the pipeline's CommandSpec table) compare it to know they are stale.
        self.version = 0
        self._lock = threading.RLock()

    # -- commands -------------------------------------------------------------------
    def inject_commands_from(self, plugin: Any) -> list[str]:
        """Register every command of ``plugin``; returns clash warnings for the admins."""
        warnings: list[str] = []
        plugin_name = getattr(plugin, "name", type(plugin).__name__)
        with self._lock:
            for attr_name, method in _marked_members(plugin, "_err_command"):
                name = str(getattr(method, "_err_command_name", attr_name)).replace(" ", "_")
                is_regex = getattr(method, "_err_re_command", False)
                table = self.re_commands if is_regex else self.commands
                existing = table.get(name)
                if existing is not None and plugin_of(existing) is not plugin:
                    renamed = f"{plugin_name}-{name}".lower()
                    owner = plugin_of(existing)
                    warnings.append(
                        f"{plugin_name}.{name} clashes with {type(owner).__name__}."
                        f"{getattr(existing, '__name__', name)} so it has been renamed {renamed}"
                    )
                    name = renamed
                table[name] = method
            self._refresh_max_words()
        return warnings

    def remove_commands_from(self, plugin: Any) -> None:
        with self._lock:
            for table in (self.commands, self.re_commands):
                for name in [n for n, m in table.items() if plugin_of(m) is plugin]:
                    del table[name]
            self._refresh_max_words()

    def _refresh_max_words(self) -> None:
        self.version += 1
        self.max_words = max((n.count("_") + 1 for n in self.commands), default=1)

    # -- filters --------------------------------------------------------------------
    def inject_filters_from(self, plugin: Any) -> None:
        with self._lock:
            # A re-activated plugin's filters move to the end, as in Errbot.
            self.filters = [f for f in self.filters if plugin_of(f) is not plugin]
            for _, method in _marked_members(plugin, "_err_command_filter"):
                self.filters.append(method)

    def remove_filters_from(self, plugin: Any) -> None:
        with self._lock:
            self.filters = [f for f in self.filters if plugin_of(f) is not plugin]

    # -- look-up --------------------------------------------------------------------
    def find(self, text: str) -> tuple[str, str] | None:
        """The longest command made of the first words of ``text``, and the rest as args.

        ``!run lots of subcommands x`` finds ``run_lots_of_subcommands``; whitespace and
        newlines inside the arguments are preserved.
        """
        commands = self.commands
        max_words = self.max_words
        words = text.split(None, max_words)
        count = len(words)
        for n in range(min(count, max_words), 0, -1):
            name = words[0] if n == 1 else "_".join(words[:n])
            if name in commands:
                if count <= n:
                    return name, ""
                if n == max_words:  # split() already cut the rest off, whitespace kept
                    return name, words[n]
                return name, text.split(None, n)[n]
        return None

    def owner_of(self, name: str) -> Any:
        handler = self.commands.get(name) or self.re_commands.get(name)
        return plugin_of(handler) if handler is not None else None
