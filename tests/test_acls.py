"""Access control (contract 6.5): a scenario table, then ways people try to get around it.

Each case starts its own bot with the case's settings. BOT_ASYNC is off, so a message is
fully handled (filters, command, replies) by the time `callback_message` returns: a denied
case checks the exact replies and that the command left no trace, with nothing to wait for.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from test_dispatch_helpers import ACL_DIR, pending_replies, plugin

from errbot import Command
from errbot.backends.base import Message
from errbot.backends.test import TestBot, TestOccupant, TestPerson, TestRoomAcl

DENY_ARGS = "You're not allowed to access this command using the provided arguments"
DENY_USER = "You're not allowed to access this command from this user"
DENY_MUC = "You're not allowed to access this command from a chatroom"
DENY_ROOM = "You're not allowed to access this command from this room"
DENY_PRIVATE = "You're not allowed to access this command via private message to me"
DENY_ADMIN = "This command requires bot-admin privileges"
DENY_ADMIN_MUC = "This command may only be issued through a direct message"

# The harness' BOT_ADMINS, and the sender of its start-up probe "!echo ready": rules that
# would deny that probe keep the bot from starting, so they always allow it.
ADMIN = "gbin@localhost"


@contextlib.contextmanager
def started_bot(config: dict[str, Any]) -> Iterator[TestBot]:
    bot = TestBot(ACL_DIR, logging.WARNING, {"BOT_ASYNC": False, **config})
    bot.start()
    try:
        target = plugin(bot, "AclTarget")
        target.create_dynamic_plugin(
            "AclDyn",
            [Command(lambda p, msg, args: target.record("dyncmd", msg, args) or "dyn done",
                     name="dyncmd")],
        )
        yield bot
    finally:
        bot.stop()


def deliver(bot: TestBot, text: str, sender: str, where: str) -> Message:
    """Hand one message to the bot: ``where`` is "direct", a room name, or "acl:<room>" for a
    room whose ACL name differs from its display name."""
    if where == "direct":
        msg = Message(text, frm=TestPerson(sender), to=bot.bot.bot_identifier)
    else:
        if where.startswith("acl:"):
            room: Any = TestRoomAcl(where[4:], bot=bot.bot)
        else:
            room = bot.bot.query_room(where)
        msg = Message(text, frm=TestOccupant(sender, room), to=room)
    bot.bot.callback_message(msg)
    return msg


def traces(bot: TestBot) -> list[tuple[str, str, Any]]:
    return plugin(bot, "AclTarget").calls + plugin(bot, "AclOther").calls


def ok(reply: str, cmd: str) -> tuple[str, str, str]:
    return ("ok", reply, cmd)


def denied(text: str, cmd: str) -> tuple[str, str, str]:
    return ("denied", text, cmd)


def silent(cmd: str) -> tuple[str, str, str]:
    return ("silent", "", cmd)


def not_found(cmd: str) -> tuple[str, str, str]:
    return ("not found", "", cmd)


def rule(cmd: str, **acl: Any) -> dict[str, Any]:
    return {"ACCESS_CONTROLS": {cmd: acl}}


C = pytest.param
CASES = [
    # -- no rules ---------------------------------------------------------------------------
    C({}, "alice", "direct", "!secret", ok("secret done", "secret"), id="no-acl-direct"),
    C({}, "alice", "testroom", "!secret", ok("secret done", "secret"), id="no-acl-room"),
    # -- ACCESS_CONTROLS_DEFAULT -----------------------------------------------------------------
    C({"ACCESS_CONTROLS_DEFAULT": {"allowusers": ("alice", ADMIN)}}, "bob", "direct", "!secret",
      denied(DENY_USER, "secret"), id="default-allowusers-denies"),
    C({"ACCESS_CONTROLS_DEFAULT": {"allowusers": ("alice", ADMIN)}}, "alice", "direct", "!secret",
      ok("secret done", "secret"), id="default-allowusers-allows"),
    C({"ACCESS_CONTROLS_DEFAULT": {"allowusers": ("alice", ADMIN)}}, "bob", "direct", "!echo hi",
      denied(DENY_USER, "echo"), id="default-covers-core-commands"),
    C({"ACCESS_CONTROLS_DEFAULT": {"allowusers": ("alice", ADMIN)},
       "ACCESS_CONTROLS": {"secret": {"allowusers": ("bob",)}}},
      "bob", "direct", "!secret", ok("secret done", "secret"), id="default-overridden-by-key"),
    C({"ACCESS_CONTROLS_DEFAULT": {"allowmuc": False},
       "ACCESS_CONTROLS": {"secret": {"allowusers": ("alice",)}}},
      "alice", "testroom", "!secret", denied(DENY_MUC, "secret"), id="default-merged-with-key"),
    # -- "Plugin:*" keys ------------------------------------------------------------------------
    C(rule("AclTarget:*", denyusers=("bob",)), "bob", "direct", "!secret",
      denied(DENY_USER, "secret"), id="plugin-star-denies"),
    C(rule("AclTarget:*", denyusers=("bob",)), "bob", "direct", "!other",
      ok("other done", "other"), id="plugin-star-other-plugin-unaffected"),
    C(rule("AclTarget:*", denyusers=("bob",)), "bob", "direct", "!launch now",
      denied(DENY_USER, "launch"), id="plugin-star-covers-regex-commands"),
    C(rule("AclTarget:*", denyusers=("bob",)), "alice", "direct", "!secret",
      ok("secret done", "secret"), id="plugin-star-other-user-unaffected"),
    # -- glob keys ------------------------------------------------------------------------------
    C(rule("AclTarget:sec*", denyusers=("bob",)), "bob", "direct", "!secret",
      denied(DENY_USER, "secret"), id="glob-key-command"),
    C(rule("*:deploy_*", denyusers=("bob",)), "bob", "direct", "!deploy prod",
      denied(DENY_USER, "deploy_prod"), id="glob-key-any-plugin"),
    C(rule("AclOther:sec*", denyusers=("bob",)), "bob", "direct", "!secret",
      ok("secret done", "secret"), id="glob-key-other-plugin-no-match"),
    C(rule("Acl?arget:secre?", denyusers=("bob",)), "bob", "direct", "!secret",
      denied(DENY_USER, "secret"), id="glob-key-question-marks"),
    # -- keys without ":" -----------------------------------------------------------------------
    C(rule("secret", denyusers=("bob",)), "bob", "direct", "!secret",
      denied(DENY_USER, "secret"), id="bare-key-is-any-plugin"),
    C(rule("secret", denyusers=("bob",)), "bob", "direct", "!other",
      ok("other done", "other"), id="bare-key-other-command-unaffected"),
    C(rule("AclTarget", denyusers=("bob",)), "bob", "direct", "!secret",
      ok("secret done", "secret"), id="bare-key-is-a-command-not-a-plugin"),
    # -- first matching key wins -------------------------------------------------------------------
    C({"ACCESS_CONTROLS": {"secret": {"allowusers": ("alice",)},
                           "AclTarget:*": {"denyusers": ("alice",)}}},
      "alice", "direct", "!secret", ok("secret done", "secret"), id="first-key-wins-allow"),
    C({"ACCESS_CONTROLS": {"AclTarget:*": {"denyusers": ("alice",)},
                           "secret": {"allowusers": ("alice",)}}},
      "alice", "direct", "!secret", denied(DENY_USER, "secret"), id="first-key-wins-deny"),
    C({"ACCESS_CONTROLS": {"secret": {"allowmuc": True},
                           "AclTarget:*": {"allowusers": ("nobody",)}}},
      "alice", "direct", "!secret", ok("secret done", "secret"), id="later-keys-not-merged"),
    # -- case-insensitive keys ---------------------------------------------------------------------
    C(rule("ACLTARGET:SECRET", denyusers=("bob",)), "bob", "direct", "!secret",
      denied(DENY_USER, "secret"), id="key-upper-case"),
    C(rule("SeCrEt", denyusers=("bob",)), "bob", "direct", "!secret",
      denied(DENY_USER, "secret"), id="bare-key-mixed-case"),
    # -- allowusers / denyusers (case-sensitive globs) -------------------------------------------
    C(rule("secret", allowusers=("al*",)), "alice", "direct", "!secret",
      ok("secret done", "secret"), id="allowusers-glob"),
    C(rule("secret", allowusers=("Al*",)), "alice", "direct", "!secret",
      denied(DENY_USER, "secret"), id="allowusers-glob-case-sensitive"),
    C(rule("secret", allowusers=("alice", "carol")), "carol", "direct", "!secret",
      ok("secret done", "secret"), id="allowusers-second-entry"),
    C(rule("secret", denyusers=("*b*",)), "bob", "direct", "!secret",
      denied(DENY_USER, "secret"), id="denyusers-glob"),
    C(rule("secret", denyusers=("BOB",)), "bob", "direct", "!secret",
      ok("secret done", "secret"), id="denyusers-case-sensitive"),
    C(rule("secret", allowusers=("alice",)), "alice", "testroom", "!secret",
      ok("secret done", "secret"), id="allowusers-in-a-room"),
    C(rule("secret", denyusers=("bob",)), "bob", "testroom", "!secret",
      denied(DENY_USER, "secret"), id="denyusers-in-a-room"),
    C(rule("secret", allowusers=("alice",), denyusers=("alice",)), "alice", "direct",
      "!secret", denied(DENY_USER, "secret"), id="denyusers-after-allowusers"),
    # -- allowrooms / denyrooms ----------------------------------------------------------------
    C(rule("secret", allowrooms=("ops",)), "alice", "ops", "!secret",
      ok("secret done", "secret"), id="allowrooms-match"),
    C(rule("secret", allowrooms=("ops",)), "alice", "testroom", "!secret",
      denied(DENY_ROOM, "secret"), id="allowrooms-other-room"),
    C(rule("secret", allowrooms=("o*",)), "alice", "ops", "!secret",
      ok("secret done", "secret"), id="allowrooms-glob"),
    C(rule("secret", allowrooms=("OPS",)), "alice", "ops", "!secret",
      denied(DENY_ROOM, "secret"), id="allowrooms-case-sensitive"),
    C(rule("secret", denyrooms=("testroom",)), "alice", "testroom", "!secret",
      denied(DENY_ROOM, "secret"), id="denyrooms-match"),
    C(rule("secret", denyrooms=("testroom",)), "alice", "ops", "!secret",
      ok("secret done", "secret"), id="denyrooms-other-room"),
    C(rule("secret", denyrooms=("testroom",)), "alice", "direct", "!secret",
      ok("secret done", "secret"), id="denyrooms-direct-unaffected"),
    C(rule("secret", allowrooms=("ops",)), "alice", "direct", "!secret",
      ok("secret done", "secret"), id="allowrooms-direct-unaffected"),
    C(rule("secret", allowrooms=("aclroom",)), "alice", "acl:aclroom", "!secret",
      ok("secret done", "secret"), id="room-matched-by-aclattr"),
    C(rule("secret", allowrooms=("not room name",)), "alice", "acl:aclroom", "!secret",
      denied(DENY_ROOM, "secret"), id="room-not-matched-by-str"),
    # -- allowmuc / allowprivate -----------------------------------------------------------------
    C(rule("secret", allowmuc=False), "alice", "testroom", "!secret",
      denied(DENY_MUC, "secret"), id="allowmuc-false-room"),
    C(rule("secret", allowmuc=False), "alice", "direct", "!secret",
      ok("secret done", "secret"), id="allowmuc-false-direct"),
    C(rule("secret", allowmuc=False, allowrooms=("testroom",)), "alice", "testroom", "!secret",
      denied(DENY_MUC, "secret"), id="allowmuc-checked-before-rooms"),
    C(rule("secret", allowprivate=False), "alice", "direct", "!secret",
      denied(DENY_PRIVATE, "secret"), id="allowprivate-false-direct"),
    C(rule("secret", allowprivate=False), "alice", "testroom", "!secret",
      ok("secret done", "secret"), id="allowprivate-false-room"),
    # -- allowargs / denyargs ------------------------------------------------------------------
    C(rule("secret", allowargs=("safe*",)), "alice", "direct", "!secret safe mode",
      ok("secret done", "secret"), id="allowargs-match"),
    C(rule("secret", allowargs=("safe*",)), "alice", "direct", "!secret rm -rf",
      denied(DENY_ARGS, "secret"), id="allowargs-no-match"),
    C(rule("secret", allowargs=("safe*",)), "alice", "direct", "!secret",
      denied(DENY_ARGS, "secret"), id="allowargs-no-arguments"),
    C(rule("secret", denyargs=("*--force*",)), "alice", "direct", "!secret x --force y",
      denied(DENY_ARGS, "secret"), id="denyargs-match"),
    C(rule("secret", denyargs=("*--force*",)), "alice", "direct", "!secret x",
      ok("secret done", "secret"), id="denyargs-no-match"),
    C(rule("secret", allowargs=("SAFE",)), "alice", "direct", "!secret safe",
      denied(DENY_ARGS, "secret"), id="allowargs-case-sensitive"),
    C(rule("secret", allowargs=("ok",), denyusers=("alice",)), "alice", "direct",
      "!secret nope", denied(DENY_ARGS, "secret"), id="args-checked-before-users"),
    C(rule("launch", allowargs=("launch now",)), "alice", "direct", "!launch now",
      ok("launched now", "launch"), id="allowargs-regex-sees-whole-text"),
    C(rule("launch", allowargs=("launch now",)), "alice", "direct", "!launch later",
      denied(DENY_ARGS, "launch"), id="allowargs-regex-denied"),
    # -- admin_only commands ---------------------------------------------------------------------
    C({}, "alice", "direct", "!adm", denied(DENY_ADMIN, "adm"), id="admin-only-non-admin"),
    C({}, ADMIN, "direct", "!adm", ok("admin done", "adm"), id="admin-only-admin-direct"),
    C({}, ADMIN, "testroom", "!adm", denied(DENY_ADMIN_MUC, "adm"),
      id="admin-only-admin-in-room"),
    C(rule("adm", allowmuc=True), ADMIN, "testroom", "!adm", ok("admin done", "adm"),
      id="admin-only-room-allowmuc"),
    C(rule("adm", allowmuc=True), "alice", "testroom", "!adm", denied(DENY_ADMIN, "adm"),
      id="admin-only-room-allowmuc-non-admin"),
    C({}, "alice", "testroom", "!adm", denied(DENY_ADMIN, "adm"),
      id="admin-only-non-admin-in-room"),
    C(rule("adm", allowusers=("alice",)), "alice", "direct", "!adm",
      denied(DENY_ADMIN, "adm"), id="admin-only-allowusers-is-not-enough"),
    C({"ACCESS_CONTROLS_DEFAULT": {"allowmuc": True}}, ADMIN, "testroom", "!adm",
      ok("admin done", "adm"), id="admin-only-allowmuc-from-default"),
    C(rule("adm", allowmuc=False), ADMIN, "testroom", "!adm", denied(DENY_MUC, "adm"),
      id="admin-only-allowmuc-false"),
    # -- BOT_ADMINS --------------------------------------------------------------------------------
    C({"BOT_ADMINS": (ADMIN, "*@admins.example")}, "boss@admins.example", "direct", "!adm",
      ok("admin done", "adm"), id="bot-admins-glob"),
    C({"BOT_ADMINS": (ADMIN, "*@Admins.example")}, "boss@admins.example", "direct", "!adm",
      denied(DENY_ADMIN, "adm"), id="bot-admins-glob-case-sensitive"),
    C({"BOT_ADMINS": "alice"}, "alice", "direct", "!adm", ok("admin done", "adm"),
      id="bot-admins-single-string"),
    C({"BOT_ADMINS": "alice"}, "a", "direct", "!adm", denied(DENY_ADMIN, "adm"),
      id="bot-admins-single-string-not-characters"),
    # -- HIDE_RESTRICTED_ACCESS -------------------------------------------------------------------
    C({"HIDE_RESTRICTED_ACCESS": True, **rule("secret", denyusers=("bob",))}, "bob", "direct",
      "!secret", silent("secret"), id="hide-restricted-access"),
    C({"HIDE_RESTRICTED_ACCESS": True}, "alice", "direct", "!adm", silent("adm"),
      id="hide-restricted-admin-only"),
    C({"HIDE_RESTRICTED_ACCESS": True, **rule("secret", allowmuc=False)}, "alice", "testroom",
      "!secret", silent("secret"), id="hide-restricted-in-room"),
    C({"HIDE_RESTRICTED_ACCESS": True, **rule("secret", denyusers=("bob",))}, "alice",
      "direct", "!secret", ok("secret done", "secret"), id="hide-restricted-allowed-user"),
    # -- a single string instead of a tuple --------------------------------------------------------
    C(rule("secret", allowusers="alice"), "alice", "direct", "!secret",
      ok("secret done", "secret"), id="allowusers-string"),
    C(rule("secret", allowusers="alice"), "a", "direct", "!secret",
      denied(DENY_USER, "secret"), id="allowusers-string-not-characters"),
    C(rule("secret", denyrooms="testroom"), "alice", "testroom", "!secret",
      denied(DENY_ROOM, "secret"), id="denyrooms-string"),
    C(rule("secret", allowargs="ok"), "alice", "direct", "!secret ok",
      ok("secret done", "secret"), id="allowargs-string"),
    # -- numeric user ids --------------------------------------------------------------------------
    C(rule("secret", allowusers=(12345,)), "12345", "direct", "!secret",
      ok("secret done", "secret"), id="numeric-id-allowed"),
    C(rule("secret", allowusers=(12345,)), "54321", "direct", "!secret",
      denied(DENY_USER, "secret"), id="numeric-id-other-user"),
    C(rule("secret", allowusers=12345), "12345", "direct", "!secret",
      ok("secret done", "secret"), id="numeric-id-single-value"),
    C(rule("secret", denyusers=(12345,)), "12345", "direct", "!secret",
      denied(DENY_USER, "secret"), id="numeric-id-denied"),
    # -- ways around it ----------------------------------------------------------------------------
    C({"BOT_ALT_PREFIXES": ("bot",), **rule("secret", denyusers=("bob",))}, "bob", "direct",
      "bot secret", denied(DENY_USER, "secret"), id="bypass-alt-prefix"),
    C({"BOT_ALT_PREFIXES": ("Bot",), "BOT_ALT_PREFIX_SEPARATORS": (",",),
       "BOT_ALT_PREFIX_CASEINSENSITIVE": True, **rule("secret", denyusers=("bob",))},
      "bob", "testroom", "BOT, secret", denied(DENY_USER, "secret"),
      id="bypass-alt-prefix-separator-case"),
    C({"BOT_PREFIX_OPTIONAL_ON_CHAT": True, **rule("secret", denyusers=("bob",))}, "bob",
      "direct", "secret", denied(DENY_USER, "secret"), id="bypass-optional-prefix"),
    C(rule("deploy_prod", denyusers=("bob",)), "bob", "direct", "!deploy prod",
      denied(DENY_USER, "deploy_prod"), id="bypass-multi-word-space-form"),
    C(rule("deploy_prod", denyusers=("bob",)), "bob", "direct", "!deploy_prod",
      denied(DENY_USER, "deploy_prod"), id="bypass-multi-word-underscore-form"),
    C(rule("deploy_prod", denyusers=("bob",)), "bob", "direct", "!deploy\nprod now",
      denied(DENY_USER, "deploy_prod"), id="bypass-multi-word-newline"),
    C(rule("secret", denyusers=("bob",)), "bob", "direct", "!SECRET", not_found("secret"),
      id="bypass-upper-case-command"),
    C({}, "alice", "direct", "!ADM", not_found("adm"), id="bypass-upper-case-admin-command"),
    C(rule("deploy_prod", denyusers=("bob",)), "bob", "direct", "!DEPLOY prod",
      not_found("deploy_prod"), id="bypass-upper-case-multi-word"),
    C(rule("launch", denyusers=("bob",)), "bob", "direct", "!launch now",
      denied(DENY_USER, "launch"), id="bypass-regex-command"),
    C(rule("kaboom", denyusers=("bob",)), "bob", "direct", "kaboom!",
      denied(DENY_USER, "kaboom"), id="bypass-unprefixed-regex-direct"),
    C(rule("kaboom", allowmuc=False), "alice", "testroom", "a kaboom here",
      denied(DENY_MUC, "kaboom"), id="bypass-unprefixed-regex-room"),
    C(rule("AclDyn:*", denyusers=("bob",)), "bob", "direct", "!dyncmd",
      denied(DENY_USER, "dyncmd"), id="bypass-dynamic-plugin-plugin-key"),
    C(rule("dyncmd", allowusers=("alice",)), "bob", "direct", "!dyncmd",
      denied(DENY_USER, "dyncmd"), id="bypass-dynamic-plugin-bare-key"),
    C(rule("AclDyn:*", denyusers=("bob",)), "alice", "direct", "!dyncmd",
      ok("dyn done", "dyncmd"), id="dynamic-plugin-allowed-user"),
]


@pytest.mark.parametrize(("config", "sender", "where", "text", "expected"), CASES)
def test_access_controls(config, sender, where, text, expected):
    outcome, reply, cmd = expected
    with started_bot(config) as bot:
        deliver(bot, text, sender, where)
        replies = pending_replies(bot)
        ran = [entry for entry in traces(bot) if entry[0] == cmd]
        if outcome == "ok":
            assert replies == [reply]
            assert [(c, person) for c, person, _ in ran] == [(cmd, sender)]
        else:
            if outcome == "denied":
                assert replies == [reply]
            elif outcome == "silent":
                assert replies == []
            else:
                assert len(replies) == 1 and "not found" in replies[0], replies
            assert ran == []
            assert [entry for entry in traces(bot) if entry[0] == "adm-regex"] == []


def test_echo_still_answers_when_another_command_is_restricted():
    with started_bot(rule("secret", denyusers=("bob",))) as bot:
        deliver(bot, "!echo fine", "bob", "direct")
        assert pending_replies(bot) == ["fine"]


def test_denial_in_a_room_is_answered_in_the_room():
    with started_bot(rule("secret", denyusers=("bob",))) as bot:
        sent = []
        original = bot.bot.send_message

        def spy(msg):
            sent.append(msg)
            original(msg)

        bot.bot.send_message = spy
        msg = deliver(bot, "!secret", "bob", "testroom")
        assert pending_replies(bot) == [DENY_USER]
        assert [m.to for m in sent] == [msg.to]


# -- history re-runs ------------------------------------------------------------------------------


def test_history_rerun_of_a_command_denied_since():
    with started_bot({}) as bot:
        deliver(bot, "!secret first", "alice", "direct")
        assert pending_replies(bot) == ["secret done"]
        bot.bot_config.ACCESS_CONTROLS = {"secret": {"denyusers": ("alice",)}}
        deliver(bot, "!!", "alice", "direct")
        deliver(bot, "!1", "alice", "direct")
        assert pending_replies(bot) == [DENY_USER, DENY_USER]
        assert [c for c, *_ in traces(bot)] == ["secret"]


def test_history_rerun_after_losing_admin_rights():
    with started_bot({"BOT_ADMINS": ("alice",)}) as bot:
        deliver(bot, "!adm", "alice", "direct")
        assert pending_replies(bot) == ["admin done"]
        bot.bot_config.BOT_ADMINS = ("somebody-else",)
        deliver(bot, "!!", "alice", "direct")
        assert pending_replies(bot) == [DENY_ADMIN]
        assert [c for c, *_ in traces(bot)] == ["adm"]


def test_history_rerun_of_an_admin_command_from_a_room():
    with started_bot({}) as bot:
        deliver(bot, "!adm", ADMIN, "direct")
        assert pending_replies(bot) == ["admin done"]
        # History is kept per person, so the room sees the same entries...
        deliver(bot, "!!", ADMIN, "testroom")
        # ...but the re-run is checked where it is issued.
        assert pending_replies(bot) == [DENY_ADMIN_MUC]
        assert [c for c, *_ in traces(bot)] == ["adm"]


def test_history_of_another_user_is_not_reachable():
    with started_bot(rule("secret", allowusers=("alice",))) as bot:
        deliver(bot, "!secret mine", "alice", "direct")
        assert pending_replies(bot) == ["secret done"]
        deliver(bot, "!!", "bob", "direct")
        deliver(bot, "!1", "bob", "direct")
        assert pending_replies(bot) == []
        assert [c for c, *_ in traces(bot)] == ["secret"]


def test_history_rerun_in_a_denied_room():
    with started_bot(rule("secret", denyrooms=("testroom",))) as bot:
        deliver(bot, "!secret here", "alice", "ops")
        assert pending_replies(bot) == ["secret done"]
        deliver(bot, "!!", "alice", "testroom")
        assert pending_replies(bot) == [DENY_ROOM]
        assert [c for c, *_ in traces(bot)] == ["secret"]


def test_settings_changed_at_run_time_apply_to_the_next_command():
    with started_bot({}) as bot:
        deliver(bot, "!secret", "bob", "direct")
        bot.bot_config.ACCESS_CONTROLS = {"AclTarget:*": {"denyusers": ("bob",)}}
        deliver(bot, "!secret", "bob", "direct")
        bot.bot_config.ACCESS_CONTROLS = {}
        deliver(bot, "!secret", "bob", "direct")
        assert pending_replies(bot) == ["secret done", DENY_USER, "secret done"]
        assert [c for c, *_ in traces(bot)] == ["secret", "secret"]


# -- with the worker pool --------------------------------------------------------------------------


def test_denial_with_bot_async(testbot_async):
    bot = testbot_async
    deliver(bot, "!adm", "alice", "direct")
    assert bot.pop_message() == DENY_ADMIN
    deliver(bot, "!secret", "alice", "direct")
    assert bot.pop_message() == "secret done"
    assert bot.bot.runtime.wait_idle(5)
    assert pending_replies(bot) == []
    assert [c for c, *_ in traces(bot)] == ["secret"]


@pytest.fixture
def testbot_async():
    bot = TestBot(ACL_DIR, logging.WARNING, {"BOT_ASYNC": True})
    bot.start()
    yield bot
    bot.stop()
