"""Helpers of the webserver tests: real HTTP(S) requests, ports, certificates, configuring."""

from __future__ import annotations

import datetime
import errno
import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PLUGIN_DIR = str(Path(__file__).parent / "plugins" / "web_hooks")
GITHUB_SECRET = "github secret of the tests"
SLACK_SECRET = "slack secret of the tests"
# A safety net against a hung server, never an assertion on timing.
NETWORK_TIMEOUT = 20


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def http_request(
    method: str,
    url: str,
    body: bytes | str | Iterable[bytes] | None = None,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
    chunked: bool = False,
) -> Reply:
    """One request over a fresh connection; any status comes back (no exception for 4xx)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=NETWORK_TIMEOUT, context=context
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=NETWORK_TIMEOUT)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        connection.request(method, target, body=body, headers=headers or {}, encode_chunked=chunked)
        response = connection.getresponse()
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refuses_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(NETWORK_TIMEOUT)
        return sock.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED


def configure_webserver(testbot: Any, config: dict[str, Any] | None) -> Any:
    """Store the Webserver configuration and restart the plugin, as ``!plugin config`` does."""
    manager = testbot.bot.plugin_manager
    if config is None:
        manager.delete_plugin_configuration("Webserver")
    else:
        manager.set_plugin_configuration("Webserver", config)
    manager.deactivate_plugin("Webserver")
    manager.activate_plugin("Webserver")
    return manager.get_plugin_obj_by_name("Webserver")


def base_url(testbot: Any) -> str:
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Webserver")
    host, port = plugin.server.addresses[0]
    return f"{plugin.server.binding.scheme}://{host}:{port}"


def make_certificate(directory: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (EC key: fast), as (certificate, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "errbot tests")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "test_cert.pem"
    key_path = directory / "test_key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def client_context(cafile: str) -> ssl.SSLContext:
    """A verifying TLS client context trusting only ``cafile``."""
    return ssl.create_default_context(cafile=cafile)


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_signature(secret: str, timestamp: int, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
