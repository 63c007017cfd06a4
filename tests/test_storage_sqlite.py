"""The SQLite storage: file layout, durability across kills, several processes, threads."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import errbot.storage
from errbot.storage import StoreException, UnstorableValueError
from errbot.storage.sqlite import FILENAME, SQLiteStoragePlugin

REPO_ROOT = Path(errbot.storage.__file__).resolve().parents[2]


def make_plugin(data_dir: Path, **storage_config: Any) -> SQLiteStoragePlugin:
    config = types.SimpleNamespace(
        STORAGE="SQLite", BOT_DATA_DIR=str(data_dir), STORAGE_CONFIG=storage_config
    )
    return SQLiteStoragePlugin(config)


def run_python(code: str, *args: str, **popen: Any) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        **popen,
    )


def open_files_to(path: Path) -> int:
    """How many file descriptors of this process point at ``path``."""
    fd_dir = Path("/proc/self/fd")
    count = 0
    for fd in fd_dir.iterdir():
        try:
            if os.readlink(fd) == str(path):
                count += 1
        except OSError:
            continue
    return count


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    storage = make_plugin(tmp_path).open("ns")
    yield storage
    storage.close()


def test_one_file_in_bot_data_dir(tmp_path: Path) -> None:
    plugin = make_plugin(tmp_path)
    first, second = plugin.open("a"), plugin.open("b")
    first.set("k", 1)
    second.set("k", 2)
    assert plugin.path == tmp_path / FILENAME
    assert (tmp_path / FILENAME).is_file()
    rows = sqlite3.connect(tmp_path / FILENAME).execute(
        "SELECT namespace, key FROM store ORDER BY namespace"
    )
    assert rows.fetchall() == [("a", "k"), ("b", "k")]
    first.close()
    second.close()


def test_basedir_from_storage_config_wins_and_is_created(tmp_path: Path) -> None:
    basedir = tmp_path / "elsewhere" / "deeper"
    plugin = make_plugin(tmp_path / "data", basedir=str(basedir))
    storage = plugin.open("ns")
    storage.set("k", "v")
    storage.close()
    assert (basedir / FILENAME).is_file()
    assert not (tmp_path / "data" / FILENAME).exists()


def test_needs_a_directory() -> None:
    with pytest.raises(StoreException, match="BOT_DATA_DIR"):
        SQLiteStoragePlugin(types.SimpleNamespace())


def test_file_uses_wal(store: Any, tmp_path: Path) -> None:
    store.set("k", 1)
    mode = sqlite3.connect(tmp_path / FILENAME).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_key_error_semantics(store: Any) -> None:
    with pytest.raises(KeyError):
        store.get("missing")
    with pytest.raises(KeyError):
        store.remove("missing")
    store.set("k", None)
    assert store.get("k") is None
    store.remove("k")
    with pytest.raises(KeyError):
        store.remove("k")


def test_len_and_keys_in_code_point_order(store: Any) -> None:
    assert store.len() == 0
    assert list(store.keys()) == []
    store.set("b", 1)
    store.set("a", 2)
    store.set("b", 3)
    store.set("B", 4)
    store.set("é", 5)
    assert store.len() == 4
    assert list(store.keys()) == ["B", "a", "b", "é"]


def test_survives_a_new_plugin_instance(tmp_path: Path) -> None:
    first = make_plugin(tmp_path).open("ns")
    first.set("k", {"nested": [1, 2]})
    first.close()
    second = make_plugin(tmp_path).open("ns")
    assert second.get("k") == {"nested": [1, 2]}
    second.close()


def test_connections_close_with_the_last_namespace(tmp_path: Path) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to count open files")
    db = tmp_path / FILENAME
    plugin = make_plugin(tmp_path)
    first, second = plugin.open("a"), plugin.open("b")
    first.set("k", 1)
    first.close()
    second.set("k", 2)
    assert open_files_to(db) >= 1
    second.close()
    assert open_files_to(db) == 0
    # SQLite folds the WAL back into the main file when its last connection closes.
    assert not (tmp_path / (FILENAME + "-wal")).exists()
    reopened = plugin.open("a")
    assert reopened.get("k") == 1
    reopened.close()


def test_short_lived_threads_do_not_pile_up_connections(tmp_path: Path) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to count open files")
    # Pollers run every call on a new thread: connections must be reused, not leaked.
    storage = make_plugin(tmp_path).open("ns")
    for i in range(40):
        thread = threading.Thread(target=storage.set, args=(f"k{i}", i))
        thread.start()
        thread.join()
    assert open_files_to(tmp_path / FILENAME) <= 2
    assert storage.len() == 40
    storage.close()


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    child = run_python(
        """
        import sys, types
        from errbot.storage.loader import load_storage_plugin
        config = types.SimpleNamespace(STORAGE="SQLite", BOT_DATA_DIR=sys.argv[1])
        storage = load_storage_plugin(config).open("durable")
        i = 0
        while True:
            storage.set(f"k{i}", {"i": i, "pad": "x" * 200})
            print(f"k{i}", flush=True)  # printed only once set() has returned
            i += 1
        """,
        str(tmp_path),
    )
    assert child.stdout is not None
    acknowledged = [child.stdout.readline().strip() for _ in range(60)]
    child.send_signal(signal.SIGKILL)
    remaining, _ = child.communicate()
    acknowledged += remaining.split()
    assert child.returncode == -signal.SIGKILL

    storage = make_plugin(tmp_path).open("durable")
    for key in acknowledged:
        assert storage.get(key) == {"i": int(key[1:]), "pad": "x" * 200}
    storage.close()


def test_two_processes_write_the_same_file(tmp_path: Path) -> None:
    code = """
        import sys, types
        from errbot.storage.loader import load_storage_plugin
        config = types.SimpleNamespace(STORAGE="SQLite", BOT_DATA_DIR=sys.argv[1])
        storage = load_storage_plugin(config).open("shared")
        storage.set("ready-" + sys.argv[2], True)
        print("ready", flush=True)
        sys.stdin.readline()  # both start writing at once
        for i in range(300):
            storage.set(f"{sys.argv[2]}-{i}", i)
        storage.close()
        print("done", flush=True)
    """
    children = [run_python(code, str(tmp_path), name, stdin=subprocess.PIPE) for name in "ab"]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        out, _ = child.communicate()
        assert child.returncode == 0
        assert out.strip() == "done"

    storage = make_plugin(tmp_path).open("shared")
    for name in "ab":
        for i in range(300):
            assert storage.get(f"{name}-{i}") == i
    assert storage.len() == 602
    storage.close()


def test_reader_process_sees_writes_of_a_running_writer(tmp_path: Path) -> None:
    # The CLI --storage-get tool reads while the bot runs: an open writer must not lock it out.
    storage = make_plugin(tmp_path).open("live")
    storage.set("k", "from the bot")
    reader = run_python(
        """
        import sys, types
        from errbot.storage.loader import load_storage_plugin
        config = types.SimpleNamespace(STORAGE="SQLite", BOT_DATA_DIR=sys.argv[1])
        storage = load_storage_plugin(config).open("live")
        print(storage.get("k"))
        storage.set("k2", "from the cli")
        storage.close()
        """,
        str(tmp_path),
    )
    out, _ = reader.communicate()
    assert reader.returncode == 0
    assert out.strip() == "from the bot"
    assert storage.get("k2") == "from the cli"
    storage.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_uses_its_own_connections(tmp_path: Path) -> None:
    storage = make_plugin(tmp_path).open("ns")
    storage.set("before", 1)  # leaves a pooled connection behind for the child to inherit
    pid = os.fork()
    if pid == 0:  # child: any exception must end the child, never return into pytest
        status = 1
        try:
            storage.set("from-child", storage.get("before") + 1)
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert storage.get("from-child") == 2
    storage.close()


def test_threads_on_separate_keys(store: Any) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(50):
                store.set(f"{n}-{i}", i)
                assert store.get(f"{n}-{i}") == i
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.len() == 300


# -- synchronous: NORMAL by default, FULL on demand -------------------------------------------


def _synchronous_of_a_pooled_connection(storage: Any) -> int:
    database = storage._database
    conn = database.idle.pop() if database.idle else database.connect()
    try:
        level: int = conn.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        database.release(conn)
    return level


@pytest.mark.parametrize(
    ("setting", "level"),
    [(None, 1), ("NORMAL", 1), ("normal", 1), ("FULL", 2), ("EXTRA", 3)],
)
def test_synchronous_setting(tmp_path: Path, setting: str | None, level: int) -> None:
    config = {} if setting is None else {"synchronous": setting}
    storage = make_plugin(tmp_path, **config).open("ns")
    storage.set("k", 1)
    assert _synchronous_of_a_pooled_connection(storage) == level  # 1 NORMAL, 2 FULL, 3 EXTRA
    storage.close()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"synchronous": "OFF"}, "synchronous'] is 'OFF'; use 'NORMAL'"),
        ({"busy_timeout": "soon"}, "busy_timeout'] is 'soon'; give a number"),
        ({"serializer": "yaml"}, "serializer'] is 'yaml'; use 'pickle'"),
    ],
)
def test_wrong_settings_are_refused_with_one_message(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(StoreException, match=re.escape(message)):
        make_plugin(tmp_path, **config)


def test_new_files_use_a_table_without_rowid(store: Any, tmp_path: Path) -> None:
    store.set("k", 1)
    conn = sqlite3.connect(tmp_path / FILENAME)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'store'").fetchone()[0]
    assert "WITHOUT ROWID" in sql
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()


def test_files_of_the_first_layout_still_work(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / FILENAME)
    conn.execute(
        "CREATE TABLE store (namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
        "PRIMARY KEY (namespace, key))"
    )
    conn.execute("INSERT INTO store VALUES ('ns', 'old', ?)", (pickle.dumps([1, 2]),))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    storage = make_plugin(tmp_path).open("ns")
    assert storage.get("old") == [1, 2]
    storage.set("new", 3)
    assert storage.keys() == ["new", "old"]
    storage.close()


# -- damaged files ----------------------------------------------------------------------------


def _filled_file(tmp_path: Path) -> Path:
    storage = make_plugin(tmp_path).open("ns")
    for i in range(2000):
        storage.set(f"k{i}", {"i": i, "pad": "x" * 100})
    storage.close()
    return tmp_path / FILENAME


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


DAMAGES = {
    "garbage": lambda path: path.write_bytes(os.urandom(path.stat().st_size)),
    "text": lambda path: path.write_text("not a database\n" * 100),
    "truncated": lambda path: os.truncate(path, path.stat().st_size // 2),
    "garbage-inside": lambda path: _overwrite(path, path.stat().st_size // 2, b"\x5a" * 8192),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_file_is_refused_and_left_untouched(tmp_path: Path, damage: str) -> None:
    path = _filled_file(tmp_path)
    DAMAGES[damage](path)
    before = path.read_bytes()
    with pytest.raises(StoreException) as caught:
        make_plugin(tmp_path).open("ns")
    message = str(caught.value)
    assert str(path) in message
    assert "damaged" in message
    assert ".recover" in message and "restore it from a backup" in message
    assert path.read_bytes() == before  # never emptied, never rewritten
    # Still refused on the next try: the first attempt did not "repair" it into an empty store.
    with pytest.raises(StoreException):
        make_plugin(tmp_path).open("ns")


def test_check_on_open_can_be_skipped(tmp_path: Path) -> None:
    path = _filled_file(tmp_path)
    _overwrite(path, path.stat().st_size // 2, b"\x5a" * 8192)
    # The header is intact: without the check the file opens, and SQLite reports the damage
    # when a damaged page is read.
    storage = make_plugin(tmp_path, check_on_open=False).open("ns")
    with pytest.raises(sqlite3.DatabaseError):
        for i in range(2000):
            storage.get(f"k{i}")
    storage.close()


def test_unwritable_directory_gives_one_message(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreException, match="cannot open"):
        make_plugin(tmp_path, basedir=str(blocker / "sub")).open("ns")


# -- values ---------------------------------------------------------------------------------


def test_unpicklable_value_names_key_and_type_and_changes_nothing(store: Any) -> None:
    store.set("k", "before")
    with pytest.raises(UnstorableValueError) as caught:
        store.set("k", {"lock": threading.Lock()})
    message = str(caught.value)
    assert "'k'" in message and "'ns'" in message and "dict" in message
    assert "cannot be pickled" in message
    assert isinstance(caught.value, TypeError)
    assert store.get("k") == "before"
    with pytest.raises(UnstorableValueError, match="function"):
        store.set("new", lambda: None)
    assert store.keys() == ["k"]


def test_json_mode_stores_text_other_programs_can_read(tmp_path: Path) -> None:
    storage = make_plugin(tmp_path, serializer="json").open("shared")
    storage.set("k", {"name": "é", "n": [1, 2.5, True, None]})
    assert storage.get("k") == {"name": "é", "n": [1, 2.5, True, None]}
    conn = sqlite3.connect(tmp_path / FILENAME)
    kind, text = conn.execute(
        "SELECT typeof(value), value FROM store WHERE namespace = 'shared'"
    ).fetchone()
    assert kind == "text"
    assert json.loads(text) == {"name": "é", "n": [1, 2.5, True, None]}
    # and JSON the other program writes is read back
    conn.execute("UPDATE store SET value = ? WHERE key = 'k'", ('{"from": "elsewhere"}',))
    conn.commit()
    conn.close()
    assert storage.get("k") == {"from": "elsewhere"}
    storage.close()


def test_json_mode_never_unpickles(tmp_path: Path) -> None:
    pickled = make_plugin(tmp_path).open("ns")
    pickled.set("k", {"a": 1})
    pickled.close()
    storage = make_plugin(tmp_path, serializer="json").open("ns")
    with pytest.raises(StoreException, match="holds a pickled value, which JSON mode never"):
        storage.get("k")
    storage.close()


def test_pickle_mode_reads_what_json_mode_wrote(tmp_path: Path) -> None:
    storage = make_plugin(tmp_path, serializer="json").open("ns")
    storage.set("k", [1, "two"])
    storage.close()
    storage = make_plugin(tmp_path).open("ns")
    assert storage.get("k") == [1, "two"]
    storage.close()


def test_namespaces_lists_those_holding_keys(tmp_path: Path) -> None:
    plugin = make_plugin(tmp_path)
    assert plugin.namespaces() == []
    first, second, empty = plugin.open("b"), plugin.open("a"), plugin.open("c")
    first.set("k", 1)
    second.set("k", 1)
    assert plugin.namespaces() == ["a", "b"]
    for storage in (first, second, empty):
        storage.close()


def test_background_checkpoints_finish_before_the_file_is_released(tmp_path: Path) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to count open files")
    storage = make_plugin(tmp_path).open("ns")
    for i in range(1200):  # several background checkpoints
        storage.set(f"k{i}", i)
    storage.close()
    # Nothing of this process touches the file any more: no connection, no WAL left behind.
    assert open_files_to(tmp_path / FILENAME) == 0
    assert not (tmp_path / (FILENAME + "-wal")).exists()
    conn = sqlite3.connect(tmp_path / FILENAME)
    assert conn.execute("SELECT COUNT(*) FROM store").fetchone()[0] == 1200
    conn.close()


def test_processes_creating_the_same_new_file_at_once_all_open_it(tmp_path: Path) -> None:
    # Switching a new file to WAL answers "database is locked" at once (no busy handler) when
    # another process does the same: opening must wait for it, not call the file damaged.
    code = """
        import sys, time, types
        from errbot.storage.loader import load_storage_plugin
        start = float(sys.argv[3])
        while time.time() < start:
            pass
        config = types.SimpleNamespace(STORAGE="SQLite", BOT_DATA_DIR=sys.argv[1])
        storage = load_storage_plugin(config).open("race")
        storage.set(sys.argv[2], True)
        storage.close()
        print("opened", flush=True)
    """
    for attempt in range(8):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        start = time.time() + 0.6  # every child is imported and spinning by then
        children = [
            run_python(code, str(folder), f"p{n}", repr(start), stderr=subprocess.PIPE)
            for n in range(4)
        ]
        for child in children:
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
            assert out.strip() == "opened"
        storage = make_plugin(folder).open("race")
        assert sorted(storage.keys()) == ["p0", "p1", "p2", "p3"]
        storage.close()
