"""The Redis storage plugin (extra ``redis``: ``pip install 'errbot[redis]'``).

Each namespace is one Redis hash, ``<prefix><namespace>``: its fields are the keys, its values
the serialised values (pickled, or JSON text with ``serializer = "json"``). Every operation is
one atomic command (HSET, HGET, HDEL, HLEN, HKEYS), so namespaces are isolated by the prefix and
several bots or tools can share a server. `keys()` returns the keys sorted.

``STORAGE_CONFIG`` keys:

``url``
    ``redis://[[username]:password@]host:port/db`` (default ``redis://127.0.0.1:6379/0``);
    ``rediss://`` for TLS, ``unix:///path/to/socket?db=0`` for a local socket.
``prefix``
    Prepended to every namespace (default ``errbot:``); give each bot sharing a server its own.
``username``, ``password``
    Override the credentials of the URL (Redis 6 ACL user, or the ``requirepass`` password).
``ssl``
    True to use TLS with a ``redis://`` URL. ``ssl_ca_certs``, ``ssl_certfile``,
    ``ssl_keyfile``, ``ssl_cert_reqs`` (``"required"``, ``"optional"``, ``"none"``),
    ``ssl_check_hostname`` and ``ssl_ca_data`` are passed to the client.
``socket_timeout``, ``socket_connect_timeout``
    Seconds (default 30 and 10).
``serializer``
    ``"pickle"`` (default) or ``"json"`` (see docs/storage.md for the trust model).

Durability is the server's: a write that returned is on the server, and survives the bot
being killed; whether it survives a restart of Redis depends on the server's persistence
settings (``appendonly yes`` with ``appendfsync everysec`` or ``always``).

The connection is checked when the first namespace opens: a wrong URL, a refused connection or
wrong credentials fail there with one message (the password masked).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from errbot.storage import StoreException
from errbot.storage._codec import Codec, codec_from_config
from errbot.storage.base import StorageBase, StoragePluginBase
from errbot.urls import masked_url

__all__ = ["RedisStorage", "RedisStoragePlugin", "masked_url"]

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "errbot:"
_SSL_OPTIONS = (
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_cert_reqs",
    "ssl_check_hostname",
    "ssl_ca_data",
)


class RedisStorage(StorageBase):
    """One namespace: the hash ``<prefix><namespace>``."""

    __slots__ = ("namespace", "_plugin", "_client", "_hash", "_codec")

    def __init__(self, plugin: RedisStoragePlugin, namespace: str) -> None:
        self.namespace = namespace
        self._plugin = plugin
        self._client = plugin.client
        self._hash = plugin.prefix + namespace
        self._codec: Codec = plugin.codec

    def get(self, key: str) -> Any:
        try:
            data = self._client.hget(self._hash, key)
        except self._plugin.errors as exc:
            raise self._plugin.failure("read", self.namespace, key, exc) from exc
        if data is None:
            raise KeyError(key)
        return self._codec.decode(self.namespace, key, data)

    def set(self, key: str, value: Any) -> None:
        data = self._codec.encode_bytes(self.namespace, key, value)
        try:
            self._client.hset(self._hash, key, data)
        except self._plugin.errors as exc:
            raise self._plugin.failure("write", self.namespace, key, exc) from exc

    def remove(self, key: str) -> None:
        try:
            removed = self._client.hdel(self._hash, key)
        except self._plugin.errors as exc:
            raise self._plugin.failure("remove", self.namespace, key, exc) from exc
        if not removed:
            raise KeyError(key)

    def len(self) -> int:
        try:
            count: int = self._client.hlen(self._hash)
        except self._plugin.errors as exc:
            raise self._plugin.failure("count the keys of", self.namespace, None, exc) from exc
        return count

    def keys(self) -> list[str]:
        """The keys in code-point order (a hash has no order of its own)."""
        try:
            fields = self._client.hkeys(self._hash)
        except self._plugin.errors as exc:
            raise self._plugin.failure("list the keys of", self.namespace, None, exc) from exc
        return sorted(field.decode("utf-8") for field in fields)

    def close(self) -> None:
        """Nothing to release: the connection pool belongs to the plugin."""


class RedisStoragePlugin(StoragePluginBase):
    def __init__(self, bot_config: Any) -> None:
        super().__init__(bot_config)
        try:
            import redis
        except ImportError:
            raise StoreException(
                "The Redis storage needs the redis package: pip install 'errbot[redis]'."
            ) from None
        config = self._storage_config
        self.codec = codec_from_config("Redis", config)
        self.prefix = str(config.get("prefix", DEFAULT_PREFIX))
        url = str(config.get("url", DEFAULT_URL))
        self.url = masked_url(url)
        if config.get("ssl") and url.startswith("redis://"):
            url = "rediss://" + url[len("redis://") :]
        options: dict[str, Any] = {
            "socket_timeout": float(config.get("socket_timeout", 30)),
            "socket_connect_timeout": float(config.get("socket_connect_timeout", 10)),
        }
        for name in ("username", "password", *_SSL_OPTIONS):
            if config.get(name) is not None:
                options[name] = config[name]
        if any(name in options for name in _SSL_OPTIONS) and not url.startswith("rediss://"):
            raise StoreException(
                f"The Redis storage: TLS options are set but {self.url} does not use TLS; "
                "use a rediss:// URL or set STORAGE_CONFIG['ssl'] = True."
            )
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        try:
            self.client = redis.Redis.from_url(url, **options)
        except (ValueError, TypeError) as exc:
            raise StoreException(
                f"The Redis storage: STORAGE_CONFIG['url'] = {self.url!r} is not usable: {exc}"
            ) from exc
        self._checked = False
        self._check_lock = threading.Lock()

    def failure(
        self, action: str, namespace: str, key: str | None, exc: BaseException
    ) -> StoreException:
        what = f"the key {key!r} of the namespace" if key is not None else "the namespace"
        return StoreException(
            f"The Redis storage at {self.url} could not {action} {what} {namespace!r}: {exc}"
        )

    def _check_connection(self) -> None:
        if self._checked:
            return
        with self._check_lock:
            if self._checked:
                return
            try:
                self.client.ping()
            except self.errors as exc:
                reason = (str(exc) or type(exc).__name__).rstrip(".")
                raise StoreException(
                    f"The Redis storage cannot use {self.url}: {reason}. Check "
                    "STORAGE_CONFIG['url'] (and 'username', 'password', 'ssl' if set) and that "
                    "the server is running."
                ) from exc
            self._checked = True

    def open(self, namespace: str) -> RedisStorage:
        self._check_connection()
        return RedisStorage(self, namespace)

    def namespaces(self) -> list[str]:
        self._check_connection()
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.prefix) + "*"
        start = len(self.prefix.encode("utf-8"))
        try:
            names = {
                name[start:].decode("utf-8")
                for name in self.client.scan_iter(match=pattern, count=500, _type="hash")
            }
        except self.errors as exc:
            raise self.failure("list", "namespaces", None, exc) from exc
        return sorted(names)
