"""A real Synapse Matrix homeserver for the tests, run as a child process in a temporary directory.

Synapse lives in its own virtual environment (it pins Twisted and friends): the python of
``$ERRBOT_SYNAPSE_PYTHON``, else ``<repo>/.synvenv/bin/python`` (``.ci/run`` creates it). The
fixture writes the whole configuration itself (no ``--generate-config``, which costs 2 s):
SQLite, one client listener on a free port of 127.0.0.1, a registration shared secret for the
admin register API, rate limits raised, no federation, no key servers, no stats, presence on.
`restart()` keeps the port and the data directory, so a test can cut the bot off and let it
come back.

Without the venv the calling test is skipped, except under CI (``CI=true``), where a missing
server must fail the run rather than silently test nothing.

`Human` is a person on the server: blocking calls to the client-server API with urllib, so a
test sees the exact events (type and content) the bot sent, as any Matrix client would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .processes import free_port as free_port
from .processes import stop_process_group

REPO = Path(__file__).resolve().parents[2]
SERVER_NAME = "localhost"
SECRET = "errbot-test-shared-secret"
DEADLINE = 15.0

_CONFIG = """\
server_name: "{server}"
pid_file: "{dir}/homeserver.pid"
report_stats: false
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources: [{{names: [client], compress: false}}]
database: {{name: sqlite3, args: {{database: "{dir}/homeserver.db"}}}}
log_config: "{dir}/log.yaml"
media_store_path: "{dir}/media"
signing_key_path: "{dir}/signing.key"
macaroon_secret_key: "{macaroon}"
form_secret: "{form}"
registration_shared_secret: "{secret}"
enable_registration: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
url_preview_enabled: false
enable_metrics: false
presence: {{enabled: true}}
{limits}
"""

RELAXED_LIMITS = """\
rc_message: {per_second: 1000, burst_count: 1000}
rc_registration: {per_second: 1000, burst_count: 1000}
rc_login:
  address: {per_second: 1000, burst_count: 1000}
  account: {per_second: 1000, burst_count: 1000}
  failed_attempts: {per_second: 1000, burst_count: 1000}
rc_joins:
  local: {per_second: 1000, burst_count: 1000}
  remote: {per_second: 1000, burst_count: 1000}
rc_invites:
  per_room: {per_second: 1000, burst_count: 1000}
  per_user: {per_second: 1000, burst_count: 1000}
rc_presence:
  per_user: {per_second: 1000, burst_count: 1000}
"""

_LOG = """\
version: 1
formatters: {precise: {format: '%(asctime)s %(name)s %(levelname)s %(message)s'}}
handlers:
  file: {class: logging.FileHandler, formatter: precise, filename: "DIR/homeserver.log"}
root: {level: WARNING, handlers: [file]}
disable_existing_loggers: false
"""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def synapse_python() -> str:
    return os.environ.get("ERRBOT_SYNAPSE_PYTHON") or str(REPO / ".synvenv" / "bin" / "python")


def require_synapse() -> str:
    """The python that runs Synapse; skips the test (fails it under CI) when it is missing."""
    python = synapse_python()
    if os.path.exists(python):
        return python
    reason = (
        f"Synapse is not installed: {python} is missing (python3 -m venv .synvenv && "
        ".synvenv/bin/pip install matrix-synapse, or set ERRBOT_SYNAPSE_PYTHON)"
    )
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


def _signing_key() -> str:
    # Synapse's key file: "ed25519 <version> <unpadded base64 of the 32-byte seed>".
    seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    return f"ed25519 a_{uuid.uuid4().hex[:4]} {seed}\n"


class SynapseServer:
    """One Synapse process; `start`, `stop` and `restart` keep the port, accounts and data."""

    def __init__(self, directory: Path, python: str, limits: str = RELAXED_LIMITS) -> None:
        self.dir = directory
        self.python = python
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        (directory / "media").mkdir(parents=True, exist_ok=True)
        (directory / "signing.key").write_text(_signing_key())
        (directory / "log.yaml").write_text(_LOG.replace("DIR", str(directory)))
        self.config = directory / "homeserver.yaml"
        self.config.write_text(
            _CONFIG.format(
                server=SERVER_NAME,
                dir=directory,
                port=self.port,
                macaroon=uuid.uuid4().hex,
                form=uuid.uuid4().hex,
                secret=SECRET,
                limits=limits,
            )
        )

    def start(self, timeout: float = 60.0) -> None:
        self.process = subprocess.Popen(
            [self.python, "-m", "synapse.app.homeserver", "-c", str(self.config)],
            cwd=self.dir,
            stdout=(self.dir / "stdout.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() signals all of it
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"synapse exited with {self.process.returncode}: {self.logs()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"synapse did not answer /health in {timeout} s: {self.logs()}")

    def stop(self, kill: bool = False) -> None:
        """Terminate synapse (SIGKILL at once with ``kill``)."""
        process, self.process = self.process, None
        stop_process_group(process, kill)

    def restart(self) -> None:
        self.stop()
        self.start()

    def logs(self) -> str:
        text = ""
        for name in ("stdout.log", "homeserver.log"):
            try:
                text += (self.dir / name).read_text(errors="replace")[-3000:]
            except OSError:
                pass
        return text

    def register(self, user: str, password: str, admin: bool = False) -> dict[str, Any]:
        """Create an account through the shared-secret admin API; returns the login answer
        (``user_id``, ``access_token``, ``device_id``)."""
        path = "/_synapse/admin/v1/register"
        nonce = call(self.url, "GET", path)["nonce"]
        kind = b"admin" if admin else b"notadmin"
        mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(), kind]))
        body = {
            "nonce": nonce,
            "username": user,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        return call(self.url, "POST", path, body)


class MatrixError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def call(
    base: str, method: str, path: str, body: Any = None, token: str | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise MatrixError(exc.code, json.loads(exc.read() or b"{}")) from None


def quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class Human:
    """A person on the homeserver; every event seen by `sync` lands in `events`."""

    def __init__(self, server: SynapseServer, localpart: str, password: str) -> None:
        self.server = server
        self.password = password
        login = server.register(localpart, password)
        self.user_id: str = login["user_id"]
        self.token: str = login["access_token"]
        self.since: str | None = None
        self.events: list[dict[str, Any]] = []  # timeline events, each with "room_id" added
        self.invites: list[str] = []
        self.sync(timeout=0)

    def api(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        return call(self.server.url, method, "/_matrix/client/v3" + path, body, self.token)

    # -- rooms ----------------------------------------------------------------------------
    def create_room(self, invite: list[str] = (), **extra: Any) -> str:  # type: ignore[assignment]
        body = {"preset": "private_chat", "invite": list(invite), **extra}
        return self.api("POST", "/createRoom", body)["room_id"]

    def join(self, room: str) -> str:
        return self.api("POST", f"/join/{quote(room)}", {})["room_id"]

    def invite(self, room_id: str, user_id: str) -> None:
        self.api("POST", f"/rooms/{quote(room_id)}/invite", {"user_id": user_id})

    def leave(self, room_id: str) -> None:
        self.api("POST", f"/rooms/{quote(room_id)}/leave", {})

    def members(self, room_id: str) -> list[str]:
        return sorted(self.api("GET", f"/rooms/{quote(room_id)}/joined_members")["joined"])

    def state(self, room_id: str, kind: str, key: str = "") -> dict[str, Any]:
        return self.api("GET", f"/rooms/{quote(room_id)}/state/{kind}/{quote(key)}")

    def set_state(self, room_id: str, kind: str, content: dict[str, Any], key: str = "") -> None:
        self.api("PUT", f"/rooms/{quote(room_id)}/state/{kind}/{quote(key)}", content)

    # -- messages -------------------------------------------------------------------------
    def send(self, room_id: str, content: dict[str, Any], kind: str = "m.room.message") -> str:
        txn = uuid.uuid4().hex
        path = f"/rooms/{quote(room_id)}/send/{kind}/{txn}"
        return self.api("PUT", path, content)["event_id"]

    def say(self, room_id: str, text: str, **extra: Any) -> str:
        return self.send(room_id, {"msgtype": "m.text", "body": text, **extra})

    def react(self, room_id: str, event_id: str, key: str) -> str:
        relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return self.send(room_id, {"m.relates_to": relates}, kind="m.reaction")

    def sync(self, timeout: int = 0) -> dict[str, Any]:
        query = {"timeout": str(timeout)}
        if self.since:
            query["since"] = self.since
        answer = self.api("GET", "/sync?" + urllib.parse.urlencode(query))
        self.since = answer["next_batch"]
        rooms = answer.get("rooms", {})
        for room_id, room in rooms.get("join", {}).items():
            for event in room.get("timeline", {}).get("events", []):
                self.events.append({**event, "room_id": room_id})
        self.invites.extend(rooms.get("invite", {}).keys())
        return answer

    def expect(
        self, match: Callable[[dict[str, Any]], bool], what: str = "an event",
        deadline: float = DEADLINE,
    ) -> dict[str, Any]:
        """The first (and removed) event from someone else that ``match`` accepts."""
        end = time.monotonic() + deadline
        while True:
            for event in self.events:
                if event.get("sender") != self.user_id and match(event):
                    self.events.remove(event)
                    return event
            left = end - time.monotonic()
            if left <= 0:
                seen = [(e["type"], e.get("content")) for e in self.events][-10:]
                raise AssertionError(f"timed out waiting for {what}; last events: {seen}")
            self.sync(timeout=int(min(left, 1.0) * 1000))

    def expect_message(self, room_id: str, contains: str, deadline: float = DEADLINE) -> dict:
        """The next m.room.message in ``room_id`` whose body contains ``contains``."""
        return self.expect(
            lambda e: e["room_id"] == room_id
            and e["type"] == "m.room.message"
            and contains in e.get("content", {}).get("body", ""),
            f"a message containing {contains!r} in {room_id}",
            deadline,
        )

    def expect_invite(self, deadline: float = DEADLINE) -> str:
        end = time.monotonic() + deadline
        while not self.invites:
            if time.monotonic() > end:
                raise AssertionError("timed out waiting for an invitation")
            self.sync(timeout=500)
        return self.invites.pop(0)


def start_synapse(directory: Path, limits: str = RELAXED_LIMITS) -> SynapseServer:
    server = SynapseServer(directory, require_synapse(), limits)
    server.start()
    return server


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """A running Synapse with relaxed rate limits, shared by the test module."""
    server = start_synapse(tmp_path_factory.mktemp("synapse"))
    try:
        yield server
    finally:
        server.stop()
