"""The XMPP backend's connection handling against a real Prosody: STARTTLS and direct TLS
verified against the test CA, refused certificates and passwords, an unreachable server,
reconnection with rooms rejoined and queued messages delivered, XHTML-IM, clean shutdown.

This module has its own server (the reconnection test restarts it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers.prosody import ProsodyServer, free_port, prosody  # noqa: F401 - the fixture
from servers.xmpp_bot import BOT, HUMAN, MUC, RunningBot, start_bot, wait_for
from servers.xmpp_human import Human

from errbot.backends.xmpp.client import AUTH_FAILED, BAD_CERTIFICATE, UNREACHABLE


@pytest.fixture
def human(prosody: ProsodyServer) -> Iterator[Human]:  # noqa: F811
    person = Human(HUMAN, "humanpw", prosody.port, str(prosody.ca_file))
    yield person
    person.close()


@pytest.fixture
def stop_later() -> Iterator[list[RunningBot]]:
    bots: list[RunningBot] = []
    yield bots
    for running in bots:
        running.stop()


def test_starttls_with_the_test_ca(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    human: Human,
    stop_later: list[RunningBot],
) -> None:
    running = start_bot(prosody, tmp_path)
    stop_later.append(running)
    human.say(BOT, "!echo over starttls")
    human.expect_body("over starttls")


def test_direct_tls_with_the_test_ca(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    human: Human,
    stop_later: list[RunningBot],
) -> None:
    running = start_bot(
        prosody,
        tmp_path,
        identity={"server": ("127.0.0.1", prosody.tls_port)},
        XMPP_DIRECT_TLS=True,
        XMPP_SSL_VERSION="TLSv1_2",
    )
    stop_later.append(running)
    human.say(BOT, "!echo over direct tls")
    human.expect_body("over direct tls")


@pytest.mark.parametrize("direct", [False, True], ids=["starttls", "direct-tls"])
def test_a_certificate_from_another_ca_is_refused(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    stop_later: list[RunningBot],
    direct: bool,
) -> None:
    caplog.set_level(logging.INFO, logger="errbot.backends.xmpp")
    port = prosody.tls_port if direct else prosody.port
    running = start_bot(
        prosody,
        tmp_path,
        wait=False,
        identity={"server": ("127.0.0.1", port)},
        XMPP_DIRECT_TLS=direct,
        XMPP_CA_CERT_FILE=str(prosody.wrong_ca_file),
    )
    stop_later.append(running)
    wait_for(lambda: running.bot.connections >= 2, what="a second attempt")
    assert running.bot.last_failure == BAD_CERTIFICATE and not running.bot.connected
    assert "XMPP_CA_CERT_FILE" in caplog.text and "not trusted" in caplog.text
    assert running.thread.is_alive()


def test_a_wrong_password_is_logged_and_retried_slowly(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    stop_later: list[RunningBot],
) -> None:
    caplog.set_level(logging.INFO, logger="errbot.backends.xmpp")
    running = start_bot(prosody, tmp_path, wait=False, identity={"password": "nope"})
    stop_later.append(running)
    bot = running.bot
    wait_for(lambda: bot.last_failure == AUTH_FAILED, what="the refused login")
    assert "BOT_IDENTITY['password']" in caplog.text and "not-authorized" in caplog.text
    # A refused login waits refusal_retry_delay (1 s in tests) between attempts: no loop.
    attempts = bot.connections
    wait_for(lambda: bot.connections > attempts, 5, "a retry")
    assert "Reconnecting to the XMPP server in 1.0 s." in caplog.text
    assert running.thread.is_alive() and not bot.connected


def test_an_unreachable_server_is_retried_with_a_capped_back_off(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    stop_later: list[RunningBot],
) -> None:
    caplog.set_level(logging.INFO, logger="errbot.backends.xmpp")
    running = start_bot(
        prosody, tmp_path, wait=False, identity={"server": ("127.0.0.1", free_port())}
    )
    stop_later.append(running)
    wait_for(lambda: running.bot.connections >= 6, 15, "several attempts")
    assert running.bot.last_failure == UNREACHABLE
    assert "Cannot reach the XMPP server" in caplog.text
    assert "BOT_IDENTITY['server']" in caplog.text
    delays = [
        float(r.getMessage().split(" in ")[1].split(" s")[0])
        for r in caplog.records
        if r.getMessage().startswith("Reconnecting to the XMPP server in")
    ]
    assert delays[0] == 0.2 < delays[1] and max(delays) == 1.0  # grows, then capped


def test_xhtml_im_when_enabled(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    human: Human,
    stop_later: list[RunningBot],
) -> None:
    stop_later.append(start_bot(prosody, tmp_path, XMPP_XHTML_IM=True))
    human.say(BOT, "!echo **bold** and *it*")
    reply = human.expect_body("bold")
    assert reply.body == "bold and it"
    assert "<strong>bold</strong>" in reply.html and "<em>it</em>" in reply.html
    # Raw HTML that is not well-formed XML: the plain body still goes out.
    human.say(BOT, "!echo a <br> b")
    assert not human.expect_body("a").html


def test_reconnects_rejoins_and_delivers_queued_messages(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    stop_later: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="errbot.backends.xmpp")
    room = f"reconnect@{MUC}"
    running = start_bot(prosody, tmp_path, CHATROOM_PRESENCE=(room,))
    stop_later.append(running)
    bot = running.bot
    wait_for(lambda: bot.query_room(room).joined, what="the first join")

    prosody.stop(kill=True)  # no stream close: the bot sees the TCP connection drop
    wait_for(lambda: not bot.connected, what="the disconnection")
    # Sent while offline: kept and delivered after the reconnection, up to the bound; one
    # more is refused with an error in the log, never dropped silently.
    bot.send_queue_limit = 1
    bot.send(bot.build_identifier(HUMAN), "sent while offline")
    bot.send(bot.build_identifier(HUMAN), "one too many")
    wait_for(lambda: "the message to human@localhost is dropped" in caplog.text, 5, "a refusal")
    assert not bot.query_room(room).joined
    prosody.start()

    wait_for(lambda: bot.connected and bot.query_room(room).joined, 20, "the reconnection")
    human = Human(HUMAN, "humanpw", prosody.port, str(prosody.ca_file))
    try:
        human.expect_body("sent while offline")
        human.join(room, "hum")
        human.say_in_room(room, "!echo back again")
        human.expect_body("back again", frm=f"{room}/Errbot")
        human.say(BOT, "!echo direct again")
        human.expect_body("direct again")
    finally:
        human.close()
    assert "Disconnected from the XMPP server" in caplog.text
    assert "Sending 1 messages queued while disconnected." in caplog.text


def test_shutdown_closes_the_stream(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    running = start_bot(prosody, tmp_path)
    caplog.set_level(logging.DEBUG, logger="slixmpp.xmlstream.xmlstream")
    running.stop()  # returns once serve_forever has returned
    # The bot ended its stream and the server answered with its own end of stream (a
    # dropped socket would not get that answer).
    assert "SEND: </stream:stream>" in caplog.text
    assert "End of stream received" in caplog.text
