"""The plugin test harness as plugin authors use it: their own pytest runs, both forms."""

import subprocess
import sys
import textwrap

import pytest

PLUGIN = """\
from errbot import BotPlugin, botcmd, arg_botcmd


class Greeter(BotPlugin):
    \"\"\"Says hello.\"\"\"

    @botcmd
    def hello(self, msg, args):
        \"\"\"Say hello.\"\"\"
        return "Hello, " + (args or "world") + "!"

    @arg_botcmd("name")
    @arg_botcmd("--shout", action="store_true")
    def greet(self, msg, name, shout):
        text = "hi " + name
        return text.upper() if shout else text

    @botcmd
    def remember(self, msg, args):
        self["last"] = args
        return "ok"

    def lookup(self):
        return "real"

    @botcmd
    def consult(self, msg, args):
        return self.lookup()
"""

TESTS_DECLARED = """\
import os
pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_hello(testbot):
    testbot.push_message("!hello")
    assert "Hello, world!" in testbot.pop_message()


def test_exec_and_assert(testbot):
    assert testbot.exec_command("!greet bob --shout") == "HI BOB"
    testbot.assertInCommand("!hello you", "Hello, you!")
    testbot.assertCommandFound("!hello")


def test_plugin_object_and_storage(testbot):
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Greeter")
    testbot.exec_command("!remember this")
    assert plugin["last"] == "this"


def test_inject_mocks(testbot):
    testbot.inject_mocks("Greeter", {"lookup": lambda: "mocked"})
    assert testbot.exec_command("!consult") == "mocked"


def test_sender_and_queues(testbot):
    testbot.bot.sender = testbot.bot.build_identifier("someone")
    assert testbot.exec_command("!hello") == "Hello, world!"
    assert testbot.bot.outgoing_message_queue.empty()
    assert "hello" in testbot.bot.commands


class TestClassAttributes:
    extra_config = {"BOT_PREFIX": "?"}

    def test_class_config_wins(self, testbot):
        assert testbot.exec_command("?hello") == "Hello, world!"
"""

TESTS_UNDECLARED = """\
import os
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_fixture_without_declaration(testbot):
    assert testbot.exec_command("!hello") == "Hello, world!"
"""

TESTS_UNITTEST = """\
import os
from errbot.backends.test import FullStackTest

HERE = os.path.dirname(os.path.abspath(__file__))


class GreeterTest(FullStackTest):
    def setUp(self):
        super().setUp(extra_plugin_dir=HERE)

    def test_hello(self):
        self.push_message("!hello")
        self.assertIn("Hello", self.pop_message())
"""


@pytest.fixture
def plugin_project(tmp_path):
    (tmp_path / "greeter.plug").write_text(
        "[Core]\nName = Greeter\nModule = greeter\n\n[Documentation]\nDescription = hi\n"
    )
    (tmp_path / "greeter.py").write_text(PLUGIN)
    return tmp_path


def run_pytest(directory, *files):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_declared_pytest_plugins(plugin_project):
    (plugin_project / "test_declared.py").write_text(TESTS_DECLARED)
    result = run_pytest(plugin_project, "test_declared.py")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 passed" in result.stdout


def test_undeclared_uses_entry_point(plugin_project):
    (plugin_project / "test_plain.py").write_text(TESTS_UNDECLARED)
    result = run_pytest(plugin_project, "test_plain.py")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed" in result.stdout


def test_declared_and_undeclared_together(plugin_project):
    (plugin_project / "test_declared.py").write_text(TESTS_DECLARED)
    (plugin_project / "test_plain.py").write_text(TESTS_UNDECLARED)
    (plugin_project / "conftest.py").write_text('pytest_plugins = ["errbot.backends.test"]\n')
    result = run_pytest(plugin_project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "7 passed" in result.stdout


def test_fullstacktest_unittest_style(plugin_project):
    (plugin_project / "test_unit.py").write_text(TESTS_UNITTEST)
    result = run_pytest(plugin_project, "test_unit.py")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed" in result.stdout


def test_starting_twice_is_refused(testbot):
    with pytest.raises(Exception, match="Bot has already been started"):
        testbot.start()


def test_inject_mocks_errors(testbot):
    with pytest.raises(Exception, match='"Nope" is not loaded.'):
        testbot.inject_mocks("Nope", {})
    with pytest.raises(ValueError, match='No property/attribute named "nothing" attached.'):
        testbot.inject_mocks("Utils", {"nothing": 1})


def test_assert_in_command_dedent(testbot):
    testbot.assertInCommand(
        textwrap.dedent(
            """
            !echo first
            second"""
        ),
        "first\nsecond",
        dedent=True,
    )


def test_mentions_reach_callback_mention(testbot):
    testbot.push_message("!echo hello @alice")
    assert testbot.pop_message() == "hello @alice"


def test_rooms_and_presence_are_available(testbot):
    names = [str(r) for r in testbot.bot.rooms()]
    assert names == ["testroom"]
    room = testbot.bot.query_room("testroom")
    assert room.joined and room.exists
    assert [o.person for o in room.occupants] == ["err"]
