"""Every admin-only command is refused to non-admins and kept out of rooms (contract 6.5, 8).

The commands are taken from the running bot's command table, not from a list: a new admin
command (``!repos install`` and friends, say) is covered the day it is registered. A second
list, from the contract, checks the other way round: that every command the contract calls
admin-only exists and is flagged ``admin_only``.

Before a refused command is sent for real, the filter chain is asked in dry-run mode whether
it would let it through; if it would, the test fails without sending it, so a regression in
the ACLs cannot make the test run ``!restart`` or ``!shutdown`` on the test process.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterator
from typing import Any

import pytest

from errbot.backends.base import Message
from errbot.backends.test import TestBot, TestOccupant, TestPerson
from errbot.core_plugins.acls import DENY_ADMIN, DENY_ADMIN_MUC, DENY_PRIVATE, DENY_ROOM

ADMIN = "gbin@localhost"  # the harness' BOT_ADMINS
VISITOR = "visitor@localhost"

# Contract section 8: the commands documented as admin-only.
CONTRACT_ADMIN = {
    "backup",
    "log_tail",
    "restart",
    "shutdown",
    "plugin_activate",
    "plugin_deactivate",
    "plugin_reload",
    "plugin_blacklist",
    "plugin_unblacklist",
    "plugin_info",
    "plugin_config",
}
# Admin-only too, checked once the repository commands are registered.
CONTRACT_REPOS_ADMIN = {"repos_install", "repos_uninstall", "repos_update"}
# Documented without "(admin)": anyone may run them (unless ACCESS_CONTROLS say otherwise).
CONTRACT_NOT_ADMIN = {
    "echo", "whoami", "history", "help", "about", "apropos", "status", "status_plugins",
    "uptime", "room_create", "room_join", "room_leave", "room_list", "flows_list",
    "flows_kill", "repos", "repos_search", "webstatus", "render_test",
}


@pytest.fixture
def bot() -> Iterator[TestBot]:
    testbot = TestBot(None, logging.WARNING, {})
    testbot.start()
    try:
        yield testbot
    finally:
        testbot.stop()


def start(config: dict[str, Any]) -> TestBot:
    testbot = TestBot(None, logging.WARNING, config)
    testbot.start()
    return testbot


def registered(testbot: TestBot) -> dict[str, Any]:
    """Every command of the running bot, regular and regex (a regex one may share a name)."""
    table = dict(testbot.bot.re_commands)
    table.update(testbot.bot.commands)
    return table


def admin_commands(testbot: TestBot) -> list[str]:
    """The admin-only commands registered in the running bot, regular and regex."""
    names = {
        name
        for table in (testbot.bot.commands, testbot.bot.re_commands)
        for name, method in table.items()
        if getattr(method, "_err_command_admin_only", False)
    }
    return sorted(names)


def direct(testbot: TestBot, person: str, text: str = "") -> Message:
    return Message(text, frm=TestPerson(person), to=testbot.bot.bot_identifier)


def in_room(testbot: TestBot, person: str, room: str = "testroom", text: str = "") -> Message:
    the_room = testbot.bot.query_room(room)
    return Message(text, frm=TestOccupant(person, the_room), to=the_room)


def would_run(testbot: TestBot, msg: Message, name: str) -> bool:
    """Whether the filters (ACLs) would let ``msg`` run ``name``; nothing is run or sent."""
    allowed, _, _ = testbot.bot.pipeline.run_filters(msg, name, None, True)
    return allowed is not None


def refusal(testbot: TestBot, msg: Message, name: str) -> str | None:
    """Send ``msg`` as the command ``name`` and return the reply, if it is refused.

    None (and nothing sent) when the dry run says the command would run."""
    if would_run(testbot, msg, name):
        return None
    if name in testbot.bot.commands:
        msg.body = f"{testbot.bot.prefix}{name.replace('_', ' ')}"
        testbot.bot.callback_message(msg)
    else:
        # A regex command has no one text; its filters run as the core would run them.
        testbot.bot.pipeline.run_filters(msg, name, "", False)
    return testbot.pop_message(timeout=5)


def assert_all_refused(testbot: TestBot, make_msg: Any, expected: str) -> None:
    problems = []
    for name in admin_commands(testbot):
        reply = refusal(testbot, make_msg(), name)
        if reply != expected:
            problems.append((name, reply or "would have run"))
    assert problems == []
    with pytest.raises(queue.Empty):
        testbot.pop_message(timeout=0.3)


# -- which commands are admin-only --------------------------------------------------------
def test_contract_admin_commands_are_registered_admin_only(bot):
    found = set(admin_commands(bot))
    assert CONTRACT_ADMIN <= found, f"not admin-only or missing: {CONTRACT_ADMIN - found}"


def test_repository_commands_are_admin_only(bot):
    found = set(admin_commands(bot))
    missing = CONTRACT_REPOS_ADMIN - found
    assert not missing, f"not admin-only or missing: {missing}"


def test_everyday_commands_are_not_admin_only(bot):
    table = registered(bot)
    flagged = {
        name
        for name in CONTRACT_NOT_ADMIN & set(table)
        if getattr(table[name], "_err_command_admin_only", False)
    }
    assert flagged == set()
    # the core set is there, so this test checks something
    assert {"echo", "help", "status", "room_join", "flows_kill"} <= set(table)


def test_webserver_certificate_command_is_admin_only():
    # Registered only once the Webserver is configured (it then listens on a port).
    from errbot.core_plugins.webserver import Webserver

    assert Webserver.generate_certificate._err_command_admin_only is True


# -- refusals -------------------------------------------------------------------------------
def test_refused_to_a_non_admin_in_a_direct_message(bot):
    assert len(admin_commands(bot)) >= len(CONTRACT_ADMIN)
    assert_all_refused(bot, lambda: direct(bot, VISITOR), DENY_ADMIN)


def test_refused_to_a_non_admin_in_a_room(bot):
    assert_all_refused(bot, lambda: in_room(bot, VISITOR), DENY_ADMIN)


def test_refused_to_an_admin_in_a_room(bot):
    assert_all_refused(bot, lambda: in_room(bot, ADMIN), DENY_ADMIN_MUC)


def test_admins_may_run_them_in_a_direct_message(bot):
    problems = [
        name for name in admin_commands(bot) if not would_run(bot, direct(bot, ADMIN), name)
    ]
    assert problems == []
    assert bot.exec_command("!plugin info Health").startswith("Plugin info from")


def test_refusals_through_the_real_backend(bot):
    # The Test backend's own path: sender set on the backend, message pushed as text.
    bot.bot.sender = TestPerson(VISITOR)
    assert bot.exec_command("!plugin config Health") == DENY_ADMIN
    assert bot.exec_command("!restart") == DENY_ADMIN
    assert bot.exec_command("!shutdown --confirm --kill") == DENY_ADMIN


# -- ACCESS_CONTROLS that change it ----------------------------------------------------------
def test_allowmuc_lets_admins_use_one_command_in_rooms():
    testbot = start({"ACCESS_CONTROLS": {"plugin_config": {"allowmuc": True}}})
    try:
        msg = in_room(testbot, ADMIN, text="!plugin config")
        testbot.bot.callback_message(msg)
        reply = testbot.pop_message(timeout=5)
        assert reply.startswith("Please tell me which of the following plugins to configure")
        # still admins only
        assert refusal(testbot, in_room(testbot, VISITOR), "plugin_config") == DENY_ADMIN
        # the other admin commands stay out of rooms
        assert refusal(testbot, in_room(testbot, ADMIN), "log_tail") == DENY_ADMIN_MUC
        assert refusal(testbot, in_room(testbot, ADMIN), "restart") == DENY_ADMIN_MUC
    finally:
        testbot.stop()


def test_allowrooms_limits_the_rooms():
    testbot = start(
        {"ACCESS_CONTROLS": {"plugin_config": {"allowmuc": True, "allowrooms": ("ops*",)}}}
    )
    try:
        testbot.bot.query_room("ops-private").join()
        assert refusal(testbot, in_room(testbot, ADMIN), "plugin_config") == DENY_ROOM
        assert would_run(testbot, in_room(testbot, ADMIN, "ops-private"), "plugin_config")
        assert refusal(testbot, in_room(testbot, VISITOR, "ops-private"), "plugin_config") == (
            DENY_ADMIN
        )
    finally:
        testbot.stop()


def test_a_plugin_wide_rule_covers_all_its_commands():
    testbot = start({"ACCESS_CONTROLS": {"Plugins:*": {"allowmuc": True}}})
    try:
        plugins_admin = [n for n in admin_commands(testbot) if n.startswith("plugin_")]
        assert len(plugins_admin) >= 7
        for name in plugins_admin:
            assert would_run(testbot, in_room(testbot, ADMIN), name), name
        assert refusal(testbot, in_room(testbot, ADMIN), "restart") == DENY_ADMIN_MUC
        assert refusal(testbot, in_room(testbot, ADMIN), "backup") == DENY_ADMIN_MUC
    finally:
        testbot.stop()


def test_allowusers_does_not_make_an_admin():
    testbot = start({"ACCESS_CONTROLS": {"log_tail": {"allowusers": (VISITOR, ADMIN)}}})
    try:
        assert refusal(testbot, direct(testbot, VISITOR), "log_tail") == DENY_ADMIN
        assert would_run(testbot, direct(testbot, ADMIN), "log_tail")
    finally:
        testbot.stop()


def test_rooms_only_rule_for_an_admin_command():
    testbot = start(
        {"ACCESS_CONTROLS": {"log_tail": {"allowmuc": True, "allowprivate": False}}}
    )
    try:
        assert refusal(testbot, direct(testbot, ADMIN), "log_tail") == DENY_PRIVATE
        assert would_run(testbot, in_room(testbot, ADMIN), "log_tail")
    finally:
        testbot.stop()
