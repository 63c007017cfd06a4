"""Where replies go (contract 6.2 step 5-6, 6.6): rooms, DIVERT_TO_PRIVATE, DIVERT_TO_THREAD,
GROUPCHAT_NICK_PREFIXED, CHATROOM_RELAY and REVERSE_CHATROOM_RELAY."""

import logging

from test_dispatch_helpers import (
    CORE_DIR,
    NickedOccupant,
    assert_silent,
    next_sent,
    send_room,
)

from errbot.backends.base import Room
from errbot.backends.test import TestPerson

extra_plugin_dir = CORE_DIR
loglevel = logging.WARNING


def test_group_command_is_answered_in_the_room(testbot):
    msg = send_room(testbot, "!cmd in room")
    assert testbot.pop_message() == "cmd:[in room]"
    sent = next_sent(testbot)
    assert isinstance(sent.to, Room)
    assert sent.to == msg.to
    assert sent.parent is None


def test_group_errors_are_answered_in_the_room(testbot):
    send_room(testbot, "!gen then fail")
    assert testbot.pop_message() == "partial"
    assert testbot.pop_message().startswith("Computer says nooo.")
    assert [str(next_sent(testbot).to) for _ in range(2)] == ["testroom", "testroom"]


def test_unknown_command_in_a_room_is_answered_in_the_room(testbot):
    send_room(testbot, "!nosuchthing")
    assert testbot.pop_message() == 'Command "nosuchthing" not found.'
    assert str(next_sent(testbot).to) == "testroom"


def test_no_nick_prefix_by_default(testbot):
    send_room(testbot, "!cmd plain", occupant=NickedOccupant("zed", testbot.bot.query_room(
        "testroom"), "Zed"))
    assert testbot.pop_message() == "cmd:[plain]"


class TestDivertToPrivate:
    extra_config = {"DIVERT_TO_PRIVATE": ("cmd_sub", "weather")}

    def test_diverted_command_answers_the_person(self, testbot):
        msg = send_room(testbot, "!cmd sub secret")
        assert testbot.pop_message() == "cmd_sub:[secret]"
        sent = next_sent(testbot)
        assert not isinstance(sent.to, Room)
        assert sent.to == msg.frm

    def test_diverted_regex_command(self, testbot):
        msg = send_room(testbot, "!weather oslo")
        assert testbot.pop_message() == "sunny in oslo"
        assert next_sent(testbot).to == msg.frm

    def test_other_commands_still_answer_the_room(self, testbot):
        send_room(testbot, "!cmd public")
        assert testbot.pop_message() == "cmd:[public]"
        assert isinstance(next_sent(testbot).to, Room)

    def test_direct_message_answered_directly(self, testbot):
        testbot.push_message("!cmd sub dm")
        assert testbot.pop_message() == "cmd_sub:[dm]"
        assert next_sent(testbot).to == testbot.bot.sender


class TestDivertAllToPrivate:
    extra_config = {"DIVERT_TO_PRIVATE": ("ALL_COMMANDS",)}

    def test_every_command_answers_the_person(self, testbot):
        msg = send_room(testbot, "!cmd any")
        send_room(testbot, "!tpl Zoe")
        assert sorted([testbot.pop_message(), testbot.pop_message()]) == [
            "cmd:[any]",
            "core says Zoe",
        ]
        assert [next_sent(testbot).to, next_sent(testbot).to] == [msg.frm, msg.frm]

    def test_errors_are_diverted_too(self, testbot):
        msg = send_room(testbot, "!falsy bad-key")
        assert testbot.pop_message().startswith("Computer says nooo.")
        assert next_sent(testbot).to == msg.frm


class TestDivertToThread:
    extra_config = {"DIVERT_TO_THREAD": ("cmd",)}

    def test_reply_is_threaded_under_the_command(self, testbot):
        msg = send_room(testbot, "!cmd threaded")
        assert testbot.pop_message() == "cmd:[threaded]"
        sent = next_sent(testbot)
        assert sent.parent is msg
        assert sent.is_threaded
        assert isinstance(sent.to, Room)

    def test_other_commands_are_not_threaded(self, testbot):
        send_room(testbot, "!cmd sub flat")
        testbot.pop_message()
        assert next_sent(testbot).parent is None

    def test_direct_message_reply_is_threaded_too(self, testbot):
        testbot.push_message("!cmd in dm")
        testbot.pop_message()
        assert next_sent(testbot).parent is not None


class TestDivertAllToThread:
    extra_config = {"DIVERT_TO_THREAD": ("ALL_COMMANDS",)}

    def test_all_commands_threaded(self, testbot):
        msg = send_room(testbot, "!gen mixed")
        assert [testbot.pop_message(), testbot.pop_message()] == ["first", "last"]
        assert [next_sent(testbot).parent, next_sent(testbot).parent] == [msg, msg]


class TestGroupchatNickPrefixed:
    extra_config = {"GROUPCHAT_NICK_PREFIXED": True}

    def occupant(self, testbot):
        return NickedOccupant("zed", testbot.bot.query_room("testroom"), "Zed")

    def test_room_reply_is_prefixed_with_the_nick(self, testbot):
        send_room(testbot, "!cmd hi", occupant=self.occupant(testbot))
        assert testbot.pop_message() == "@Zed cmd:[hi]"

    def test_occupant_without_nick_is_named_by_person(self, testbot):
        send_room(testbot, "!cmd hey", person="someone")
        assert testbot.pop_message() == "@someone cmd:[hey]"

    def test_heading_survives_the_prefix(self, testbot):
        send_room(testbot, "!heading", occupant=self.occupant(testbot))
        testbot.pop_message()
        assert next_sent(testbot).body == "@Zed \n# Title"

    def test_direct_reply_is_not_prefixed(self, testbot):
        assert testbot.exec_command("!cmd dm") == "cmd:[dm]"

    def test_unknown_command_reply_is_prefixed(self, testbot):
        send_room(testbot, "!nosuch", occupant=self.occupant(testbot))
        assert testbot.pop_message() == '@Zed Command "nosuch" not found.'


class TestNickPrefixedAndDiverted:
    extra_config = {"GROUPCHAT_NICK_PREFIXED": True, "DIVERT_TO_PRIVATE": ("cmd_sub",)}

    def test_diverted_reply_is_not_prefixed(self, testbot):
        occupant = NickedOccupant("zed", testbot.bot.query_room("testroom"), "Zed")
        send_room(testbot, "!cmd sub private", occupant=occupant)
        assert testbot.pop_message() == "cmd_sub:[private]"
        send_room(testbot, "!cmd public", occupant=occupant)
        assert testbot.pop_message() == "@Zed cmd:[public]"


class TestChatroomRelay:
    extra_config = {"CHATROOM_RELAY": {"relayer": ("testroom",)}}

    def test_direct_message_is_relayed_to_the_room(self, testbot):
        testbot.bot.sender = testbot.bot.build_identifier("relayer")
        testbot.push_message("hello everybody")
        assert testbot.pop_message() == "hello everybody"
        sent = next_sent(testbot)
        assert isinstance(sent.to, Room)
        assert str(sent.to) == "testroom"
        assert sent.body == "hello everybody"

    def test_commands_are_relayed_too(self, testbot):
        testbot.bot.sender = testbot.bot.build_identifier("relayer")
        testbot.push_message("!cmd relayed")
        replies = sorted([testbot.pop_message(), testbot.pop_message()])
        assert replies == ["!cmd relayed", "cmd:[relayed]"]

    def test_other_people_are_not_relayed(self, testbot):
        testbot.push_message("hello from the admin")
        testbot.bot.sender = testbot.bot.build_identifier("stranger")
        testbot.push_message("hello from a stranger")
        assert_silent(testbot)

    def test_room_messages_are_not_relayed(self, testbot):
        send_room(testbot, "room chatter", person="relayer")
        assert_silent(testbot)


class TestReverseChatroomRelay:
    extra_config = {"REVERSE_CHATROOM_RELAY": {"testroom": (TestPerson("boss"),)}}

    def test_room_message_is_relayed_to_the_user(self, testbot):
        send_room(testbot, "what is going on", person="alice")
        assert testbot.pop_message() == "[alice] what is going on"
        sent = next_sent(testbot)
        assert sent.to == TestPerson("boss")
        assert sent.body == "[alice] what is going on"

    def test_other_rooms_are_not_relayed(self, testbot):
        other = testbot.bot.query_room("elsewhere")
        other.join()
        send_room(testbot, "quiet here", room="elsewhere")
        assert_silent(testbot)

    def test_direct_messages_are_not_relayed(self, testbot):
        testbot.push_message("just to the bot")
        assert_silent(testbot)


def test_divert_settings_are_read_at_each_command(testbot):
    msg = send_room(testbot, "!cmd before")
    testbot.pop_message()
    assert next_sent(testbot).to == msg.to
    testbot.bot_config.DIVERT_TO_PRIVATE = ("cmd",)
    testbot.bot_config.DIVERT_TO_THREAD = ("ALL_COMMANDS",)
    msg = send_room(testbot, "!cmd after")
    testbot.pop_message()
    sent = next_sent(testbot)
    assert sent.to == msg.frm
    assert sent.parent is msg


class TestRelaySingleValues:
    # A single room or user instead of a tuple: not iterated character by character.
    extra_config = {
        "CHATROOM_RELAY": {"relayer": "testroom"},
        "REVERSE_CHATROOM_RELAY": {"testroom": "boss"},
    }

    def test_single_room(self, testbot):
        testbot.bot.sender = testbot.bot.build_identifier("relayer")
        testbot.push_message("to the room")
        assert testbot.pop_message() == "to the room"
        assert str(next_sent(testbot).to) == "testroom"
        testbot.bot.sender = testbot.bot.build_identifier("gbin@localhost")
        assert_silent(testbot)  # one copy only, to one room

    def test_single_user_given_as_text(self, testbot):
        send_room(testbot, "to the boss", person="alice")
        assert testbot.pop_message() == "[alice] to the boss"
        assert next_sent(testbot).to == TestPerson("boss")
        assert_silent(testbot)


class TestRelayToSeveralDestinations:
    extra_config = {"CHATROOM_RELAY": {"relayer": ("testroom", "second")}}

    def test_every_room_receives_the_message(self, testbot):
        testbot.bot.query_room("second").join()
        testbot.bot.sender = testbot.bot.build_identifier("relayer")
        testbot.push_message("to both")
        assert [testbot.pop_message(), testbot.pop_message()] == ["to both", "to both"]
        assert sorted(str(next_sent(testbot).to) for _ in range(2)) == ["second", "testroom"]
