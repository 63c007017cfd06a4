"""Core plugin VersionChecker (contract 8): warns the admins of a newer published version.

A local HTTP server on 127.0.0.1 plays errbot.io. In the Test backend's mode the plugin stays
inactive (and fetches nothing); to see it work, the bot runs on ``FakeNet``, the Test backend
under another mode name (tests/backends_fixture), so everything else is the real harness.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from errbot.backends.test import TestBot, TestPerson
from errbot.bootstrap import setup_bot
from errbot.core_plugins.vcheck import CHECK_INTERVAL, is_newer, published_version, version_key
from errbot.settings import ConfigError, config_from_dict, validate
from errbot.version import VERSION

HERE = os.path.dirname(__file__)
BACKENDS = os.path.join(HERE, "backends_fixture")
RECORDER = os.path.join(HERE, "plugins", "pipeline_core", "recorder")
ADMINS = ("gbin@localhost", "ops@localhost")


def warning_for(version: str) -> str:
    return (
        f"Version {version} of Errbot is available. https://pypi.org/project/errbot/{version}. "
        "To disable this check do: !plugin blacklist VersionChecker"
    )


# -- a stand-in for errbot.io -----------------------------------------------------------------
class VersionsServer:
    """Serves ``self.status`` / ``self.body`` at any path; notes each request's User-Agent."""

    def __init__(self) -> None:
        self.status = 200
        self.body = json.dumps({"python3": VERSION}).encode()
        self.requests: queue.Queue[str] = queue.Queue()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                owner.requests.put(self.headers.get("User-Agent", ""))
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/versions.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def publish(self, document: Any, status: int = 200) -> None:
        self.status = status
        self.body = document if isinstance(document, bytes) else json.dumps(document).encode()


@pytest.fixture
def server() -> Iterator[VersionsServer]:
    srv = VersionsServer()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


class NetTestBot(TestBot):
    """The harness, on the FakeNet backend."""

    __test__ = False

    @property
    def bot(self) -> Any:
        if self._bot_instance is None:
            self._bot_instance = setup_bot("FakeNet", self.bot_config)
        return self._bot_instance


def settle() -> None:
    """Wait for the check made at activation (its own thread) to be over."""
    for thread in threading.enumerate():
        if thread.name == "VersionChecker first check":
            thread.join(15)


def start(bot: TestBot) -> TestBot:
    bot.start()
    settle()
    return bot


@pytest.fixture
def netbot(server: VersionsServer) -> Iterator[TestBot]:
    bot = NetTestBot(
        RECORDER,
        logging.INFO,
        {
            "BOT_EXTRA_BACKEND_DIR": BACKENDS,
            "VERSION_CHECK_URL": server.url,
            "BOT_ADMINS": ADMINS,
        },
    )
    start(bot)
    try:
        yield bot
    finally:
        bot.stop()


def checker(bot: TestBot) -> Any:
    return bot.bot.plugin_manager.get_plugin_obj_by_name("VersionChecker")


def drain(bot: TestBot) -> list[str]:
    replies = []
    while True:
        try:
            replies.append(bot.pop_message(timeout=0.3))
        except queue.Empty:
            return replies


def recorded_to(bot: TestBot, count: int) -> list[tuple[Any, str]]:
    recorder = bot.bot.plugin_manager.get_plugin_obj_by_name("PipeRecorder")
    found = []
    while len(found) < count:
        msg = recorder.sent.get(timeout=5)
        if msg.body != "ready":
            found.append((msg.to, msg.body))
    return found


# -- inactive where there is nobody to warn ----------------------------------------------------
def test_inactive_in_test_mode_and_fetches_nothing(server):
    bot = start(TestBot(None, logging.INFO, {"VERSION_CHECK_URL": server.url}))
    try:
        plugin = checker(bot)
        assert plugin is not None and not plugin.is_activated
        assert plugin.current_pollers == {}
        assert "D      │ VersionChecker" in bot.exec_command("!status plugins")
        time.sleep(0.3)
        assert server.requests.empty()
    finally:
        bot.stop()


def test_an_empty_url_turns_the_check_off(server):
    bot = NetTestBot(
        None, logging.INFO, {"BOT_EXTRA_BACKEND_DIR": BACKENDS, "VERSION_CHECK_URL": None}
    )
    start(bot)
    try:
        assert bot.bot.mode == "fakenet"
        assert not checker(bot).is_activated
        assert checker(bot).check_version() is None
    finally:
        bot.stop()


# -- active on a network backend ---------------------------------------------------------------
def test_checks_at_activation_and_polls_daily(netbot, server):
    plugin = checker(netbot)
    assert plugin.is_activated
    assert server.requests.get(timeout=5) == "Errbot"
    pollers = list(plugin.current_pollers.values())
    assert [(p.method, p.interval) for p in pollers] == [(plugin.check_version, CHECK_INTERVAL)]
    assert CHECK_INTERVAL == 24 * 60 * 60
    # the running version is published: nobody is bothered
    assert drain(netbot) == []
    assert "A      │ VersionChecker" in netbot.exec_command("!status plugins")


def test_first_check_warns_about_a_newer_version(server):
    server.publish({"python3": "99.0.0"})
    bot = NetTestBot(
        None,
        logging.INFO,
        {"BOT_EXTRA_BACKEND_DIR": BACKENDS, "VERSION_CHECK_URL": server.url},
    )
    start(bot)
    try:
        # the start-up replies were consumed by the harness; the stored version tells
        assert checker(bot).get("warned_version") == "99.0.0"
    finally:
        bot.stop()


def test_newer_version_warns_every_admin_once(netbot, server):
    plugin = checker(netbot)
    server.requests.get(timeout=5)  # the activation's check
    drain(netbot)
    server.publish({"python2": "2.0", "python3": "99.0.0"})
    assert plugin.check_version() == warning_for("99.0.0")
    sent = recorded_to(netbot, 2)
    assert sent == [(TestPerson(admin), warning_for("99.0.0")) for admin in ADMINS]
    assert drain(netbot) == [warning_for("99.0.0")] * 2
    # the same version again: silence, also after a restart of the plugin (stored)
    assert plugin.check_version() is None
    netbot.bot.plugin_manager.deactivate_plugin("VersionChecker")
    netbot.bot.plugin_manager.activate_plugin("VersionChecker")
    settle()
    assert server.requests.get(timeout=5) == "Errbot"
    assert plugin.check_version() is None
    # a later one is announced
    server.publish({"python3": "99.1.0"})
    assert plugin.check_version() == warning_for("99.1.0")
    # an older one than already announced (a withdrawn release) is not
    server.publish({"python3": "99.0.5"})
    assert plugin.check_version() is None


def test_own_key_wins_over_errbots(netbot, server):
    server.publish({"python3": "98.0.0", "errbot": "99.2.0rc1"})
    assert checker(netbot).check_version() == warning_for("99.2.0rc1")


@pytest.mark.parametrize(
    "document", [{"python3": VERSION}, {"python3": "6.2.1"}, {"errbot": "7.0"}]
)
def test_same_or_older_versions_are_not_announced(netbot, server, document, caplog):
    server.publish(document)
    with caplog.at_level(logging.DEBUG):
        assert checker(netbot).check_version() is None
    # Read and compared, not merely unreadable.
    assert "is up to date (published:" in caplog.text
    assert "Could not check" not in caplog.text
    assert drain(netbot) == []


@pytest.mark.parametrize(
    ("document", "status"),
    [
        (b"<html>not json</html>", 200),
        (b"\xff\xfe", 200),
        (["99.0.0"], 200),
        ({"python2": "99.0.0"}, 200),
        ({"python3": "the latest"}, 200),
        ({"python3": 99}, 200),
        ({"python3": "99.0.0"}, 500),
        ({"python3": "99.0.0"}, 404),
    ],
)
def test_bad_answers_are_only_logged(netbot, server, caplog, document, status):
    server.requests.get(timeout=5)
    drain(netbot)
    server.publish(document, status)
    with caplog.at_level(logging.INFO, logger="errbot.plugins.VersionChecker"):
        assert checker(netbot).check_version() is None
    assert drain(netbot) == []
    messages = [r.getMessage() for r in caplog.records if r.name.endswith("VersionChecker")]
    assert messages and all(r.levelno <= logging.INFO for r in caplog.records
                            if r.name.endswith("VersionChecker"))


def test_offline_is_only_logged(netbot, server, caplog):
    server.requests.get(timeout=5)
    server.httpd.shutdown()
    server.httpd.server_close()  # nothing listens on the port any more
    with caplog.at_level(logging.INFO, logger="errbot.plugins.VersionChecker"):
        assert checker(netbot).check_version() is None
    assert any("Could not check for a new version" in r.getMessage() for r in caplog.records)
    assert drain(netbot) == []


def test_blacklisting_is_the_documented_way_out(netbot):
    reply = netbot.exec_command("!plugin blacklist VersionChecker")
    assert reply == "Plugin VersionChecker is now blacklisted."
    assert not checker(netbot).is_activated
    assert checker(netbot).current_pollers == {}


# -- version comparison ------------------------------------------------------------------------
def test_versions_order_like_pep_440():
    ordered = [
        "6.2.1", "7.0.0.dev1", "7.0.0a1", "7.0.0a2", "7.0.0b1", "7.0.0rc1", "7.0.0",
        "7.0.0.post1", "7.0.1", "7.1", "7.10.0", "10.0",
    ]
    keys = [version_key(v) for v in ordered]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert version_key("7.0") == version_key("7.0.0") == version_key("v7.0.0")
    assert is_newer("7.0.1", "7.0.0") and not is_newer("7.0.0", "7.0.0")
    for bad in ("", "latest", "7.0.0+local", "1!2.0", "7..0"):
        with pytest.raises(ValueError):
            version_key(bad)


def test_published_version_reads_the_known_keys():
    assert published_version({"python3": " 7.1.0 "}) == "7.1.0"
    assert published_version({"errbot": "7.2.0", "python3": "6.2.1"}) == "7.2.0"
    assert published_version({"errbot": "", "python3": "6.2.1"}) == "6.2.1"
    assert published_version({"python2": "4.0"}) is None
    assert published_version("7.1.0") is None


def test_setting_default_and_validation(tmp_path):
    config = config_from_dict({"BOT_ADMINS": ("a",), "BOT_DATA_DIR": str(tmp_path)})
    assert config.VERSION_CHECK_URL == "https://errbot.io/versions.json"
    config.VERSION_CHECK_URL = None
    validate(config, require_backend=False)
    config.VERSION_CHECK_URL = 3
    with pytest.raises(ConfigError, match="VERSION_CHECK_URL must be a URL, or None"):
        validate(config, require_backend=False)
