"""Dynamic plugins (contract 14.3) as admins see them: ``!help``, ``!apropos`` and
``!status plugins`` list a plugin made with ``create_dynamic_plugin`` while it exists, and
forget it once destroyed or once its owner is deactivated.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from errbot import Command
from errbot.backends.test import TestPerson

extra_plugin_dir = os.path.join(os.path.dirname(__file__), "plugins", "dynamic")

DOC = "Weather reports, made at run time."


def forecast(plugin: Any, msg: Any, args: str) -> str:
    """Tell the forecast for today.

    Sunny, always: this plugin is an optimist.
    """
    return f"sunny in {args or 'here'}"


def make_weather(owner: Any, name: str = "Weather") -> Any:
    return owner.create_dynamic_plugin(
        name,
        [
            Command(forecast, name="forecast_today"),
            Command(lambda plugin, msg, args: "stored", name="forecast_reset",
                    doc="Forget the stored forecasts (admins).",
                    cmd_kwargs={"admin_only": True}),
        ],
        doc=DOC,
    )


@pytest.fixture
def owner(testbot: Any) -> Any:
    return testbot.bot.plugin_manager.get_plugin_obj_by_name("DynOwner")


def status_names(reply: str) -> dict[str, str]:
    """Plugin name -> status code, from the rendered ``!status plugins`` table."""
    rows = {}
    for line in reply.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == 2 and cells[0] and cells[0] != "Status":
            rows[cells[1]] = cells[0]
    return rows


def assert_gone(testbot: Any, name: str = "Weather") -> None:
    help_reply = testbot.exec_command("!help")
    assert name not in help_reply.splitlines()
    assert "forecast today" not in help_reply
    assert testbot.exec_command(f"!help {name}") == "That command is not defined."
    assert testbot.exec_command("!help forecast today") == "That command is not defined."
    assert "forecast" not in testbot.exec_command("!apropos optimist")
    assert name not in status_names(testbot.exec_command("!status plugins"))
    assert "not found" in testbot.exec_command("!forecast today")


def test_listed_in_help_with_its_doc(testbot, owner):
    make_weather(owner)
    reply = testbot.exec_command("!help")
    lines = [line.strip() for line in reply.splitlines()]
    start = lines.index("Weather")
    assert lines[start + 1 : start + 3] == [
        DOC,
        "• !forecast reset - Forget the stored forecasts (admins).",
    ]
    assert lines[start + 3] == "• !forecast today - Tell the forecast for today."
    assert testbot.exec_command("!help weather").splitlines()[0] == "Weather"
    full = testbot.exec_command("!help forecast today")
    assert full.startswith("• !forecast today - Tell the forecast for today.")
    assert "Sunny, always: this plugin is an optimist." in full
    assert "!forecast today: Tell the forecast for today." in testbot.exec_command(
        "!apropos optimist"
    )
    assert testbot.exec_command("!forecast today Oslo") == "sunny in Oslo"


def test_listed_in_status_plugins(testbot, owner):
    make_weather(owner)
    statuses = status_names(testbot.exec_command("!status plugins"))
    assert statuses["Weather"] == "A"
    assert statuses["DynOwner"] == "A"
    # sorted with the others, case-insensitively
    names = list(statuses)
    assert names == sorted(names, key=lambda n: (n.lower(), n))
    assert "Weather" in status_names(testbot.exec_command("!status"))


def test_destroyed_plugin_leaves_help_and_status(testbot, owner):
    make_weather(owner)
    owner.destroy_dynamic_plugin("Weather")
    assert_gone(testbot)
    # the name is free again
    make_weather(owner)
    assert status_names(testbot.exec_command("!status plugins"))["Weather"] == "A"


def test_deactivating_the_owner_takes_its_dynamic_plugins_along(testbot, owner):
    make_weather(owner)
    owner.create_dynamic_plugin(
        "Almanac", [Command(lambda plugin, msg, args: "full moon", name="moon")], doc="Moons."
    )
    assert testbot.exec_command("!moon") == "full moon"
    testbot.bot.plugin_manager.deactivate_plugin("DynOwner")
    assert_gone(testbot)
    assert "Almanac" not in status_names(testbot.exec_command("!status plugins"))
    assert "Moons." not in testbot.exec_command("!help")
    assert status_names(testbot.exec_command("!status plugins"))["DynOwner"] == "D"


def test_admin_only_dynamic_commands_are_refused_and_hidden(testbot, owner):
    make_weather(owner)
    testbot.bot.sender = TestPerson("visitor")
    assert testbot.exec_command("!forecast reset") == "This command requires bot-admin privileges"
    testbot.bot_config.HIDE_RESTRICTED_COMMANDS = True
    section = testbot.exec_command("!help Weather")
    assert "forecast today" in section
    assert "forecast reset" not in section


def test_a_name_in_use_is_refused(testbot, owner):
    make_weather(owner)
    with pytest.raises(ValueError):
        make_weather(owner)
    with pytest.raises(ValueError):
        make_weather(owner, "Health")
    with pytest.raises(ValueError):
        owner.destroy_dynamic_plugin("Nothing")


@pytest.mark.parametrize("verb", ["activate", "deactivate", "reload", "blacklist", "info"])
def test_plugin_commands_explain_that_a_dynamic_plugin_belongs_to_its_creator(
    testbot, owner, verb
):
    make_weather(owner)
    reply = testbot.exec_command(f"!plugin {verb} Weather")
    assert "Weather is a dynamic plugin created by DynOwner" in reply
    assert "isn't a valid plugin name" not in reply
    # Nothing was done to it: its command still answers.
    assert testbot.exec_command("!forecast today Oslo") == "sunny in Oslo"
