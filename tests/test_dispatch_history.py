"""Command history (contract 6.1 step 4, 6.2 step 2, 6.7): `!!`, `!N`, `!history`."""

import logging

from test_dispatch_helpers import CORE_DIR, assert_silent, next_sent, plugin, send_room

from errbot.backends.test import TestBot

extra_plugin_dir = CORE_DIR
loglevel = logging.WARNING


def as_user(testbot, name):
    testbot.bot.sender = testbot.bot.build_identifier(name)


def history_lines(testbot):
    """The lines of the rendered `!history` reply (rendering strips the first line's
    alignment space, so every line is compared stripped; the exact Markdown is checked in
    test_history_format)."""
    return [line.strip() for line in testbot.exec_command("!history").splitlines()]


def test_history_format(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!cmd one")
    testbot.exec_command("!cmd sub two  words")
    testbot.exec_command("!deep a b c")
    testbot.exec_command("!history")
    bodies = [next_sent(testbot).body for _ in range(4)]
    assert bodies[-1] == " 3:!cmd one\n 2:!cmd_sub two  words\n 1:!deep_a_b_c "


def test_history_numbers_are_right_aligned_to_two_characters(testbot):
    as_user(testbot, "hanna")
    for i in range(10):
        testbot.exec_command(f"!cmd n{i}")
    testbot.exec_command("!history")
    bodies = [next_sent(testbot).body for _ in range(11)]
    lines = bodies[-1].split("\n")
    assert lines[0] == "10:!cmd n0"
    assert lines[1] == " 9:!cmd n1"
    assert lines[-1] == " 1:!cmd n9"


def test_harness_probe_is_in_the_admin_history(testbot):
    assert history_lines(testbot) == ["1:!echo ready"]


def test_bang_bang_reruns_the_latest(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!cmd first")
    testbot.exec_command("!cmd sub second")
    assert testbot.exec_command("!!") == "cmd_sub:[second]"
    assert plugin(testbot, "PipeCore").called("cmd_sub") == ["second", "second"]


def test_bang_number_reruns_the_nth_latest(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!cmd first")
    testbot.exec_command("!cmd second")
    testbot.exec_command("!cmd third")
    assert testbot.exec_command("!3") == "cmd:[first]"
    # The re-run moved "first" to the most recent place.
    assert testbot.exec_command("!1") == "cmd:[first]"
    assert testbot.exec_command("!2") == "cmd:[third]"


def test_rerun_keeps_split_arguments_working(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!splitnone a b")
    testbot.exec_command("!!")
    assert plugin(testbot, "PipeCore").called("splitnone") == [["a", "b"], ["a", "b"]]


def test_recall_with_empty_history_does_nothing(testbot):
    as_user(testbot, "newcomer")
    testbot.push_message("!!")
    testbot.push_message("!1")
    assert_silent(testbot)


def test_recall_beyond_the_history_does_nothing(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!cmd only")
    testbot.push_message("!5")
    assert_silent(testbot)
    assert plugin(testbot, "PipeCore").called("cmd") == ["only"]


def test_non_historized_commands_are_left_out(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!cmd kept")
    testbot.exec_command("!nohist")
    testbot.exec_command("!history")
    assert history_lines(testbot) == ["1:!cmd kept"]
    # "!!" therefore re-runs the last historized command.
    assert testbot.exec_command("!!") == "cmd:[kept]"


def test_identical_entries_are_deduplicated(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!cmd a")
    testbot.exec_command("!cmd b")
    testbot.exec_command("!cmd a")
    testbot.exec_command("!cmd_sub a")
    assert history_lines(testbot) == ["3:!cmd b", "2:!cmd a", "1:!cmd_sub a"]


def test_same_command_different_arguments_are_distinct(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!cmd a")
    testbot.exec_command("!cmd  a")
    testbot.exec_command("!cmd A")
    assert history_lines(testbot) == ["2:!cmd a", "1:!cmd A"]


def test_history_keeps_the_last_ten_entries(testbot):
    as_user(testbot, "hanna")
    for i in range(13):
        testbot.exec_command(f"!cmd n{i}")
    lines = history_lines(testbot)
    assert len(lines) == 10
    assert lines[0] == "10:!cmd n3"
    assert lines[-1] == "1:!cmd n12"
    assert testbot.exec_command("!10") == "cmd:[n3]"
    testbot.push_message("!11")
    assert_silent(testbot)


def test_history_is_per_user(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!cmd from hanna")
    as_user(testbot, "otto")
    testbot.exec_command("!cmd from otto")
    assert history_lines(testbot) == ["1:!cmd from otto"]
    assert testbot.exec_command("!!") == "cmd:[from otto]"
    as_user(testbot, "hanna")
    assert history_lines(testbot) == ["1:!cmd from hanna"]
    assert testbot.exec_command("!!") == "cmd:[from hanna]"


def test_history_is_keyed_by_person_across_rooms_and_direct(testbot):
    send_room(testbot, "!cmd from the room", person="hanna")
    assert testbot.pop_message() == "cmd:[from the room]"
    as_user(testbot, "hanna")
    assert testbot.exec_command("!!") == "cmd:[from the room]"


def test_recall_in_a_room_answers_in_the_room(testbot):
    send_room(testbot, "!cmd roomy", person="hanna")
    testbot.pop_message()
    msg = send_room(testbot, "!!", person="hanna")
    assert testbot.pop_message() == "cmd:[roomy]"
    assert msg.is_group


def test_unknown_commands_are_not_recorded(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!cmd good")
    testbot.exec_command("!nosuchcommand")
    # Refused by its argument parser: recorded all the same, as in Errbot (it was recognised).
    testbot.exec_command("!splitbad x")
    assert history_lines(testbot) == ["2:!cmd good", "1:!splitbad x"]


def test_history_is_per_bot(testbot):
    as_user(testbot, "hanna")
    testbot.exec_command("!cmd on the first bot")
    other = TestBot(CORE_DIR, logging.WARNING, None)
    other.start()
    try:
        other.bot.sender = other.bot.build_identifier("hanna")
        # Nothing to re-run, so the first answer is the one to the probe.
        other.push_message("!!")
        other.push_message("!cmd probe")
        assert other.pop_message() == "cmd:[probe]"
        assert other.exec_command("!history") == "1:!cmd probe"
    finally:
        other.stop()
    assert history_lines(testbot) == ["1:!cmd on the first bot"]
