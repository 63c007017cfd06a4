"""Finding the storage plugin named by STORAGE: built-ins, extra dirs, entry points, errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import errbot.storage
from errbot.storage import StoragePluginNotFound, StoreException
from errbot.storage.loader import BUILTIN_DIR, load_storage_plugin
from errbot.storage.memory import MemoryStoragePlugin
from errbot.storage.sqlite import SQLiteStoragePlugin

REPO_ROOT = Path(errbot.storage.__file__).resolve().parents[2]
# Prefixes of the modules the tests below write; cleaned from sys.modules after each test.
THIRD_PARTY_MODULES = ("dictstore", "ep_store", "fake_memory", "empty_store")

PLUGIN_SOURCE = """
from typing import Any

from errbot.storage.base import StorageBase, StoragePluginBase
from {helper} import PREFIX


class DictStorage(StorageBase):
    def __init__(self, data: dict) -> None:
        self.data = data

    def get(self, key: str) -> Any:
        return self.data[PREFIX + key]

    def set(self, key: str, value: Any) -> None:
        self.data[PREFIX + key] = value

    def remove(self, key: str) -> None:
        del self.data[PREFIX + key]

    def len(self) -> int:
        return len(self.data)

    def keys(self):
        return [k[len(PREFIX):] for k in self.data]

    def close(self) -> None:
        pass


class {cls}(StoragePluginBase):
    def __init__(self, bot_config) -> None:
        super().__init__(bot_config)
        self.bot_config = bot_config
        self.data: dict = {{}}

    def open(self, namespace: str) -> StorageBase:
        return DictStorage(self.data)
"""


def write_plugin(directory: Path, name: str, module: str, cls: str = "DictStoragePlugin") -> Path:
    """A small third-party storage plugin that imports a sibling module of its own."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{module}.plug").write_text(
        f"[Core]\nName = {name}\nModule = {module}\n\n"
        "[Documentation]\nDescription = A test storage plugin.\n"
    )
    helper = f"{module}_helper"
    (directory / f"{helper}.py").write_text('PREFIX = "p:"\n')
    (directory / f"{module}.py").write_text(PLUGIN_SOURCE.format(helper=helper, cls=cls))
    return directory


@pytest.fixture(autouse=True)
def restore_import_state() -> Iterator[None]:
    """Loading a third-party plugin extends sys.path and sys.modules; undo it per test."""
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        if name.rpartition(".")[2].startswith(THIRD_PARTY_MODULES):
            del sys.modules[name]


def config(**settings: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**settings)


def test_builtins_are_found(tmp_path: Path) -> None:
    assert isinstance(load_storage_plugin(config(STORAGE="Memory")), MemoryStoragePlugin)
    sqlite = load_storage_plugin(config(STORAGE="SQLite", BOT_DATA_DIR=str(tmp_path)))
    assert isinstance(sqlite, SQLiteStoragePlugin)


def test_default_is_sqlite(tmp_path: Path) -> None:
    plugin = load_storage_plugin(config(BOT_DATA_DIR=str(tmp_path)))
    assert isinstance(plugin, SQLiteStoragePlugin)


def test_builtin_descriptors_exist() -> None:
    assert (BUILTIN_DIR / "memory.plug").is_file()
    assert (BUILTIN_DIR / "sqlite.plug").is_file()


def test_plugin_from_extra_dir(tmp_path: Path) -> None:
    extra = write_plugin(tmp_path / "extra" / "mystore", "DictStore", "dictstore_a")
    cfg = config(STORAGE="DictStore", BOT_EXTRA_STORAGE_PLUGINS_DIR=str(tmp_path / "extra"))
    plugin = load_storage_plugin(cfg)
    assert type(plugin).__name__ == "DictStoragePlugin"
    assert type(plugin).__module__ == "errbot.storage.dictstore_a"
    assert plugin.bot_config is cfg  # type: ignore[attr-defined]
    storage = plugin.open("ns")
    storage.set("k", 1)
    assert storage.get("k") == 1
    assert plugin.data == {"p:k": 1}  # type: ignore[attr-defined]
    assert str(extra) in sys.path


def test_extra_dir_may_be_a_list(tmp_path: Path) -> None:
    write_plugin(tmp_path / "second", "ListedStore", "dictstore_b")
    cfg = config(
        STORAGE="ListedStore",
        BOT_EXTRA_STORAGE_PLUGINS_DIR=[str(tmp_path / "first"), tmp_path / "second"],
    )
    assert type(load_storage_plugin(cfg)).__module__ == "errbot.storage.dictstore_b"


def test_builtin_wins_over_extra_dir_with_the_same_name(tmp_path: Path) -> None:
    write_plugin(tmp_path / "extra", "Memory", "fake_memory")
    cfg = config(STORAGE="Memory", BOT_EXTRA_STORAGE_PLUGINS_DIR=str(tmp_path / "extra"))
    assert isinstance(load_storage_plugin(cfg), MemoryStoragePlugin)


def test_broken_descriptors_are_skipped(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    (extra / "broken").mkdir(parents=True)
    (extra / "broken" / "broken.plug").write_text("this is not an ini file\n")
    write_plugin(extra / "good", "GoodStore", "dictstore_c")
    cfg = config(STORAGE="GoodStore", BOT_EXTRA_STORAGE_PLUGINS_DIR=str(extra))
    assert type(load_storage_plugin(cfg)).__module__ == "errbot.storage.dictstore_c"


@pytest.mark.parametrize("group", ["errbot.storage_plugins", "errbot.backend_plugins"])
def test_plugin_from_entry_point_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, group: str
) -> None:
    site = tmp_path / "site"
    package = f"ep_store_{group.split('.')[1]}"
    write_plugin(site / package, "EntryPointStore", f"{package}_mod")
    (site / package / "__init__.py").write_text("")
    dist_info = site / f"{package}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[{group}]\nstore = {package}\n")
    monkeypatch.syspath_prepend(str(site))
    plugin = load_storage_plugin(config(STORAGE="EntryPointStore"))
    assert type(plugin).__module__ == f"errbot.storage.{package}_mod"


def test_unknown_name_lists_where_it_looked(tmp_path: Path) -> None:
    extra_a, extra_b = tmp_path / "a", tmp_path / "b"
    cfg = config(STORAGE="Nowhere", BOT_EXTRA_STORAGE_PLUGINS_DIR=[str(extra_a), str(extra_b)])
    with pytest.raises(StoragePluginNotFound) as caught:
        load_storage_plugin(cfg)
    message = str(caught.value)
    assert message.startswith(
        f'Could not find the storage plugin named "Nowhere" in {BUILTIN_DIR}, {extra_a}, {extra_b}'
    )
    assert message.endswith(".")
    assert isinstance(caught.value, StoreException)


def test_module_without_a_storage_plugin_class(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "empty.plug").write_text("[Core]\nName = Empty\nModule = empty_store\n")
    (extra / "empty_store.py").write_text("class NotAPlugin:\n    pass\n")
    cfg = config(STORAGE="Empty", BOT_EXTRA_STORAGE_PLUGINS_DIR=str(extra))
    with pytest.raises(StoreException, match="defines no subclass of"):
        load_storage_plugin(cfg)


def test_memory_choice_imports_neither_sqlite_nor_entry_points() -> None:
    code = textwrap.dedent(
        """
        import sys, types
        from errbot.storage.loader import load_storage_plugin
        load_storage_plugin(types.SimpleNamespace(STORAGE="Memory"))
        loaded = {"sqlite3", "errbot.storage.sqlite", "importlib.metadata"} & set(sys.modules)
        print(sorted(loaded))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# -- the built-in durable storages ------------------------------------------------------------


def test_every_builtin_storage_is_found_by_name(tmp_path: Path) -> None:
    from errbot.storage.redis_store import RedisStoragePlugin
    from errbot.storage.shelf import ShelfStoragePlugin
    from errbot.storage.sql_store import SQLStoragePlugin

    found = {
        "Shelf": load_storage_plugin(config(STORAGE="Shelf", BOT_DATA_DIR=str(tmp_path))),
        "Redis": load_storage_plugin(config(STORAGE="Redis")),  # connects only on open()
        "SQL": load_storage_plugin(
            config(STORAGE="SQL", STORAGE_CONFIG={"data_url": f"sqlite:///{tmp_path}/x.db"})
        ),
    }
    assert isinstance(found["Shelf"], ShelfStoragePlugin)
    assert isinstance(found["Redis"], RedisStoragePlugin)
    assert isinstance(found["SQL"], SQLStoragePlugin)
    for name in ("shelf", "redis", "sql"):
        assert (BUILTIN_DIR / f"{name}.plug").is_file()


def test_sqlite_start_up_imports_no_client_library(tmp_path: Path) -> None:
    probe = textwrap.dedent(
        """
        import sys, types
        from errbot.storage.loader import load_storage_plugin
        load_storage_plugin(types.SimpleNamespace(BOT_DATA_DIR=sys.argv[1])).open("ns").set("k", 1)
        print(sorted(m for m in ("redis", "sqlalchemy", "psycopg", "pymysql") if m in sys.modules))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)],
        capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("storage", "module", "extra"),
    [("Redis", "redis", "errbot[redis]"), ("SQL", "sqlalchemy", "errbot[sql]")],
)
def test_a_missing_extra_is_named(
    monkeypatch: pytest.MonkeyPatch, storage: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(StoreException, match=re.escape(f"pip install '{extra}'")):
        load_storage_plugin(config(STORAGE=storage, STORAGE_CONFIG={"data_url": "sqlite://"}))
