"""Core plugin Help: ``!about``, ``!help`` and ``!apropos``, through the Test backend.

Replies are seen as the Test backend renders them: plain text, "- item" lists as "• item",
bold markers dropped, headings without their "#".
"""

from __future__ import annotations

import os

from errbot.backends.base import Message
from errbot.version import VERSION

extra_plugin_dir = os.path.join(os.path.dirname(__file__), "plugins", "help_fixture")

LONG_CUT = (
    "This first line of documentation is deliberately longer than eighty characters so "
    "that help cuts it"
)[:77] + "..."


def listed_lines(reply: str) -> list[str]:
    return [line for line in reply.splitlines() if line.startswith("• ")]


def section(reply: str, header: str) -> list[str]:
    """The lines of a plugin's section in ``reply``: its doc, then its command lines."""
    lines = reply.splitlines()
    start = [line.strip() for line in lines].index(header)
    body: list[str] = []
    for line in lines[start + 1 :]:
        if body and body[-1].startswith("• ") and not line.startswith("• "):
            break
        body.append(line)
    return body


# -- !about -----------------------------------------------------------------------------
def test_about_names_the_version_and_gives_links(testbot):
    reply = testbot.exec_command("!about")
    assert reply.startswith(f"This is Errbot version {VERSION}")
    assert "https://errbot.io" in reply
    assert "Type !help to see what I can do." in reply
    assert "contributors" in reply


# -- !help without argument -----------------------------------------------------------
def test_help_lists_every_plugin_sorted_with_its_doc(testbot):
    reply = testbot.exec_command("!help")
    assert reply.startswith("All commands")
    expected = ["ChatRoom", "Health", "Help", "HelpDescribed", "HelpFixture", "Utils"]
    headers = [line.strip() for line in reply.splitlines() if line.strip() in expected]
    assert headers == expected
    # the class docstring wins over the .plug description, which is the fallback
    assert " Commands with every kind of documentation, for the help tests." in reply
    assert "This description loses to the class docstring." not in reply
    assert " Documented only by its .plug file." in reply
    # plugins without commands have no section
    assert "ACLs" not in reply
    assert "CommandNotFoundFilter" not in reply


def test_help_line_shape_and_sorting(testbot):
    reply = testbot.exec_command("!help")
    assert section(reply, "HelpFixture") == [
        " Commands with every kind of documentation, for the help tests.",
        " Start with !fixture greet. Works wonders!",
        "• !fixture admin - An admin-only fixture command.",
        "• !fixture greet - Say hello; try !fixture greet Bob.",
        f"• !fixture long - {LONG_CUT}",
        "• !fixture secret - A command that some tests restrict with ACCESS_CONTROLS.",
        "• !fixture spawn - Create a dynamic plugin named after the arguments.",
        "• !fixture undocumented - (undocumented)",
        "• !weather in <city> - Tell the weather in a city.",
        "• good (morning|night) - Answer greetings said in passing.",
    ]
    assert len(LONG_CUT) == 80


def test_help_lists_core_commands_with_spaces(testbot):
    lines = listed_lines(testbot.exec_command("!help"))
    assert "• !help - List the commands, by plugin: !help [<plugin name> | <command>]." in lines
    assert any(line.startswith("• !status plugins - ") for line in lines)
    assert any(line.startswith("• !uptime - ") for line in lines)
    assert any(line.startswith("• !apropos - ") for line in lines)


def test_hidden_and_flow_only_commands_are_not_listed(testbot):
    reply = testbot.exec_command("!help")
    assert "fixture hidden" not in reply
    assert "fixture flowstep" not in reply
    reply = testbot.exec_command("!help HelpFixture")
    assert "fixture hidden" not in reply
    assert "fixture flowstep" not in reply


# -- !help <plugin> ---------------------------------------------------------------------
def test_help_for_one_plugin_any_case(testbot):
    reply = testbot.exec_command("!help helpfixture")
    assert reply.splitlines()[0] == "HelpFixture"
    assert "• !fixture greet - Say hello; try !fixture greet Bob." in reply
    assert "echo" not in reply
    assert testbot.exec_command("!help HELPDESCRIBED").splitlines() == [
        "HelpDescribed",
        " Documented only by its .plug file.",
        "• !described hello - Say hello from a plugin documented by its .plug file.",
    ]


def test_help_for_a_core_plugin(testbot):
    reply = testbot.exec_command("!help Health")
    assert reply.splitlines()[0] == "Health"
    assert any(line.startswith("• !shutdown - ") for line in reply.splitlines())


# -- !help <command> --------------------------------------------------------------------
def test_help_for_one_command_gives_the_full_doc(testbot):
    expected = [
        "• !fixture greet - Say hello; try !fixture greet Bob.",
        " The full documentation goes on here and mentions !help as well. Nice!",
    ]
    assert testbot.exec_command("!help fixture greet").splitlines() == expected
    assert testbot.exec_command("!help fixture_greet").splitlines() == expected


def test_help_for_a_long_doc_is_not_cut(testbot):
    reply = testbot.exec_command("!help fixture long")
    assert reply.splitlines()[0] == (
        "• !fixture long - This first line of documentation is deliberately longer than "
        "eighty characters so that help cuts it"
    )
    assert "Second line." in reply


def test_help_for_regex_commands(testbot):
    assert testbot.exec_command("!help fixture weather") == (
        "• !weather in <city> - Tell the weather in a city."
    )
    assert testbot.exec_command("!help fixture_salute") == (
        "• good (morning|night) - Answer greetings said in passing."
    )


def test_help_for_an_undocumented_command(testbot):
    assert testbot.exec_command("!help fixture undocumented") == (
        "• !fixture undocumented - (undocumented)"
    )


def test_help_for_unknown_names(testbot):
    assert testbot.exec_command("!help beurk") == "That command is not defined."
    assert testbot.exec_command("!help fixture nothing") == "That command is not defined."


# -- dynamic plugins --------------------------------------------------------------------
def test_dynamic_plugins_appear_with_their_doc(testbot):
    assert testbot.exec_command("!fixture spawn Dyno") == "spawned Dyno"
    reply = testbot.exec_command("!help")
    assert section(reply, "Dyno") == [
        " Dynamic plugin Dyno, made from chat.",
        "• !dyno run - Run the dynamic command.",
    ]
    assert testbot.exec_command("!help dyno").splitlines() == [
        "Dyno",
        " Dynamic plugin Dyno, made from chat.",
        "• !dyno run - Run the dynamic command.",
    ]
    assert testbot.exec_command("!help dyno run") == "• !dyno run - Run the dynamic command."


def test_destroyed_dynamic_plugin_leaves_help(testbot):
    testbot.exec_command("!fixture spawn Gone")
    owner = testbot.bot.plugin_manager.get_plugin_obj_by_name("HelpFixture")
    owner.destroy_dynamic_plugin("Gone")
    reply = testbot.exec_command("!help")
    assert "gone run" not in reply
    assert testbot.exec_command("!help gone") == "That command is not defined."


def test_commands_of_a_deactivated_plugin_leave_help(testbot):
    testbot.bot.plugin_manager.deactivate_plugin("HelpDescribed")
    reply = testbot.exec_command("!help")
    assert "HelpDescribed" not in reply
    assert "described hello" not in reply


# -- !apropos ---------------------------------------------------------------------------
def test_apropos_without_argument(testbot):
    assert testbot.exec_command("!apropos") == "Usage: !apropos search_term"


def test_apropos_finds_documented_commands_case_insensitively(testbot):
    lines = testbot.exec_command("!apropos WEATHER").splitlines()
    assert lines[0] == "Available commands:"
    assert "    !weather in <city>: Tell the weather in a city." in lines
    # undocumented commands are always listed, documented ones only when they match
    assert "    !fixture undocumented: (undocumented)" in lines
    assert not any("fixture greet" in line for line in lines)
    assert not any("fixture hidden" in line for line in lines)


def test_apropos_shows_the_first_doc_line_and_searches_all_of_it(testbot):
    lines = testbot.exec_command("!apropos mentions !help").splitlines()
    assert "    !fixture greet: Say hello; try !fixture greet Bob." in lines


def test_apropos_raw_markdown_uses_tabs(testbot):
    help_plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Help")
    msg = Message("!apropos weather")
    msg.frm = testbot.bot.sender
    msg.to = testbot.bot.bot_identifier
    raw = help_plugin.apropos(msg, "weather")
    assert raw.startswith("Available commands:\n\t")
    assert "\t!weather in <city>: Tell the weather in a city." in raw.split("\n")


# -- prefix rewriting -----------------------------------------------------------------------
class TestOtherPrefix:
    extra_config = {"BOT_PREFIX": "."}

    def test_listing_uses_the_prefix(self, testbot):
        reply = testbot.exec_command(".help")
        assert "• .fixture greet - Say hello; try .fixture greet Bob." in reply
        # exclamation marks that are not command references stay
        assert " Start with .fixture greet. Works wonders!" in reply
        # regex commands that need no prefix still have none
        assert "• good (morning|night) - Answer greetings said in passing." in reply
        assert "• .weather in <city> - Tell the weather in a city." in reply

    def test_full_doc_uses_the_prefix(self, testbot):
        assert testbot.exec_command(".help fixture greet").splitlines() == [
            "• .fixture greet - Say hello; try .fixture greet Bob.",
            " The full documentation goes on here and mentions .help as well. Nice!",
        ]

    def test_apropos_and_about_use_the_prefix(self, testbot):
        assert testbot.exec_command(".apropos") == "Usage: .apropos search_term"
        assert "    .fixture greet: Say hello; try .fixture greet Bob." in (
            testbot.exec_command(".apropos bob").splitlines()
        )
        assert "Type .help to see what I can do." in testbot.exec_command(".about")


# -- HIDE_RESTRICTED_COMMANDS ----------------------------------------------------------------
def as_user(testbot, person: str) -> None:
    testbot.bot.sender = testbot.bot.build_identifier(person)


def test_restricted_commands_are_listed_by_default(testbot):
    as_user(testbot, "joe@localhost")
    lines = listed_lines(testbot.exec_command("!help"))
    assert any(line.startswith("• !fixture admin - ") for line in lines)
    assert any(line.startswith("• !restart - ") for line in lines)


class TestHideRestricted:
    extra_config = {
        "HIDE_RESTRICTED_COMMANDS": True,
        "ACCESS_CONTROLS": {"fixture_secret": {"allowusers": ("nobody@localhost",)}},
    }

    def test_admin_sees_admin_commands_but_not_denied_ones(self, testbot):
        lines = listed_lines(testbot.exec_command("!help"))
        assert any(line.startswith("• !fixture admin - ") for line in lines)
        assert any(line.startswith("• !restart - ") for line in lines)
        assert not any("fixture secret" in line for line in lines)
        assert any(line.startswith("• !fixture greet - ") for line in lines)

    def test_user_does_not_see_admin_commands(self, testbot):
        as_user(testbot, "joe@localhost")
        reply = testbot.exec_command("!help")
        # the dry run sends no denial: the first reply is the listing itself
        assert reply.startswith("All commands")
        lines = listed_lines(reply)
        assert any(line.startswith("• !fixture greet - ") for line in lines)
        for hidden in ("fixture admin", "fixture secret", "restart", "shutdown"):
            assert not any(line.startswith(f"• !{hidden} - ") for line in lines), hidden
        assert testbot.exec_command("!echo still here") == "still here"

    def test_user_gets_no_help_on_a_denied_command(self, testbot):
        as_user(testbot, "joe@localhost")
        assert testbot.exec_command("!help fixture admin") == "That command is not defined."
        assert testbot.exec_command("!help fixture secret") == "That command is not defined."
        assert testbot.exec_command("!help fixture greet").startswith("• !fixture greet - ")

    def test_apropos_hides_them_too(self, testbot):
        as_user(testbot, "joe@localhost")
        lines = testbot.exec_command("!apropos admin").splitlines()
        assert lines[0] == "Available commands:"
        assert not any("fixture admin" in line for line in lines)
        assert not any("restart" in line for line in lines)
        assert "    !fixture undocumented: (undocumented)" in lines
