"""Command look-up (contract 6.1 step 3 and 5), regex commands (1.4, 1.5) and argument
splitting (1.3)."""

import logging

from test_dispatch_helpers import CORE_DIR, assert_silent, plugin, send_room

extra_plugin_dir = CORE_DIR
loglevel = logging.WARNING


# -- multi-word commands --------------------------------------------------------------------


def test_longest_command_wins(testbot):
    assert testbot.exec_command("!cmd sub x") == "cmd_sub:[x]"
    assert testbot.exec_command("!cmd other x") == "cmd:[other x]"
    core = plugin(testbot, "PipeCore")
    assert core.called("cmd_sub") == ["x"]
    assert core.called("cmd") == ["other x"]


def test_underscore_form_is_the_same_command(testbot):
    assert testbot.exec_command("!cmd_sub y") == "cmd_sub:[y]"


def test_all_words_are_the_command(testbot):
    assert testbot.exec_command("!cmd sub") == "cmd_sub:[]"
    assert testbot.exec_command("!deep a b c") == "deep:[]"
    assert plugin(testbot, "PipeCore").called("deep_a_b_c") == [""]


def test_four_word_command_with_arguments(testbot):
    assert testbot.exec_command("!deep a b c and more") == "deep:[and more]"


def test_mixed_underscore_and_space_forms(testbot):
    assert testbot.exec_command("!deep_a b_c z") == "deep:[z]"


def test_partial_multi_word_falls_back_to_shorter_command(testbot):
    # "deep a b" is not a command, nor "deep a" or "deep": nothing runs.
    reply = testbot.exec_command("!deep a b")
    assert reply.startswith('Command "deep" / "deep a" not found.')
    assert plugin(testbot, "PipeCore").called("deep_a_b_c") == []


def test_newlines_between_command_words(testbot):
    assert testbot.exec_command("!cmd\nsub z") == "cmd_sub:[z]"
    assert testbot.exec_command("!cmd\n\nsub\nz") == "cmd_sub:[z]"


def test_arguments_keep_inner_whitespace_and_newlines(testbot):
    testbot.push_message("!cmd sub   first  line\n\n  second\tline  ")
    testbot.pop_message()
    # Leading and trailing whitespace of the whole text goes; everything inside stays.
    assert plugin(testbot, "PipeCore").called("cmd_sub") == ["first  line\n\n  second\tline"]


def test_arguments_on_the_next_line(testbot):
    testbot.push_message("!cmd\nline one\nline two")
    testbot.pop_message()
    assert plugin(testbot, "PipeCore").called("cmd") == ["line one\nline two"]


def test_command_names_are_case_sensitive(testbot):
    reply = testbot.exec_command("!CMD sub")
    assert reply.startswith('Command "CMD" / "CMD sub" not found.')
    core = plugin(testbot, "PipeCore")
    assert core.called("cmd") == [] and core.called("cmd_sub") == []


# -- regex commands -----------------------------------------------------------------------------


def test_prefixed_regex_command(testbot):
    assert testbot.exec_command("!weather paris") == "sunny in paris"
    assert plugin(testbot, "PipeCore").called("weather") == ["paris"]


def test_prefixed_regex_needs_the_prefix(testbot):
    testbot.push_message("weather paris")
    assert_silent(testbot)
    assert plugin(testbot, "PipeCore").called("weather") == []


def test_regex_is_searched_after_prefix_removal_and_strip(testbot):
    # The pattern is anchored with ^ and $: the prefix and the outer spaces are gone.
    assert testbot.exec_command("!   weather lyon   ") == "sunny in lyon"


def test_matchall_gets_every_match(testbot):
    assert testbot.exec_command("!n1 n2 and n3") == "digits 1,2,3"
    matches = plugin(testbot, "PipeCore").called("digits")[0]
    assert isinstance(matches, list)
    assert [m.group(0) for m in matches] == ["n1", "n2", "n3"]


def test_unprefixed_regex_runs_on_any_message(testbot):
    testbot.push_message("look, a giraffe")
    assert testbot.pop_message() == "animal giraffe"


def test_every_matching_regex_command_runs(testbot):
    testbot.push_message("there is a zebra")
    replies = sorted([testbot.pop_message(), testbot.pop_message()])
    assert replies == ["animal zebra", "stripes"]
    assert_silent(testbot)


def test_unprefixed_regex_in_a_room(testbot):
    send_room(testbot, "a zebra in the room")
    replies = sorted([testbot.pop_message(), testbot.pop_message()])
    assert replies == ["animal zebra", "stripes"]


def test_prefixed_message_also_runs_unprefixed_regex(testbot):
    testbot.push_message("!giraffe")
    assert testbot.pop_message() == "animal giraffe"
    assert_silent(testbot)


def test_regex_only_when_no_regular_command_matched(testbot):
    # "cmd" is a regular command and ^cmd also matches: only the regular one runs.
    assert testbot.exec_command("!cmd zebra") == "cmd:[zebra]"
    assert_silent(testbot)
    core = plugin(testbot, "PipeCore")
    assert core.called("cmdish") == []
    # Regex commands are not tried at all, not even the unprefixed ones.
    assert core.called("zebra") == [] and core.called("animal") == []


def test_regex_runs_when_no_regular_command_matches(testbot):
    assert testbot.exec_command("!cmdx") == "regex cmdish"
    assert plugin(testbot, "PipeCore").called("cmdish") == ["cmdx"]


def test_regex_match_suppresses_command_not_found(testbot):
    testbot.push_message("!weather rome")
    assert testbot.pop_message() == "sunny in rome"
    assert_silent(testbot)


# -- split_args_with -----------------------------------------------------------------------------


def test_split_none_splits_on_any_whitespace(testbot):
    testbot.exec_command("!splitnone a  b\tc\nd")
    assert plugin(testbot, "PipeCore").called("splitnone") == [["a", "b", "c", "d"]]


def test_split_on_a_string(testbot):
    testbot.exec_command("!splitcomma a, b,,c")
    assert plugin(testbot, "PipeCore").called("splitcomma") == [["a", " b", "", "c"]]


def test_split_with_separator_arg_parser(testbot):
    testbot.exec_command("!splitsep a,b,c")
    assert plugin(testbot, "PipeCore").called("splitsep") == [["a", "b,c"]]


def test_split_with_shlex_arg_parser(testbot):
    testbot.exec_command("!splitshlex one \"two words\" 'three'")
    assert plugin(testbot, "PipeCore").called("splitshlex") == [["one", "two words", "three"]]


def test_split_with_a_callable(testbot):
    testbot.exec_command("!splitcall x y z")
    assert plugin(testbot, "PipeCore").called("splitcall") == [["z", "y", "x"]]


def test_split_with_no_arguments(testbot):
    testbot.exec_command("!splitnone")
    testbot.exec_command("!splitshlex")
    core = plugin(testbot, "PipeCore")
    assert core.called("splitnone") == [[]]
    assert core.called("splitshlex") == [[]]


def test_parser_raising_is_reported_and_command_not_run(testbot):
    reply = testbot.exec_command("!splitbad what")
    assert reply == "Sorry, I couldn't parse your arguments. cannot make sense of 'what'"
    assert_silent(testbot)
    assert plugin(testbot, "PipeCore").called("splitbad") == []


def test_shlex_error_is_reported(testbot):
    reply = testbot.exec_command('!splitshlex "unbalanced')
    assert reply == "Sorry, I couldn't parse your arguments. No closing quotation"
    assert plugin(testbot, "PipeCore").called("splitshlex") == []

