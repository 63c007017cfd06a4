"""Command filters (contract 1.8, 6.3) and the unknown-command reply (6.4)."""

import logging

from test_dispatch_helpers import (
    CORE_DIR,
    FILTERS_DIR,
    assert_silent,
    next_sent,
    plugin,
    room_message,
    send_room,
)

from errbot.backends.base import Message

extra_plugin_dir = [CORE_DIR, FILTERS_DIR]
loglevel = logging.WARNING


def shared_trace(testbot):
    """FilterA and FilterB write into one list, so it shows the order they ran in."""
    trace = []
    plugin(testbot, "FilterA").trace = trace
    plugin(testbot, "FilterB").trace = trace
    return trace


def filter_owners(testbot):
    return [f.__self__.name for f in testbot.bot.command_filters]


# -- the chain --------------------------------------------------------------------------------


def test_filters_see_every_command_in_activation_order(testbot):
    owners = filter_owners(testbot)
    assert owners[0] == "ACLs"  # core plugins are activated first
    assert owners.index("FilterA") < owners.index("FilterB")
    trace = shared_trace(testbot)
    assert testbot.exec_command("!cmd sub x") == "cmd_sub:[x]"
    assert trace == [("FilterA", "cmd_sub", "x", False), ("FilterB", "cmd_sub", "x", False)]


def test_reactivated_plugin_filters_move_to_the_end(testbot):
    manager = testbot.bot.plugin_manager
    manager.deactivate_plugin("FilterA")
    manager.activate_plugin("FilterA")
    owners = filter_owners(testbot)
    assert owners[-1] == "FilterA"
    trace = shared_trace(testbot)
    testbot.exec_command("!cmd y")
    assert [name for name, *_ in trace] == ["FilterB", "FilterA"]


def test_filters_see_regex_commands(testbot):
    trace = shared_trace(testbot)
    assert testbot.exec_command("!weather kyiv") == "sunny in kyiv"
    assert [(name, cmd) for name, cmd, _, _ in trace] == [("FilterA", "weather"),
                                                         ("FilterB", "weather")]
    assert trace[0][2] == "weather kyiv"  # regex commands get the whole text as args


def test_blocking_filter_stops_the_command_silently(testbot):
    trace = shared_trace(testbot)
    plugin(testbot, "FilterA").block = {"cmd"}
    testbot.push_message("!cmd blocked")
    assert_silent(testbot)
    assert plugin(testbot, "PipeCore").called("cmd") == []
    # The chain stopped at FilterA.
    assert [name for name, cmd, *_ in trace if cmd == "cmd"] == ["FilterA"]


def test_blocked_command_is_not_recorded_in_history(testbot):
    testbot.bot.sender = testbot.bot.build_identifier("hanna")
    testbot.exec_command("!cmd ok")
    plugin(testbot, "FilterA").block = {"cmd_sub"}
    testbot.push_message("!cmd sub no")
    assert_silent(testbot)
    assert "cmd_sub" not in testbot.exec_command("!history")


def test_blocking_filter_blocks_regex_commands(testbot):
    plugin(testbot, "FilterB").block = {"animal"}
    testbot.push_message("a giraffe!")
    assert_silent(testbot)
    assert plugin(testbot, "PipeCore").called("animal") == []


def test_filter_rewrites_command_and_arguments(testbot):
    trace = shared_trace(testbot)
    plugin(testbot, "FilterA").rewrite = {"cmd": ("cmd_sub", str.upper)}
    assert testbot.exec_command("!cmd hello") == "cmd_sub:[HELLO]"
    core = plugin(testbot, "PipeCore")
    assert core.called("cmd") == []
    assert core.called("cmd_sub") == ["HELLO"]
    # The next filter sees what the previous one returned.
    assert trace[1] == ("FilterB", "cmd_sub", "HELLO", False)


def test_rewritten_arguments_are_split_for_the_new_command(testbot):
    plugin(testbot, "FilterA").rewrite = {"cmd": ("splitnone", lambda a: a + " extra")}
    testbot.exec_command("!cmd a b")
    assert plugin(testbot, "PipeCore").called("splitnone") == [["a", "b", "extra"]]


def test_exception_in_a_filter_blocks_the_command(testbot):
    trace = shared_trace(testbot)
    plugin(testbot, "FilterA").explode = {"cmd"}
    testbot.push_message("!cmd boom")
    assert_silent(testbot)
    assert plugin(testbot, "PipeCore").called("cmd") == []
    assert [name for name, cmd, *_ in trace if cmd == "cmd"] == ["FilterA"]
    # Other commands are unaffected.
    assert testbot.exec_command("!cmd sub fine") == "cmd_sub:[fine]"


def test_dry_run_is_passed_through(testbot):
    trace = shared_trace(testbot)
    msg = Message("!cmd", frm=testbot.bot.sender, to=testbot.bot.bot_identifier)
    result = testbot.bot.pipeline.run_filters(msg, "cmd", None, True)
    assert result == (msg, "cmd", None)
    assert trace == [("FilterA", "cmd", None, True), ("FilterB", "cmd", None, True)]
    assert_silent(testbot)
    assert plugin(testbot, "PipeCore").called("cmd") == []


def test_dry_run_reports_a_block_without_running_anything(testbot):
    plugin(testbot, "FilterB").block = {"cmd"}
    msg = Message("!cmd", frm=testbot.bot.sender, to=testbot.bot.bot_identifier)
    new_msg, _, _ = testbot.bot.pipeline.run_filters(msg, "cmd", None, True)
    assert new_msg is None
    assert_silent(testbot)


def test_exception_in_dry_run_blocks(testbot):
    plugin(testbot, "FilterA").explode = {"cmd"}
    msg = Message("!cmd", frm=testbot.bot.sender, to=testbot.bot.bot_identifier)
    assert testbot.bot.pipeline.run_filters(msg, "cmd", None, True) == (None, None, None)


class TestDryRunDenial:
    extra_config = {"ACCESS_CONTROLS": {"cmd": {"denyusers": ("*",)}}}

    def test_acl_denial_in_dry_run_sends_nothing(self, testbot):
        msg = Message("!cmd", frm=testbot.bot.sender, to=testbot.bot.bot_identifier)
        new_msg, _, _ = testbot.bot.pipeline.run_filters(msg, "cmd", None, True)
        assert new_msg is None
        assert_silent(testbot)

    def test_acl_denial_in_a_real_run_replies(self, testbot):
        assert testbot.exec_command("!cmd") == (
            "You're not allowed to access this command from this user"
        )


# -- catch_unprocessed ------------------------------------------------------------------------


def test_catch_unprocessed_filter_reply_is_sent(testbot):
    testbot.push_message("!magic 123")
    replies = sorted([testbot.pop_message(), testbot.pop_message()])
    assert replies == ['Command "magic" / "magic 123" not found.', "caught: !magic 123"]
    assert ("!magic 123", False, True) in plugin(testbot, "Catcher").calls


def test_catch_unprocessed_filter_returning_nothing_sends_nothing(testbot):
    testbot.push_message("!qqq rrr")
    assert testbot.pop_message() == 'Command "qqq" / "qqq rrr" not found.'
    assert_silent(testbot)
    assert ("!qqq rrr", False, True) in plugin(testbot, "Catcher").calls


def test_catch_unprocessed_filter_passes_commands_through(testbot):
    assert testbot.exec_command("!cmd normal") == "cmd:[normal]"
    assert ("!cmd normal", False, False) in plugin(testbot, "Catcher").calls


def test_catch_unprocessed_not_called_for_plain_chat(testbot):
    testbot.push_message("magic but no prefix")
    assert_silent(testbot)
    assert [c for c in plugin(testbot, "Catcher").calls if c[0] == "magic but no prefix"] == []


def test_catch_unprocessed_not_called_when_a_regex_matched(testbot):
    testbot.push_message("!magic giraffe")
    assert testbot.pop_message() == "animal giraffe"
    assert_silent(testbot)
    assert [c for c in plugin(testbot, "Catcher").calls if c[2]] == []


def test_catch_unprocessed_in_a_room(testbot):
    send_room(testbot, "!magic in the room")
    replies = sorted([testbot.pop_message(), testbot.pop_message()])
    assert replies == [
        'Command "magic" / "magic in" not found.',
        "caught: !magic in the room",
    ]


# -- unknown commands ---------------------------------------------------------------------------


def test_unknown_command_text(testbot):
    assert testbot.exec_command("!zzzz") == 'Command "zzzz" not found.'


def test_unknown_command_with_arguments(testbot):
    assert testbot.exec_command("!zzzz yyyy xxxx") == 'Command "zzzz" / "zzzz yyyy" not found.'


def test_unknown_command_with_one_suggestion(testbot):
    testbot.exec_command("!deep_a_b_x")
    sent = next_sent(testbot)
    assert sent.body == 'Command "deep_a_b_x" not found.\n\nDid you mean "!deep a b c" ?'


def test_unknown_command_with_two_suggestions(testbot):
    testbot.exec_command("!frobnicat")
    assert next_sent(testbot).body == (
        'Command "frobnicat" not found.\n\nDid you mean "!frobnicate" or "!frobnicator" ?'
    )


def test_suggestions_from_the_command_and_its_first_argument(testbot):
    testbot.exec_command("!deep a b x")
    body = next_sent(testbot).body
    assert body.startswith('Command "deep" / "deep a" not found.\n\nDid you mean "!deep a b c"')


def test_regex_commands_are_never_suggested(testbot):
    testbot.exec_command("!weathr paris")
    assert next_sent(testbot).body == 'Command "weathr" / "weathr paris" not found.'


def test_unknown_command_in_a_room_goes_to_the_room(testbot):
    msg = room_message(testbot, "!zzzz")
    testbot.bot.callback_message(msg)
    assert testbot.pop_message() == 'Command "zzzz" not found.'
    assert next_sent(testbot).to == msg.to


class TestSuppressCommandNotFound:
    extra_config = {"SUPPRESS_CMD_NOT_FOUND": True}

    def test_unknown_command_is_silent(self, testbot):
        testbot.push_message("!zzzz")
        testbot.push_message("!frobnicat")
        assert_silent(testbot)

    def test_other_catch_unprocessed_filters_still_answer(self, testbot):
        assert testbot.exec_command("!magic") == "caught: !magic"
        assert_silent(testbot)


class TestUnknownCommandWithAltPrefix:
    extra_config = {"BOT_ALT_PREFIXES": ("bot",)}

    def test_alt_prefix_is_removed_from_the_reply(self, testbot):
        assert testbot.exec_command("bot zzzz") == 'Command "zzzz" not found.'


class TestUnknownCommandWithOverlappingAltPrefixes:
    extra_config = {
        "BOT_ALT_PREFIXES": ("Err", "Errbot"),
        "BOT_ALT_PREFIX_SEPARATORS": (",", ":"),
        "BOT_ALT_PREFIX_CASEINSENSITIVE": True,
    }

    def test_reply_names_the_command_typed_after_the_prefix(self, testbot):
        # The prefix is removed as for command detection: longest, any case, separators.
        assert testbot.exec_command("errbot, zzzz now") == 'Command "zzzz" / "zzzz now" not found.'
        assert testbot.exec_command("ERR: zzzz") == 'Command "zzzz" not found.'

    def test_newline_separates_command_and_arguments(self, testbot):
        assert testbot.exec_command("!zzzz\nyyyy") == 'Command "zzzz" / "zzzz yyyy" not found.'
