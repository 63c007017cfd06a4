"""Storage seen from plugins: `StoreMixin` makes its host a mapping over one opened namespace.

`BotPlugin`, the bot itself and the plugin and repo managers mix it in, so ``self["key"]``
reads and writes that object's namespace through the configured storage plugin.

Importing this package loads no storage implementation; `errbot.storage.loader` imports only
the one the configuration names.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, NoReturn

from errbot.storage.base import StorageBase, StoragePluginBase

__all__ = [
    "StoreAlreadyOpenError",
    "StoreException",
    "StoreMixin",
    "StoreNotOpenError",
    "StoragePluginNotFound",
    "UnstorableValueError",
]

log = logging.getLogger(__name__)


class StoreException(Exception):
    """Base of every storage error raised by the framework."""


class StoreAlreadyOpenError(StoreException):
    """`open_storage` was called on an object whose storage is already open."""


class StoreNotOpenError(StoreException):
    """The storage was used or closed while not open."""


class StoragePluginNotFound(StoreException):
    """No storage plugin carries the name configured in ``STORAGE``."""


class UnstorableValueError(StoreException, TypeError):
    """A value the storage cannot serialise (unpicklable, or not JSON in JSON mode).

    Raised before anything is written: the stored value, if any, is unchanged. It is also a
    `TypeError`, what pickling an unpicklable object raises in Errbot.
    """


# Guards creation and disposal of the per-key locks of every StoreMixin; held only for a few
# dict operations, never while a caller's `mutable()` block runs.
_KEY_LOCKS_GUARD = threading.Lock()


class _KeyLocks:
    """Reentrant locks per key, created on demand and dropped when nobody holds or waits."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        # key -> [lock, number of threads holding or waiting for it]
        self._entries: dict[str, list[Any]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with _KEY_LOCKS_GUARD:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = [threading.RLock(), 0]
            entry[1] += 1
        lock: threading.RLock = entry[0]
        try:
            with lock:
                yield
        finally:
            with _KEY_LOCKS_GUARD:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._entries[key]


class StoreMixin(MutableMapping[str, Any]):
    """A mutable mapping over the storage namespace opened with `open_storage`.

    It defines no ``__init__``: host classes have their own constructors and Errbot plugins
    do not always call ``super().__init__()``, so the state lives in class-level defaults that
    `open_storage` overrides per instance.

    Unlike a plain Mapping, a StoreMixin keeps identity equality and hashing (plugins live in
    sets and dict keys) and is always truthy (``if plugin:`` must not depend on whether its
    storage is empty, or even open).

    Iterating, ``keys()``, ``items()`` and ``values()`` work on a snapshot of the keys taken
    when iteration starts, so deleting keys inside such a loop is safe.
    """

    _store: StorageBase | None = None
    namespace: str | None = None
    _mutable_locks: _KeyLocks | None = None

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return True

    # -- lifecycle ----------------------------------------------------------------------------
    def open_storage(self, storage_plugin: StoragePluginBase, namespace: str) -> None:
        """Open ``namespace`` through ``storage_plugin``; it becomes ``self.namespace``."""
        if self._store is not None:
            raise StoreAlreadyOpenError("Storage appears to be opened already")
        log.debug("Opening storage namespace %r for %s.", namespace, type(self).__name__)
        self._store = storage_plugin.open(namespace)
        self.namespace = namespace

    def close_storage(self) -> None:
        """Close the namespace; the data stays in the storage for the next `open_storage`."""
        store = self._store
        if store is None:
            self._not_open()
        # Forget the store first: even if closing fails the object must read as closed, or a
        # later open_storage would be refused forever.
        self._store = None
        store.close()
        log.debug("Closed storage namespace %r of %s.", self.namespace, type(self).__name__)

    def is_open_storage(self) -> bool:
        return self._store is not None

    def __enter__(self) -> StoreMixin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close_storage()

    def _not_open(self) -> NoReturn:
        message = "Storage does not appear to have been opened yet"
        if self.namespace is not None:
            message += f' (namespace "{self.namespace}" is closed)'
        raise StoreNotOpenError(message)

    # -- mapping ------------------------------------------------------------------------------
    # Each method reads self._store once: it is the hot path of every plugin storage access.
    def __getitem__(self, key: str) -> Any:
        store = self._store
        if store is None:
            self._not_open()
        return store.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        store = self._store
        if store is None:
            self._not_open()
        store.set(key, value)

    def __delitem__(self, key: str) -> None:
        store = self._store
        if store is None:
            self._not_open()
        store.remove(key)

    def __contains__(self, key: object) -> bool:
        store = self._store
        if store is None:
            self._not_open()
        try:
            store.get(key)  # type: ignore[arg-type]
        except KeyError:
            return False
        return True

    def __len__(self) -> int:
        store = self._store
        if store is None:
            self._not_open()
        return store.len()

    def __iter__(self) -> Iterator[str]:
        store = self._store
        if store is None:
            self._not_open()
        return iter(list(store.keys()))

    def get(self, key: str, default: Any = None) -> Any:
        store = self._store
        if store is None:
            self._not_open()
        try:
            return store.get(key)
        except KeyError:
            return default

    def clear(self) -> None:
        store = self._store
        if store is None:
            self._not_open()
        for key in list(store.keys()):
            try:
                store.remove(key)
            except KeyError:
                pass  # removed meanwhile by another thread or process: the goal is reached

    # -- read-modify-write ----------------------------------------------------------------------
    @contextmanager
    def mutable(self, key: str, default: Any = None) -> Iterator[Any]:
        """Yield the value stored under ``key`` (or ``default``) and store it back on exit.

        This is how a stored list or dict is changed in place::

            with self.mutable("seen", []) as seen:
                seen.append(user)

        Concurrent ``mutable()`` blocks on the same key of the same object are serialised by
        a per-key lock, so read-modify-write cycles from several threads lose no update. The
        lock is reentrant (a nested block on the same key in one thread does not deadlock)
        and does not cover plain ``self[key] = ...`` assignments made elsewhere.

        If the block raises, nothing is written back.
        """
        locks = self._mutable_locks
        if locks is None:
            with _KEY_LOCKS_GUARD:
                # Re-check under the guard: two threads may race to create the table.
                locks = self.__dict__.get("_mutable_locks")
                if locks is None:
                    locks = _KeyLocks()
                    self._mutable_locks = locks
        with locks.hold(key):
            store = self._store
            if store is None:
                self._not_open()
            try:
                value = store.get(key)
            except KeyError:
                value = default
            yield value
            store = self._store
            if store is None:
                self._not_open()
            store.set(key, value)
