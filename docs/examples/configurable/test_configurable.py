import os

import pytest

from errbot import ValidationException
from errbot.plugin_manager import PluginConfigurationException

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def configure(testbot, configuration):
    """Store a configuration and re-activate the plugin, as an admin would."""
    manager = testbot.bot.plugin_manager
    manager.set_plugin_configuration("Alerts", configuration)
    manager.deactivate_plugin("Alerts")
    manager.activate_plugin("Alerts")


def test_defaults_when_unconfigured(testbot):
    assert testbot.exec_command("!alert settings") == "channel=#alerts threshold=10"


def test_configured(testbot):
    configure(testbot, {"CHANNEL": "#ops", "THRESHOLD": 3, "TAGS": []})
    assert testbot.exec_command("!alert settings") == "channel=#ops threshold=3"
    assert testbot.exec_command("!alert check 5") == "ALERT: 5 is above 3"


def test_default_structural_check(testbot):
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Alerts")
    with pytest.raises(ValidationException):
        plugin.check_configuration({"CHANNEL": "#ops", "THRESHOLD": "3", "TAGS": []})
    with pytest.raises(ValidationException):
        plugin.check_configuration({"CHANNEL": "#ops", "TAGS": []})


def test_rejected_configuration(testbot):
    with pytest.raises(PluginConfigurationException, match="THRESHOLD must be positive"):
        configure(testbot, {"CHANNEL": "#ops", "THRESHOLD": 0, "TAGS": []})
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Alerts")
    assert not plugin.is_activated
    assert plugin.config is None
