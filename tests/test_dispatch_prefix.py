"""Prefix handling (contract 6.1 step 2): BOT_PREFIX, alternate prefixes, separators, the
optional prefix in direct messages."""

import logging

from test_dispatch_helpers import CORE_DIR, assert_silent, plugin, room_message

extra_plugin_dir = CORE_DIR
loglevel = logging.WARNING


class TestPrefixWithSpace:
    extra_config = {"BOT_PREFIX": "! "}

    def test_prefix_with_a_space_is_recognised(self, testbot):
        assert testbot.exec_command("! cmd hello") == "cmd:[hello]"

    def test_prefix_without_its_space_is_not_a_command(self, testbot):
        testbot.push_message("!cmd hello")
        assert_silent(testbot)
        assert plugin(testbot, "PipeCore").called("cmd") == []

    def test_suggestions_use_the_configured_prefix(self, testbot):
        reply = testbot.exec_command("! frobnicat")
        assert reply.startswith('Command "frobnicat" not found.')
        assert 'Did you mean "! frobnicate" or "! frobnicator" ?' in reply


class TestAltPrefixes:
    extra_config = {"BOT_ALT_PREFIXES": ("err", "errbot", "Hey bot")}

    def test_alt_prefix(self, testbot):
        assert testbot.exec_command("err cmd one") == "cmd:[one]"

    def test_longest_alt_prefix_wins(self, testbot):
        # If "err" won, the command would be "bot" and nothing would run.
        assert testbot.exec_command("errbot cmd two") == "cmd:[two]"

    def test_alt_prefix_containing_a_space(self, testbot):
        assert testbot.exec_command("Hey bot cmd three") == "cmd:[three]"

    def test_bot_prefix_still_works(self, testbot):
        assert testbot.exec_command("!cmd four") == "cmd:[four]"

    def test_alt_prefixes_are_case_sensitive_by_default(self, testbot):
        testbot.push_message("ERR cmd five")
        testbot.push_message("hey bot cmd five")
        assert_silent(testbot)
        assert plugin(testbot, "PipeCore").called("cmd") == []

    def test_alt_prefix_in_a_room(self, testbot):
        msg = room_message(testbot, "errbot cmd six")
        testbot.bot.callback_message(msg)
        assert testbot.pop_message() == "cmd:[six]"

    def test_alt_prefix_then_bot_prefix(self, testbot):
        # Both are removed: the alternate prefix first, then BOT_PREFIX right after it.
        assert testbot.exec_command("err!cmd seven") == "cmd:[seven]"


class TestAltPrefixSeparators:
    extra_config = {
        "BOT_ALT_PREFIXES": ("errbot",),
        "BOT_ALT_PREFIX_SEPARATORS": (":", ",", ";"),
    }

    def test_single_separator(self, testbot):
        assert testbot.exec_command("errbot: cmd a") == "cmd:[a]"
        assert testbot.exec_command("errbot, cmd b") == "cmd:[b]"

    def test_separators_removed_in_sequence(self, testbot):
        # ":" then "," then ";" are each tried once, in the configured order.
        assert testbot.exec_command("errbot:,; cmd c") == "cmd:[c]"
        assert testbot.exec_command("errbot:; cmd d") == "cmd:[d]"

    def test_separator_out_of_order_is_left_in_place(self, testbot):
        # "," is removed, then ";" is tried; ":" was tried before "," so it stays.
        reply = testbot.exec_command("errbot,:cmd e")
        assert "not found" in reply
        assert plugin(testbot, "PipeCore").called("cmd") == []

    def test_separator_without_alt_prefix_is_just_text(self, testbot):
        testbot.push_message(": cmd f")
        assert_silent(testbot)
        assert plugin(testbot, "PipeCore").called("cmd") == []


class TestAltPrefixCaseInsensitive:
    extra_config = {
        "BOT_ALT_PREFIXES": ("Errbot",),
        "BOT_ALT_PREFIX_CASEINSENSITIVE": True,
    }

    def test_any_case_is_accepted(self, testbot):
        assert testbot.exec_command("errbot cmd x") == "cmd:[x]"
        assert testbot.exec_command("ERRBOT cmd y") == "cmd:[y]"
        assert testbot.exec_command("ErRbOt cmd z") == "cmd:[z]"

    def test_only_the_prefix_is_case_folded(self, testbot):
        # The arguments keep their case.
        assert testbot.exec_command("ERRBOT cmd MiXeD") == "cmd:[MiXeD]"


class TestPrefixOptionalOnChat:
    extra_config = {"BOT_PREFIX_OPTIONAL_ON_CHAT": True}

    def test_direct_message_without_prefix_is_a_command(self, testbot):
        assert testbot.exec_command("cmd direct") == "cmd:[direct]"

    def test_direct_message_with_prefix_still_works(self, testbot):
        assert testbot.exec_command("!cmd prefixed") == "cmd:[prefixed]"

    def test_prefixed_regex_command_without_prefix_in_direct_message(self, testbot):
        assert testbot.exec_command("weather paris") == "sunny in paris"

    def test_unknown_word_in_direct_message_gets_not_found(self, testbot):
        reply = testbot.exec_command("hello there")
        assert reply.startswith('Command "hello" / "hello there" not found.')

    def test_room_message_without_prefix_is_not_a_command(self, testbot):
        testbot.bot.callback_message(room_message(testbot, "cmd in the room"))
        testbot.bot.callback_message(room_message(testbot, "weather paris"))
        assert_silent(testbot)
        core = plugin(testbot, "PipeCore")
        assert core.called("cmd") == []
        assert core.called("weather") == []

    def test_room_message_with_prefix_is_a_command(self, testbot):
        testbot.bot.callback_message(room_message(testbot, "!cmd in the room"))
        assert testbot.pop_message() == "cmd:[in the room]"


class TestDefaultPrefix:
    def test_unprefixed_direct_message_is_not_a_command(self, testbot):
        testbot.push_message("cmd nothing")
        testbot.push_message("weather paris")
        assert_silent(testbot)
        core = plugin(testbot, "PipeCore")
        assert core.called("cmd") == []
        assert core.called("weather") == []

    def test_prefix_and_surrounding_whitespace(self, testbot):
        assert testbot.exec_command("!   cmd   spaced  ") == "cmd:[spaced]"
