"""The IRC backend's connection against a real ngircd: TLS with certificate verification,
bad settings (password, certificate, unreachable server) with clear logs and back-off,
reconnection after a server restart, nick collisions, QUIT, and flood pacing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers.ngircd import IrcUser, Ngircd, free_port, make_cert
from test_backend_irc_helpers import RunningBot, wait_until


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ngircd]:
    server = Ngircd(tmp_path_factory.mktemp("ngircd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bots(tmp_path: Path) -> Iterator[list[RunningBot]]:
    started: list[RunningBot] = []
    yield started
    for running in started:
        running.stop()


def start(bots: list[RunningBot], tmp_path: Path, port: int, **kwargs: object) -> RunningBot:
    running = RunningBot(tmp_path / f"bot{len(bots)}", port, **kwargs)  # type: ignore[arg-type]
    bots.append(running)
    return running


def log_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_tls_with_the_servers_ca(server: Ngircd, bots: list[RunningBot], tmp_path: Path) -> None:
    running = start(
        bots,
        tmp_path,
        server.tls_port,
        identity={"ssl": True},
        IRC_CA_CERT_FILE=str(server.cert),
    )
    running.wait_online()
    boss = IrcUser(server.port, "boss")
    boss.say("errbot", "!echo over TLS")
    assert boss.message_from("errbot") == "over TLS"
    boss.close()


def test_an_untrusted_certificate_is_refused_and_retried(
    server: Ngircd, bots: list[RunningBot], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other_ca, _ = make_cert(tmp_path / "other", "other")
    caplog.set_level(logging.ERROR, logger="errbot.backends.irc")
    running = start(
        bots, tmp_path, server.tls_port, identity={"ssl": True}, IRC_CA_CERT_FILE=str(other_ca)
    )
    wait_until(lambda: len(log_lines(caplog, "not trusted")) >= 2, 10, "two refused attempts")
    line = log_lines(caplog, "not trusted")[0]
    assert "IRC_CA_CERT_FILE" in line and f"127.0.0.1:{server.tls_port}" in line
    assert not running.bot.client.registered


def test_a_wrong_server_password_is_reported(
    tmp_path: Path, bots: list[RunningBot], caplog: pytest.LogCaptureFixture
) -> None:
    locked = Ngircd(tmp_path / "locked", password="sesame")
    locked.start()
    try:
        caplog.set_level(logging.ERROR, logger="errbot.backends.irc")
        wrong = start(bots, tmp_path, locked.port, identity={"password": "guess"})
        wait_until(lambda: log_lines(caplog, "BOT_IDENTITY['password']"), 10, "a password error")
        assert not wrong.bot.client.registered
        wrong.stop()
        bots.remove(wrong)
        right = start(bots, tmp_path, locked.port, identity={"password": "sesame"})
        right.wait_online()
    finally:
        for running in bots:
            running.stop()
        bots.clear()
        locked.stop()


def test_an_unreachable_server_is_retried_with_growing_delays(
    bots: list[RunningBot], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()  # nothing listens there
    start(bots, tmp_path, port)
    wait_until(lambda: len(log_lines(caplog, "cannot connect")) >= 3, 10, "three attempts")
    line = log_lines(caplog, "cannot connect")[0]
    assert f"127.0.0.1:{port}" in line and "BOT_IDENTITY['server']" in line
    delays = [float(m.split()[2]) for m in log_lines(caplog, "Reconnecting in")]
    assert delays[1] > delays[0] and delays[2] > delays[1]


def test_reconnects_rejoins_and_delivers_what_was_held(
    tmp_path: Path, bots: list[RunningBot]
) -> None:
    own = Ngircd(tmp_path / "own")  # restarted: not the module's server
    own.start()
    try:
        running = start(bots, tmp_path, own.port, CHATROOM_PRESENCE=("#home",))
        running.wait_online("#home")
        own.stop()
        wait_until(lambda: not running.bot.client.registered, 5, "the bot to notice")
        # Sent while the server is down, from a thread that is not the bot's.
        boss_id = running.bot.build_identifier("boss")
        sender = threading.Thread(target=running.bot.send, args=(boss_id, "held while away"))
        sender.start()
        sender.join()
        own.start()
        boss = IrcUser(own.port, "boss")
        assert boss.message_from("errbot", timeout=15) == "held while away"
        boss.join("#home")
        running.wait_online("#home")
        boss.say("#home", "!echo back again")
        assert boss.message_from("errbot", "#home") == "back again"
        boss.close()
    finally:
        for running in bots:
            running.stop()
        bots.clear()
        own.stop()


def test_a_taken_nick_gets_underscores(
    server: Ngircd, bots: list[RunningBot], tmp_path: Path
) -> None:
    squatter = IrcUser(server.port, "clash")
    running = start(bots, tmp_path, server.port, identity={"nickname": "clash"})
    running.wait_online()
    assert running.bot.client.nick == "clash_"
    assert running.bot.bot_identifier.nick == "clash_"
    squatter.say("clash_", "!echo hi")
    assert squatter.message_from("clash_") == "hi"
    squatter.close()


def test_stopping_sends_quit(server: Ngircd, bots: list[RunningBot], tmp_path: Path) -> None:
    running = start(bots, tmp_path, server.port, CHATROOM_PRESENCE=("#quit",))
    running.wait_online("#quit")
    watcher = IrcUser(server.port, "watcher")
    watcher.join("#quit")
    running.stop()
    bots.remove(running)
    line = watcher.expect(lambda x: x.command == "QUIT" and x.nick == "errbot")
    assert "Errbot shutting down" in line.text  # ngircd quotes it
    watcher.close()


def test_a_long_reply_is_paced_and_the_bot_stays_connected(
    tmp_path: Path, bots: list[RunningBot]
) -> None:
    # The one test with the server's own flood penalties on: a 30-line reply of long lines
    # arrives complete and in order, and the bot is never thrown out for flooding.
    strict = Ngircd(tmp_path / "strict", penalties=True)
    strict.start()
    try:
        running = start(
            bots, tmp_path, strict.port, CHATROOM_PRESENCE=("#slow",), IRC_CHANNEL_RATE=0.1
        )
        running.wait_online("#slow")
        boss = IrcUser(strict.port, "boss")
        boss.join("#slow")
        boss.say("#slow", "!lines 30 300")
        # (The pacing itself is shown without timings in test_backend_irc_units.)
        lines = boss.messages_from("errbot", 30, "#slow", timeout=30)
        assert [line.split()[1] for line in lines] == [str(i) for i in range(30)]
        assert all(len(line) == 300 for line in lines)
        assert running.bot.client.registered
        boss.say("#slow", "!echo still here")
        assert boss.message_from("errbot", "#slow", timeout=30) == "still here"
        assert "Excess Flood" not in strict.log.read_text()
        boss.close()
    finally:
        for running in bots:
            running.stop()
        bots.clear()
        strict.stop()
