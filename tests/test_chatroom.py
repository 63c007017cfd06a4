"""Core plugin ChatRoom (contract 6.6, 8): the ``!room`` commands, CHATROOM_PRESENCE,
CHATROOM_FN and the relays, through the Test backend.

The Test backend's rooms do not care which nick or password they are joined with, so the
tests that check what the plugin passes register a ``RecordingRoom`` (a real TestRoom that also
notes its calls) in the backend before the plugin looks the room up.
"""

from __future__ import annotations

import os
import queue
from typing import Any

import pytest

from errbot.backends.base import Message, Room, RoomError, RoomNotJoinedError
from errbot.backends.test import TestOccupant, TestPerson, TestRoom

# PipeRecorder keeps every message the bot sends, to see where relayed messages went.
extra_plugin_dir = os.path.join(os.path.dirname(__file__), "plugins", "pipeline_core", "recorder")


class RecordingRoom(TestRoom):
    """A Test backend room noting the arguments of join() and invite()."""

    __test__ = False

    def __init__(self, name: str, bot: Any) -> None:
        super().__init__(name, bot=bot)
        self.joins: list[tuple[str | None, str | None]] = []
        self.invited: list[Any] = []

    def join(self, username: str | None = None, password: str | None = None) -> None:
        self.joins.append((username, password))
        super().join(username, password)

    def invite(self, *identifiers: Any) -> None:
        self.invited.extend(identifiers)
        super().invite(*identifiers)


class BrokenRoom(TestRoom):
    """A room whose backend refuses everything, as a network backend may."""

    __test__ = False

    def join(self, username: str | None = None, password: str | None = None) -> None:
        raise RuntimeError("the server said no")

    def leave(self, reason: str | None = None) -> None:
        raise RoomError("kicked out")

    @property
    def joined(self) -> bool:
        raise NotImplementedError("cannot tell")

    @property
    def occupants(self) -> list[TestOccupant]:
        raise RoomNotJoinedError("join it first")

    @property
    def topic(self) -> str | None:
        raise RoomNotJoinedError("join it first")

    @topic.setter
    def topic(self, topic: str) -> None:
        raise RoomError("topic is locked")


def register(testbot: Any, room: TestRoom) -> TestRoom:
    """Make ``room`` the object the backend returns for its name (an existing room)."""
    room.create()
    return room


def room_names(testbot: Any) -> list[str]:
    return [str(room) for room in testbot.bot.rooms()]


def chatroom(testbot: Any) -> Any:
    return testbot.bot.plugin_manager.get_plugin_obj_by_name("ChatRoom")


def sent_messages(testbot: Any, count: int) -> list[Message]:
    """The next ``count`` messages the bot sent, skipping the harness' "ready" probe."""
    recorder = testbot.bot.plugin_manager.get_plugin_obj_by_name("PipeRecorder")
    found: list[Message] = []
    while len(found) < count:
        msg = recorder.sent.get(timeout=5)
        if msg.body != "ready":
            found.append(msg)
    return found


def assert_silent(testbot: Any) -> None:
    with pytest.raises(queue.Empty):
        testbot.pop_message(timeout=0.5)


# -- arguments missing -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("!room create", "Please tell me which chatroom to create."),
        ("!room join", "Please tell me which chatroom to join."),
        ("!room leave", "Please tell me which chatroom to leave."),
        ("!room destroy", "Please tell me which chatroom to destroy."),
        ("!room invite", "Please tell me which person(s) to invite into which room."),
        ("!room invite testroom", "Please tell me which person(s) to invite into which room."),
        ("!room occupants", "Please supply a room to list the occupants of."),
        ("!room topic", "Please tell me which chatroom you want to know the topic of."),
    ],
)
def test_missing_arguments(testbot, command, reply):
    assert testbot.exec_command(command) == reply


def test_unbalanced_quotes_get_one_reply(testbot):
    reply = testbot.exec_command('!room join "half open')
    assert "No closing quotation" in reply
    assert_silent(testbot)


# -- create / destroy --------------------------------------------------------------------
def test_create_and_destroy_a_room_with_spaces_in_its_name(testbot):
    assert testbot.exec_command('!room create "war room"') == "Created the room war room."
    assert testbot.bot.query_room("war room").exists
    # created is not joined
    assert "war room" not in room_names(testbot)
    assert testbot.exec_command("!room destroy 'war room'") == "Destroyed the room war room."
    assert not testbot.bot.query_room("war room").exists


def test_destroying_a_missing_room(testbot):
    assert testbot.exec_command("!room destroy nowhere") == (
        "Cannot destroy the room nowhere: the room doesn't exist."
    )


# -- join / leave / list ---------------------------------------------------------------
def test_presence_room_is_joined_at_start_once(testbot):
    # The Test backend sets CHATROOM_PRESENCE = ("testroom",); callback_connect runs twice at
    # start-up, the bot is in the room once.
    assert room_names(testbot) == ["testroom"]
    occupants = testbot.bot.query_room("testroom").occupants
    assert [o.person for o in occupants] == ["err"]
    assert testbot.exec_command("!room list") == "I'm currently in these rooms:\n    testroom"


def test_join_list_and_leave(testbot):
    assert testbot.exec_command('!room join "coffee corner"') == "Joined the room coffee corner."
    assert room_names(testbot) == ["testroom", "coffee corner"]
    assert testbot.exec_command("!room list") == (
        "I'm currently in these rooms:\n    testroom\n    coffee corner"
    )
    assert testbot.exec_command('!room leave "coffee corner"') == "Left the room coffee corner."
    assert testbot.exec_command("!room leave testroom") == "Left the room testroom."
    assert room_names(testbot) == []
    assert testbot.exec_command("!room list") == "I'm not currently in any rooms."


def test_leaving_a_room_the_bot_is_not_in(testbot):
    assert testbot.exec_command("!room leave nowhere") == "I'm not in the room nowhere."
    testbot.exec_command("!room create idle")
    assert testbot.exec_command("!room leave idle") == "I'm not in the room idle."


def test_join_passes_chatroom_fn_and_the_password(testbot):
    vault = register(testbot, RecordingRoom("vault", testbot.bot))
    assert testbot.exec_command("!room join vault 's3 cret'") == "Joined the room vault."
    assert vault.joins == [("Errbot", "s3 cret")]
    lobby = register(testbot, RecordingRoom("lobby", testbot.bot))
    testbot.exec_command("!room join lobby")
    assert lobby.joins == [("Errbot", None)]


class TestChatroomFn:
    extra_config = {"CHATROOM_FN": "Watcher"}

    def test_join_uses_the_configured_nick(self, testbot):
        vault = register(testbot, RecordingRoom("vault", testbot.bot))
        testbot.exec_command("!room join vault")
        assert vault.joins == [("Watcher", None)]


def test_backend_errors_get_one_clear_reply(testbot):
    register(testbot, BrokenRoom("bunker", bot=testbot.bot))
    assert testbot.exec_command("!room join bunker") == (
        "Cannot join the room bunker: the server said no."
    )
    # joined cannot be told here, so leaving is attempted, and its error reported
    assert testbot.exec_command("!room leave bunker") == "Cannot leave the room bunker: kicked out."
    assert testbot.exec_command("!room occupants bunker") == (
        "Cannot list occupants in bunker: join it first."
    )
    assert testbot.exec_command("!room topic bunker") == (
        "Cannot get the topic for bunker: join it first."
    )
    assert testbot.exec_command("!room topic bunker new times") == (
        "Cannot set the topic for bunker: topic is locked."
    )
    assert_silent(testbot)


# -- CHATROOM_PRESENCE with passwords ---------------------------------------------------
def test_presence_pairs_are_joined_with_their_password(testbot):
    manager = testbot.bot.plugin_manager
    vault = register(testbot, RecordingRoom("vault", testbot.bot))
    plain = register(testbot, RecordingRoom("plain", testbot.bot))
    register(testbot, BrokenRoom("bunker", bot=testbot.bot))
    manager.deactivate_plugin("ChatRoom")
    # a room that cannot be joined does not keep the bot out of the next ones
    testbot.bot_config.CHATROOM_PRESENCE = ("bunker", "plain", ("vault", "s3cret"))
    manager.activate_plugin("ChatRoom")  # activation calls callback_connect
    assert plain.joins == [("Errbot", None)]
    assert vault.joins == [("Errbot", "s3cret")]
    # the second callback_connect of a start-up does not join again
    chatroom(testbot).callback_connect()
    assert vault.joins == [("Errbot", "s3cret")]
    assert plain.joined and vault.joined


# -- invite ------------------------------------------------------------------------------
def test_invite_builds_identifiers(testbot):
    room = register(testbot, RecordingRoom("team", testbot.bot))
    assert testbot.exec_command('!room invite team alice "bob smith"') == (
        "Invited alice, bob smith into the room team."
    )
    assert room.invited == [TestPerson("alice"), TestPerson("bob smith")]


def test_invite_into_a_missing_room(testbot):
    assert testbot.exec_command("!room invite nowhere alice") == (
        "Cannot invite alice into the room nowhere: the room doesn't exist."
    )


# -- occupants ---------------------------------------------------------------------------
def test_occupants_one_reply_per_room(testbot):
    testbot.exec_command("!room join 'second room'")
    testbot.push_message('!room occupants testroom "second room" nowhere')
    assert testbot.pop_message() == "Occupants in testroom:\n    err."
    assert testbot.pop_message() == "Occupants in second room:\n    err."
    assert testbot.pop_message() == "Cannot list occupants in nowhere: the room doesn't exist."


# -- topic -------------------------------------------------------------------------------
def test_topic_get_and_set(testbot):
    assert testbot.exec_command("!room topic testroom") == "No topic is set for testroom."
    assert testbot.exec_command('!room topic testroom "Release day" is today') == (
        "Topic for testroom set."
    )
    assert testbot.exec_command("!room topic testroom") == (
        "Topic for testroom: Release day is today."
    )
    assert testbot.bot.query_room("testroom").topic == "Release day is today"


def test_topic_of_a_missing_room(testbot):
    assert testbot.exec_command("!room topic nowhere") == (
        "Cannot get the topic for nowhere: the room doesn't exist."
    )
    assert testbot.exec_command("!room topic nowhere hello") == (
        "Cannot set the topic for nowhere: the room doesn't exist."
    )
    assert not testbot.bot.query_room("nowhere").exists


# -- relays ------------------------------------------------------------------------------
class TestRelays:
    extra_config = {
        "CHATROOM_RELAY": {"courier": ("testroom", "annex")},
        "REVERSE_CHATROOM_RELAY": {"testroom": (TestPerson("boss"), "deputy")},
    }

    def test_direct_messages_of_a_listed_person_go_to_each_room(self, testbot):
        testbot.exec_command("!room join annex")
        sent_messages(testbot, 1)  # the reply to the join
        testbot.bot.sender = TestPerson("courier")
        testbot.push_message("parcel for everyone")
        relayed = sent_messages(testbot, 2)
        assert [(str(m.to), m.body) for m in relayed] == [
            ("testroom", "parcel for everyone"),
            ("annex", "parcel for everyone"),
        ]
        assert all(isinstance(m.to, Room) for m in relayed)

    def test_room_messages_go_to_each_listed_person(self, testbot):
        room = testbot.bot.query_room("testroom")
        testbot.bot.callback_message(
            Message("status update", frm=TestOccupant("carol", room), to=room)
        )
        relayed = sent_messages(testbot, 2)
        assert [(m.to, m.body) for m in relayed] == [
            (TestPerson("boss"), "[carol] status update"),
            (TestPerson("deputy"), "[carol] status update"),
        ]

    def test_nothing_is_relayed_for_others(self, testbot):
        testbot.bot.sender = TestPerson("stranger")
        testbot.push_message("just chatting")
        other = testbot.bot.query_room("annex")
        other.join()
        testbot.bot.callback_message(Message("hi", frm=TestOccupant("carol", other), to=other))
        assert_silent(testbot)


class TestRoomCommandsRestrictedToAdmins:
    """The room commands are open to everyone (as in Errbot); docs/administration.md's security
    model shows how to keep them to the admins with one access rule. It must do what it says."""

    extra_config = {"ACCESS_CONTROLS": {"ChatRoom:*": {"allowusers": ("gbin@localhost",)}}}

    def test_only_admins_may_use_them(self, testbot):
        testbot.bot.sender = testbot.bot.build_identifier("joe@localhost")
        refused = "You're not allowed to access this command from this user"
        assert testbot.exec_command("!room create lounge") == refused
        assert testbot.exec_command("!room list") == refused
        assert "lounge" not in room_names(testbot)
        testbot.bot.sender = testbot.bot.build_identifier("gbin@localhost")
        assert testbot.exec_command("!room create lounge") == "Created the room lounge."
