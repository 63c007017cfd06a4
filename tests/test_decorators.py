"""The attributes the command, filter, webhook and flow decorators attach, and Command."""

from __future__ import annotations

import re
from typing import Any

import pytest

from errbot.arguments import SeparatorArgParser, ShlexArgParser
from errbot.decorators import (
    arg_botcmd,
    botcmd,
    botflow,
    botmatch,
    cmdfilter,
    re_botcmd,
    webhook,
)
from errbot.dynamic_command import Command

COMMON_DEFAULTS = {
    "_err_command": True,
    "_err_command_split_args_with": "",
    "_err_command_admin_only": False,
    "_err_command_historize": True,
    "_err_command_template": None,
    "_err_command_flow_only": False,
    "_err_command_hidden": False,
}


def attributes(func: Any, names: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(func, name) for name in names}


# --- botcmd ---------------------------------------------------------------------------------


def test_bare_botcmd_sets_every_default_and_returns_the_function_itself():
    def hello(self, msg, args):
        return "hi"

    assert botcmd(hello) is hello
    assert attributes(hello, COMMON_DEFAULTS) == COMMON_DEFAULTS
    assert hello._err_command_name == "hello"
    assert hello._err_command_syntax is None
    assert hello._err_re_command is False
    assert hello._err_arg_command is False
    assert not hasattr(hello, "_err_command_re_pattern")
    assert not hasattr(hello, "_err_command_parser")


def test_botcmd_with_keywords():
    splitter = SeparatorArgParser(",")

    @botcmd(
        hidden=True,
        name="say_it",
        split_args_with=splitter,
        admin_only=True,
        historize=False,
        template="tpl",
        flow_only=True,
        syntax="<what>",
    )
    def hello(self, msg, args):
        return args

    assert hello._err_command_name == "say_it"
    assert hello._err_command_hidden is True
    assert hello._err_command_split_args_with is splitter
    assert hello._err_command_admin_only is True
    assert hello._err_command_historize is False
    assert hello._err_command_template == "tpl"
    assert hello._err_command_flow_only is True
    assert hello._err_command_syntax == "<what>"
    assert hello(None, None, "x") == "x"


def test_botcmd_with_empty_parentheses_is_the_same_as_bare():
    @botcmd()
    def hello(self, msg, args):
        pass

    assert attributes(hello, COMMON_DEFAULTS) == COMMON_DEFAULTS


def test_botcmd_called_with_function_and_keywords():
    def hello(self, msg, args):
        pass

    assert botcmd(hello, name="other", split_args_with=None) is hello
    assert hello._err_command_name == "other"
    assert hello._err_command_split_args_with is None


@pytest.mark.parametrize(
    ("hidden", "flow_only", "expected"),
    [
        (None, False, False),
        (None, True, True),
        (False, True, False),
        (True, False, True),
    ],
)
def test_hidden_defaults_to_flow_only(hidden, flow_only, expected):
    @botcmd(hidden=hidden, flow_only=flow_only)
    def a(self, msg, args):
        pass

    @re_botcmd(pattern="x", hidden=hidden, flow_only=flow_only)
    def b(self, msg, match):
        pass

    @botmatch("x", hidden=hidden, flow_only=flow_only)
    def c(self, msg, match):
        pass

    @arg_botcmd("value", hidden=hidden, flow_only=flow_only)
    def d(self, msg, value):
        pass

    assert [f._err_command_hidden for f in (a, b, c, d)] == [expected] * 4


def test_second_command_decorator_does_not_override_the_first():
    @botcmd(name="outer", admin_only=True)
    @botcmd(name="inner")
    def hello(self, msg, args):
        pass

    assert hello._err_command_name == "inner"
    assert hello._err_command_admin_only is False

    @botcmd(name="plain")
    @re_botcmd(pattern="^hi$")
    def greet(self, msg, match):
        pass

    assert greet._err_re_command is True
    assert greet._err_command_name == "greet"


def test_botcmd_on_async_functions_keeps_them_coroutine_functions():
    import inspect

    @botcmd
    async def hello(self, msg, args):
        return "hi"

    @re_botcmd(pattern="hi")
    async def greet(self, msg, match):
        yield "hi"

    assert inspect.iscoroutinefunction(hello)
    assert hello._err_command_name == "hello"
    assert inspect.isasyncgenfunction(greet)
    assert greet._err_re_command is True


# --- re_botcmd / botmatch -------------------------------------------------------------------


def test_re_botcmd_defaults():
    @re_botcmd(pattern=r"^hello (\w+)$")
    def hello(self, msg, match):
        return match.group(1)

    assert attributes(hello, COMMON_DEFAULTS) == COMMON_DEFAULTS
    assert hello._err_re_command is True
    assert hello._err_arg_command is False
    assert hello._err_command_name == "hello"
    assert hello._err_command_re_pattern.pattern == r"^hello (\w+)$"
    assert hello._err_command_re_pattern.flags & re.IGNORECASE == 0
    assert hello._err_command_matchall is False
    assert hello._err_command_prefix_required is True
    assert hello._err_command_re_name_help is None
    assert hello._err_command_syntax == r"^hello (\w+)$"
    assert hello(None, None, hello._err_command_re_pattern.search("hello world")) == "world"


def test_re_botcmd_with_keywords():
    @re_botcmd(
        pattern="cookie",
        flags=re.IGNORECASE,
        matchall=True,
        prefixed=False,
        name="cookies",
        re_cmd_name_help="cookie [flavour]",
        admin_only=True,
        historize=False,
        template="t",
    )
    def cookie(self, msg, matches):
        pass

    assert cookie._err_command_re_pattern.search("COOKIE") is not None
    assert cookie._err_command_matchall is True
    assert cookie._err_command_prefix_required is False
    assert cookie._err_command_name == "cookies"
    assert cookie._err_command_re_name_help == "cookie [flavour]"
    assert cookie._err_command_admin_only is True
    assert cookie._err_command_historize is False
    assert cookie._err_command_template == "t"


def test_re_botcmd_function_form_and_missing_pattern():
    def hello(self, msg, match):
        pass

    assert re_botcmd(hello, pattern="^x$") is hello
    assert hello._err_command_syntax == "^x$"

    def nothing(self, msg, match):
        pass

    with pytest.raises(TypeError, match="nothing needs a regular expression pattern"):
        re_botcmd(nothing)


def test_botmatch_is_a_regex_command_without_prefix():
    @botmatch(r"^(?:yes|no)$", flags=re.I, name="answer", matchall=True)
    def yes_or_no(self, msg, match):
        pass

    assert yes_or_no._err_command is True
    assert yes_or_no._err_re_command is True
    assert yes_or_no._err_command_prefix_required is False
    assert yes_or_no._err_command_name == "answer"
    assert yes_or_no._err_command_matchall is True
    assert yes_or_no._err_command_re_pattern.search("YES") is not None
    assert yes_or_no._err_command_syntax == r"^(?:yes|no)$"
    assert yes_or_no._err_command_hidden is False


def test_botmatch_two_positional_form():
    def hello(self, msg, match):
        pass

    assert botmatch(hello, "^hello") is hello
    assert hello._err_command_re_pattern.pattern == "^hello"
    assert hello._err_command_prefix_required is False


@pytest.mark.parametrize("args", [(), ("a", "b", "c")])
def test_botmatch_without_pattern_is_refused(args):
    with pytest.raises(ValueError) as raised:
        botmatch(*args)
    assert str(raised.value) == (
        "botmatch: You need to pass the pattern as parameter to the decorator."
    )


def test_bare_botmatch_is_refused_instead_of_swallowing_the_method():
    def hello(self, msg, match):
        pass

    with pytest.raises(ValueError, match="pass the pattern"):
        botmatch(hello)


def test_botmatch_warns_about_keywords_it_ignores():
    with pytest.warns(UserWarning, match="prefixed"):

        @botmatch("x", prefixed=True)
        def hello(self, msg, match):
            pass

    assert hello._err_command_prefix_required is False


# --- cmdfilter / webhook / botflow ----------------------------------------------------------


def test_cmdfilter_bare_and_with_keyword():
    @cmdfilter
    def plain(self, msg, cmd, args, dry_run):
        return msg, cmd, args

    @cmdfilter(catch_unprocessed=True)
    def catcher(self, msg, cmd, args, dry_run, emptycmd=False):
        return msg, cmd, args

    @cmdfilter()
    def empty(self, msg, cmd, args, dry_run):
        return msg, cmd, args

    assert plain._err_command_filter is True and plain.catch_unprocessed is False
    assert catcher._err_command_filter is True and catcher.catch_unprocessed is True
    assert empty._err_command_filter is True and empty.catch_unprocessed is False
    assert not hasattr(plain, "_err_command")
    assert plain(None, "m", "c", "a", False) == ("m", "c", "a")


def webhook_attributes(func: Any) -> tuple[Any, ...]:
    return (
        func._err_webhook_uri_rule,
        func._err_webhook_methods,
        func._err_webhook_form_param,
        func._err_webhook_raw,
    )


def test_bare_webhook_uses_the_function_name():
    @webhook
    def github(self, payload):
        return "ok"

    assert webhook_attributes(github) == ("/github", ("POST", "GET"), None, False)
    assert github(None, {}) == "ok"


def test_webhook_with_rule_and_options():
    @webhook("/hooks/<repo>/", methods=("POST",), form_param="payload")
    def hook(self, payload, repo):
        pass

    assert webhook_attributes(hook) == ("/hooks/<repo>", ("POST",), "payload", False)


def test_webhook_with_options_only_uses_the_function_name():
    @webhook(methods=("PUT",), raw=True)
    def upload(self, request):
        pass

    assert webhook_attributes(upload) == ("/upload", ("PUT",), None, True)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("/", "/"), ("/echo/", "/echo"), ("/echo", "/echo"), ("/a/b//", "/a/b")],
)
def test_webhook_trailing_slashes(rule, expected):
    @webhook(rule)
    def echo(self, payload):
        pass

    assert echo._err_webhook_uri_rule == expected


def test_webhook_refuses_raw_with_form_param():
    with pytest.raises(ValueError, match="raw and form_param"):
        webhook("/x", raw=True, form_param="payload")


def test_botflow_bare_and_with_parentheses():
    @botflow
    def one(self, flow):
        pass

    @botflow()
    def two(self, flow):
        pass

    assert one._err_flow is True and two._err_flow is True
    assert not hasattr(one, "_err_command")


# --- argument splitters ---------------------------------------------------------------------


def test_separator_arg_parser_is_str_split():
    assert SeparatorArgParser().parse_args(" a  b\nc ") == ["a", "b", "c"]
    assert SeparatorArgParser(",").parse_args("a,,b") == ["a", "", "b"]
    assert SeparatorArgParser(",", 1).parse_args("a,b,c") == ["a", "b,c"]
    assert SeparatorArgParser(maxsplit=1).parse_args("a b c") == ["a", "b c"]


def test_shlex_arg_parser_keeps_quoted_words_together():
    assert ShlexArgParser().parse_args("room \"Big Room\" 'x y'") == ["room", "Big Room", "x y"]
    with pytest.raises(ValueError, match="No closing quotation"):
        ShlexArgParser().parse_args('"open')


# --- Command --------------------------------------------------------------------------------


def test_command_requires_a_name_for_lambdas():
    with pytest.raises(ValueError) as raised:
        Command(lambda plugin, msg, args: "x")
    assert str(raised.value) == (
        "function is a lambda (anonymous), parameter name needs to be set."
    )


def test_command_from_lambda_with_name_and_doc():
    command = Command(lambda plugin, msg, args: args.upper(), name="shout", doc="Shouts.")

    definition = command.definition
    assert command.name == "shout"
    assert definition.__name__ == "shout"
    assert definition.__doc__ == "Shouts."
    assert definition._err_command is True
    assert definition._err_command_name == "shout"
    assert definition._err_re_command is False
    assert definition(None, None, "hey") == "HEY"


def test_command_uses_the_function_name_and_leaves_the_function_untouched():
    def ping(plugin, msg, args):
        """Answers pong."""
        return "pong"

    first = Command(ping)
    second = Command(ping, name="pong", cmd_kwargs={"admin_only": True})

    assert first.name == "ping" and first.definition._err_command_name == "ping"
    assert first.definition.__doc__ == "Answers pong."
    assert second.definition._err_command_name == "pong"
    assert second.definition._err_command_admin_only is True
    assert first.definition._err_command_admin_only is False
    assert ping.__name__ == "ping" and not hasattr(ping, "_err_command")


def test_command_with_re_botcmd_and_pattern_keywords():
    command = Command(
        lambda plugin, msg, match: match.group(0),
        cmd_type=re_botcmd,
        cmd_kwargs={"pattern": "^ab+", "flags": re.I, "prefixed": False},
        name="abba",
    )

    definition = command.definition
    assert definition._err_re_command is True
    assert definition._err_command_prefix_required is False
    match = definition._err_command_re_pattern.search("ABBA")
    assert definition(None, None, match) == "ABB"


def test_command_with_botmatch_through_cmd_args():
    command = Command(
        lambda plugin, msg, match: "seen", cmd_type=botmatch, cmd_args=("hi",), name="hi"
    )

    assert command.definition._err_command_re_pattern.pattern == "hi"
    assert command.definition._err_command_prefix_required is False


def test_command_with_arg_botcmd_and_append_args():
    command = Command(
        lambda plugin, msg, name, times: " ".join([name] * times),
        cmd_type=arg_botcmd,
        cmd_args=("name",),
        name="repeat",
    )
    command.append_args(("--times",), {"type": int, "default": 1})

    definition = command.definition
    assert definition._err_arg_command is True
    assert definition._err_command_syntax == "[-h] [--times TIMES] name"
    assert "--times TIMES" in definition.__doc__
    assert list(definition(None, None, "bob --times 3")) == ["bob bob bob"]


def test_append_args_on_a_plain_command_only_warns(caplog):
    command = Command(lambda plugin, msg, args: "x", name="plain")

    command.append_args(("--flag",), {})

    assert "not an arg_botcmd command" in caplog.text
    assert not hasattr(command.definition, "_err_command_parser")
