"""The Redis storage against a real server: layout, isolation, JSON mode, TLS and errors."""

from __future__ import annotations

import json
import pickle
import shutil
import socket
import subprocess
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_storage_services import (
    REDIS_URL,
    Backend,
    backend,
    delete_redis_prefix,
    require_redis,
    unavailable,
    unique_name,
)

from errbot.storage import StoreException
from errbot.storage.redis_store import RedisStoragePlugin, masked_url


@pytest.fixture
def prepared(tmp_path: Path) -> Iterator[Backend]:
    with backend("Redis", tmp_path) as ready:
        yield ready


@pytest.fixture
def client() -> Iterator[Any]:
    import redis

    connection = redis.Redis.from_url(require_redis())
    yield connection
    connection.close()


def make_plugin(**storage_config: Any) -> RedisStoragePlugin:
    return RedisStoragePlugin(types.SimpleNamespace(STORAGE_CONFIG=storage_config))


def test_one_hash_per_namespace_with_pickled_values(prepared: Backend, client: Any) -> None:
    prefix = prepared.storage_config["prefix"]
    plugin = prepared.plugin()
    storage = plugin.open("Weather")
    storage.set("cities", ["Paris", "Zürich"])
    storage.set("é", {"n": 1})
    assert client.type(f"{prefix}Weather") == b"hash"
    fields = client.hgetall(f"{prefix}Weather")
    assert set(fields) == {b"cities", "é".encode()}
    assert pickle.loads(fields[b"cities"]) == ["Paris", "Zürich"]
    assert storage.get("é") == {"n": 1}
    assert plugin.namespaces() == ["Weather"]
    storage.close()


def test_keys_are_sorted_and_errors_are_key_errors(prepared: Backend) -> None:
    storage = prepared.plugin().open("ns")
    for key in ("b", "a", "B", "c"):
        storage.set(key, key)
    assert storage.keys() == ["B", "a", "b", "c"]
    storage.remove("a")
    with pytest.raises(KeyError):
        storage.remove("a")
    with pytest.raises(KeyError):
        storage.get("a")
    assert storage.len() == 3
    storage.close()


def test_prefixes_isolate_bots_sharing_a_server(prepared: Backend) -> None:
    other_prefix = unique_name("errbot-test-other") + ":"
    try:
        mine = prepared.plugin().open("ns")
        theirs = make_plugin(url=REDIS_URL, prefix=other_prefix).open("ns")
        mine.set("k", "mine")
        theirs.set("k", "theirs")
        assert mine.get("k") == "mine"
        assert theirs.get("k") == "theirs"
        theirs.remove("k")
        assert mine.keys() == ["k"]
    finally:
        delete_redis_prefix(other_prefix)


def test_namespaces_ignore_other_types_and_prefixes(prepared: Backend, client: Any) -> None:
    prefix = prepared.storage_config["prefix"]
    plugin = prepared.plugin()
    plugin.open("b").set("k", 1)
    plugin.open("a*[x]").set("k", 1)  # glob characters in names are literal
    client.set(f"{prefix}a-string", "not a hash")
    assert plugin.namespaces() == ["a*[x]", "b"]


def test_json_mode_stores_json_other_services_can_read(prepared: Backend, client: Any) -> None:
    prefix = prepared.storage_config["prefix"]
    storage = prepared.plugin(serializer="json").open("shared")
    storage.set("k", {"name": "é", "values": [1, 2.5, None, True]})
    raw = client.hget(f"{prefix}shared", "k")
    assert json.loads(raw.decode("utf-8")) == {"name": "é", "values": [1, 2.5, None, True]}
    client.hset(f"{prefix}shared", "from-elsewhere", json.dumps({"x": [1]}))
    assert storage.get("from-elsewhere") == {"x": [1]}
    # A pickle planted by someone else is refused, never unpickled.
    client.hset(f"{prefix}shared", "planted", pickle.dumps({"evil": True}))
    with pytest.raises(StoreException, match="never unpickles"):
        storage.get("planted")


# -- errors at open: one clear message ---------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refused_connection_fails_at_open() -> None:
    require_redis()
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    plugin = make_plugin(url=url, socket_connect_timeout=2)
    with pytest.raises(StoreException, match=f"cannot use {url}: .*refused"):
        plugin.open("ns")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:6379/0", "is not usable: Redis URL must specify"),
        ("127.0.0.1:6379", "is not usable: Redis URL must specify"),
        ("redis://127.0.0.1:notaport/0", "is not usable: Port could not be cast"),
    ],
)
def test_bad_url_fails_with_one_message(url: str, message: str) -> None:
    with pytest.raises(StoreException, match=message):
        make_plugin(url=url).open("ns")


def test_tls_options_without_tls_are_refused() -> None:
    with pytest.raises(StoreException, match="TLS options are set but"):
        make_plugin(url=REDIS_URL, ssl_ca_certs="/nowhere/ca.pem")


@pytest.fixture
def acl_user(client: Any) -> Iterator[tuple[str, str, str]]:
    """A Redis ACL user with a password, allowed only keys under its own prefix."""
    user, password = unique_name("errbot-user"), "s3cret-" + unique_name("pw")
    prefix = unique_name("errbot-acl") + ":"
    client.execute_command("ACL", "SETUSER", user, "on", f">{password}", f"~{prefix}*", "+@all")
    try:
        yield user, password, prefix
    finally:
        client.execute_command("ACL", "DELUSER", user)
        delete_redis_prefix(prefix)


def test_username_and_password(acl_user: tuple[str, str, str]) -> None:
    user, password, prefix = acl_user
    storage = make_plugin(url=REDIS_URL, username=user, password=password, prefix=prefix).open("ns")
    storage.set("k", 1)
    assert storage.get("k") == 1


def test_wrong_password_fails_at_open_without_showing_it(acl_user: tuple[str, str, str]) -> None:
    user, _, prefix = acl_user
    host = REDIS_URL.split("://", 1)[1]
    url = f"redis://{user}:wrong-password@{host}"
    with pytest.raises(StoreException) as caught:
        make_plugin(url=url, prefix=prefix).open("ns")
    message = str(caught.value)
    assert "invalid username-password pair" in message
    assert "wrong-password" not in message
    assert f"{user}:***@" in message


def test_masked_url() -> None:
    assert masked_url("redis://u:p@h:1/0") == "redis://u:***@h:1/0"
    assert masked_url("redis://:p@h/0") == "redis://:***@h/0"
    assert masked_url("redis://h:1/0") == "redis://h:1/0"


# -- TLS, against a redis-server of our own ------------------------------------------------------


def _openssl(*arguments: str, cwd: Path) -> None:
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A TLS-only redis-server on a free port, with a throw-away CA; yields (port, CA file)."""
    for tool in ("redis-server", "openssl"):
        if shutil.which(tool) is None:
            unavailable("A TLS Redis server", f"{tool} is not installed")
    directory = tmp_path_factory.mktemp("redis-tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=errbot test CA", cwd=directory)  # fmt: skip
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=directory)  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext",
             cwd=directory)  # fmt: skip
    port = _closed_port()
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", "server.pem", "--tls-key-file", "server.key",
         "--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no",
         "--save", "", "--appendonly", "no", "--dir", str(directory)],
        cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    unavailable("A TLS Redis server", "redis-server did not start with TLS")
                time.sleep(0.05)
        yield port, directory / "ca.pem"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_tls_with_rediss_url(tls_server: tuple[int, Path]) -> None:
    port, ca = tls_server
    storage = make_plugin(url=f"rediss://localhost:{port}/0", ssl_ca_certs=str(ca)).open("ns")
    storage.set("k", {"over": "tls"})
    assert storage.get("k") == {"over": "tls"}


def test_tls_with_the_ssl_option(tls_server: tuple[int, Path]) -> None:
    port, ca = tls_server
    plugin = make_plugin(url=f"redis://127.0.0.1:{port}/0", ssl=True, ssl_ca_certs=str(ca))
    storage = plugin.open("ns")
    storage.set("k", 2)
    assert storage.get("k") == 2


def test_tls_with_an_unknown_certificate_authority_fails_at_open(
    tls_server: tuple[int, Path],
) -> None:
    port, _ = tls_server
    plugin = make_plugin(url=f"rediss://localhost:{port}/0", socket_connect_timeout=5)
    with pytest.raises(StoreException, match=r"cannot use rediss://localhost:\d+/0: .*certif"):
        plugin.open("ns")


def test_plain_connection_to_a_tls_port_fails_at_open(tls_server: tuple[int, Path]) -> None:
    port, _ = tls_server
    plugin = make_plugin(url=f"redis://127.0.0.1:{port}/0", socket_timeout=2,
                         socket_connect_timeout=2)  # fmt: skip
    with pytest.raises(StoreException, match=f"cannot use redis://127.0.0.1:{port}/0"):
        plugin.open("ns")
