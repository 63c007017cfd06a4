"""Self-signed certificates for the Webserver (``!generate_certificate``), with `cryptography`."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from pathlib import Path

__all__ = ["make_self_signed_certificate"]


def _write(path: Path, data: bytes, mode: int) -> None:
    # Create with the final permissions: a private key is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)
    os.chmod(path, mode)


def make_self_signed_certificate(
    key_path: str | os.PathLike[str],
    cert_path: str | os.PathLike[str],
    key_size: int = 4096,
    days: int = 365,
) -> None:
    """Write a new RSA key and a self-signed certificate valid ``days`` days, both PEM.

    The certificate names this machine, ``localhost``, 127.0.0.1 and ::1, so it is usable as
    is for local testing and as a placeholder behind a reverse proxy.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    hostname = socket.gethostname() or "localhost"
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hostname[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Self-signed certificate for Errbot"),
        ]
    )
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    if hostname != "localhost":
        names.insert(0, x509.DNSName(hostname))
    names += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write(
        Path(key_path),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    _write(Path(cert_path), certificate.public_bytes(serialization.Encoding.PEM), 0o644)
