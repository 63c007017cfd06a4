"""Helpers of the ``test_repos_*`` modules: real git repositories, a local HTTP server
(dulwich smart HTTP for git, plain files for indexes and archives), archives and wheels built
on disk, and started test bots. Nothing here reaches the internet."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import socketserver
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from dulwich import porcelain
from dulwich.repo import Repo
from dulwich.server import DictBackend
from dulwich.web import make_wsgi_chain

from errbot.backends.test import TestBot

DENIED = "This command requires bot-admin privileges"
AUTHOR = b"Tester <tester@localhost>"


# -- plugins and git repositories ---------------------------------------------------------------
def plugin_files(name: str, module: str, command: str, reply: str,
                 body: str = "") -> dict[str, str]:
    """A one-command plugin: ``!<command>`` answers ``reply``; ``body`` runs at import."""
    return {
        f"{module}.plug": (
            f"[Core]\nName = {name}\nModule = {module}\n\n"
            f"[Documentation]\nDescription = The {name} test plugin.\n"
        ),
        f"{module}.py": (
            "from errbot import BotPlugin, botcmd\n"
            f"{body}\n\n"
            f"class {name}(BotPlugin):\n"
            f"    @botcmd\n"
            f"    def {command}(self, msg, args):\n"
            f"        return {reply}\n"
        ),
    }


def write_files(root: Path, files: dict[str, str]) -> list[str]:
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(str(path))
    return written


def git_repo(path: Path, files: dict[str, str]) -> tuple[Repo, str]:
    """A new repository at ``path`` with one commit of ``files``; (repo, sha)."""
    path.mkdir(parents=True)
    repo = Repo.init(str(path))
    return repo, commit(repo, files, "first")


def commit(repo: Repo, files: dict[str, str], message: str = "change") -> str:
    root = Path(repo.path)
    porcelain.add(repo, write_files(root, files))
    sha = porcelain.commit(repo, message=message.encode(), author=AUTHOR, committer=AUTHOR)
    return sha.decode("ascii")


# -- the local server ---------------------------------------------------------------------------
class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class LocalServer:
    """HTTP on 127.0.0.1 (random port): ``/git/<path>`` are git repositories (smart HTTP),
    ``/files/<name>`` static files. Add either at any time; records the User-Agents seen."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.files: dict[str, bytes] = {}
        self.user_agents: list[str] = []
        self._git = make_wsgi_chain(DictBackend(self.repos))
        self._server = make_server("127.0.0.1", 0, self._app, server_class=_ThreadingServer,
                                   handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="repos test server")

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        self.user_agents.append(environ.get("HTTP_USER_AGENT", ""))
        if path.startswith("/git/"):
            environ["PATH_INFO"] = path[len("/git"):]
            return self._git(environ, start_response)
        body = self.files.get(path[len("/files/"):]) if path.startswith("/files/") else None
        if body is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    def add_repo(self, name: str, repo: Repo) -> str:
        """Serve ``repo`` as ``/git/<name>.git``; its clone URL."""
        self.repos[f"/{name}.git"] = repo
        return f"{self.url}/git/{name}.git"

    def add_file(self, name: str, body: bytes | str) -> str:
        self.files[name] = body.encode() if isinstance(body, str) else body
        return f"{self.url}/files/{name}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        for repo in self.repos.values():
            repo.close()


# -- archives and wheels --------------------------------------------------------------------
def tarball(files: dict[str, str], links: dict[str, str] | None = None) -> bytes:
    """A .tar.gz of ``files`` (member name -> text), plus symbolic links (name -> target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


def wheel(directory: Path, distribution: str, version: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel built by hand (no build backend, no network)."""
    stem = distribution.replace("-", "_")
    info = f"{stem}-{version}.dist-info"
    content = dict(files)
    content[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    content[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: repos_support\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n"
    )
    record = []
    for name, text in content.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    content[f"{info}/RECORD"] = "\n".join(record) + "\n"
    path = directory / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in content.items():
            archive.writestr(name, text)
    return path


# -- bots -----------------------------------------------------------------------------------------
@contextlib.contextmanager
def started_bot(**config: Any) -> Iterator[TestBot]:
    """A started TestBot with ``config`` as extra configuration."""
    testbot = TestBot(loglevel=logging.WARNING, extra_config=config)
    testbot.start(timeout=10)
    try:
        yield testbot
    finally:
        testbot.stop()


def replies(testbot: TestBot, command: str, until: str, timeout: float = 60) -> list[str]:
    """Send ``command``; every reply up to and including the first one starting with
    ``until``."""
    testbot.push_message(command)
    seen = []
    while True:
        reply = testbot.pop_message(timeout=timeout)
        seen.append(reply)
        if reply.startswith(until):
            return seen


def as_user(testbot: TestBot, person: str) -> None:
    testbot.bot.sender = testbot.bot.build_identifier(person)


def plugin_dir(testbot: TestBot) -> Path:
    return Path(testbot.bot.plugin_dir)
