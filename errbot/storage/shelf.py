"""The Shelf storage plugin: Errbot's own format, for opening an existing Errbot data directory.

Each namespace is a `shelve` database ``<basedir>/<namespace>.db`` (basedir is
``STORAGE_CONFIG["basedir"]``, else ``BOT_DATA_DIR``) holding values pickled with protocol 2, as
Errbot writes them. Prefer SQLite for anything else: this storage exists so that
``errbot --storage-migrate Shelf SQLite`` can read what Errbot left, and so that a bot can keep
running on the same files during a transition.

File formats. Without the ``_gdbm``/``_dbm`` modules (as in the Python this project is tested
with) `shelve` writes `dbm.dumb` files: ``<namespace>.db.dat`` holds the values at 512-byte
aligned offsets, ``<namespace>.db.dir`` one line ``'key', (offset, size)`` per entry, a later
line for a key replacing an earlier one. This module reads and writes that format itself,
because `dbm.dumb` is not crash-safe: it overwrites values in place and only saves its index
when closed, so a killed bot loses every write (and may corrupt values). Here:

- a value is always written into space the saved index does not use (a free gap, or the end of
  the ``.dat`` file), then its index line is appended to ``.dir``: until that append the old
  value stays intact and indexed, after it the new one is, so a write that returned survives a
  SIGKILL;
- a delete, and the occasional compaction of ``.dir``, write a complete new index to a
  temporary file that atomically replaces ``.dir``;
- ``STORAGE_CONFIG["synchronous"] = "FULL"`` also fsyncs both files on every write (survives a
  power loss); the default ``"NORMAL"`` leaves that to the operating system.

The files stay readable by `dbm.dumb`, `shelve` and Errbot. An existing GNU dbm or ndbm file
(written by a Python that had those modules) is opened with that module when this Python has
it, and refused with a clear message when it does not.

Concurrency: one lock per file serialises the threads of the process, and every namespace of a
process shares one open file whichever plugin instance opened it. Another process opening a
namespace in use is refused (an exclusive ``flock`` on the ``.dat`` file), as Errbot's storage
tools fail while the bot runs. Deletes rewrite the whole index (as in Errbot): Shelf deletes are
slow on large namespaces.
"""

from __future__ import annotations

import ast
import dbm
import importlib
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from errbot.storage import StoreException
from errbot.storage._codec import Codec
from errbot.storage.base import StorageBase, StoragePluginBase

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock
    fcntl = None  # type: ignore[assignment]

__all__ = ["ShelfStorage", "ShelfStoragePlugin"]

log = logging.getLogger(__name__)

PICKLE_PROTOCOL = 2  # what Errbot's Shelf writes
_BLOCK = 512  # dbm.dumb's alignment of values in the .dat file
# .dir is compacted (rewritten with one line per key) once it holds this many stale lines.
_MAX_STALE_LINES = 1000


def _blocks(size: int) -> int:
    return max(1, (size + _BLOCK - 1) // _BLOCK)


def _write_all(fd: int, data: bytes, offset: int | None = None) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view) if offset is None else os.pwrite(fd, view, offset)
        view = view[written:]
        if offset is not None:
            offset += written


def _index_line(key: str, pos: int, size: int) -> bytes:
    # dbm.dumb's line: the repr of the UTF-8 key read as Latin-1, then the (offset, size) pair.
    return f"{key.encode('utf-8').decode('latin-1')!r}, ({pos}, {size})\n".encode("latin-1")


def _parse_index_line(line: str) -> tuple[str, int, int]:
    head, separator, tail = line.rpartition(", (")
    if not separator or not tail.endswith(")"):
        raise ValueError("not an index line")
    pos_text, comma, size_text = tail[:-1].partition(", ")
    if not comma:
        raise ValueError("not an index line")
    pos, size = int(pos_text), int(size_text)
    if pos < 0 or size < 0:
        raise ValueError("negative offset or size")
    if len(head) >= 2 and head[0] == head[-1] == "'" and "\\" not in head and "'" not in head[1:-1]:
        raw = head[1:-1]  # the usual case, without the cost of literal_eval
    else:
        raw = ast.literal_eval(head)
        if type(raw) is not str:
            raise ValueError("the key is not a string")
    return raw.encode("latin-1").decode("utf-8"), pos, size


class _ShelfFile:
    """One namespace's files, shared by every open handle on it in this process."""

    lock: threading.Lock
    path: Path
    users: int

    def get(self, key: str) -> bytes:
        raise NotImplementedError

    def set(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def remove(self, key: str) -> None:
        raise NotImplementedError

    def keys(self) -> list[str]:
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _DumbFile(_ShelfFile):
    """A dbm.dumb database (``<path>.dat`` + ``<path>.dir``), written crash-safely."""

    def __init__(self, path: Path, sync: bool) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.users = 0
        self._sync = sync
        self._dat = Path(f"{path}.dat")
        self._dir = Path(f"{path}.dir")
        # key -> (offset, size, its index line): rewriting .dir is then one join, not a format
        # per key, which keeps deletes fast.
        self._index: dict[str, tuple[int, int, bytes]] = {}
        self._free: dict[int, list[int]] = {}  # size in blocks -> offsets of free extents
        self._lines = 0
        self._broken: str | None = None
        self._dat_fd = -1
        self._dir_fd = -1
        try:
            self._open()
        except BaseException:
            self._close_fds()
            raise

    # -- opening ------------------------------------------------------------------------------
    def _open(self) -> None:
        dat_existed = self._dat.exists()
        if dat_existed and self._dat.stat().st_size > 0 and not self._dir.exists():
            backup = Path(f"{self.path}.bak")
            hint = (
                f" {backup.name} holds the index as it was before its last save: rename it to "
                f"{self._dir.name}, keeping a copy of both files first."
                if backup.exists()
                else " Restore the namespace from a backup."
            )
            raise StoreException(
                f"The Shelf storage cannot open {self.path}: {self._dat.name} holds data but "
                f"its index {self._dir.name} is missing (Errbot was interrupted while saving "
                f"it).{hint}"
            )
        self._dat_fd = os.open(self._dat, os.O_RDWR | os.O_CREAT, 0o666)
        if fcntl is not None:
            try:
                fcntl.flock(self._dat_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreException(
                    f"The Shelf storage cannot open {self.path}: another process is using it "
                    "(is the bot running? Stop it first: a Shelf namespace has one user at a "
                    "time)."
                ) from None
        self._load_index()
        if self._dir_fd < 0:  # _load_index may have opened it already, rewriting a torn index
            self._dir_fd = os.open(self._dir, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def _damaged(self, what: str) -> StoreException:
        return StoreException(
            f"The Shelf storage file {self._dir} is damaged: {what}. Nothing was changed. "
            f"Restore {self.path.name}.dat and {self.path.name}.dir from a backup, or remove "
            "the damaged line(s) from the .dir file by hand (each line is one key)."
        )

    def _load_index(self) -> None:
        try:
            raw = self._dir.read_bytes().decode("latin-1")
        except FileNotFoundError:
            raw = ""
        lines = raw.split("\n")
        torn = lines.pop()  # text after the last newline: a line whose write never finished
        index = self._index
        for number, line in enumerate(lines, start=1):
            line = line.rstrip()
            if not line:
                continue
            try:
                key, pos, size = _parse_index_line(line)
            except (ValueError, SyntaxError, UnicodeError) as exc:
                raise self._damaged(
                    f"line {number} is not an index entry ({exc}): {line[:80]!r}"
                ) from exc
            index[key] = (pos, size, (line + "\n").encode("latin-1"))
            self._lines += 1
        end = os.fstat(self._dat_fd).st_size
        for key, (pos, size, _) in index.items():
            if pos + size > end:
                raise self._damaged(
                    f"the entry of the key {key!r} points past the end of {self._dat.name} "
                    "(the files were copied or cut short while being written)"
                )
        self._end = (end + _BLOCK - 1) // _BLOCK * _BLOCK
        self._find_free_space(end)
        if torn.strip():
            log.warning(
                "%s ends with an unfinished line (a write interrupted by a crash), dropped: %r",
                self._dir,
                torn[:80],
            )
            self._rewrite_index()

    def _find_free_space(self, end: int) -> None:
        cursor = 0
        for pos, size, _ in sorted(self._index.values()):
            if pos >= cursor + _BLOCK:
                self._release(cursor, (pos - cursor) // _BLOCK)
            cursor = max(cursor, pos + _blocks(size) * _BLOCK)
        if end >= cursor + _BLOCK:
            self._release(cursor, (end - cursor) // _BLOCK)

    # -- space --------------------------------------------------------------------------------
    def _release(self, pos: int, blocks: int) -> None:
        self._free.setdefault(blocks, []).append(pos)

    def _allocate(self, blocks: int) -> int:
        free = self._free
        offsets = free.get(blocks)
        if offsets:
            pos = offsets.pop()
            if not offsets:
                del free[blocks]
            return pos
        larger = [size for size in free if size > blocks]
        if larger:
            size = min(larger)
            offsets = free[size]
            pos = offsets.pop()
            if not offsets:
                del free[size]
            self._release(pos + blocks * _BLOCK, size - blocks)
            return pos
        pos = self._end
        self._end = pos + blocks * _BLOCK
        return pos

    # -- the index file -----------------------------------------------------------------------
    def _rewrite_index(self) -> None:
        """Atomically replace .dir with one line per key."""
        temporary = Path(f"{self._dir}.tmp")
        content = b"".join(entry[2] for entry in self._index.values())
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _write_all(fd, content)
            if self._sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self._dir)
        if self._sync:
            _sync_directory(self._dir.parent)
        old_fd, self._dir_fd = self._dir_fd, -1
        if old_fd >= 0:
            os.close(old_fd)
        self._dir_fd = os.open(self._dir, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self._lines = len(self._index)

    def _check_writable(self) -> None:
        if self._broken is not None:
            raise StoreException(
                f"The Shelf storage {self.path} refuses writes after an earlier failure "
                f"({self._broken}); restart the bot once the cause is fixed."
            )

    # -- operations (called with self.lock held) ----------------------------------------------
    def get(self, key: str) -> bytes:
        pos, size, _ = self._index[key]
        data = os.pread(self._dat_fd, size, pos)
        if len(data) != size:
            raise self._damaged(f"the value of {key!r} is cut short")
        return data

    def set(self, key: str, data: bytes) -> None:
        self._check_writable()
        size = len(data)
        blocks = _blocks(size)
        pos = self._allocate(blocks)
        try:
            _write_all(self._dat_fd, data, pos)
            if self._sync:
                os.fsync(self._dat_fd)
        except OSError as exc:
            self._release(pos, blocks)
            raise StoreException(f"The Shelf storage cannot write {self._dat}: {exc}") from exc
        line = _index_line(key, pos, size)
        try:
            _write_all(self._dir_fd, line)
            if self._sync:
                os.fsync(self._dir_fd)
        except OSError as exc:
            self._release(pos, blocks)
            self._repair_after(exc)
            raise StoreException(f"The Shelf storage cannot write {self._dir}: {exc}") from exc
        old = self._index.get(key)
        self._index[key] = (pos, size, line)
        if old is not None:
            self._release(old[0], _blocks(old[1]))
        self._lines += 1
        if self._lines > len(self._index) + _MAX_STALE_LINES:
            self._rewrite_index()

    def _repair_after(self, exc: OSError) -> None:
        # Part of a line may have reached .dir: rewrite it whole, or stop writing altogether.
        try:
            self._rewrite_index()
        except OSError as again:
            self._broken = f"{exc}; then {again}"

    def remove(self, key: str) -> None:
        self._check_writable()
        old = self._index.pop(key)
        try:
            self._rewrite_index()
        except OSError as exc:
            self._index[key] = old
            raise StoreException(f"The Shelf storage cannot rewrite {self._dir}: {exc}") from exc
        self._release(old[0], _blocks(old[1]))

    def keys(self) -> list[str]:
        return list(self._index)

    def count(self) -> int:
        return len(self._index)

    def close(self) -> None:
        self._close_fds()

    def _close_fds(self) -> None:
        for name in ("_dir_fd", "_dat_fd"):  # closing .dat also releases the flock
            fd = getattr(self, name)
            if fd >= 0:
                setattr(self, name, -1)
                os.close(fd)


class _DbmFile(_ShelfFile):
    """A GNU dbm or ndbm shelf, through the module that wrote it; synced after each write."""

    def __init__(self, path: Path, module: Any) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.users = 0
        self._db = module.open(str(path), "w")

    def get(self, key: str) -> bytes:
        return bytes(self._db[key.encode("utf-8")])

    def set(self, key: str, data: bytes) -> None:
        self._db[key.encode("utf-8")] = data
        self._flush()

    def remove(self, key: str) -> None:
        encoded = key.encode("utf-8")
        if encoded not in self._db:
            raise KeyError(key)
        del self._db[encoded]
        self._flush()

    def _flush(self) -> None:
        sync = getattr(self._db, "sync", None)
        if sync is not None:
            sync()

    def keys(self) -> list[str]:
        return [key.decode("utf-8") for key in self._db.keys()]

    def count(self) -> int:
        return len(self._db)

    def close(self) -> None:
        self._db.close()


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Every namespace file open in this process, by resolved path: two handles on one namespace
# must share one index (and the flock, which would otherwise refuse the second handle).
_FILES: dict[Path, _ShelfFile] = {}
_FILES_LOCK = threading.Lock()
_FORKED: set[int] = set()  # ids of files inherited from a parent process


def _after_fork_in_child() -> None:
    # The parent keeps writing its files: the child must not touch them.
    _FORKED.update(id(file) for file in _FILES.values())
    _FILES.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _open_file(path: Path, sync: bool) -> _ShelfFile:
    """The shared file of ``path`` (``<basedir>/<namespace>.db``), opened if needed."""
    key = path.resolve()
    with _FILES_LOCK:
        file = _FILES.get(key)
        if file is None:
            file = _FILES[key] = _make_file(path, sync)
        file.users += 1
        return file


def _make_file(path: Path, sync: bool) -> _ShelfFile:
    kind = dbm.whichdb(str(path))
    if kind is None or kind == "dbm.dumb":
        return _DumbFile(path, sync)
    if kind == "":
        raise StoreException(
            f"The Shelf storage cannot open {path}: it is not a shelve/dbm database "
            "(move it away if it is not bot data)."
        )
    try:
        module = importlib.import_module(kind)
    except ImportError:
        raise StoreException(
            f"The Shelf storage cannot open {path}: it is a {kind} database and this Python "
            f"has no {kind} module. Convert it with a Python that has it (as Errbot's did): "
            "run 'errbot --storage-migrate Shelf SQLite' there, then copy storage.sqlite3 here."
        ) from None
    return _DbmFile(path, module)


def _close_file(file: _ShelfFile) -> None:
    with _FILES_LOCK:
        file.users -= 1
        if file.users > 0:
            return
        if _FILES.get(file.path.resolve()) is file:
            del _FILES[file.path.resolve()]
    with file.lock:
        file.close()


class ShelfStorage(StorageBase):
    """One namespace, a view on its shared file."""

    __slots__ = ("namespace", "_file", "_codec", "_closed")

    def __init__(self, namespace: str, file: _ShelfFile, codec: Codec) -> None:
        self.namespace = namespace
        self._file = file
        self._codec = codec
        self._closed = False

    def _usable(self) -> _ShelfFile:
        file = self._file
        if _FORKED and id(file) in _FORKED:
            raise StoreException(
                "The Shelf storage cannot be used from a forked child process: open it again "
                "there (after the parent closed it)."
            )
        return file

    def get(self, key: str) -> Any:
        file = self._usable()
        with file.lock:
            data = file.get(key)
        return self._codec.decode(self.namespace, key, data)

    def set(self, key: str, value: Any) -> None:
        data = self._codec.pickle_bytes(self.namespace, key, value)
        file = self._usable()
        with file.lock:
            file.set(key, data)

    def remove(self, key: str) -> None:
        file = self._usable()
        with file.lock:
            file.remove(key)

    def len(self) -> int:
        file = self._usable()
        with file.lock:
            return file.count()

    def keys(self) -> list[str]:
        """The keys in the order they were first stored."""
        file = self._usable()
        with file.lock:
            return file.keys()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if not (_FORKED and id(self._file) in _FORKED):
                _close_file(self._file)


class ShelfStoragePlugin(StoragePluginBase):
    """Opens ``<basedir>/<namespace>.db`` shelves, basedir defaulting to BOT_DATA_DIR."""

    def __init__(self, bot_config: Any) -> None:
        super().__init__(bot_config)
        config = self._storage_config
        basedir = config.get("basedir") or getattr(bot_config, "BOT_DATA_DIR", None)
        if not basedir:
            raise StoreException(
                "The Shelf storage needs a directory: "
                'set BOT_DATA_DIR or STORAGE_CONFIG["basedir"].'
            )
        if config.get("serializer", "pickle") != "pickle":
            raise StoreException(
                "The Shelf storage keeps Errbot's format, pickled values only: remove "
                "STORAGE_CONFIG['serializer'] (JSON mode is for SQLite, Redis and SQL)."
            )
        synchronous = str(config.get("synchronous", "NORMAL")).upper()
        if synchronous not in ("NORMAL", "FULL"):
            raise StoreException(
                f"The Shelf storage: STORAGE_CONFIG['synchronous'] is "
                f"{config['synchronous']!r}; use 'NORMAL' (the default) or 'FULL'."
            )
        self.basedir = Path(basedir)
        self._sync = synchronous == "FULL"
        self._codec = Codec(protocol=PICKLE_PROTOCOL)

    def _path(self, namespace: str) -> Path:
        if not namespace or namespace in (".", "..") or any(c in namespace for c in "/\\\0"):
            raise StoreException(
                f"The Shelf storage cannot store the namespace {namespace!r}: it would not be "
                "a plain file name."
            )
        return self.basedir / f"{namespace}.db"

    def open(self, namespace: str) -> ShelfStorage:
        path = self._path(namespace)
        self.basedir.mkdir(parents=True, exist_ok=True)
        self._move_errbot3_files(namespace, path)
        return ShelfStorage(namespace, _open_file(path, self._sync), self._codec)

    def _move_errbot3_files(self, namespace: str, path: Path) -> None:
        # Errbot 3 kept shelves in <basedir>/plugins/; Errbot moves them up on first open.
        old = self.basedir / "plugins" / f"{namespace}.db"
        suffixes = ("", ".dat", ".dir", ".bak")
        old_files = [Path(f"{old}{s}") for s in suffixes if Path(f"{old}{s}").is_file()]
        if not old_files:
            return
        if any(Path(f"{path}{s}").exists() for s in suffixes):
            log.warning(
                "An old Errbot 3 database %s exists beside %s: remove one of them, or move "
                "the old one in place of the new one by hand.",
                old,
                path,
            )
            return
        log.info("Moving the Errbot 3 database %s to %s.", old, path)
        for file in old_files:
            shutil.move(file, Path(str(path) + file.name[len(old.name) :]))

    def namespaces(self) -> list[str]:
        names = set()
        if self.basedir.is_dir():
            for entry in self.basedir.iterdir():
                name = entry.name
                if name.endswith(".db.dat"):
                    names.add(name[: -len(".db.dat")])
                elif name.endswith(".db") and dbm.whichdb(str(entry)) not in (None, ""):
                    names.add(name[: -len(".db")])
        found = []
        for name in sorted(names):
            storage = self.open(name)
            try:
                if storage.len():
                    found.append(name)
            finally:
                storage.close()
        return found
