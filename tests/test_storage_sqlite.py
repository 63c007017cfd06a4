"""The SQLite storage: file layout, durability across kills, several processes, threads."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import errbot.storage
from errbot.storage import StoreException
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


def test_len_and_keys(store: Any) -> None:
    assert store.len() == 0
    assert list(store.keys()) == []
    store.set("b", 1)
    store.set("a", 2)
    store.set("b", 3)
    assert store.len() == 2
    assert list(store.keys()) == ["b", "a"]


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
