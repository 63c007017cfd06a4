"""The SQL storage on real PostgreSQL and MariaDB servers: table, rows, JSON mode, errors."""

from __future__ import annotations

import re
import socket
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_storage_services import (
    MARIADB_URL,
    Backend,
    backend,
    drop_sql_table,
    require_mariadb,
    require_postgres,
    unique_name,
)

from errbot.storage import StoreException, UnstorableValueError
from errbot.storage.sql_store import MAX_KEY_BYTES, SQLStoragePlugin

SERVERS = ("SQL-postgresql", "SQL-mariadb")


@pytest.fixture(params=SERVERS)
def prepared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with backend(request.param, tmp_path) as ready:
        yield ready


def make_plugin(**storage_config: Any) -> SQLStoragePlugin:
    return SQLStoragePlugin(types.SimpleNamespace(STORAGE_CONFIG=storage_config))


def query(prepared: Backend, sql: str, **parameters: Any) -> list[Any]:
    import sqlalchemy as sa

    engine = sa.create_engine(prepared.storage_config["data_url"])
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), parameters)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def columns(prepared: Backend) -> dict[str, Any]:
    import sqlalchemy as sa

    engine = sa.create_engine(prepared.storage_config["data_url"])
    try:
        inspector = sa.inspect(engine)
        table = prepared.storage_config["table"]
        if not inspector.has_table(table):
            return {}
        return {column["name"]: column["type"] for column in inspector.get_columns(table)}
    finally:
        engine.dispose()


def test_table_is_created_on_first_use(prepared: Backend) -> None:
    import sqlalchemy as sa

    plugin = prepared.plugin()
    assert columns(prepared) == {}
    plugin.open("ns").set("k", 1)
    described = columns(prepared)
    assert set(described) == {"namespace", "key", "value"}
    assert isinstance(described["value"], sa.types._Binary)


def test_one_row_per_namespace_and_key(prepared: Backend) -> None:
    plugin = prepared.plugin()
    first, second = plugin.open("a"), plugin.open("b")
    first.set("k", 1)
    first.set("k", 2)
    second.set("k", 3)
    table = prepared.storage_config["table"]
    assert query(prepared, f"SELECT COUNT(*) FROM {table}")[0][0] == 2
    assert first.get("k") == 2 and second.get("k") == 3
    assert plugin.namespaces() == ["a", "b"]
    first.remove("k")
    assert query(prepared, f"SELECT COUNT(*) FROM {table}")[0][0] == 1


def test_keys_compare_exactly(prepared: Backend) -> None:
    # MariaDB's default collations would merge these (case, trailing spaces).
    storage = prepared.plugin().open("ns")
    keys = ["key", "Key", "key ", "kéy", "k😀y"]
    for index, key in enumerate(keys):
        storage.set(key, index)
    assert storage.len() == len(keys)
    assert storage.keys() == sorted(keys)
    for index, key in enumerate(keys):
        assert storage.get(key) == index
    storage.remove("Key")
    assert storage.get("key") == 0


def test_values_are_large_binary(prepared: Backend) -> None:
    storage = prepared.plugin().open("ns")
    big = {"blob": b"\x00\xff" * 200_000}  # beyond MySQL's 64 KB BLOB
    storage.set("big", big)
    assert storage.get("big") == big


def test_too_long_key_is_refused_and_nothing_written(prepared: Backend) -> None:
    storage = prepared.plugin().open("ns")
    with pytest.raises(StoreException, match=f"limited to {MAX_KEY_BYTES} bytes"):
        storage.set("é" * MAX_KEY_BYTES, 1)
    storage.set("k" * MAX_KEY_BYTES, 1)
    assert storage.keys() == ["k" * MAX_KEY_BYTES]


def test_unpicklable_value_changes_nothing(prepared: Backend) -> None:
    storage = prepared.plugin().open("ns")
    storage.set("k", "before")
    with pytest.raises(UnstorableValueError, match=r"'k'.*'ns'.*lock"):
        storage.set("k", threading.Lock())
    assert storage.get("k") == "before"


# -- JSON mode -------------------------------------------------------------------------------------


def test_json_mode_stores_json_text_the_database_can_query(prepared: Backend) -> None:
    import sqlalchemy as sa

    storage = prepared.plugin(serializer="json").open("shared")
    storage.set("k", {"name": "Zoé", "tags": ["a", "b"]})
    assert isinstance(columns(prepared)["value"], sa.String)
    table = prepared.storage_config["table"]
    if prepared.kind == "SQL-postgresql":
        sql = f"SELECT (value::jsonb)->>'name' FROM {table} WHERE key = 'k'"
    else:
        sql = f"SELECT JSON_VALUE(value, '$.name') FROM {table} WHERE `key` = 'k'"
    assert query(prepared, sql)[0][0] == "Zoé"
    assert storage.get("k") == {"name": "Zoé", "tags": ["a", "b"]}


def test_json_table_refuses_pickle_mode(prepared: Backend) -> None:
    prepared.plugin(serializer="json").open("ns").set("k", 1)
    with pytest.raises(StoreException, match="created in JSON mode"):
        prepared.plugin().open("ns")


def test_binary_table_accepts_json_mode(prepared: Backend) -> None:
    prepared.plugin().open("ns").set("pickled", {1, 2})
    storage = prepared.plugin(serializer="json").open("ns")
    storage.set("json", {"a": [1]})
    assert storage.get("json") == {"a": [1]}
    with pytest.raises(StoreException, match="never unpickles"):
        storage.get("pickled")
    assert prepared.plugin().open("ns").get("json") == {"a": [1]}


def test_a_foreign_table_is_refused(prepared: Backend) -> None:
    table = prepared.storage_config["table"]
    query(prepared, f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name VARCHAR(20))")
    with pytest.raises(StoreException, match=r"not \(namespace, key, value\)"):
        prepared.plugin().open("ns")


def test_plugins_racing_to_create_the_table(prepared: Backend) -> None:
    plugins = [prepared.plugin() for _ in range(4)]
    start = threading.Barrier(len(plugins))
    errors: list[BaseException] = []

    def first_use(plugin: Any, n: int) -> None:
        try:
            start.wait()
            plugin.open("ns").set(f"k{n}", n)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(p, n)) for n, p in enumerate(plugins)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert prepared.plugin().open("ns").len() == 4


def test_postgresql_schema(tmp_path: Path) -> None:
    url = require_postgres()
    schema = unique_name("errbot_s")
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    plugin = make_plugin(data_url=url, schema=schema, table="store")
    try:
        plugin.open("ns").set("k", "in a schema")
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT key FROM {schema}.store")).all()
        assert [row[0] for row in rows] == ["k"]
    finally:
        plugin.dispose()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


# -- configuration errors: one clear message at open -----------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refused_connection(tmp_path: Path) -> None:
    require_postgres()
    port = _closed_port()
    for url in (
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/test",
        f"mysql+pymysql://root@127.0.0.1:{port}/test",
    ):
        plugin = make_plugin(data_url=url)
        with pytest.raises(StoreException, match=f"cannot use {re.escape(url)}: .*[Rr]efused"):
            plugin.open("ns")


def test_wrong_password_on_mariadb_is_masked() -> None:
    base = require_mariadb()
    url = base.replace("root@", "root:not-the-password@")
    assert url != MARIADB_URL
    with pytest.raises(StoreException) as caught:
        make_plugin(data_url=url, table=unique_name("errbot_t")).open("ns")
    message = str(caught.value)
    assert "Access denied" in message
    assert "not-the-password" not in message and "root:***@" in message


def test_missing_database_on_postgresql() -> None:
    url = require_postgres().rsplit("/", 1)[0] + "/" + unique_name("nodb")
    with pytest.raises(StoreException, match="does not exist"):
        make_plugin(data_url=url).open("ns")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "needs STORAGE_CONFIG\\['data_url'\\]"),
        ({"data_url": "not a url"}, "is not usable: Could not parse"),
        ({"data_url": "nosuchdb://h/x"}, "is not usable: Can't load plugin"),
        ({"data_url": "sqlite://", "table": "drop table x;"}, "not a plain SQL name"),
        ({"data_url": "sqlite://", "serializer": "marshal"}, "use 'pickle'"),
    ],
)
def test_bad_configuration(config: dict[str, Any], message: str) -> None:
    with pytest.raises(StoreException, match=message):
        make_plugin(**config).open("ns")


def test_sqlite_urls_work_too(tmp_path: Path) -> None:
    plugin = make_plugin(data_url=f"sqlite:///{tmp_path / 'x.db'}")
    storage = plugin.open("ns")
    storage.set("k", [1])
    storage.set("k", [2])
    assert storage.get("k") == [2]
    assert storage.keys() == ["k"]
    plugin.dispose()


def test_cleanup_helper_drops_tables(prepared: Backend) -> None:
    prepared.plugin().open("ns").set("k", 1)
    prepared.dispose()
    drop_sql_table(prepared.storage_config["data_url"], prepared.storage_config["table"])
    assert columns(prepared) == {}
