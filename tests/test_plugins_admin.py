"""`!plugin activate|deactivate|blacklist|unblacklist|info` from chat (core plugin Plugins)."""

from __future__ import annotations

import pytest
from test_plugins_admin_helpers import (
    ADMIN_CONFIG,
    ADMIN_FRAGILE,
    ADMIN_SIMPLE,
    DENIED,
    active,
    as_user,
    bullets,
    started_bot,
)

extra_plugin_dir = [ADMIN_SIMPLE, ADMIN_CONFIG]


def all_names(testbot):
    return testbot.bot.plugin_manager.get_all_plugin_names()


def active_names(testbot):
    return testbot.bot.plugin_manager.get_all_active_plugin_names()


# -- activate / deactivate --------------------------------------------------------------------


def test_deactivate_then_activate(testbot):
    assert testbot.exec_command("!simple ping") == "simple pong"
    reply = testbot.exec_command("!plugin deactivate AdminSimple")
    assert reply == "Plugin AdminSimple deactivated."
    assert not active(testbot, "AdminSimple")
    assert 'Command "simple" / "simple ping" not found.' in testbot.exec_command("!simple ping")
    reply = testbot.exec_command("!plugin deactivate AdminSimple")
    assert reply == "AdminSimple is already deactivated."

    assert testbot.exec_command("!plugin activate AdminSimple") == "Plugin AdminSimple activated."
    assert active(testbot, "AdminSimple")
    assert testbot.exec_command("!simple ping") == "simple pong"
    reply = testbot.exec_command("!plugin activate AdminSimple")
    assert reply == "AdminSimple is already activated."


def test_without_a_name_the_candidates_are_listed(testbot):
    reply = testbot.exec_command("!plugin activate")
    assert reply == (
        "Please tell me which of the following plugins to activate:\n" + bullets(all_names(testbot))
    )
    testbot.exec_command("!plugin deactivate AdminSimple")
    reply = testbot.exec_command("!plugin deactivate")
    assert reply == (
        "Please tell me which of the following plugins to deactivate:\n"
        + bullets(active_names(testbot))
    )
    assert "- AdminSimple" not in reply
    assert "- Plugins" in reply
    reply = testbot.exec_command("!plugin reload")
    assert reply.startswith("Please tell me which of the following plugins to reload:\n- ")
    assert "- AdminSimple" in reply


def test_unknown_names_are_refused_with_the_list(testbot):
    for verb in ("activate", "reload", "blacklist", "unblacklist"):
        reply = testbot.exec_command(f"!plugin {verb} Nope")
        assert reply == (
            "Nope isn't a valid plugin name. The current plugins are:\n"
            + bullets(all_names(testbot))
        ), verb
    # deactivate lists what can be deactivated
    assert testbot.exec_command("!plugin deactivate Nope") == (
        "Nope isn't a valid plugin name. The current plugins are:\n"
        + bullets(active_names(testbot))
    )
    # names are case-sensitive, as in Errbot
    assert testbot.exec_command("!plugin activate adminsimple").startswith(
        "adminsimple isn't a valid plugin name."
    )


def test_activation_errors_are_reported():
    with started_bot([ADMIN_FRAGILE], ADMIN_FRAGILE_FAIL=True) as (testbot, startup):
        assert any("AdminFragile failed to activate" in m for m in startup)
        reply = testbot.exec_command("!plugin activate AdminFragile")
        assert reply == "Error activating plugin: RuntimeError: fragile plugin refuses to start"
        assert not active(testbot, "AdminFragile")
        testbot.bot.bot_config.ADMIN_FRAGILE_FAIL = False
        assert testbot.exec_command("!plugin activate AdminFragile") == (
            "Plugin AdminFragile activated."
        )
        assert testbot.exec_command("!fragile ping") == "fragile pong"


# -- blacklist ----------------------------------------------------------------------------------


def test_blacklist_deactivates_and_unblacklist_activates(testbot):
    reply = testbot.exec_command("!plugin blacklist AdminSimple")
    assert reply == "Plugin AdminSimple is now blacklisted."
    assert not active(testbot, "AdminSimple")
    assert testbot.bot.plugin_manager.is_plugin_blacklisted("AdminSimple")
    assert "B,D    │ AdminSimple" in testbot.exec_command("!status plugins")
    reply = testbot.exec_command("!plugin blacklist AdminSimple")
    assert reply == "Plugin AdminSimple is already blacklisted."

    reply = testbot.exec_command("!plugin unblacklist")
    assert reply == "Please tell me which of the following plugins to unblacklist:\n- AdminSimple"

    reply = testbot.exec_command("!plugin unblacklist AdminSimple")
    assert reply == "Plugin AdminSimple removed from blacklist."
    assert active(testbot, "AdminSimple")
    assert testbot.exec_command("!simple ping") == "simple pong"
    reply = testbot.exec_command("!plugin unblacklist AdminSimple")
    assert reply == "Plugin AdminSimple is not blacklisted."
    assert testbot.exec_command("!plugin unblacklist") == "No plugin is blacklisted."


def test_blacklisted_plugin_can_still_be_activated_by_hand(testbot):
    testbot.exec_command("!plugin blacklist AdminSimple")
    assert testbot.exec_command("!plugin activate AdminSimple") == "Plugin AdminSimple activated."
    assert "B,A    │ AdminSimple" in testbot.exec_command("!status plugins")


def test_blacklist_survives_a_restart(tmp_path):
    # SQLite under a directory of this test: the storage outlives each bot.
    config = {"STORAGE": "SQLite", "STORAGE_CONFIG": {"basedir": str(tmp_path)}}
    with started_bot([ADMIN_SIMPLE], **config) as (testbot, _):
        assert testbot.exec_command("!plugin blacklist AdminSimple") == (
            "Plugin AdminSimple is now blacklisted."
        )

    with started_bot([ADMIN_SIMPLE], **config) as (testbot, startup):
        assert not active(testbot, "AdminSimple")
        assert (
            'Notice: AdminSimple is blacklisted, use "!plugin unblacklist AdminSimple" to '
            "unblacklist it."
        ) in startup
        assert "B,D    │ AdminSimple" in testbot.exec_command("!status plugins")
        assert testbot.exec_command("!plugin unblacklist AdminSimple") == (
            "Plugin AdminSimple removed from blacklist."
        )

    with started_bot([ADMIN_SIMPLE], **config) as (testbot, startup):
        assert active(testbot, "AdminSimple")
        assert not [m for m in startup if "blacklisted" in m]
        assert testbot.exec_command("!simple ping") == "simple pong"


# -- info ---------------------------------------------------------------------------------------


def test_info_describes_the_plugin(testbot):
    testbot.exec_command("!simple remember colour blue")
    reply = testbot.exec_command("!plugin info AdminSimple")
    lines = [line.strip() for line in reply.splitlines()]
    assert lines[0] == f"Plugin info from {ADMIN_SIMPLE}/admin_simple.plug"
    for expected in (
        "name: AdminSimple",
        "module: admin_simple",
        f"full_module_path: {ADMIN_SIMPLE}/admin_simple.py",
        "core: False",
        "dependencies: none",
        "class: errbot.plugins.admin_simple.AdminSimple",
        "state: activated",
        "storage namespace: AdminSimple",
        "log destination: errbot.plugins.AdminSimple",
        "log level: NOTSET",
        "configuration source: none (not configurable)",
    ):
        assert expected in lines, expected
    assert "│ colour │ 'blue' │" in reply


def test_info_of_a_core_and_of_a_deactivated_plugin(testbot):
    reply = testbot.exec_command("!plugin info Health")
    assert "core: True" in reply
    testbot.exec_command("!plugin deactivate AdminSimple")
    reply = testbot.exec_command("!plugin info AdminSimple")
    assert "state: deactivated" in reply
    assert "The storage is closed while the plugin is deactivated." in reply
    testbot.exec_command("!plugin blacklist AdminSimple")
    assert "state: deactivated, blacklisted" in testbot.exec_command("!plugin info AdminSimple")


def test_info_masks_secret_looking_storage_keys(testbot):
    testbot.exec_command("!simple remember api_key hunter2-value")
    reply = testbot.exec_command("!plugin info AdminSimple")
    assert "hunter2-value" not in reply
    assert "│ api_key │ '********' │" in reply


def test_info_without_name_or_with_an_unknown_one(testbot):
    reply = testbot.exec_command("!plugin info")
    assert reply.startswith("Please tell me which of the following plugins to describe:\n- ")
    assert testbot.exec_command("!plugin info Nope") == (
        "Nope isn't a valid plugin name. The current plugins are:\n" + bullets(all_names(testbot))
    )


# -- admins only --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "!plugin activate AdminSimple",
        "!plugin deactivate AdminSimple",
        "!plugin reload AdminSimple",
        "!plugin blacklist AdminSimple",
        "!plugin unblacklist AdminSimple",
        "!plugin info AdminSimple",
        "!plugin config AdminConfigurable",
        "!plugin config AdminConfigurable {'HOST': 'h'}",
    ],
)
def test_every_plugin_command_is_for_admins_only(testbot, command):
    as_user(testbot)
    assert testbot.exec_command(command) == DENIED
    assert active(testbot, "AdminSimple")
    manager = testbot.bot.plugin_manager
    assert not manager.is_plugin_blacklisted("AdminSimple")
    assert manager.get_plugin_configuration("AdminConfigurable") is None


# -- reloading core plugins ------------------------------------------------------------------------


def test_core_plugins_reload_too_even_this_one(testbot):
    assert testbot.exec_command("!plugin reload Utils") == "Plugin Utils reloaded."
    assert testbot.exec_command("!echo still here") == "still here"
    assert testbot.exec_command("!plugin reload Plugins") == "Plugin Plugins reloaded."
    assert testbot.exec_command("!plugin deactivate AdminSimple") == (
        "Plugin AdminSimple deactivated."
    )
    assert active(testbot, "Plugins")
