import logging
import os
import queue

import pytest

from errbot.backends.base import Message
from errbot.backends.test import TestOccupant

pytest_plugins = ["errbot.backends.test"]  # optional: the harness is registered automatically
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))
loglevel = logging.WARNING  # quieter test output (the default is DEBUG)


def test_admin_only_command_with_a_mock(testbot):
    testbot.inject_mocks("Deploy", {"run_deployment": lambda env: "v1.2"})
    assert testbot.exec_command("!deploy staging") == "Deployed v1.2 to staging."


def test_as_another_user(testbot):
    testbot.bot.sender = testbot.bot.build_identifier("mallory")  # not in BOT_ADMINS
    assert testbot.exec_command("!deploy prod") == "This command requires bot-admin privileges"
    assert testbot.exec_command("!where") == "direct message from mallory"


def test_a_message_from_a_room(testbot):
    room = testbot.bot.query_room("testroom")  # joined at start-up
    msg = Message("!where", frm=TestOccupant("alice", room), to=room)
    testbot.bot.callback_message(msg)  # what the backend does with an incoming message
    assert testbot.pop_message() == "room testroom, from alice"


def test_helpers(testbot):
    testbot.assertInCommand("!lines a b", "1 lines")
    testbot.assertCommandFound("!where")
    # dedent=True: the first line of the triple-quoted text is dropped, the rest dedented.
    testbot.assertInCommand(
        """
        !lines first
        second
        third""",
        "3 lines",
        dedent=True,
    )


def test_nothing_more_to_read(testbot):
    testbot.exec_command("!where")
    with pytest.raises(queue.Empty):
        testbot.pop_message(timeout=0.2)


class TestWithOtherSettings:
    # Class attributes win over the module's.
    extra_config = {"BOT_PREFIX": "?"}

    def test_prefix(self, testbot):
        assert testbot.exec_command("?where") == "direct message from gbin@localhost"
