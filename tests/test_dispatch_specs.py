"""The data dispatch keeps per command (CommandSpec) and the command look-up's shortcuts.

These are performance changes: the tests check that the shortcuts give the same answers as
the long way, and that cached command data follows the command table when it changes.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from errbot import botcmd
from errbot.backends.base import Person
from errbot.backends.test import TestOccupant, TestPerson, TestRoom
from errbot.core.dispatch import CommandPipeline
from errbot.core.registry import CommandRegistry


class Plugin:
    """Stands in for a BotPlugin: the registry only needs a name and marked methods."""

    name = "Specs"

    @botcmd
    def plain(self, msg: Any, args: str) -> str:
        return "plain"

    @botcmd(historize=False, split_args_with=None)
    def quiet(self, msg: Any, args: list[str]) -> str:
        return "quiet"

    @botcmd
    async def later(self, msg: Any, args: str) -> str:
        await asyncio.sleep(0)
        return "later"


def pipeline() -> CommandPipeline:
    bot = SimpleNamespace(registry=CommandRegistry(), bot_config=SimpleNamespace(BOT_PREFIX="!"))
    return CommandPipeline(bot)  # type: ignore[arg-type]


def test_spec_reads_the_command_marks() -> None:
    pipe = pipeline()
    plugin = Plugin()
    pipe.bot.registry.inject_commands_from(plugin)
    commands = pipe.bot.registry.commands
    plain, quiet, later = (pipe.spec_of(commands[n]) for n in ("plain", "quiet", "later"))
    assert (plain.historize, plain.is_async, plain.owner_name) == (True, False, "Specs")
    assert plain.split("a  b") == "a  b"
    assert quiet.historize is False
    assert quiet.split("a  b") == ["a", "b"]
    assert later.is_async is True
    assert pipe.spec_of(commands["plain"]) is plain  # built once


def test_spec_is_rebuilt_when_the_command_table_changes() -> None:
    pipe = pipeline()
    registry = pipe.bot.registry
    first = Plugin()
    registry.inject_commands_from(first)
    old = pipe.spec_of(registry.commands["plain"])
    registry.remove_commands_from(first)
    second = Plugin()
    second.name = "Other"  # type: ignore[misc]
    registry.inject_commands_from(second)
    new = pipe.spec_of(registry.commands["plain"])
    assert new is not old
    assert new.owner_name == "Other"


def test_spec_of_an_unhashable_callable() -> None:
    class Unhashable:
        __hash__ = None  # type: ignore[assignment]
        _err_command_historize = False

        def __call__(self, msg: Any, args: str) -> str:
            return "x"

    spec = pipeline().spec_of(Unhashable())
    assert spec.owner_name is None
    assert spec.is_async is False


def test_find_keeps_the_whitespace_of_the_arguments() -> None:
    registry = CommandRegistry()

    class Words:
        name = "Words"

        @botcmd
        def run_this(self, msg: Any, args: str) -> None:
            pass

        @botcmd
        def run(self, msg: Any, args: str) -> None:
            pass

    registry.inject_commands_from(Words())
    assert registry.max_words == 2
    assert registry.find("run this  a   b") == ("run_this", "a   b")
    assert registry.find("run this") == ("run_this", "")
    assert registry.find("run  that  a") == ("run", "that  a")
    assert registry.find("run") == ("run", "")
    assert registry.find("walk this") is None


def test_test_person_equality_with_other_identifiers() -> None:
    class OtherPerson(Person):
        def __init__(self, person: str) -> None:
            self._p = person

        person = property(lambda self: self._p)
        client = nick = fullname = email = aclattr = property(lambda self: None)

    me = TestPerson("gbin@localhost")
    assert me == TestPerson("gbin@localhost")
    assert me != TestPerson("someone")
    assert me == OtherPerson("gbin@localhost")
    assert me != OtherPerson("someone")
    # A room occupant is not the person (the occupant's own __eq__ decides), as before.
    assert me != TestOccupant("gbin@localhost", TestRoom("room"))
    assert me.__eq__(TestOccupant("gbin@localhost", TestRoom("room"))) is True
    assert me != "gbin@localhost"


def test_history_repeated_command_stays_one_entry() -> None:
    from errbot.core.history import CommandHistory

    history = CommandHistory()
    for cmd in ("a", "b", "b", "a", "a"):
        history.record("me", cmd, "x")
    assert history.entries("me") == [("b", "x"), ("a", "x")]
    history.record("me", "a", "y")
    assert history.entries("me") == [("b", "x"), ("a", "x"), ("a", "y")]
