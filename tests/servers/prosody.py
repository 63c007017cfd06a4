"""A real Prosody XMPP server for the tests, run as a child process in a temporary directory.

`ProsodyServer` writes a config (c2s with STARTTLS on one free port, direct TLS on another,
a MUC component ``conference.localhost``), makes a self-signed certificate for ``localhost``
and ``conference.localhost``, registers accounts with prosodyctl and starts ``prosody -F`` in
its own process group. `restart()` keeps the ports and the data directory, so a test can
cut the bot's connection and let it come back.

When prosody is not installed the tests are skipped, except under CI (``CI=true``), where a
missing server must fail the run rather than silently test nothing.
"""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .processes import free_port as free_port
from .processes import stop_process_group

PROSODY = shutil.which("prosody") or "/usr/bin/prosody"
PROSODYCTL = shutil.which("prosodyctl") or "/usr/bin/prosodyctl"
DOMAIN = "localhost"
MUC_DOMAIN = "conference.localhost"

_CONFIG = """\
run_as_root = true
pidfile = "{tmp}/prosody.pid"
data_path = "{tmp}/data"
log = {{ {{ levels = {{ min = "{level}" }}, to = "file", filename = "{tmp}/prosody.log" }} }}
interfaces = {{ "127.0.0.1", "::1" }}  -- ::1 for the XMPP_USE_IPV6 test
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{ {tls_port} }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "posix"; "presence";
                    "message"; "iq" }}
modules_disabled = {{ "s2s" }}
c2s_require_encryption = true
-- Direct TLS needs a certificate before it knows the virtual host (no per-host SNI in 0.12).
ssl = {{ key = "{tmp}/key.pem"; certificate = "{tmp}/cert.pem" }}
authentication = "internal_hashed"
storage = "internal"
allow_registration = false
limits = {{ c2s = {{ rate = "100mb/s" }} }}
VirtualHost "{domain}"
  ssl = {{ key = "{tmp}/key.pem"; certificate = "{tmp}/cert.pem" }}
Component "{muc}" "muc"
  muc_room_locking = false
  restrict_room_creation = false
  ssl = {{ key = "{tmp}/key.pem"; certificate = "{tmp}/cert.pem" }}
"""


def require_prosody() -> None:
    """Skip the calling test when prosody is missing; fail instead under CI."""
    if os.path.exists(PROSODY) and os.path.exists(PROSODYCTL):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"prosody is required under CI but {PROSODY} was not found")
    pytest.skip("prosody is not installed (apt-get install prosody)")


def make_certificate(directory: Path, names: list[str], stem: str) -> tuple[Path, Path]:
    """A self-signed certificate (it is its own CA) for ``names``; returns (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class ProsodyServer:
    """One prosody process; `start`, `stop` and `restart` keep ports, accounts and data."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = free_port()
        self.tls_port = free_port()
        self.config = directory / "prosody.cfg.lua"
        self.log_file = directory / "prosody.log"
        self.process: subprocess.Popen[bytes] | None = None
        (directory / "data").mkdir(parents=True, exist_ok=True)
        cert, key = make_certificate(directory, [DOMAIN, MUC_DOMAIN], "server")
        cert.rename(directory / "cert.pem")
        key.rename(directory / "key.pem")
        self.ca_file = directory / "cert.pem"
        # A certificate nobody signed the server's with: "the wrong CA".
        self.wrong_ca_file, _ = make_certificate(directory, [DOMAIN], "other-ca")
        self.config.write_text(
            _CONFIG.format(
                tmp=directory,
                port=self.port,
                tls_port=self.tls_port,
                domain=DOMAIN,
                muc=MUC_DOMAIN,
                level=os.environ.get("PROSODY_LOG_LEVEL", "info"),
            )
        )

    def register(self, user: str, password: str) -> str:
        """Create an account (server running or not); returns its JID."""
        subprocess.run(
            [PROSODYCTL, "--config", str(self.config), "register", user, DOMAIN, password],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return f"{user}@{DOMAIN}"

    def start(self, timeout: float = 15.0) -> None:
        self.process = subprocess.Popen(
            [PROSODY, "--config", str(self.config), "-F"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() signals all of it
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prosody exited with {self.process.returncode}: {self.logs()}")
            if all(self._accepts(p) for p in (self.port, self.tls_port)):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"prosody did not open its ports in {timeout} s: {self.logs()}")

    @staticmethod
    def _accepts(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self, kill: bool = False) -> None:
        """Terminate prosody (SIGKILL at once with ``kill``: no stream close for clients)."""
        process, self.process = self.process, None
        stop_process_group(process, kill)

    def restart(self) -> None:
        self.stop()
        self.start()

    def logs(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


@pytest.fixture(scope="module")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    """A running prosody with accounts bot/human/other (passwords ``<name>pw``)."""
    require_prosody()
    server = ProsodyServer(tmp_path_factory.mktemp("prosody"))
    for name in ("bot", "human", "other"):
        server.register(name, f"{name}pw")
    server.start()
    try:
        yield server
    finally:
        server.stop()
