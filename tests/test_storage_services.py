"""Real services for the storage tests, and the storages every storage test can run against.

The other ``test_storage*`` modules import this one (pytest puts ``tests/`` on ``sys.path``).

Services: Redis, PostgreSQL and MariaDB on 127.0.0.1 (override with ``ERRBOT_TEST_REDIS_URL``,
``ERRBOT_TEST_POSTGRES_URL``, ``ERRBOT_TEST_MARIADB_URL``). A test whose service is missing is
skipped on a developer's machine, but fails when ``CI=true``: CI must never pass by skipping.

`backend(kind, tmp_path)` prepares one storage for one test, with names of its own (a Redis key
prefix, an SQL table) and removes what the test stored afterwards.
"""

from __future__ import annotations

import functools
import os
import types
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

from errbot.storage.base import StoragePluginBase
from errbot.storage.loader import load_storage_plugin

REDIS_URL = os.environ.get("ERRBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "ERRBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get("ERRBOT_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")

# Every storage the shared tests run on. "SQLite-FULL" is SQLite with synchronous=FULL.
FILE_KINDS = ("SQLite", "SQLite-FULL", "Shelf")
SERVER_KINDS = ("Redis", "SQL-postgresql", "SQL-mariadb")
DURABLE_KINDS = FILE_KINDS + SERVER_KINDS
ALL_KINDS = ("Memory", *DURABLE_KINDS)
JSON_KINDS = ("SQLite", "Redis", "SQL-postgresql", "SQL-mariadb")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(service: str, reason: str) -> NoReturn:
    """Skip the calling test, or fail it when CI=true."""
    if in_ci():
        pytest.fail(f"{service} is required when CI=true, but {reason}", pytrace=False)
    pytest.skip(f"{service} is not available: {reason}")


@functools.cache
def _redis_problem() -> str | None:
    try:
        import redis
    except ImportError:
        return "the redis package is not installed (pip install -e '.[dev]')"
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"{REDIS_URL} does not answer: {exc}"
    return None


@functools.cache
def _sql_problem(url: str) -> str | None:
    try:
        import sqlalchemy as sa
    except ImportError:
        return "SQLAlchemy is not installed (pip install -e '.[dev]')"
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # a missing driver or a refused connection alike
        return f"{url} does not answer: {str(exc).splitlines()[0]}"
    return None


def require_redis() -> str:
    problem = _redis_problem()
    if problem is not None:
        unavailable("Redis", problem)
    return REDIS_URL


def require_postgres() -> str:
    problem = _sql_problem(POSTGRES_URL)
    if problem is not None:
        unavailable("PostgreSQL", problem)
    return POSTGRES_URL


def require_mariadb() -> str:
    problem = _sql_problem(MARIADB_URL)
    if problem is not None:
        unavailable("MariaDB", problem)
    return MARIADB_URL


def unique_name(prefix: str = "errbot_test") -> str:
    """A name no other test (or test run on the same server) uses."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


@functools.cache
def _cleanup_engine(url: str) -> Any:
    import sqlalchemy as sa

    return sa.create_engine(url, pool_size=1)


def drop_sql_table(url: str, table: str) -> None:
    import sqlalchemy as sa

    with _cleanup_engine(url).begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))


def delete_redis_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        names = list(client.scan_iter(match=prefix + "*", count=1000))
        if names:
            client.delete(*names)
    finally:
        client.close()


class Backend:
    """One storage prepared for one test: its configuration, and the plugins built from it."""

    def __init__(self, kind: str, storage: str, data_dir: Path, storage_config: dict[str, Any]):
        self.kind = kind
        self.storage = storage
        self.data_dir = data_dir
        self.storage_config = storage_config
        self.plugins: list[StoragePluginBase] = []

    @property
    def durable(self) -> bool:
        return self.kind != "Memory"

    def config(self, **extra: Any) -> types.SimpleNamespace:
        """A bot configuration selecting this storage; ``extra`` adds STORAGE_CONFIG keys."""
        return types.SimpleNamespace(
            STORAGE=self.storage,
            BOT_DATA_DIR=str(self.data_dir),
            STORAGE_CONFIG={**self.storage_config, **extra},
        )

    def plugin(self, **extra: Any) -> StoragePluginBase:
        """A new storage plugin instance (as after a restart of the bot)."""
        plugin = load_storage_plugin(self.config(**extra))
        self.plugins.append(plugin)
        return plugin

    def child_config(self) -> dict[str, Any]:
        """What a child process needs to open the same storage (JSON-serialisable)."""
        return {
            "STORAGE": self.storage,
            "BOT_DATA_DIR": str(self.data_dir),
            "STORAGE_CONFIG": self.storage_config,
        }

    def dispose(self) -> None:
        for plugin in self.plugins:
            dispose = getattr(plugin, "dispose", None)
            if dispose is not None:
                dispose()
            client = getattr(plugin, "client", None)
            if client is not None:
                client.close()


@contextmanager
def backend(kind: str, data_dir: Path) -> Iterator[Backend]:
    """Prepare the storage ``kind`` for one test and clean up what it stored."""
    if kind == "Memory":
        prepared = Backend(kind, "Memory", data_dir, {})
    elif kind in ("SQLite", "SQLite-FULL"):
        config = {"synchronous": "FULL"} if kind == "SQLite-FULL" else {}
        prepared = Backend(kind, "SQLite", data_dir, config)
    elif kind == "Shelf":
        prepared = Backend(kind, "Shelf", data_dir, {})
    elif kind == "Redis":
        url = require_redis()
        prefix = unique_name("errbot-test") + ":"
        prepared = Backend(kind, "Redis", data_dir, {"url": url, "prefix": prefix})
    elif kind in ("SQL-postgresql", "SQL-mariadb"):
        url = require_postgres() if kind == "SQL-postgresql" else require_mariadb()
        table = unique_name("errbot_t")
        prepared = Backend(kind, "SQL", data_dir, {"data_url": url, "table": table})
    else:
        raise ValueError(f"unknown storage kind {kind!r}")
    try:
        yield prepared
    finally:
        prepared.dispose()
        if kind == "Redis":
            delete_redis_prefix(prepared.storage_config["prefix"])
        elif kind.startswith("SQL-"):
            drop_sql_table(prepared.storage_config["data_url"], prepared.storage_config["table"])


# -- the helper's own behaviour -----------------------------------------------------------------


def test_absent_service_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis is not available: down"):
        unavailable("Redis", "down")


@pytest.mark.parametrize("value", ["true", "True", " TRUE "])
def test_absent_service_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="required when CI=true, but down"):
        unavailable("Redis", "down")


def test_closed_port_counts_as_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real probe of a port nothing listens on: skipped here, failed in CI.
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    assert _sql_problem(url) is not None
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(f"{__name__}.POSTGRES_URL", url)
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is required"):
        require_postgres()


def test_unique_names_differ() -> None:
    assert unique_name() != unique_name()
