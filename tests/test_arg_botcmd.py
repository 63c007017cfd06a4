"""arg_botcmd: the parser it builds, the replies of its wrapper and how it calls handlers."""

from __future__ import annotations

import argparse
import asyncio
import inspect
from typing import Any

import pytest

from errbot.arguments import (
    ARG_BOTCMD_CHARACTER_REPLACEMENTS,
    ArgumentParseError,
    ArgumentParser,
    HelpRequested,
    sanitize_arguments,
)
from errbot.decorators import arg_botcmd, botcmd, update_wrapper

MSG = object()


class Plugin:
    """Stands in for a BotPlugin: the wrapper only passes `self` through."""

    @arg_botcmd("value", type=str)
    @arg_botcmd("--repeat-count", dest="repeat", type=int, default=2)
    def repeat_the_value(self, msg, value, repeat):
        """Repeat a value."""
        return value * repeat

    @arg_botcmd("first_name")
    @arg_botcmd("--last-name", dest="last_name")
    @arg_botcmd("--ratio", type=float, default=1.0)
    def hello(self, msg, first_name, last_name, ratio):
        return f"{first_name} {last_name} {ratio}"

    @arg_botcmd("my_var", type=int)
    def needs_int(self, msg, my_var):
        return my_var + 1

    @arg_botcmd("words", nargs="+", unpack_args=False)
    def whole_namespace(self, msg, args):
        return args

    @arg_botcmd("count", type=int)
    def countdown(self, msg, count):
        for i in range(count, 0, -1):
            yield str(i)

    @arg_botcmd("text", name="say_it")
    def say(self, msg, text):
        return text


def run(method: Any, args: str) -> list[Any]:
    return list(method(MSG, args))


@pytest.fixture
def plugin() -> Plugin:
    return Plugin()


# --- what the decorator builds --------------------------------------------------------------


def test_command_attributes_and_stacking_order():
    method = Plugin.repeat_the_value

    assert method._err_command is True
    assert method._err_arg_command is True
    assert method._err_re_command is False
    assert method._err_command_name == "repeat_the_value"
    assert method._err_command_split_args_with == ""
    assert method._err_command_hidden is False
    assert isinstance(method._err_command_parser, ArgumentParser)
    # The lowest decorator's argument comes first.
    assert method._err_command_syntax == "[-h] [--repeat-count REPEAT] value"


def test_wrapper_keeps_identity_of_the_handler():
    method = Plugin.repeat_the_value

    assert method.__name__ == "repeat_the_value"
    assert method.__wrapped__.__doc__ == "Repeat a value."
    assert inspect.isgeneratorfunction(method)


def test_doc_becomes_the_full_help_with_the_docstring_as_description():
    doc = Plugin.repeat_the_value.__doc__

    assert doc.startswith("usage: repeat_the_value [-h] [--repeat-count REPEAT] value\n")
    assert "\nRepeat a value.\n" in doc
    assert "--repeat-count REPEAT" in doc
    assert doc == Plugin.repeat_the_value._err_command_parser.format_help()


def test_name_keyword_sets_command_name_and_prog():
    assert Plugin.say._err_command_name == "say_it"
    assert Plugin.say._err_command_parser.prog == "say_it"
    assert Plugin.say._err_command_syntax == "[-h] text"


def test_only_the_bottom_decorator_keywords_count():
    @arg_botcmd("b", name="ignored", admin_only=True, template="nope")
    @arg_botcmd("a", name="real", historize=False)
    def cmd(self, msg, a, b):
        return a + b

    assert cmd._err_command_name == "real"
    assert cmd._err_command_admin_only is False
    assert cmd._err_command_historize is False
    assert cmd._err_command_template is None
    assert cmd._err_command_syntax == "[-h] a b"
    assert list(cmd(None, MSG, "x y")) == ["xy"]


def test_arg_botcmd_over_another_command_kind_is_refused():
    with pytest.raises(TypeError, match="already a command of another kind"):

        @arg_botcmd("x")
        @botcmd
        def cmd(self, msg, args):
            pass


def test_update_wrapper_adds_an_argument_and_refreshes_texts():
    @arg_botcmd("first")
    def cmd(self, msg, first, second=None):
        return f"{first}/{second}"

    update_wrapper(cmd, ("--second",), {"default": "none"})

    assert cmd._err_command_syntax == "[-h] [--second SECOND] first"
    assert "--second SECOND" in cmd.__doc__
    assert list(cmd(None, MSG, "a --second b")) == ["a/b"]


def test_update_wrapper_refuses_plain_functions():
    def cmd(self, msg, args):
        pass

    with pytest.raises(TypeError, match="not an arg_botcmd command"):
        update_wrapper(cmd, ("--x",), {})


# --- calling the command --------------------------------------------------------------------


def test_positional_and_optional_arguments(plugin):
    assert run(plugin.repeat_the_value, "ab") == ["abab"]
    assert run(plugin.repeat_the_value, "ab --repeat-count 3") == ["ababab"]
    assert run(plugin.hello, "Ada --last-name Lovelace --ratio 0.5") == ["Ada Lovelace 0.5"]
    assert run(plugin.hello, "Ada") == ["Ada None 1.0"]


def test_handler_receives_self_and_msg():
    seen = []

    class Recorder:
        @arg_botcmd("x")
        def cmd(self, msg, x):
            seen.append((self, msg, x))

    recorder = Recorder()
    assert run(recorder.cmd, "1") == [None]
    assert seen == [(recorder, MSG, "1")]


def test_int_argument_is_converted(plugin):
    assert run(plugin.needs_int, "41") == [42]


def test_missing_required_argument_replies_error_then_usage(plugin):
    replies = run(plugin.needs_int, "")

    assert len(replies) == 2
    assert replies[0].startswith("I couldn't parse the arguments; ")
    assert "the following arguments are required: my_var" in replies[0]
    assert replies[1] == "usage: needs_int [-h] my_var\n"


def test_bad_type_replies_error(plugin):
    replies = run(plugin.needs_int, "many")

    assert (
        replies[0] == "I couldn't parse the arguments; argument my_var: invalid int value: 'many'"
    )


def test_unknown_argument_replies_error(plugin):
    replies = run(plugin.needs_int, "1 2")

    assert replies[0] == "I couldn't parse the arguments; unrecognized arguments: 2"


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_flag_replies_full_help(plugin, flag):
    replies = run(plugin.repeat_the_value, flag)

    assert replies == [Plugin.repeat_the_value._err_command_parser.format_help()]
    assert replies[0].startswith("usage: repeat_the_value")


def test_unbalanced_quotes_reply_instead_of_crashing(plugin):
    replies = run(plugin.hello, '"Ada --last-name Lovelace')

    assert replies == [
        "I couldn't parse this command; No closing quotation",
        Plugin.hello._err_command_parser.format_help(),
    ]


def test_quotes_group_words(plugin):
    assert run(plugin.hello, '"Ada Augusta" --last-name "King Lovelace"') == [
        "Ada Augusta King Lovelace 1.0"
    ]


def test_smart_quotes_and_em_dash_are_sanitised(plugin):
    assert run(plugin.hello, "“Ada Augusta” —last-name ‘King’") == ["Ada Augusta King 1.0"]


def test_sanitize_arguments_uses_the_public_table():
    assert ARG_BOTCMD_CHARACTER_REPLACEMENTS == {
        "—": "--",
        "“": '"',
        "”": '"',
        "’": "'",
        "‘": "'",
    }
    assert sanitize_arguments("—x “a” ‘b’") == "--x \"a\" 'b'"


def test_unpack_args_false_passes_the_namespace(plugin):
    (namespace,) = run(plugin.whole_namespace, "a b c")

    assert isinstance(namespace, argparse.Namespace)
    assert namespace.words == ["a", "b", "c"]


def test_generator_handler_items_are_yielded_one_by_one(plugin):
    assert run(plugin.countdown, "3") == ["3", "2", "1"]


def test_errors_raised_by_the_handler_are_not_swallowed():
    @arg_botcmd("x")
    def cmd(self, msg, x):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(cmd(None, MSG, "1"))


# --- async handlers -------------------------------------------------------------------------


async def collect(agen: Any) -> list[Any]:
    return [item async for item in agen]


def test_async_handler_gets_an_async_generator_wrapper():
    @arg_botcmd("x", type=int)
    async def double(self, msg, x):
        await asyncio.sleep(0)
        return x * 2

    assert inspect.isasyncgenfunction(double)
    assert double._err_arg_command is True
    assert double._err_command_name == "double"
    assert asyncio.run(collect(double(None, MSG, "21"))) == [42]


def test_async_generator_handler_items_are_yielded():
    @arg_botcmd("n", type=int)
    async def count(self, msg, n):
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    assert asyncio.run(collect(count(None, MSG, "3"))) == [0, 1, 2]


def test_async_wrapper_replies_on_parse_errors():
    @arg_botcmd("n", type=int)
    async def count(self, msg, n):
        return n

    replies = asyncio.run(collect(count(None, MSG, "")))

    assert "the following arguments are required: n" in replies[0]
    assert replies[1] == "usage: count [-h] n\n"
    assert asyncio.run(collect(count(None, MSG, "-h"))) == [count.__doc__]


# --- the parser itself ----------------------------------------------------------------------


def test_argument_parser_raises_instead_of_exiting():
    parser = ArgumentParser(prog="cmd")
    parser.add_argument("x")
    parser.add_argument("--version", action="version", version="1.0")

    with pytest.raises(ArgumentParseError, match="required: x"):
        parser.parse_args([])
    with pytest.raises(HelpRequested):
        parser.parse_args(["-h"])
    with pytest.raises(HelpRequested):
        parser.print_help()
    with pytest.raises(ArgumentParseError):
        parser.parse_args(["--version"])
