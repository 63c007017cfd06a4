"""The XMPP backend against a real Prosody: direct messages, rooms, ACLs, presence, XHTML-IM.

One server and one bot for the module (starting them costs ~1 s); a second slixmpp client,
`Human`, plays the person. Rooms get a fresh name per test so tests do not see each other.
"""

from __future__ import annotations

import pickle
import threading
import uuid
from collections.abc import Iterator

import pytest
from servers.prosody import ProsodyServer, prosody  # noqa: F401 - the fixture
from servers.xmpp_bot import BOT, HUMAN, MUC, OTHER, RunningBot, start_bot, wait_for
from servers.xmpp_human import Human

from errbot.backends.base import AWAY, Message, Presence
from errbot.backends.xmpp import XMPPBackend, XMPPPerson, XMPPRoom, XMPPRoomOccupant


@pytest.fixture(scope="module")
def running(
    prosody: ProsodyServer,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningBot]:
    bot = start_bot(prosody, tmp_path_factory.mktemp("xmpp-bot"))
    yield bot
    bot.stop()


@pytest.fixture(scope="module")
def bot(running: RunningBot) -> XMPPBackend:
    return running.bot


@pytest.fixture(scope="module")
def human(prosody: ProsodyServer, running: RunningBot) -> Iterator[Human]:  # noqa: F811
    person = Human(HUMAN, "humanpw", prosody.port, str(prosody.ca_file))
    yield person
    person.close()


@pytest.fixture(scope="module")
def other(prosody: ProsodyServer, running: RunningBot) -> Iterator[Human]:  # noqa: F811
    person = Human(OTHER, "otherpw", prosody.port, str(prosody.ca_file))
    yield person
    person.close()


def new_room() -> str:
    return f"r{uuid.uuid4().hex[:10]}@{MUC}"


def bot_joins(human: Human, room: str, password: str = "") -> None:
    """Have the bot join ``room`` (it creates the room, so it is its owner)."""
    human.say(BOT, f"!room join {room} {password}".strip())
    human.expect_body(f"Joined the room {room}.")


# -- direct messages --------------------------------------------------------------------------


def test_echo_in_a_direct_message(human: Human) -> None:
    human.say(BOT, "!echo hello")
    reply = human.expect_body("hello")
    assert reply.kind == "chat"
    assert reply.frm.startswith(BOT)
    assert reply.body == "hello"
    assert not reply.html  # XMPP_XHTML_IM is off


def test_markdown_is_sent_as_plain_text(human: Human) -> None:
    human.say(BOT, "!echo **bold** and `code`")
    assert human.expect_body("bold").body == "bold and code"


def test_whoami_shows_the_xmpp_identity(human: Human) -> None:
    human.say(BOT, "!whoami")
    body = human.expect_body("person").body
    assert "human@localhost" in body and "XMPPPerson" in body


def test_admin_command_is_allowed_for_the_admin_jid(human: Human) -> None:
    human.say(BOT, "!backup")
    assert "backup file has been written" in human.expect_body("backup").body


def test_admin_command_is_refused_to_another_account(other: Human) -> None:
    other.say(BOT, "!backup")
    assert other.expect_body("bot-admin").body == "This command requires bot-admin privileges"


def test_send_from_a_plain_thread_is_delivered(bot: XMPPBackend, human: Human) -> None:
    # Errbot #1532: self.send() from a webhook or poller thread failed with
    # "no current event loop" on XMPP.
    errors: list[BaseException] = []

    def from_thread() -> None:
        try:
            bot.send(bot.build_identifier(HUMAN), "from a thread")
            msg = Message("straight to send_message")
            msg.to, msg.frm = bot.build_identifier(HUMAN), bot.bot_identifier
            bot.send_message(msg)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=from_thread)
    worker.start()
    worker.join(5)
    assert not errors
    human.expect_body("from a thread")
    human.expect_body("straight to send_message")


def test_offline_history_and_own_messages_are_not_commands(bot: XMPPBackend) -> None:
    delayed = Message("!echo old", frm=XMPPPerson("human", "localhost"), to=bot.bot_identifier)
    delayed.delayed = True
    assert bot.process_message(delayed) is False


# -- identifiers ------------------------------------------------------------------------------


def test_identifiers(bot: XMPPBackend) -> None:
    person = bot.build_identifier("Human@LocalHost/phone")
    assert isinstance(person, XMPPPerson)
    assert (person.node, person.domain, person.resource) == ("human", "localhost", "phone")
    assert person.person == "human@localhost" and person.client == "phone"
    assert person.aclattr == "human@localhost" and str(person) == "human@localhost/phone"
    room = bot.build_identifier(f"dev@{MUC}")
    assert isinstance(room, XMPPRoom) and room is bot.query_room(f"dev@{MUC}")
    occupant = bot.build_identifier(f"dev@{MUC}/alice")
    assert isinstance(occupant, XMPPRoomOccupant)
    assert occupant.room is room and occupant.nick == "alice"
    assert str(occupant) == f"dev@{MUC}/alice" and occupant.aclattr == str(occupant)
    for identifier in (person, room, occupant):
        assert bot.build_identifier(str(identifier)) == identifier
        assert pickle.loads(pickle.dumps(identifier)) == identifier
    with pytest.raises(ValueError):
        bot.build_identifier("not a jid@@")


# -- rooms ------------------------------------------------------------------------------------


def test_echo_in_a_room(bot: XMPPBackend, human: Human) -> None:
    room = new_room()
    bot_joins(human, room)
    human.join(room, "hum")
    human.drain()
    human.say_in_room(room, "!echo hello room")
    reply = human.expect_body("hello room", frm=f"{room}/Errbot")
    assert reply.kind == "groupchat" and reply.body == "hello room"
    # The bot's own message comes back from the room: it must not answer itself.
    human.say_in_room(room, "!echo second")
    human.expect_body("second", frm=f"{room}/Errbot")
    assert not [m for m in human.drain() if m.frm == f"{room}/Errbot"]
    assert bot.query_room(room) in bot.rooms()


def test_room_occupant_is_recognised_as_admin_by_real_jid(bot: XMPPBackend, human: Human) -> None:
    room = new_room()
    bot_joins(human, room)  # the bot owns the room, so it sees real JIDs
    human.join(room, "hum")
    human.say_in_room(room, "!whoami")
    body = human.expect_body("XMPPRoomOccupant").body
    assert f"{room}/hum" in body
    occupant = bot.build_identifier(f"{room}/hum")
    wait_for(lambda: bot.occupant(occupant.room, "hum").aclattr == HUMAN)


def test_room_commands(bot: XMPPBackend, human: Human) -> None:
    room = new_room()
    bot_joins(human, room)
    human.join(room, "hum")
    human.say(BOT, "!room list")
    assert room in human.expect_body("I'm currently in these rooms").body
    human.say(BOT, f"!room occupants {room}")
    body = human.expect_body("Occupants in").body
    assert f"{room}/Errbot" in body and f"{room}/hum" in body
    human.say(BOT, f"!room topic {room}")
    human.expect_body(f"No topic is set for {room}.")
    human.say(BOT, f"!room topic {room} Release day")
    human.expect_body(f"Topic for {room} set.")
    wait_for(lambda: bot.query_room(room).topic == "Release day")
    human.say(BOT, f"!room topic {room}")
    human.expect_body(f"Topic for {room}: Release day.")
    human.say(BOT, f"!room leave {room}")
    human.expect_body(f"Left the room {room}.")
    wait_for(lambda: "Errbot" not in human.occupants(room))
    assert bot.query_room(room) not in bot.rooms()
    human.say(BOT, f"!room topic {room}")
    human.expect_body(f"Cannot get the topic for {room}")


def test_create_invite_and_destroy(bot: XMPPBackend, human: Human, other: Human) -> None:
    room = new_room()
    human.say(BOT, f"!room create {room}")
    human.expect_body(f"Created the room {room}.")
    assert bot.query_room(room).joined and bot.query_room(room).exists
    human.say(BOT, f"!room invite {room} {OTHER}")
    human.expect_body(f"Invited {OTHER} into the room {room}.")
    invitation = other.expect(lambda m: m.frm == room)
    assert invitation.kind in ("normal", "")
    human.say(BOT, f"!room destroy {room}")
    human.expect_body(f"Destroyed the room {room}.")
    assert not bot.query_room(room).joined
    assert not bot.query_room(room).exists


def test_password_protected_room(bot: XMPPBackend, human: Human) -> None:
    room = new_room()
    human.join(room, "owner")
    human.configure_room(room, roomsecret="s3cret")
    human.say(BOT, f"!room join {room}")
    reply = human.expect_body("needs a password").body
    assert "CHATROOM_PRESENCE" in reply and not bot.query_room(room).joined
    human.say(BOT, f"!room join {room} wrong")
    human.expect_body("Wrong password")
    human.say(BOT, f"!room join {room} s3cret")
    human.expect_body(f"Joined the room {room}.")
    human.say_in_room(room, "!echo inside")
    human.expect(lambda m: m.kind == "groupchat" and m.body == "inside")


def test_room_callbacks_presence_and_mentions(bot: XMPPBackend, human: Human) -> None:
    events: list[tuple[str, object]] = []
    originals = {}
    for name in ("callback_room_joined", "callback_room_left", "callback_room_topic",
                 "callback_presence", "callback_mention"):
        originals[name] = getattr(bot, name)

        def record(*args: object, _name: str = name, **kwargs: object) -> None:
            events.append((_name, args))
            originals[_name](*args, **kwargs)

        setattr(bot, name, record)
    try:
        room = new_room()
        bot_joins(human, room)
        wait_for(lambda: any(e[0] == "callback_room_joined" for e in events))
        human.join(room, "hum")
        wait_for(lambda: any(
            e[0] == "callback_room_joined" and getattr(e[1][1], "nick", "") == "hum"
            for e in events
        ))
        human.set_presence("away", "lunch", to=f"{room}/hum")
        wait_for(lambda: any(
            e[0] == "callback_presence" and e[1][0].status == AWAY for e in events
        ))
        presence: Presence = next(
            e[1][0] for e in events if e[0] == "callback_presence" and e[1][0].status == AWAY
        )
        assert presence.message == "lunch" and presence.identifier.nick == "hum"
        human.say_in_room(room, "hello @Errbot")
        wait_for(lambda: any(e[0] == "callback_mention" for e in events))
        mention = next(e[1] for e in events if e[0] == "callback_mention")
        assert [p.nick for p in mention[1]] == ["Errbot"]
        # Only moderators may change the subject (Prosody's default): the bot owns the room.
        bot.query_room(room).topic = "new subject"
        wait_for(lambda: any(e[0] == "callback_room_topic" for e in events))
        human.expect(lambda m: m.subject == "new subject")
        human.leave(room, "hum")
        wait_for(lambda: any(
            e[0] == "callback_room_left" and getattr(e[1][1], "nick", "") == "hum"
            for e in events
        ))
    finally:
        for name in originals:
            delattr(bot, name)


def test_direct_presence_is_reported(bot: XMPPBackend, human: Human) -> None:
    seen: list[Presence] = []
    original = bot.callback_presence
    bot.callback_presence = lambda p: (seen.append(p), original(p))  # type: ignore[method-assign]
    try:
        human.set_presence("dnd", "busy", to=f"{BOT}/errbot")
        wait_for(lambda: any(p.status == "dnd" for p in seen))
        presence = next(p for p in seen if p.status == "dnd")
        assert presence.message == "busy" and presence.identifier.person == HUMAN
    finally:
        del bot.callback_presence
