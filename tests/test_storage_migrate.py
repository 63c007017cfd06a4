"""Migration between storages: `migrate()` and ``errbot --storage-migrate FROM TO``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_storage_services import Backend, backend
from test_storage_shelf import (
    ERRBOT_DATA,
    REFERENCE_MISSING,
    REFERENCE_PYTHON,
    write_errbot_data_dir,
)

import errbot.storage
from errbot.storage import StoreException
from errbot.storage.base import StorageBase, StoragePluginBase
from errbot.storage.memory import MemoryStorage, MemoryStoragePlugin
from errbot.storage.migrate import (
    MigrationError,
    MigrationReport,
    migrate,
    storage_config_for,
)
from errbot.storage.shelf import ShelfStoragePlugin
from errbot.storage.sqlite import SQLiteStoragePlugin

REPO_ROOT = Path(errbot.storage.__file__).resolve().parents[2]


def memory_with(data: dict[str, dict[str, Any]]) -> MemoryStoragePlugin:
    plugin = MemoryStoragePlugin(types.SimpleNamespace())
    for namespace, values in data.items():
        storage = plugin.open(namespace)
        for key, value in values.items():
            storage.set(key, value)
    return plugin


def contents(plugin: StoragePluginBase, namespace: str) -> dict[str, Any]:
    storage = plugin.open(namespace)
    try:
        return {key: storage.get(key) for key in storage.keys()}
    finally:
        storage.close()


def sqlite_in(directory: Path, **storage_config: Any) -> SQLiteStoragePlugin:
    config = types.SimpleNamespace(BOT_DATA_DIR=str(directory), STORAGE_CONFIG=storage_config)
    return SQLiteStoragePlugin(config)


# -- migrate() ---------------------------------------------------------------------------------


def test_copies_every_namespace_and_verifies(tmp_path: Path) -> None:
    source = memory_with(ERRBOT_DATA)
    target = sqlite_in(tmp_path)
    report = migrate(source, target)
    assert report.ok
    assert report.namespaces == {name: len(values) for name, values in sorted(ERRBOT_DATA.items())}
    assert report.keys == sum(len(values) for values in ERRBOT_DATA.values())
    for namespace, values in ERRBOT_DATA.items():
        assert contents(target, namespace) == values
        assert contents(source, namespace) == values  # the source is left as it was
    text = str(report)
    assert "core: 2 keys" in text
    assert "every value was read back and verified" in text


def test_only_the_namespaces_asked_for(tmp_path: Path) -> None:
    target = sqlite_in(tmp_path)
    report = migrate(memory_with(ERRBOT_DATA), target, ["Weather", "core", "Weather"])
    assert list(report.namespaces) == ["Weather", "core"]
    assert target.namespaces() == ["Weather", "core"]


def test_a_target_holding_data_is_refused_before_any_write(tmp_path: Path) -> None:
    target = sqlite_in(tmp_path)
    storage = target.open("core")
    storage.set("configs", {"mine": True})
    storage.close()
    with pytest.raises(MigrationError, match="already holds data in the namespace.*core"):
        migrate(memory_with(ERRBOT_DATA), target)
    assert target.namespaces() == ["core"]
    assert contents(target, "core") == {"configs": {"mine": True}}


def test_overwrite_makes_the_target_equal_to_the_source(tmp_path: Path) -> None:
    target = sqlite_in(tmp_path)
    storage = target.open("core")
    storage.set("configs", {"mine": True})
    storage.set("stale", 1)
    storage.close()
    report = migrate(memory_with(ERRBOT_DATA), target, overwrite=True)
    assert report.ok
    assert contents(target, "core") == ERRBOT_DATA["core"]


class _LossyStorage(MemoryStorage):
    """A broken target: drops one key and changes another (what verification must catch)."""

    def set(self, key: str, value: Any) -> None:
        if key == "bl_plugins":
            return
        super().set(key, "changed" if key == "cities" else value)


class _LossyPlugin(MemoryStoragePlugin):
    def open(self, namespace: str) -> MemoryStorage:
        return _LossyStorage(namespace, self._roots.setdefault(namespace, {}))


def test_verification_reports_every_difference() -> None:
    report = migrate(memory_with(ERRBOT_DATA), _LossyPlugin(types.SimpleNamespace()))
    assert not report.ok
    assert "core: the target holds 1 keys, the source 2" in report.mismatches
    assert "core: the key 'bl_plugins' is missing from the target" in report.mismatches
    assert "Weather: the value of 'cities' differs in the target" in report.mismatches
    assert "differs from the source in 3 place(s)" in str(report)


class _Unlisted(StoragePluginBase):
    def open(self, namespace: str) -> StorageBase:
        return MemoryStorage(namespace, {"k": 1})


def test_a_source_that_cannot_list_namespaces_needs_them_named(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="cannot list its namespaces"):
        migrate(_Unlisted(None), sqlite_in(tmp_path))
    report = migrate(_Unlisted(None), sqlite_in(tmp_path), ["ns"])
    assert report.ok and report.namespaces == {"ns": 1}


def test_values_without_equality_are_compared_by_content(tmp_path: Path) -> None:
    source = memory_with({"ns": {"obj": Opaque(3), "set": {3, 1, 2}}})
    report = migrate(source, sqlite_in(tmp_path))
    assert report.ok, report.mismatches


class Opaque:
    """No __eq__: two equal copies differ under ==."""

    def __init__(self, n: int) -> None:
        self.n = n


def test_report_str_for_one_key() -> None:
    report = MigrationReport("Shelf", "SQLite", {"ns": 1})
    assert "ns: 1 key\n" in str(report) + "\n"
    assert "Copied 1 key in 1 namespace from Shelf to SQLite" in str(report)


@pytest.fixture(params=["Shelf", "Redis", "SQL-postgresql", "SQL-mariadb"])
def durable_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with backend(request.param, tmp_path / "target") as ready:
        yield ready


def test_errbot_shelf_to_every_durable_storage(tmp_path: Path, durable_target: Backend) -> None:
    write_errbot_data_dir(tmp_path, ERRBOT_DATA)
    source = ShelfStoragePlugin(types.SimpleNamespace(BOT_DATA_DIR=str(tmp_path)))
    target = durable_target.plugin()
    report = migrate(source, target)
    assert report.ok, report.mismatches
    reopened = durable_target.plugin()
    assert reopened.namespaces() == sorted(ERRBOT_DATA)
    for namespace, values in ERRBOT_DATA.items():
        assert contents(reopened, namespace) == values


# -- which STORAGE_CONFIG each side gets --------------------------------------------------------


def test_storage_config_rules() -> None:
    config = types.SimpleNamespace(
        STORAGE="Shelf",
        STORAGE_CONFIG={
            "basedir": "/old",
            "engine_options": {"pool_size": 2},
            "SQL": {"data_url": "sqlite://"},
        },
    )
    # The configured storage gets the flat settings, without the per-plugin sub-dicts.
    assert storage_config_for(config, "Shelf") == {
        "basedir": "/old",
        "engine_options": {"pool_size": 2},
    }
    assert storage_config_for(config, "SQL") == {"data_url": "sqlite://"}  # its own sub-dict
    assert storage_config_for(config, "SQLite") == {}  # defaults: BOT_DATA_DIR
    assert storage_config_for(config, "SQL", {"data_url": "x"}) == {"data_url": "x"}


# -- errbot --storage-migrate ---------------------------------------------------------------------


def write_config(directory: Path, **settings: Any) -> Path:
    lines = [f"{name} = {value!r}" for name, value in settings.items()]
    path = directory / "config.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def errbot(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "errbot", *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_migrates_an_errbot_data_dir_to_sqlite(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_errbot_data_dir(data, ERRBOT_DATA)
    write_config(tmp_path, BOT_DATA_DIR=str(data), STORAGE="Shelf")
    result = errbot("--storage-migrate", "Shelf", "SQLite", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "every value was read back and verified" in result.stdout
    assert 'set STORAGE = "SQLite" in config.py' in result.stdout
    target = sqlite_in(data)
    for namespace, values in ERRBOT_DATA.items():
        assert contents(target, namespace) == values
    # The Errbot files are still there, unchanged in content.
    source = ShelfStoragePlugin(types.SimpleNamespace(BOT_DATA_DIR=str(data)))
    assert contents(source, "core") == ERRBOT_DATA["core"]


def test_cli_target_configured_with_json(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_errbot_data_dir(data, ERRBOT_DATA)
    config = write_config(tmp_path, BOT_DATA_DIR=str(data), STORAGE="Shelf")
    elsewhere = tmp_path / "elsewhere"
    target_config = json.dumps({"basedir": str(elsewhere), "synchronous": "FULL"})
    result = errbot("-c", str(config), "--storage-migrate", "Shelf", "SQLite",
                    "--storage-migrate-config", target_config, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (elsewhere / "storage.sqlite3").exists()
    assert not (data / "storage.sqlite3").exists()
    assert contents(sqlite_in(elsewhere), "repomgr") == ERRBOT_DATA["repomgr"]


def test_cli_target_configured_by_a_sub_dict(tmp_path: Path) -> None:
    with backend("SQL-postgresql", tmp_path) as prepared:
        data = tmp_path / "data"
        data.mkdir()
        write_errbot_data_dir(data, ERRBOT_DATA)
        write_config(tmp_path, BOT_DATA_DIR=str(data), STORAGE="Shelf",
                     STORAGE_CONFIG={"SQL": prepared.storage_config})  # fmt: skip
        result = errbot("--storage-migrate", "Shelf", "SQL", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert contents(prepared.plugin(), "Weather") == ERRBOT_DATA["Weather"]


def test_cli_refuses_a_target_holding_data_then_overwrites(tmp_path: Path) -> None:
    write_errbot_data_dir(tmp_path, {"core": {"configs": {}}})
    storage = sqlite_in(tmp_path).open("core")
    storage.set("configs", {"newer": True})
    storage.close()
    write_config(tmp_path, BOT_DATA_DIR=str(tmp_path), STORAGE="Shelf")
    refused = errbot("--storage-migrate", "Shelf", "SQLite", cwd=tmp_path)
    assert refused.returncode == 256 - 3
    assert "already holds data in the namespace(s) core" in refused.stderr
    assert contents(sqlite_in(tmp_path), "core") == {"configs": {"newer": True}}
    forced = errbot("--storage-migrate", "Shelf", "SQLite", "--storage-migrate-overwrite",
                    cwd=tmp_path)  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert contents(sqlite_in(tmp_path), "core") == {"configs": {}}


def test_cli_refuses_a_shelf_in_use_by_the_running_bot(tmp_path: Path) -> None:
    write_errbot_data_dir(tmp_path, {"core": {"configs": {}}})
    write_config(tmp_path, BOT_DATA_DIR=str(tmp_path), STORAGE="Shelf")
    bot = ShelfStoragePlugin(types.SimpleNamespace(BOT_DATA_DIR=str(tmp_path))).open("core")
    try:
        result = errbot("--storage-migrate", "Shelf", "SQLite", cwd=tmp_path)
    finally:
        bot.close()
    assert result.returncode == 256 - 3
    assert "another process is using it" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["Shelf", "Shelf"], "FROM and TO are the same storage"),
        (["Shelf", "Nowhere"], 'Could not find the storage plugin named "Nowhere"'),
        (["Shelf", "SQLite", "--storage-migrate-config", "{nope"], "is not valid JSON"),
        (["Shelf", "SQLite", "--storage-migrate-config", "[1]"], "must be a JSON object"),
        (["Shelf", "Redis", "--storage-migrate-config", '{"url": "http://x"}'], "not usable"),
    ],
)
def test_cli_errors_are_one_line_on_stderr(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    write_errbot_data_dir(tmp_path, {"core": {"configs": {}}})
    write_config(tmp_path, BOT_DATA_DIR=str(tmp_path), STORAGE="Shelf")
    result = errbot("--storage-migrate", *arguments, cwd=tmp_path)
    assert result.returncode == 256 - 3
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "storage.sqlite3").exists()


def test_cli_needs_a_config(tmp_path: Path) -> None:
    result = errbot("--storage-migrate", "Shelf", "SQLite", cwd=tmp_path)
    assert result.returncode == 256 - 3
    assert "config" in result.stderr


def test_cli_storage_migrate_is_its_own_mode(tmp_path: Path) -> None:
    result = errbot("--storage-migrate", "Shelf", "SQLite", "--init", cwd=tmp_path)
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr


@pytest.mark.skipif(REFERENCE_MISSING, reason="Errbot 6.2.1 is not installed")
def test_errbot_migrated_data_is_what_errbot_stored(tmp_path: Path) -> None:
    # The source files come from Errbot itself: a round trip through its own pickles.
    write_errbot_data_dir(tmp_path, ERRBOT_DATA)
    script = textwrap.dedent(
        """
        import sys, types
        from errbot.storage.shelf import ShelfStoragePlugin
        plugin = ShelfStoragePlugin(types.SimpleNamespace(BOT_DATA_DIR=sys.argv[1]))
        storage = plugin.open("Weather")
        print(sorted(storage.keys()))
        storage.close()
        """
    )
    listed = subprocess.run([str(REFERENCE_PYTHON), "-c", script, str(tmp_path)],
                            capture_output=True, text=True, check=True, cwd=tmp_path)  # fmt: skip
    assert listed.stdout.strip() == repr(sorted(ERRBOT_DATA["Weather"]))
    report = migrate(ShelfStoragePlugin(types.SimpleNamespace(BOT_DATA_DIR=str(tmp_path))),
                     sqlite_in(tmp_path))  # fmt: skip
    assert report.ok


def test_store_exception_is_the_base_of_migration_errors() -> None:
    assert issubclass(MigrationError, StoreException)
