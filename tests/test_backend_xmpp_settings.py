"""The XMPP backend's settings and room edge cases against a real Prosody: CHATROOM_PRESENCE
with (room, password) pairs, a room nickname someone else holds, a room on a service that does
not exist, invitations to the bot, the bot's presence in rooms, XMPP_KEEPALIVE_INTERVAL,
XMPP_USE_IPV6 and XMPP_FEATURE_MECHANISMS."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers.prosody import ProsodyServer, prosody  # noqa: F401 - the fixture
from servers.xmpp_bot import BOT, HUMAN, MUC, RunningBot, start_bot, wait_for
from servers.xmpp_human import Human

from errbot.backends.base import AWAY
from errbot.backends.xmpp.client import NO_MECHANISM


def new_room() -> str:
    return f"s{uuid.uuid4().hex[:10]}@{MUC}"


@pytest.fixture
def human(prosody: ProsodyServer) -> Iterator[Human]:  # noqa: F811
    person = Human(HUMAN, "humanpw", prosody.port, str(prosody.ca_file))
    yield person
    person.close()


@pytest.fixture
def bots() -> Iterator[list[RunningBot]]:
    started: list[RunningBot] = []
    yield started
    for running in started:
        running.stop()


def test_chatroom_presence_with_a_password_and_a_taken_nickname(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    human: Human,
    bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="errbot.backends.xmpp")
    locked, crowded = new_room(), new_room()
    human.join(locked, "owner")
    human.configure_room(locked, roomsecret="s3cret")
    human.join(crowded, "Errbot")  # the bot's CHATROOM_FN, taken before it arrives
    running = start_bot(prosody, tmp_path, CHATROOM_PRESENCE=((locked, "s3cret"), crowded))
    bots.append(running)
    bot = running.bot
    wait_for(lambda: bot.query_room(locked).joined and bot.query_room(crowded).joined)
    human.say_in_room(locked, "!echo behind the password")
    human.expect_body("behind the password", frm=f"{locked}/Errbot")
    # The taken nickname: one warning naming it, then the bot is in as Errbot_.
    assert bot.query_room(crowded).joined_nick == "Errbot_"
    assert "The nickname Errbot is already used" in caplog.text and "Trying Errbot_" in caplog.text
    human.say_in_room(crowded, "!echo hello")
    human.expect_body("hello", frm=f"{crowded}/Errbot_")
    assert not [m for m in human.drain() if m.frm == f"{crowded}/Errbot"]


def test_a_room_on_a_service_that_does_not_exist(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    human: Human,
    bots: list[RunningBot],
) -> None:
    running = start_bot(prosody, tmp_path)
    bots.append(running)
    human.say(BOT, "!room join nowhere@muc.invalid")
    reply = human.expect_body("nowhere@muc.invalid").body
    assert reply.startswith("Cannot join the room nowhere@muc.invalid")
    assert not running.bot.query_room("nowhere@muc.invalid").joined
    human.say(BOT, "!echo still answering")
    human.expect_body("still answering")


def test_an_invitation_is_accepted_and_the_bot_presence_reaches_rooms(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    human: Human,
    bots: list[RunningBot],
) -> None:
    running = start_bot(prosody, tmp_path)
    bots.append(running)
    bot = running.bot
    joined: list[tuple[str, object]] = []
    original = bot.callback_room_joined

    def record(room: object, identifier: object, invited_by: object = None) -> None:
        joined.append((str(room), invited_by))
        original(room, identifier, invited_by)

    bot.callback_room_joined = record  # type: ignore[method-assign]
    room = new_room()
    human.join(room, "host")
    human.invite(room, BOT)
    wait_for(lambda: bot.query_room(room).joined, what="the bot to follow the invitation")
    wait_for(lambda: joined, what="callback_room_joined")
    # Prosody's rooms are anonymous: the inviter is named by room nickname.
    assert joined[0][0] == room and getattr(joined[0][1], "nick", None) == "host"
    human.say_in_room(room, "!echo invited")
    human.expect_body("invited", frm=f"{room}/Errbot")
    # change_presence reaches the room too, not only the bot's contacts.
    bot.change_presence(AWAY, "out for lunch")
    frm, _, show, status = human.expect_presence(
        lambda p: p[0] == f"{room}/Errbot" and p[2] == "away"
    )
    assert status == "out for lunch"


def test_keepalive_pings(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    human: Human,
    bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="slixmpp")
    running = start_bot(prosody, tmp_path, XMPP_KEEPALIVE_INTERVAL=0.2)
    bots.append(running)

    def pings() -> int:
        return sum(
            "urn:xmpp:ping" in r.getMessage() and "SEND" in r.getMessage() for r in caplog.records
        )

    wait_for(lambda: pings() >= 2, 10, "two keepalive pings")
    human.say(BOT, "!echo alive")
    human.expect_body("alive")
    assert running.bot.connected and running.bot.connections == 1


def test_an_ipv6_server_address(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    human: Human,
    bots: list[RunningBot],
) -> None:
    # XMPP_USE_IPV6 only changes the DNS look-up of the JID's domain (no "server" given);
    # an address given in BOT_IDENTITY['server'] is used as it is, IPv6 included.
    six = start_bot(
        prosody, tmp_path, identity={"server": ("::1", prosody.port)}, XMPP_USE_IPV6=True
    )
    bots.append(six)
    human.say(BOT, "!echo over IPv6")
    human.expect_body("over IPv6")
    conn = six.bot._conn
    assert conn is not None and conn.transport.get_extra_info("peername")[0] == "::1"


def test_feature_mechanisms(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path: Path,
    human: Human,
    bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="errbot.backends.xmpp")
    plain = start_bot(prosody, tmp_path / "plain", XMPP_FEATURE_MECHANISMS={"use_mechs": ["PLAIN"]})
    bots.append(plain)
    human.say(BOT, "!echo with PLAIN")
    human.expect_body("with PLAIN")
    plain.stop()
    bots.remove(plain)
    none = start_bot(
        prosody,
        tmp_path / "none",
        wait=False,
        XMPP_FEATURE_MECHANISMS={"use_mechs": ["X-NOT-A-MECHANISM"]},
    )
    bots.append(none)
    wait_for(lambda: none.bot.last_failure == NO_MECHANISM, what="the refused login")
    assert "XMPP_FEATURE_MECHANISMS" in caplog.text
    assert none.thread.is_alive()
