import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = HERE  # both plugin folders are found below it


def test_dependency(testbot):
    assert testbot.exec_command("!badge ada") == "HELLO, my name is Ada Lovelace"


def test_dependency_is_activated_first(testbot):
    manager = testbot.bot.plugin_manager
    manager.deactivate_plugin("Directory")
    manager.deactivate_plugin("Badges")
    manager.activate_plugin("Badges")
    assert manager.get_plugin_obj_by_name("Directory").is_activated


def test_get_plugin_needs_depends_on(testbot):
    directory = testbot.bot.plugin_manager.get_plugin_obj_by_name("Directory")
    with pytest.raises(Exception, match='needs to be listed in section \\[Core\\] key "DependsOn"'):
        directory.get_plugin("Badges")
