"""The Memory storage plugin: plain dicts, nothing reaches the disk.

Roots belong to the plugin instance, not to the module: every bot builds its own storage
plugin, so each bot (in particular each test bot of the test harness) starts empty, while a
namespace closed and reopened through the same bot still holds its data. Errbot kept the roots
at module level, which let data leak from one test bot into the next.

Values are stored by reference, as in Errbot: mutating a value read from storage changes the
stored value without writing it back. Plugin test suites written against Errbot rely on that;
durable storages need ``mutable()`` or an explicit re-assignment.
"""

from __future__ import annotations

from typing import Any

from errbot.storage.base import StorageBase, StoragePluginBase

__all__ = ["MemoryStorage", "MemoryStoragePlugin"]


class MemoryStorage(StorageBase):
    """One namespace: a view on the dict its plugin keeps for it."""

    __slots__ = ("namespace", "_root")

    def __init__(self, namespace: str, root: dict[str, Any]) -> None:
        self.namespace = namespace
        self._root = root

    def get(self, key: str) -> Any:
        return self._root[key]

    def set(self, key: str, value: Any) -> None:
        self._root[key] = value

    def remove(self, key: str) -> None:
        del self._root[key]

    def len(self) -> int:
        return len(self._root)

    def keys(self) -> list[str]:
        return list(self._root)

    def close(self) -> None:
        """Nothing to release: the data stays in the plugin's root for the next open."""


class MemoryStoragePlugin(StoragePluginBase):
    def __init__(self, bot_config: Any) -> None:
        super().__init__(bot_config)
        self._roots: dict[str, dict[str, Any]] = {}

    def open(self, namespace: str) -> MemoryStorage:
        return MemoryStorage(namespace, self._roots.setdefault(namespace, {}))

    def namespaces(self) -> list[str]:
        return sorted(name for name, root in self._roots.items() if root)
