"""The IRC backend's BOT_IDENTITY keys and channel keys against a real ngircd: NickServ
IDENTIFY (ngircd has no services, so a second client named NickServ receives it), the USER
name, the local bind address, IPv6, and channels that need a key (CHATROOM_PRESENCE pairs)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers.ngircd import IrcUser, Ngircd
from test_backend_irc_helpers import RunningBot, wait_until


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ngircd]:
    # Also on ::1 for the IPv6 test (the loopback has an IPv6 address here).
    server = Ngircd(tmp_path_factory.mktemp("ngircd"), listen="127.0.0.1,::1")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bots() -> Iterator[list[RunningBot]]:
    started: list[RunningBot] = []
    yield started
    for running in started:
        running.stop()


def test_nickserv_identify_comes_first_from_the_username_and_bind_address(
    server: Ngircd, bots: list[RunningBot], tmp_path: Path
) -> None:
    nickserv = IrcUser(server.port, "NickServ")
    nickserv.join("#members")
    bots.append(
        RunningBot(
            tmp_path,
            server.port,
            identity={
                "nickname": "ident",
                "username": "botuser",
                "nickserv_password": "hunter2",
                # Any 127/8 address reaches the server's 127.0.0.1 on Linux; the server
                # shows the address the bot connected from (DNS = no).
                "bind_address": ("127.0.0.2", 0),
            },
            CHATROOM_PRESENCE=("#members",),
        )
    )
    identify = nickserv.expect(lambda x: x.command in ("PRIVMSG", "JOIN") and x.nick == "ident")
    # Sent before the bot joins anything: channels for registered nicks (+R) need it first.
    assert identify.command == "PRIVMSG" and identify.params == ["NickServ", "IDENTIFY hunter2"]
    nick, _, userhost = identify.prefix.partition("!")
    user, _, host = userhost.partition("@")
    assert user.lstrip("~") == "botuser" and host == "127.0.0.2"
    join = nickserv.expect(lambda x: x.command == "JOIN" and x.nick == "ident")
    assert join.params[0] == "#members"
    nickserv.close()


def test_ipv6(server: Ngircd, bots: list[RunningBot], tmp_path: Path) -> None:
    running = RunningBot(
        tmp_path, server.port, identity={"server": "::1", "ipv6": True, "nickname": "six"}
    )
    bots.append(running)
    running.wait_online()
    assert (running.bot.client.mask or "").endswith(("@::1", "@[0::1]"))  # ngircd writes [0::1]
    boss = IrcUser(server.port, "boss")
    boss.say("six", "!echo over IPv6")
    assert boss.message_from("six") == "over IPv6"
    boss.close()


def test_ipv6_with_an_ipv4_only_server_names_the_setting(
    server: Ngircd, bots: list[RunningBot], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="errbot.backends.irc")
    running = RunningBot(tmp_path, server.port, identity={"ipv6": True, "nickname": "four"})
    bots.append(running)
    wait_until(lambda: "BOT_IDENTITY['ipv6']" in caplog.text, 10, "the failed attempt")
    assert "cannot connect to 127.0.0.1" in caplog.text
    assert running.thread.is_alive() and not running.bot.client.registered


def test_channels_with_a_key(
    server: Ngircd, bots: list[RunningBot], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    owner = IrcUser(server.port, "owner")
    for channel in ("#locked", "#wrongkey"):
        owner.join(channel)
        owner.send(f"MODE {channel} +k sesame")
        owner.expect(lambda x, c=channel: x.command == "MODE" and x.params[0] == c)
    running = RunningBot(
        tmp_path,
        server.port,
        identity={"nickname": "keyed"},
        CHATROOM_PRESENCE=(("#locked", "sesame"), ("#wrongkey", "guess")),
    )
    bots.append(running)
    running.wait_online("#locked")
    owner.say("#locked", "!echo inside")
    assert owner.message_from("keyed", "#locked") == "inside"
    # The wrong key: one error naming the channel and the server's reason; the bot runs on.
    wait_until(lambda: "#wrongkey" in caplog.text and "(+k)" in caplog.text, 10, "the refusal")
    assert not running.bot.client.book.is_joined("#wrongkey")
    owner.say("keyed", "!room join #wrongkey sesame")
    assert owner.message_from("keyed") == "Joined the room #wrongkey."
    owner.close()
