"""The storage plugin contract: a factory (`StoragePluginBase`) that opens namespaces
(`StorageBase`), each a flat key/value store of picklable values.

Third-party storage plugins written for Errbot subclass these two classes, so their names and
method signatures are part of the compatibility contract.

The methods are marked with `abc.abstractmethod` for documentation, but the classes do not use
`ABCMeta`: Errbot never enforced the markers, and some published storage plugins leave a
method out. Enforcing them would make those plugins impossible to instantiate; instead a
missing method raises `NotImplementedError` when it is called.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from typing import Any

__all__ = ["StorageBase", "StoragePluginBase"]


class StorageBase:
    """One opened namespace. Keys are strings, values any picklable object.

    The caller (`StoreMixin`) guarantees that no method is called after `close()`.
    """

    @abstractmethod
    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` atomically, replacing any previous value."""
        raise NotImplementedError(f"{type(self).__name__} does not implement set()")

    @abstractmethod
    def get(self, key: str) -> Any:
        """The value stored under ``key``; `KeyError` if there is none."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get()")

    @abstractmethod
    def remove(self, key: str) -> None:
        """Delete ``key``; `KeyError` if there is none."""
        raise NotImplementedError(f"{type(self).__name__} does not implement remove()")

    @abstractmethod
    def len(self) -> int:
        """How many keys the namespace holds."""
        raise NotImplementedError(f"{type(self).__name__} does not implement len()")

    @abstractmethod
    def keys(self) -> Iterable[str]:
        """All keys of the namespace."""
        raise NotImplementedError(f"{type(self).__name__} does not implement keys()")

    @abstractmethod
    def close(self) -> None:
        """Release what `open` acquired; the data stays stored."""
        raise NotImplementedError(f"{type(self).__name__} does not implement close()")


class StoragePluginBase:
    """Factory for `StorageBase` namespaces, built once per bot as ``cls(bot_config)``.

    ``bot_config`` is the loaded ``config.py`` module; its ``STORAGE_CONFIG`` dict (empty when
    absent or None) is kept in ``self._storage_config`` for subclasses to read.
    """

    def __init__(self, bot_config: Any) -> None:
        self._storage_config: dict[str, Any] = getattr(bot_config, "STORAGE_CONFIG", {}) or {}

    @abstractmethod
    def open(self, namespace: str) -> StorageBase:
        """Open (creating if needed) the namespace; it holds what was stored there before."""
        raise NotImplementedError(f"{type(self).__name__} does not implement open()")

    def namespaces(self) -> list[str]:
        """The namespaces holding at least one key, sorted. Optional (not in Errbot's contract).

        The built-in storages implement it; `errbot.storage.migrate.migrate` needs it when it
        is not told which namespaces to copy.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot list its namespaces")
