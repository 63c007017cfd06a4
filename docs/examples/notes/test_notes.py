import os
import threading

import pytest

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_notes(testbot):
    assert testbot.exec_command("!note list") == "No notes."
    assert testbot.exec_command("!note add buy milk") == "Noted (1 so far)."
    assert testbot.exec_command("!note add call Bob") == "Noted (2 so far)."
    assert testbot.exec_command("!note list") == "• buy milk\n• call Bob"
    assert testbot.exec_command("!note count") == "1 people have notes."
    assert testbot.exec_command("!note clear") == "Forgotten."
    assert testbot.exec_command("!note list") == "No notes."


def test_storage_from_the_test(testbot):
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Notes")
    plugin["gbin@localhost"] = ["seeded by the test"]
    assert testbot.exec_command("!note list") == "• seeded by the test"
    testbot.exec_command("!note add more")
    assert plugin["gbin@localhost"] == ["seeded by the test", "more"]


def test_each_test_starts_empty(testbot):
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Notes")
    assert list(plugin.keys()) == []


class TestOnSQLite:
    """The same plugin on the durable default storage (the harness uses Memory)."""

    extra_config = {"STORAGE": "SQLite"}

    def test_values_are_copies(self, testbot):
        plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Notes")
        plugin["list"] = [1]
        plugin["list"].append(2)  # changes a copy that is thrown away
        assert plugin["list"] == [1]
        with plugin.mutable("list") as numbers:
            numbers.append(2)  # written back when the block ends
        assert plugin["list"] == [1, 2]

    def test_values_must_be_picklable(self, testbot):
        plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Notes")
        with pytest.raises(TypeError):
            plugin["lock"] = threading.Lock()
