"""The command pipeline end to end, through the Test backend and the `testbot` fixture."""

import os
import queue
import time

import pytest

extra_plugin_dir = os.path.join(os.path.dirname(__file__), "plugins", "smoke")


def test_plain_command(testbot):
    assert testbot.exec_command("!ping") == "pong"


def test_echo_preserves_newlines(testbot):
    testbot.push_message("!echo first line\nsecond   line")
    assert testbot.pop_message() == "first line\nsecond   line"


def test_generator_replies_in_order(testbot):
    testbot.push_message("!gen3")
    assert [testbot.pop_message() for _ in range(3)] == ["one", "two", "three"]


def test_async_command(testbot):
    assert testbot.exec_command("!aping") == "apong"


def test_async_generator(testbot):
    testbot.push_message("!agen")
    assert [testbot.pop_message() for _ in range(3)] == ["a0", "a1", "a2"]


def test_multi_word_command_space_and_underscore_forms(testbot):
    assert testbot.exec_command("!run lots of subcommands x  y") == "subcommands [x  y]"
    assert testbot.exec_command("!run_lots_of_subcommands z") == "subcommands [z]"
    assert testbot.exec_command("!run lots of subcommands") == "subcommands []"


def test_exception_reply_text(testbot):
    assert testbot.exec_command("!fail") == "Computer says nooo. See logs for details:\nkaboom"


def test_command_error_reply(testbot):
    assert testbot.exec_command("!business") == "cannot do that"


def test_split_args_none(testbot):
    assert testbot.exec_command("!split a  b\tc") == "['a', 'b', 'c']"


def test_template_reply(testbot):
    assert testbot.exec_command("!templated <x>") == "value is <x>"


def test_regex_commands_prefixed_and_not(testbot):
    assert testbot.exec_command("!hello world") == "hi world"
    assert testbot.exec_command("I want coffee now") == "tea?"


def test_arg_botcmd(testbot):
    assert testbot.exec_command("!repeat 3 --times 2") == "3 3"
    reply = testbot.exec_command("!repeat")
    assert "I couldn't parse the arguments; the following arguments are required: value" in reply


def test_unknown_command_with_suggestion(testbot):
    testbot.push_message("!ech foo")
    reply = testbot.pop_message()
    assert 'Command "ech" / "ech foo" not found.' in reply
    assert 'Did you mean "!echo" ?' in reply


def test_non_prefixed_message_is_ignored(testbot):
    testbot.push_message("ping")
    with pytest.raises(queue.Empty):
        testbot.pop_message(timeout=0.3)


def test_history_rerun(testbot):
    testbot.exec_command("!echo first")
    testbot.exec_command("!ping")
    assert testbot.exec_command("!!") == "pong"
    assert testbot.exec_command("!2") == "first"
    history = testbot.exec_command("!history")
    # "!2" re-ran "echo first", which moves it to the most recent place.
    assert history.splitlines()[-2:] == [" 2:!ping ", " 1:!echo first"]


def test_blocked_command_does_not_block_others(testbot):
    testbot.push_message("!wait release")
    # If commands ran one at a time, "release" would wait behind "wait release" forever.
    assert testbot.exec_command("!release") == "opening the gate"
    assert testbot.pop_message() == "released"


def test_def_commands_run_on_worker_threads(testbot):
    assert testbot.exec_command("!whichthread").startswith("errbot-worker")


def test_callback_message_sees_messages(testbot):
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Smoke")
    testbot.exec_command("!ping")
    deadline = time.monotonic() + 5
    while "!ping" not in plugin.seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "!ping" in plugin.seen
