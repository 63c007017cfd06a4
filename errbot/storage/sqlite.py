"""The SQLite storage plugin, the durable default.

Every namespace lives in one file, ``<basedir>/storage.sqlite3`` (basedir is
``STORAGE_CONFIG["basedir"]``, else ``BOT_DATA_DIR``), in the table
``store(namespace, key, value)``. Values are pickled, or JSON text with
``STORAGE_CONFIG["serializer"] = "json"`` (see `errbot.storage._codec`).

Durability: the database runs in WAL mode with autocommit, so each ``set``/``remove`` is its
own transaction, committed before the call returns. ``STORAGE_CONFIG["synchronous"]`` picks
what a commit waits for:

``"NORMAL"`` (default)
    The commit is written to the WAL file, not synced. A write that returned survives the
    process being killed (even with SIGKILL); an operating-system crash or a power loss may
    lose the last transactions, never the consistency of the file. About 7 times faster
    than FULL, which is what a chat bot needs: data of a bot that crashed is kept.
``"FULL"`` (or ``"EXTRA"``)
    Each commit also syncs the WAL to the disk: a write that returned survives a power loss.

Opening checks the file (``PRAGMA quick_check``; skip with ``STORAGE_CONFIG["check_on_open"]
= False`` for very large files): a damaged file is refused with a message naming it and the
way to recover, never emptied or overwritten.

Concurrency: several processes may use the file at once (the CLI ``--storage-*`` tools while
the bot runs); a writer that finds the file locked waits up to ``busy_timeout`` seconds
(``STORAGE_CONFIG["busy_timeout"]``, default 30). Inside a process, connections come from a
small free list, one per concurrent caller: readers never queue behind a writer, and pollers
(which run each call on a fresh thread) reuse connections instead of opening one per call.
Each connection keeps its prepared statements cached.

The connections close when the last open namespace of the plugin closes (which lets SQLite
checkpoint and remove the WAL file at shutdown) and reopen on demand.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from errbot.storage import StoreException
from errbot.storage._codec import Codec, codec_from_config
from errbot.storage.base import StorageBase, StoragePluginBase

__all__ = ["FILENAME", "SQLiteStorage", "SQLiteStoragePlugin"]

log = logging.getLogger(__name__)

FILENAME = "storage.sqlite3"

# 1: the first layout (a rowid table). 2: WITHOUT ROWID, so a write touches one b-tree page
# instead of two. Both have the same columns and are read and written the same way.
_SCHEMA_VERSION = 2
# Idle connections kept per database; more concurrent callers get extra ones, closed on return.
_MAX_IDLE = 8
_DEFAULT_BUSY_TIMEOUT = 30.0
_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")
# Checkpoints (copying the WAL back into the database file, with its syncs) run on a background
# thread every _CHECKPOINT_EVERY writes, off the writers' path: sets are about a third faster.
# A writer still checkpoints by itself past _AUTOCHECKPOINT_PAGES of WAL (8 MB), which bounds
# the WAL during long bursts; _WAL_SIZE_LIMIT trims the file once a burst is over.
_CHECKPOINT_EVERY = 250
_AUTOCHECKPOINT_PAGES = 2000
_WAL_SIZE_LIMIT = 32 * 1024 * 1024

_CREATE = (
    "CREATE TABLE IF NOT EXISTS store ("
    "namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
    "PRIMARY KEY (namespace, key)) WITHOUT ROWID"
)
_GET = "SELECT value FROM store WHERE namespace = ? AND key = ?"
_SET = (
    "INSERT INTO store (namespace, key, value) VALUES (?, ?, ?) "
    "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value"
)
_REMOVE = "DELETE FROM store WHERE namespace = ? AND key = ?"
_LEN = "SELECT COUNT(*) FROM store WHERE namespace = ?"
_KEYS = "SELECT key FROM store WHERE namespace = ? ORDER BY key"
_NAMESPACES = "SELECT DISTINCT namespace FROM store ORDER BY namespace"


class _Database:
    """One SQLite file and the free list of connections to it."""

    def __init__(self, path: Path, busy_timeout: float, synchronous: str, check: bool) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._synchronous = synchronous
        self._check = check
        self.idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._open_namespaces = 0
        self._schema_ready = False
        self._writes = 0
        self._checkpointing = threading.Lock()
        _DATABASES.add(self)

    # -- namespaces ---------------------------------------------------------------------------
    def attach(self) -> None:
        """Count one more open namespace; the first one checks or creates the file."""
        with self._lock:
            if not self._schema_ready:
                self._prepare_file()
                self._schema_ready = True
            self._open_namespaces += 1

    def detach(self) -> None:
        with self._lock:
            self._open_namespaces -= 1
            if self._open_namespaces > 0:
                return
        # Let a background checkpoint finish (its connection then closes): once the last
        # namespace is closed, nothing of this process touches the file any more.
        with self._checkpointing:
            pass
        with self._lock:
            if self._open_namespaces > 0:
                return  # reopened meanwhile: keep the connections
            idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()

    # -- connections --------------------------------------------------------------------------
    # Callers do ``conn = db.idle.pop()`` (atomic, no lock on the hot path), falling back on
    # `connect()` when the list is empty, and hand the connection back with `release()`.
    def release(self, conn: sqlite3.Connection) -> None:
        if self._open_namespaces > 0 and len(self.idle) < _MAX_IDLE:
            self.idle.append(conn)
        else:
            conn.close()

    def connect(self) -> sqlite3.Connection:
        # Autocommit (isolation_level=None): each statement is its own transaction.
        # check_same_thread=False: a pooled connection moves between threads, one at a time.
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit = {_WAL_SIZE_LIMIT}")
        return conn

    def wrote(self) -> None:
        """Count a committed write; every _CHECKPOINT_EVERY, checkpoint in the background."""
        self._writes += 1  # not atomic across threads: an approximate count is enough
        if self._writes >= _CHECKPOINT_EVERY and self._checkpointing.acquire(blocking=False):
            self._writes = 0
            threading.Thread(target=self._checkpoint, name="sqlite-checkpoint", daemon=True).start()

    def _checkpoint(self) -> None:
        try:
            try:
                conn = self.idle.pop()
            except IndexError:
                conn = self.connect()
            try:
                # PASSIVE: copies what it can without waiting for, or blocking, anyone.
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                self.release(conn)
        except sqlite3.Error as exc:  # the next checkpoint (or a writer's own) will do it
            log.debug("%s: background checkpoint failed: %s", self.path, exc)
        finally:
            self._checkpointing.release()

    def read_all(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        try:
            conn = self.idle.pop()
        except IndexError:
            conn = self.connect()
        try:
            return conn.execute(sql, parameters).fetchall()
        finally:
            self.release(conn)

    def _prepare_file(self) -> None:
        existed = self.path.exists() and self.path.stat().st_size > 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self.connect()
        except sqlite3.OperationalError as exc:  # cannot open: permissions, missing directory...
            raise StoreException(f"The SQLite storage cannot open {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # opened, but not a database
            raise StoreException(self._damaged(exc)) from exc
        except OSError as exc:
            raise StoreException(f"The SQLite storage cannot open {self.path}: {exc}") from exc
        try:
            deadline = time.monotonic() + self._busy_timeout
            while True:
                try:
                    self._set_up(conn, existed)
                    break
                except sqlite3.OperationalError as exc:
                    # Another process opening the same new file at the same moment: switching
                    # to WAL answers "locked" at once, without SQLite's busy handler.
                    if not _is_busy(exc) or time.monotonic() >= deadline:
                        raise
                    time.sleep(0.02)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreException(
                    f"The SQLite storage file {self.path} stayed locked by another process for "
                    f"{self._busy_timeout:g} s (STORAGE_CONFIG['busy_timeout'])."
                ) from exc
            raise StoreException(self._damaged(exc)) from exc
        except sqlite3.DatabaseError as exc:
            raise StoreException(self._damaged(exc)) from exc
        finally:
            conn.close()

    def _set_up(self, conn: sqlite3.Connection, existed: bool) -> None:
        if existed and self._check:
            verdict = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(verdict)
        # WAL is a property of the file: set once, every later connection inherits it.
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            log.warning("%s: SQLite refused WAL mode (journal mode is %s).", self.path, mode)
        if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            conn.execute(_CREATE)
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def _damaged(self, exc: BaseException) -> str:
        path = self.path
        return (
            f"The SQLite storage file {path} is damaged or is not an SQLite database "
            f"({str(exc).splitlines()[0]}). It was left untouched. To recover: stop the bot, "
            f"move {path.name} (with any {path.name}-wal and {path.name}-shm beside it) out of "
            f"{path.parent}, then restore it from a backup, or salvage what is readable with "
            f"'sqlite3 {path.name} .recover | sqlite3 recovered.sqlite3' and put "
            f"recovered.sqlite3 in its place as {path.name}. Without the file the bot starts "
            "with an empty storage."
        )

    def forget_connections(self) -> None:
        """In a forked child: stop using the parent's connections, without closing them.

        SQLite connections must not cross a fork, and even closing one in the child may try a
        checkpoint on the parent's WAL, so they are parked for the child's lifetime and the
        child opens its own.
        """
        _ABANDONED.extend(self.idle)
        self.idle = []
        self._checkpointing = threading.Lock()  # a checkpoint thread does not cross a fork


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


# Every live database, so a forked child can drop the connections it inherited.
_DATABASES: weakref.WeakSet[_Database] = weakref.WeakSet()
_ABANDONED: list[sqlite3.Connection] = []


def _after_fork_in_child() -> None:
    for database in list(_DATABASES):
        database.forget_connections()


os.register_at_fork(after_in_child=_after_fork_in_child)


class SQLiteStorage(StorageBase):
    """One namespace of the database; opening and closing one costs no I/O."""

    __slots__ = ("namespace", "_database", "_codec", "_closed")

    def __init__(self, database: _Database, codec: Codec, namespace: str) -> None:
        self.namespace = namespace
        self._database = database
        self._codec = codec
        self._closed = False
        database.attach()

    # The methods inline the free-list hand-over: they are the hot path of plugin storage.
    def get(self, key: str) -> Any:
        database = self._database
        try:
            conn = database.idle.pop()
        except IndexError:
            conn = database.connect()
        try:
            row = conn.execute(_GET, (self.namespace, key)).fetchone()
        finally:
            database.release(conn)
        if row is None:
            raise KeyError(key)
        return self._codec.decode(self.namespace, key, row[0])

    def set(self, key: str, value: Any) -> None:
        data = self._codec.encode(self.namespace, key, value)
        database = self._database
        try:
            conn = database.idle.pop()
        except IndexError:
            conn = database.connect()
        try:
            conn.execute(_SET, (self.namespace, key, data))
        finally:
            database.release(conn)
        database.wrote()

    def remove(self, key: str) -> None:
        database = self._database
        try:
            conn = database.idle.pop()
        except IndexError:
            conn = database.connect()
        try:
            removed = conn.execute(_REMOVE, (self.namespace, key)).rowcount
        finally:
            database.release(conn)
        if removed == 0:
            raise KeyError(key)
        database.wrote()

    def len(self) -> int:
        count: int = self._database.read_all(_LEN, (self.namespace,))[0][0]
        return count

    def keys(self) -> list[str]:
        """The keys in code-point order."""
        return [row[0] for row in self._database.read_all(_KEYS, (self.namespace,))]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._database.detach()


class SQLiteStoragePlugin(StoragePluginBase):
    """Opens namespaces of ``<basedir>/storage.sqlite3``."""

    def __init__(self, bot_config: Any) -> None:
        super().__init__(bot_config)
        config = self._storage_config
        basedir = config.get("basedir") or getattr(bot_config, "BOT_DATA_DIR", None)
        if not basedir:
            raise StoreException(
                "The SQLite storage needs a directory: "
                'set BOT_DATA_DIR or STORAGE_CONFIG["basedir"].'
            )
        synchronous = str(config.get("synchronous", "NORMAL")).upper()
        if synchronous not in _SYNCHRONOUS:
            raise StoreException(
                f"The SQLite storage: STORAGE_CONFIG['synchronous'] is "
                f"{config['synchronous']!r}; use 'NORMAL' (the default: survives a crash of "
                "the bot) or 'FULL' (also survives a power loss)."
            )
        try:
            busy_timeout = float(config.get("busy_timeout", _DEFAULT_BUSY_TIMEOUT))
        except (TypeError, ValueError):
            raise StoreException(
                f"The SQLite storage: STORAGE_CONFIG['busy_timeout'] is "
                f"{config['busy_timeout']!r}; give a number of seconds."
            ) from None
        self._codec = codec_from_config("SQLite", config)
        self._database = _Database(
            Path(basedir) / FILENAME,
            busy_timeout,
            synchronous,
            bool(config.get("check_on_open", True)),
        )

    @property
    def path(self) -> Path:
        """The database file."""
        return self._database.path

    def open(self, namespace: str) -> SQLiteStorage:
        return SQLiteStorage(self._database, self._codec, namespace)

    def namespaces(self) -> list[str]:
        database = self._database
        database.attach()
        try:
            return [row[0] for row in database.read_all(_NAMESPACES)]
        finally:
            database.detach()
