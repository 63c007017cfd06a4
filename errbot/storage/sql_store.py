"""The SQL storage plugin (extra ``sql``: ``pip install 'errbot[sql]'``), on SQLAlchemy 2 Core.

All namespaces share one table (default ``errbot_store``), one row per (namespace, key)::

    namespace  text, primary key part   (VARBINARY(255) on MySQL/MariaDB)
    key        text, primary key part   (VARBINARY(1024) on MySQL/MariaDB)
    value      binary (pickle)          or text in JSON mode (LONGBLOB / LONGTEXT on MySQL)

On MySQL and MariaDB the names are stored as UTF-8 bytes so that they compare exactly: the
default collations there ignore case and trailing spaces, which would merge "Key", "key" and
"key ". Keys are limited to 1024 UTF-8 bytes, namespaces to 255.

The table is created on first use (its value column binary, or text when the storage starts in
JSON mode). Every write is one statement in its own transaction (the engine runs in autocommit
mode): an upsert for `set` (``ON CONFLICT ... DO UPDATE`` on PostgreSQL and SQLite, ``ON
DUPLICATE KEY UPDATE`` on MySQL/MariaDB), a ``DELETE`` for `remove`. A write that returned is
committed by the server, with the server's durability (PostgreSQL ``synchronous_commit = on``
and InnoDB ``innodb_flush_log_at_trx_commit = 1``, both defaults, sync it to disk).

``STORAGE_CONFIG`` keys: ``data_url`` (required, an SQLAlchemy URL such as
``postgresql+psycopg://user:password@host/db`` or ``mysql+pymysql://user:password@host/db``),
``table`` (default ``errbot_store``), ``schema`` (PostgreSQL schema, default the search path),
``serializer`` (``"pickle"`` or ``"json"``), ``engine_options`` (a dict passed to
`sqlalchemy.create_engine`, e.g. ``{"pool_size": 10}``).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from errbot.storage import StoreException
from errbot.storage._codec import Codec, codec_from_config
from errbot.storage.base import StorageBase, StoragePluginBase

__all__ = ["SQLStorage", "SQLStoragePlugin"]

DEFAULT_TABLE = "errbot_store"
MAX_KEY_BYTES = 1024
MAX_NAMESPACE_BYTES = 255
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MYSQL = ("mysql", "mariadb")


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip() or type(original).__name__
    return text.splitlines()[0]


class SQLStorage(StorageBase):
    """One namespace: the rows of the table whose namespace column holds its name."""

    __slots__ = ("namespace", "_plugin", "_codec")

    def __init__(self, plugin: SQLStoragePlugin, namespace: str) -> None:
        self.namespace = namespace
        self._plugin = plugin
        self._codec: Codec = plugin.codec

    def get(self, key: str) -> Any:
        row = self._plugin.run(
            self._plugin.get_sql, {"ns": self.namespace, "k": key}, "read", self.namespace, key
        ).first()
        if row is None:
            raise KeyError(key)
        data = row[0]
        if isinstance(data, memoryview):
            data = data.tobytes()
        return self._codec.decode(self.namespace, key, data)

    def set(self, key: str, value: Any) -> None:
        plugin = self._plugin
        if len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise StoreException(
                f"The SQL storage cannot store the key {key[:40]!r}... in the namespace "
                f"{self.namespace!r}: keys are limited to {MAX_KEY_BYTES} bytes of UTF-8."
            )
        if plugin.text_values:
            data: bytes | str = self._codec.encode(self.namespace, key, value)
        else:
            data = self._codec.encode_bytes(self.namespace, key, value)
        plugin.upsert(self.namespace, key, data)

    def remove(self, key: str) -> None:
        result = self._plugin.run(
            self._plugin.remove_sql, {"ns": self.namespace, "k": key}, "remove", self.namespace, key
        )
        if result.rowcount == 0:
            raise KeyError(key)

    def len(self) -> int:
        count: int = self._plugin.run(
            self._plugin.len_sql, {"ns": self.namespace}, "count the keys of", self.namespace
        ).scalar_one()
        return count

    def keys(self) -> list[str]:
        """The keys in code-point order."""
        rows = (
            self._plugin.run(
                self._plugin.keys_sql, {"ns": self.namespace}, "list the keys of", self.namespace
            )
            .scalars()
            .all()
        )
        return sorted(rows)

    def close(self) -> None:
        """Nothing to release: the connection pool belongs to the plugin."""


class SQLStoragePlugin(StoragePluginBase):
    def __init__(self, bot_config: Any) -> None:
        super().__init__(bot_config)
        try:
            import sqlalchemy as sa
        except ImportError:
            raise StoreException(
                "The SQL storage needs SQLAlchemy: pip install 'errbot[sql]'."
            ) from None
        self._sa = sa
        config = self._storage_config
        self.codec = codec_from_config("SQL", config)
        data_url = config.get("data_url")
        if not data_url:
            raise StoreException(
                "The SQL storage needs STORAGE_CONFIG['data_url'], an SQLAlchemy URL such as "
                "'postgresql+psycopg://user:password@host/database'."
            )
        self.table_name = str(config.get("table", DEFAULT_TABLE))
        self.schema = config.get("schema")
        for what, name in (("table", self.table_name), ("schema", self.schema)):
            if name is not None and not _IDENTIFIER.match(name):
                raise StoreException(
                    f"The SQL storage: STORAGE_CONFIG[{what!r}] = {name!r} is not a plain SQL "
                    "name (letters, digits and _, not starting with a digit)."
                )
        self.url = str(data_url)
        options = {"pool_recycle": 1800, **dict(config.get("engine_options") or {})}
        try:
            url = sa.engine.make_url(data_url)
            self.url = url.render_as_string(hide_password=True)
            # Autocommit: each statement is its own transaction, with no BEGIN/COMMIT round
            # trips; nothing is left open to roll back when a connection returns to the pool.
            self.engine = sa.create_engine(
                url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, **options
            )
        except ImportError as exc:
            raise StoreException(
                f"The SQL storage cannot load the database driver of {self.url}: {exc}. "
                "pip install 'errbot[sql]' brings psycopg (PostgreSQL) and PyMySQL "
                "(MySQL/MariaDB); other databases need their own driver."
            ) from exc
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, TypeError, ValueError) as exc:
            raise StoreException(
                f"The SQL storage: STORAGE_CONFIG['data_url'] = {self.url!r} is not usable: "
                f"{_first_line(exc)}"
            ) from exc
        self.dialect = self.engine.dialect.name
        self.text_values = self.codec.json_only
        self._ready = False
        self._ready_lock = threading.Lock()

    # -- the table ----------------------------------------------------------------------------
    def _table(self, text_values: bool) -> Any:
        sa = self._sa
        from sqlalchemy.dialects import mysql

        class Name(sa.types.TypeDecorator):  # type: ignore[misc]
            """A str in Python; exact bytes on MySQL/MariaDB (see the module doc)."""

            impl = sa.Text
            cache_ok = True

            def __init__(self, length: int) -> None:
                super().__init__()
                self.length = length

            def load_dialect_impl(self, dialect: Any) -> Any:
                if dialect.name in _MYSQL:
                    return dialect.type_descriptor(mysql.VARBINARY(self.length))
                return dialect.type_descriptor(sa.Text())

            def process_bind_param(self, value: Any, dialect: Any) -> Any:
                if value is not None and dialect.name in _MYSQL:
                    return value.encode("utf-8")
                return value

            def process_result_value(self, value: Any, dialect: Any) -> Any:
                if isinstance(value, (bytes, bytearray)):
                    return bytes(value).decode("utf-8")
                return value

        if text_values:
            value_type = sa.Text().with_variant(mysql.LONGTEXT(charset="utf8mb4"), *_MYSQL)
        else:
            value_type = sa.LargeBinary().with_variant(mysql.LONGBLOB(), *_MYSQL)
        return sa.Table(
            self.table_name,
            sa.MetaData(),
            sa.Column("namespace", Name(MAX_NAMESPACE_BYTES), primary_key=True),
            sa.Column("key", Name(MAX_KEY_BYTES), primary_key=True),
            sa.Column("value", value_type, nullable=False),
            schema=self.schema,
        )

    def _prepare(self) -> None:
        """Connect, create the table if needed and build the statements; once."""
        if self._ready:
            return
        sa = self._sa
        with self._ready_lock:
            if self._ready:
                return
            try:
                existing = self._existing_value_type()
                if existing is None:
                    table = self._table(self.text_values)
                    try:
                        table.create(self.engine, checkfirst=False)
                    except sa.exc.SQLAlchemyError:
                        # Another process may have created it meanwhile: only then go on.
                        if self._existing_value_type() is None:
                            raise
                else:
                    self.text_values = existing == "text"
                    table = self._table(self.text_values)
            except StoreException:
                raise
            except sa.exc.SQLAlchemyError as exc:
                raise StoreException(
                    f"The SQL storage cannot use {self.url}: {_first_line(exc)}. Check "
                    "STORAGE_CONFIG['data_url'] (user, password, host, database) and that "
                    "the server is running."
                ) from exc
            self._build_statements(table)
            self._ready = True

    def _existing_value_type(self) -> str | None:
        """None when the table is missing, else "text" or "binary"; refuses foreign tables."""
        sa = self._sa
        inspector = sa.inspect(self.engine)
        if not inspector.has_table(self.table_name, schema=self.schema):
            return None
        described = inspector.get_columns(self.table_name, self.schema)
        columns = {column["name"]: column["type"] for column in described}
        where = f"{self.schema}.{self.table_name}" if self.schema else self.table_name
        if set(columns) != {"namespace", "key", "value"}:
            raise StoreException(
                f"The SQL storage cannot use the table {where} of {self.url}: it exists with "
                f"the columns {sorted(columns)}, not (namespace, key, value). Choose another "
                "name with STORAGE_CONFIG['table']."
            )
        if isinstance(columns["value"], sa.types._Binary):
            return "binary"
        if self.codec.name == "pickle":
            raise StoreException(
                f"The SQL storage: the table {where} of {self.url} holds JSON text (it was "
                "created in JSON mode), so pickled values cannot go there. Set "
                "STORAGE_CONFIG['serializer'] = 'json', or use another table."
            )
        return "text"

    def _build_statements(self, table: Any) -> None:
        sa = self._sa
        c = table.c
        ns, k, v = (
            sa.bindparam("ns", type_=c.namespace.type),
            sa.bindparam("k", type_=c.key.type),
            sa.bindparam("v", type_=c.value.type),
        )
        where = sa.and_(c.namespace == ns, c.key == k)
        self.get_sql = sa.select(c.value).where(where)
        self.remove_sql = sa.delete(table).where(where)
        self.len_sql = sa.select(sa.func.count()).select_from(table).where(c.namespace == ns)
        self.keys_sql = sa.select(c.key).where(c.namespace == ns)
        self.namespaces_sql = sa.select(c.namespace).distinct()
        self.insert_sql = sa.insert(table).values(namespace=ns, key=k, value=v)
        self.update_sql = sa.update(table).where(where).values(value=v)
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            upsert = pg_insert(table).values(namespace=ns, key=k, value=v)
            self.upsert_sql: Any = upsert.on_conflict_do_update(
                index_elements=[c.namespace, c.key], set_={"value": upsert.excluded.value}
            )
        elif self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            upsert = sqlite_insert(table).values(namespace=ns, key=k, value=v)
            self.upsert_sql = upsert.on_conflict_do_update(
                index_elements=[c.namespace, c.key], set_={"value": upsert.excluded.value}
            )
        elif self.dialect in _MYSQL:
            from sqlalchemy.dialects.mysql import insert as mysql_insert

            upsert = mysql_insert(table).values(namespace=ns, key=k, value=v)
            self.upsert_sql = upsert.on_duplicate_key_update(value=upsert.inserted.value)
        else:
            self.upsert_sql = None

    # -- statements ---------------------------------------------------------------------------
    def run(
        self,
        statement: Any,
        parameters: dict[str, Any],
        action: str,
        namespace: str,
        key: str | None = None,
    ) -> Any:
        """Execute one statement (its own transaction); the result is fully buffered."""
        try:
            with self.engine.connect() as conn:
                result = conn.execute(statement, parameters)
                return result.freeze()() if result.returns_rows else result
        except self._sa.exc.SQLAlchemyError as exc:
            what = f"the key {key!r} of the namespace" if key is not None else "the namespace"
            raise StoreException(
                f"The SQL storage at {self.url} could not {action} {what} {namespace!r}: "
                f"{_first_line(exc)}"
            ) from exc

    def upsert(self, namespace: str, key: str, data: bytes | str) -> None:
        parameters = {"ns": namespace, "k": key, "v": data}
        if self.upsert_sql is not None:
            self.run(self.upsert_sql, parameters, "write", namespace, key)
            return
        # Databases without an upsert: insert, or update the existing row; retry on races.
        sa = self._sa
        for _ in range(10):
            if self.run(self.update_sql, parameters, "write", namespace, key).rowcount:
                return
            try:
                with self.engine.connect() as conn:
                    conn.execute(self.insert_sql, parameters)
                return
            except sa.exc.IntegrityError:
                continue
        raise StoreException(
            f"The SQL storage could not write the key {key!r}: too much contention."
        )

    # -- the plugin contract ------------------------------------------------------------------
    def open(self, namespace: str) -> SQLStorage:
        if len(namespace.encode("utf-8")) > MAX_NAMESPACE_BYTES:
            raise StoreException(
                f"The SQL storage cannot open the namespace {namespace[:40]!r}...: names are "
                f"limited to {MAX_NAMESPACE_BYTES} bytes of UTF-8."
            )
        self._prepare()
        return SQLStorage(self, namespace)

    def namespaces(self) -> list[str]:
        self._prepare()
        rows = self.run(self.namespaces_sql, {}, "list", "namespaces").scalars().all()
        return sorted(rows)

    def dispose(self) -> None:
        """Close the pooled connections (they reopen on demand)."""
        self.engine.dispose()
