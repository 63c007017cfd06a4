"""The Shelf storage: Errbot's files, read and written crash-safely.

Errbot data directories are produced by Errbot 6.2.1 itself when its virtualenv exists
(``ERRBOT_REFERENCE_PYTHON``, else ``.errbot-6.2.1/`` made by ``.ci/run``, else
/root/venvs/errbot-6.2.1), otherwise with the
standard `shelve` module laid out as Errbot's Shelf plugin does (``<basedir>/<namespace>.db``,
pickle protocol 2).
"""

from __future__ import annotations

import datetime
import dbm
import dbm.dumb
import importlib
import os
import shelve
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import errbot.storage
import errbot.storage.shelf as shelf_module
from errbot.storage import StoreException, UnstorableValueError
from errbot.storage.shelf import ShelfStoragePlugin

REPO_ROOT = Path(errbot.storage.__file__).resolve().parents[2]


def _reference_python() -> Path:
    """Errbot 6.2.1's interpreter: $ERRBOT_REFERENCE_PYTHON, .errbot-6.2.1/ (made by .ci/run),
    or the benchmarks' /root/venvs/errbot-6.2.1."""
    if os.environ.get("ERRBOT_REFERENCE_PYTHON"):
        return Path(os.environ["ERRBOT_REFERENCE_PYTHON"])
    for candidate in (
        REPO_ROOT / ".errbot-6.2.1" / "bin" / "python",
        Path("/root/venvs/errbot-6.2.1/bin/python"),
    ):
        if candidate.exists():
            return candidate
    return REPO_ROOT / ".errbot-6.2.1" / "bin" / "python"


REFERENCE_PYTHON = _reference_python()
# Under CI the comparison with Errbot's own files must run, never be skipped.
REFERENCE_MISSING = not REFERENCE_PYTHON.exists() and os.environ.get("CI", "").lower() != "true"

# What an Errbot bot typically has stored: core settings, repos, one plugin's data.
ERRBOT_DATA: dict[str, dict[str, Any]] = {
    "core": {"configs": {"Weather": {"API_KEY": "k"}}, "bl_plugins": ["Flows"]},
    "repomgr": {"installed_repos": {"errbotio/err-helloworld": "https://example.org/x.git"}},
    "Weather": {
        "cities": ["Paris", "Zürich"],
        "last": datetime.datetime(2024, 5, 1, 12, 30),
        "counts": {"a": 1, "b": (2, 3)},
        "big": "x" * 5000,
        'quote\'s "key" é': {1, 2},
    },
}


def make_plugin(data_dir: Path, **storage_config: Any) -> ShelfStoragePlugin:
    config = types.SimpleNamespace(BOT_DATA_DIR=str(data_dir), STORAGE_CONFIG=storage_config)
    return ShelfStoragePlugin(config)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    storage = make_plugin(tmp_path).open("ns")
    yield storage
    storage.close()


def write_errbot_data_dir(data_dir: Path, data: dict[str, dict[str, Any]]) -> str:
    """Write ``data`` as Errbot's Shelf plugin would; returns who wrote it."""
    if REFERENCE_PYTHON.exists():
        script = """
            import pickle, sys, types
            from errbot.storage.shelf import ShelfStoragePlugin
            data = pickle.loads(sys.stdin.buffer.read())
            plugin = ShelfStoragePlugin(types.SimpleNamespace(BOT_DATA_DIR=sys.argv[1]))
            for namespace, values in data.items():
                storage = plugin.open(namespace)
                for key, value in values.items():
                    storage.set(key, value)
                storage.close()
        """
        import pickle

        subprocess.run(
            [str(REFERENCE_PYTHON), "-c", textwrap.dedent(script), str(data_dir)],
            input=pickle.dumps(data, protocol=2),
            check=True,
            cwd=data_dir,
        )
        return "errbot-6.2.1"
    for namespace, values in data.items():
        with shelve.DbfilenameShelf(str(data_dir / f"{namespace}.db"), protocol=2) as db:
            db.update(values)
    return "shelve"


def read_with_shelve(path: Path) -> dict[str, Any]:
    """What the standard library (and so Errbot) reads from a dbm.dumb shelf."""
    with shelve.Shelf(dbm.dumb.open(str(path), "r")) as db:
        return dict(db.items())


# -- Errbot's format --------------------------------------------------------------------------


def test_opens_an_errbot_data_dir(tmp_path: Path) -> None:
    writer = write_errbot_data_dir(tmp_path, ERRBOT_DATA)
    assert writer == ("errbot-6.2.1" if REFERENCE_PYTHON.exists() else "shelve")
    plugin = make_plugin(tmp_path)
    assert plugin.namespaces() == sorted(ERRBOT_DATA)
    for namespace, values in ERRBOT_DATA.items():
        storage = plugin.open(namespace)
        assert storage.len() == len(values)
        assert sorted(storage.keys()) == sorted(values)
        for key, value in values.items():
            assert storage.get(key) == value
        storage.close()


def test_what_it_writes_is_errbots_format(tmp_path: Path) -> None:
    storage = make_plugin(tmp_path).open("Weather")
    for key, value in ERRBOT_DATA["Weather"].items():
        storage.set(key, value)
    storage.set("cities", ["Lyon"])  # an overwrite
    storage.set("big", "y" * 9000)  # grows beyond its blocks
    storage.remove("counts")
    storage.close()
    expected = dict(ERRBOT_DATA["Weather"], cities=["Lyon"], big="y" * 9000)
    del expected["counts"]
    assert dbm.whichdb(str(tmp_path / "Weather.db")) == "dbm.dumb"
    assert read_with_shelve(tmp_path / "Weather.db") == expected
    raw = (tmp_path / "Weather.db.dat").read_bytes()
    pos, size = _index_entries(tmp_path / "Weather.db")["cities"]
    assert raw[pos : pos + 2] == b"\x80\x02"  # pickle protocol 2, as Errbot writes


def _index_entries(path: Path) -> dict[str, tuple[int, int]]:
    entries: dict[str, tuple[int, int]] = {}
    for line in Path(f"{path}.dir").read_text(encoding="latin-1").splitlines():
        key, (pos, size) = eval(line)  # noqa: S307 - dbm.dumb's own format, test data
        entries[key.encode("latin-1").decode("utf-8")] = (pos, size)
    return entries


@pytest.mark.skipif(REFERENCE_MISSING, reason="Errbot 6.2.1 is not installed")
def test_errbot_reads_what_it_writes(tmp_path: Path) -> None:
    storage = make_plugin(tmp_path).open("Weather")
    for key, value in ERRBOT_DATA["Weather"].items():
        storage.set(key, value)
    storage.set("cities", ["Lyon", "Nice"] * 300)
    storage.remove("big")
    storage.close()
    script = """
        import pickle, sys, types
        from errbot.storage.shelf import ShelfStoragePlugin
        plugin = ShelfStoragePlugin(types.SimpleNamespace(BOT_DATA_DIR=sys.argv[1]))
        storage = plugin.open("Weather")
        sys.stdout.buffer.write(pickle.dumps({k: storage.get(k) for k in storage.keys()}))
        storage.close()
    """
    import pickle

    out = subprocess.run(
        [str(REFERENCE_PYTHON), "-c", textwrap.dedent(script), str(tmp_path)],
        capture_output=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    expected = dict(ERRBOT_DATA["Weather"], cities=["Lyon", "Nice"] * 300)
    del expected["big"]
    assert pickle.loads(out) == expected


def test_old_errbot3_location_is_moved(tmp_path: Path) -> None:
    old_dir = tmp_path / "plugins"
    old_dir.mkdir()
    with shelve.DbfilenameShelf(str(old_dir / "Old.db"), protocol=2) as db:
        db["k"] = "v"
    storage = make_plugin(tmp_path).open("Old")
    assert storage.get("k") == "v"
    storage.close()
    assert (tmp_path / "Old.db.dat").exists()
    assert not (old_dir / "Old.db.dat").exists()


def test_basedir_from_storage_config(tmp_path: Path) -> None:
    storage = make_plugin(tmp_path / "data", basedir=str(tmp_path / "shelves")).open("ns")
    storage.set("k", 1)
    storage.close()
    assert read_with_shelve(tmp_path / "shelves" / "ns.db") == {"k": 1}


# -- the storage contract -----------------------------------------------------------------------


def test_key_error_semantics_and_order(store: Any) -> None:
    with pytest.raises(KeyError):
        store.get("missing")
    with pytest.raises(KeyError):
        store.remove("missing")
    for key in ("b", "a", "c"):
        store.set(key, key)
    store.set("b", "again")
    assert store.keys() == ["b", "a", "c"]  # first-insertion order, as a dict (and dbm.dumb)
    store.remove("a")
    assert store.keys() == ["b", "c"]
    assert store.len() == 2


def test_two_plugin_instances_share_one_open_file(tmp_path: Path) -> None:
    first = make_plugin(tmp_path).open("ns")
    second = make_plugin(tmp_path).open("ns")  # same process: no flock conflict
    first.set("k", 1)
    assert second.get("k") == 1
    second.remove("k")
    with pytest.raises(KeyError):
        first.get("k")
    first.close()
    second.set("k", 2)
    second.close()
    assert read_with_shelve(tmp_path / "ns.db") == {"k": 2}


def test_another_process_is_refused_while_open(store: Any, tmp_path: Path) -> None:
    store.set("k", 1)
    script = """
        import sys, types
        from errbot.storage.shelf import ShelfStoragePlugin
        plugin = ShelfStoragePlugin(types.SimpleNamespace(BOT_DATA_DIR=sys.argv[1]))
        try:
            plugin.open("ns")
        except Exception as exc:
            print(exc)
    """
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "another process is using it" in out
    assert str(tmp_path / "ns.db") in out


def test_values_are_copies(store: Any) -> None:
    value = {"list": [1]}
    store.set("k", value)
    value["list"].append(2)
    assert store.get("k") == {"list": [1]}
    store.get("k")["list"].append(3)
    assert store.get("k") == {"list": [1]}


def test_unpicklable_value_names_key_and_type(store: Any, tmp_path: Path) -> None:
    store.set("k", "before")
    with pytest.raises(UnstorableValueError, match=r"'k'.*'ns'.*generator"):
        store.set("k", (i for i in range(3)))
    assert store.get("k") == "before"
    assert read_with_shelve(tmp_path / "ns.db") == {"k": "before"}


def test_synchronous_full_works(tmp_path: Path) -> None:
    storage = make_plugin(tmp_path, synchronous="FULL").open("ns")
    storage.set("k", 1)
    storage.set("k", "x" * 2000)
    storage.remove("k")
    storage.set("j", 2)
    storage.close()
    assert read_with_shelve(tmp_path / "ns.db") == {"j": 2}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"serializer": "json"}, "pickled values only"),
        ({"synchronous": "OFF"}, "synchronous'] is 'OFF'"),
    ],
)
def test_wrong_settings_are_refused(tmp_path: Path, config: dict[str, Any], message: str) -> None:
    with pytest.raises(StoreException, match=message):
        make_plugin(tmp_path, **config)


def test_needs_a_directory() -> None:
    with pytest.raises(StoreException, match="BOT_DATA_DIR"):
        ShelfStoragePlugin(types.SimpleNamespace())


@pytest.mark.parametrize("namespace", ["", "..", "a/b", "a\\b"])
def test_namespaces_that_are_not_file_names_are_refused(tmp_path: Path, namespace: str) -> None:
    with pytest.raises(StoreException, match="plain file name"):
        make_plugin(tmp_path).open(namespace)


# -- space and the index --------------------------------------------------------------------------


def test_overwrites_reuse_space(store: Any, tmp_path: Path) -> None:
    for round_ in range(300):
        store.set("counter", {"n": round_, "pad": "x" * 700})  # 2 blocks each time
        store.set("other", round_)
    dat = (tmp_path / "ns.db.dat").stat().st_size
    assert dat <= 8 * 512  # not 600 values appended one after the other
    assert store.get("counter")["n"] == 299


def test_index_is_compacted(store: Any, tmp_path: Path) -> None:
    for i in range(2500):
        store.set("k", i)
    lines = (tmp_path / "ns.db.dir").read_text(encoding="latin-1").count("\n")
    assert lines <= shelf_module._MAX_STALE_LINES + 1
    assert store.get("k") == 2499


def test_a_torn_last_index_line_is_dropped(tmp_path: Path) -> None:
    storage = make_plugin(tmp_path).open("ns")
    storage.set("a", 1)
    storage.set("b", 2)
    storage.close()
    with open(tmp_path / "ns.db.dir", "a", encoding="latin-1") as handle:
        handle.write("'c', (51")  # a crash in the middle of appending an index line
    storage = make_plugin(tmp_path).open("ns")
    assert storage.keys() == ["a", "b"]
    storage.set("c", 3)
    storage.close()
    assert read_with_shelve(tmp_path / "ns.db") == {"a": 1, "b": 2, "c": 3}


def test_a_damaged_index_line_is_refused(tmp_path: Path) -> None:
    storage = make_plugin(tmp_path).open("ns")
    storage.set("a", 1)
    storage.set("b", 2)
    storage.close()
    index = tmp_path / "ns.db.dir"
    index.write_text("garbage here\n" + index.read_text(encoding="latin-1"), encoding="latin-1")
    before = index.read_bytes()
    with pytest.raises(StoreException, match=r"ns\.db\.dir is damaged: line 1"):
        make_plugin(tmp_path).open("ns")
    assert index.read_bytes() == before


def test_an_index_pointing_past_the_data_is_refused(tmp_path: Path) -> None:
    storage = make_plugin(tmp_path).open("ns")
    storage.set("a", "x" * 3000)
    storage.close()
    os.truncate(tmp_path / "ns.db.dat", 100)
    with pytest.raises(StoreException, match="points past the end"):
        make_plugin(tmp_path).open("ns")


def test_data_without_its_index_is_refused(tmp_path: Path) -> None:
    with shelve.DbfilenameShelf(str(tmp_path / "ns.db"), protocol=2) as db:
        db["k"] = "v"
    (tmp_path / "ns.db.dir").rename(tmp_path / "ns.db.bak")
    with pytest.raises(StoreException, match=r"index ns\.db\.dir is missing.*rename it"):
        make_plugin(tmp_path).open("ns")
    assert not (tmp_path / "ns.db.dir").exists()


def test_gnu_dbm_file_without_gdbm_is_refused_clearly(tmp_path: Path) -> None:
    # The magic number GNU dbm files start with; this Python may or may not have the module.
    (tmp_path / "ns.db").write_bytes(b"\xce\x9a\x57\x13" + b"\0" * 60)
    assert dbm.whichdb(str(tmp_path / "ns.db")) == "dbm.gnu"
    try:
        importlib.import_module("dbm.gnu")
    except ImportError:
        with pytest.raises(StoreException, match="dbm.gnu database and this Python has no"):
            make_plugin(tmp_path).open("ns")
    else:  # pragma: no cover - a Python with gdbm: the (fake) file fails to open instead
        with pytest.raises(Exception):  # noqa: B017
            make_plugin(tmp_path).open("ns")


def test_a_file_that_is_not_a_dbm_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ns.db").write_text("SQLite format 3? no, just text")
    with pytest.raises(StoreException, match="not a shelve/dbm database"):
        make_plugin(tmp_path).open("ns")


def test_dbm_module_files_are_synced_after_each_write(tmp_path: Path) -> None:
    # The gdbm/ndbm path, exercised through a dbm module this Python has.
    (tmp_path / "ns.db.dat").touch()
    (tmp_path / "ns.db.dir").touch()
    file = shelf_module._DbmFile(tmp_path / "ns.db", dbm.dumb)
    file.set("k", b"\x80\x02K\x01.")
    # dbm.dumb keeps new values' index lines on disk; sync() also saves overwrites.
    file.set("k", b"\x80\x02K\x02.")
    assert read_with_shelve(tmp_path / "ns.db") == {"k": 2}
    file.remove("k")
    with pytest.raises(KeyError):
        file.remove("k")
    assert file.keys() == [] and file.count() == 0
    file.close()


def test_namespaces_skip_empty_and_foreign_files(tmp_path: Path) -> None:
    plugin = make_plugin(tmp_path)
    full, empty = plugin.open("full"), plugin.open("empty")
    full.set("k", 1)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "storage.sqlite3").write_bytes(b"SQLite format 3\0")
    assert plugin.namespaces() == ["full"]
    full.close()
    empty.close()


def test_fork_child_cannot_write_the_parents_files(tmp_path: Path) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    storage = make_plugin(tmp_path).open("ns")
    storage.set("k", 1)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report and leave, never return into pytest
        try:
            try:
                storage.set("k", 2)
                message = "written"
            except StoreException as exc:
                message = str(exc)
            os.write(write_end, message.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    message = os.read(read_end, 1000).decode()
    os.close(read_end)
    assert "forked child" in message
    assert storage.get("k") == 1
    storage.close()


def test_random_operations_match_a_dict_and_stay_readable_by_shelve(tmp_path: Path) -> None:
    import random

    rng = random.Random(1234)
    model: dict[str, Any] = {}
    plugin = make_plugin(tmp_path)
    storage = plugin.open("ns")
    for step in range(3000):
        key = f"k{rng.randrange(150)}"
        if rng.random() < 0.15 and key in model:
            storage.remove(key)
            del model[key]
        else:
            value = {"step": step, "pad": "z" * rng.choice((0, 10, 400, 511, 512, 1500, 5000))}
            storage.set(key, value)
            model[key] = value
        if step % 700 == 699:  # reopen: the index is read back from disk
            storage.close()
            storage = plugin.open("ns")
    assert {key: storage.get(key) for key in storage.keys()} == model
    file = storage._file
    extents = sorted((pos, pos + size) for pos, size, _ in file._index.values())
    for (_, end), (start, _) in zip(extents, extents[1:], strict=False):
        assert end <= start  # no two values share space
    storage.close()
    assert read_with_shelve(tmp_path / "ns.db") == model
