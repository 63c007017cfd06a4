"""A real ngircd IRC server for tests, and a raw-socket IRC client that plays the human.

Import from a test module as ``from servers.ngircd import ...`` (pytest puts ``tests/`` on
``sys.path``; ``servers`` is a namespace package). The server runs as a child process in its
own process group on free ports of 127.0.0.1, with a plain and a TLS port; the TLS
certificate is made at fixture time by openssl, for ``localhost`` and ``127.0.0.1``.

Without ngircd the calling test is skipped, except with ``CI=true``, where it fails: CI must
never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .processes import free_port as free_port
from .processes import stop_process_group

NGIRCD_PATHS = ("ngircd", "/usr/sbin/ngircd")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require_ngircd() -> str:
    """The ngircd binary; skips the test (fails it with CI=true) when it is missing."""
    for candidate in NGIRCD_PATHS:
        found = shutil.which(candidate)
        if found:
            return found
    reason = "ngircd is not installed (apt-get install ngircd)"
    if in_ci():
        pytest.fail(f"ngircd is required when CI=true, but {reason}", pytrace=False)
    pytest.skip(reason)


def make_cert(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate (it is its own CA) for localhost and 127.0.0.1."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


CONFIG = """\
[Global]
    Name = irc.test.local
    Info = errbot test server
    Listen = {listen}
    Ports = {port}
    PidFile = {tmp}/ngircd.pid
    MotdPhrase = "test"
    AdminInfo1 = test
    AdminInfo2 = test
    AdminEMail = test@example.invalid
{password}
[Limits]
    MaxConnectionsIP = 0
    MaxNickLength = 30
    MaxPenaltyTime = {penalty}
    PingTimeout = 30
    PongTimeout = 10
[Options]
    Ident = no
    PAM = no
    DNS = no
[SSL]
    CertFile = {cert}
    KeyFile = {key}
    Ports = {tls_port}
"""


class Ngircd:
    """One ngircd process; `restart` brings it back on the same ports."""

    def __init__(
        self,
        directory: Path,
        password: str | None = None,
        penalties: bool = False,
        listen: str = "127.0.0.1",
    ) -> None:
        self.binary = require_ngircd()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = make_cert(directory, "server")
        self.port = free_port()
        self.tls_port = free_port()
        self.config = directory / "ngircd.conf"
        self.config.write_text(
            CONFIG.format(
                port=self.port,
                tls_port=self.tls_port,
                tmp=directory,
                cert=self.cert,
                key=self.key,
                penalty=-1 if penalties else 0,
                password=f"    Password = {password}" if password else "",
                listen=listen,  # "127.0.0.1,::1" for the IPv6 test
            )
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "ngircd.log"

    def start(self, timeout: float = 10.0) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "--nodaemon", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ngircd exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("ngircd did not open its port in time")

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process_group(process)

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class Line:
    prefix: str
    command: str
    params: list[str]
    size: int = 0  # bytes on the wire, CR LF included

    @property
    def nick(self) -> str:
        return self.prefix.split("!", 1)[0]

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""


def parse(raw: str) -> Line:
    prefix = ""
    if raw.startswith(":"):
        prefix, _, raw = raw[1:].partition(" ")
    head, sep, trailing = raw.partition(" :")
    words = head.split()
    params = words[1:] + ([trailing] if sep else [])
    return Line(prefix, words[0].upper() if words else "", params)


class IrcUser:
    """A person on IRC, over a plain socket: every line the server sends is kept until a
    test consumes it with `expect`."""

    def __init__(
        self, port: int, nick: str, tls: ssl.SSLContext | None = None, user: str | None = None
    ) -> None:
        self.nick = nick
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = tls.wrap_socket(raw, server_hostname="localhost") if tls else raw
        self._buffer = b""
        self.pending: list[Line] = []
        self.send(f"NICK {nick}")
        self.send(f"USER {user or nick} 0 * :{nick}")
        self.expect(lambda line: line.command == "001")

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def say(self, target: str, text: str) -> None:
        self.send(f"PRIVMSG {target} :{text}")

    def join(self, channel: str) -> None:
        self.send(f"JOIN {channel}")
        self.expect(lambda line: line.command == "366" and line.params[1] == channel)

    def _read(self, timeout: float) -> None:
        self.sock.settimeout(max(timeout, 0.01))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return
        if not data:
            raise ConnectionError(f"{self.nick}: the server closed the connection")
        self._buffer += data
        while b"\r\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\r\n", 1)
            line = parse(raw.decode("utf-8", "replace"))
            line.size = len(raw) + 2
            if line.command == "PING":
                self.send(f"PONG :{line.text}")
            else:
                self.pending.append(line)

    def expect(self, match: Callable[[Line], bool], timeout: float = 10.0) -> Line:
        """The first line (kept or still to come) that ``match``es; earlier lines stay."""
        deadline = time.monotonic() + timeout
        while True:
            for index, line in enumerate(self.pending):
                if match(line):
                    del self.pending[index]
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = "\n".join(f"{x.prefix} {x.command} {x.params}" for x in self.pending)
                raise AssertionError(f"{self.nick}: no match within {timeout}s; seen:\n{seen}")
            self._read(remaining)

    def message_from(
        self, nick: str, target: str | None = None, timeout: float = 10.0, command: str = "PRIVMSG"
    ) -> str:
        """The text of the next PRIVMSG from ``nick`` (to ``target``, default: me)."""
        target = target or self.nick
        line = self.expect(
            lambda x: x.command == command and x.nick == nick and x.params[0] == target,
            timeout,
        )
        return line.text

    def messages_from(
        self, nick: str, count: int, target: str | None = None, timeout: float = 10.0
    ) -> list[str]:
        return [self.message_from(nick, target, timeout) for _ in range(count)]

    def quiet(self, nick: str, seconds: float) -> list[str]:
        """The PRIVMSGs ``nick`` sends within ``seconds`` (expected: none)."""
        got = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                got.append(
                    self.expect(lambda x: x.command == "PRIVMSG" and x.nick == nick, remaining).text
                )
            except AssertionError:
                break
        return got

    def close(self) -> None:
        try:
            self.send("QUIT :bye")
        except OSError:
            pass
        self.sock.close()
