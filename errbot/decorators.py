"""Decorators that turn plugin methods into commands, filters, webhooks and flows.

They only attach ``_err_*`` attributes (the bot finds commands by looking for them on a
plugin's methods), except ``arg_botcmd``, which wraps the handler to parse its arguments.
The attribute names are de-facto public: plugins' tests and third-party tools read them.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

from errbot.arguments import ArgumentParser, wrap_arg_handler

__all__ = [
    "arg_botcmd",
    "botcmd",
    "botflow",
    "botmatch",
    "cmdfilter",
    "re_botcmd",
    "update_wrapper",
    "webhook",
]

F = TypeVar("F", bound=Callable[..., Any])
Handler = Callable[..., Any]

_BOTMATCH_PATTERN_MISSING = "botmatch: You need to pass the pattern as parameter to the decorator."


def _is_command(func: Callable[..., Any]) -> bool:
    # A function that is already a command keeps its first definition: arg_botcmd relies on
    # it when stacked, and plugins stack botcmd over generated functions.
    return hasattr(func, "_err_command")


def _set_attributes(func: Callable[..., Any], **attributes: Any) -> None:
    for attribute, value in attributes.items():
        setattr(func, attribute, value)


def _mark_command(
    func: Callable[..., Any],
    *,
    name: str | None,
    hidden: bool | None,
    admin_only: bool,
    historize: bool,
    template: str | None,
    flow_only: bool,
    syntax: str | None = None,
    split_args_with: Any = "",
    is_regex: bool = False,
    is_arg: bool = False,
) -> None:
    _set_attributes(
        func,
        _err_command=True,
        _err_command_name=name or func.__name__,
        _err_command_split_args_with=split_args_with,
        _err_command_admin_only=admin_only,
        _err_command_historize=historize,
        _err_command_template=template,
        _err_command_syntax=syntax,
        _err_command_flow_only=flow_only,
        # A flow-only command is useless outside its flow: hidden unless asked otherwise.
        _err_command_hidden=flow_only if hidden is None else hidden,
        _err_re_command=is_regex,
        _err_arg_command=is_arg,
    )


def _mark_regex(
    func: Callable[..., Any],
    *,
    pattern: str | re.Pattern[str] | None,
    flags: int,
    matchall: bool,
    prefixed: bool,
    re_cmd_name_help: str | None,
    decorator: str,
) -> None:
    if pattern is None:
        raise TypeError(f"{decorator}: {func.__name__} needs a regular expression pattern.")
    compiled = re.compile(pattern, flags)
    _set_attributes(
        func,
        _err_command_re_pattern=compiled,
        _err_command_matchall=matchall,
        _err_command_prefix_required=prefixed,
        _err_command_re_name_help=re_cmd_name_help,
        _err_command_syntax=compiled.pattern,
    )


def _regex_command(func: F, command: dict[str, Any], regex: dict[str, Any]) -> F:
    """Mark ``func`` as a regex command (shared by re_botcmd and botmatch)."""
    if not _is_command(func):
        _mark_command(func, is_regex=True, **command)
        _mark_regex(func, **regex)
    return func


# --- botcmd -----------------------------------------------------------------------------


@overload
def botcmd(
    func: F,
    /,
    *,
    hidden: bool | None = None,
    name: str | None = None,
    split_args_with: Any = "",
    admin_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    flow_only: bool = False,
    syntax: str | None = None,
) -> F: ...


@overload
def botcmd(
    *,
    hidden: bool | None = None,
    name: str | None = None,
    split_args_with: Any = "",
    admin_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    flow_only: bool = False,
    syntax: str | None = None,
) -> Callable[[F], F]: ...


def botcmd(
    *args: F,
    hidden: bool | None = None,
    name: str | None = None,
    split_args_with: Any = "",
    admin_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    flow_only: bool = False,
    syntax: str | None = None,
) -> F | Callable[[F], F]:
    """Make a plugin method a chat command ``(self, msg, args)``.

    ``split_args_with`` decides what ``args`` is: ``""`` the raw string, ``None`` the
    whitespace-split words, another string the pieces split on it, or an object with
    ``parse_args(str)`` / any callable applied to the string.
    """

    def decorate(func: F) -> F:
        if not _is_command(func):
            _mark_command(
                func,
                name=name,
                hidden=hidden,
                admin_only=admin_only,
                historize=historize,
                template=template,
                flow_only=flow_only,
                syntax=syntax,
                split_args_with=split_args_with,
            )
        return func

    return decorate(args[0]) if args else decorate


# --- re_botcmd / botmatch -----------------------------------------------------------------


@overload
def re_botcmd(
    func: F,
    /,
    *,
    hidden: bool | None = None,
    name: str | None = None,
    admin_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    pattern: str | re.Pattern[str] | None = None,
    flags: int = 0,
    matchall: bool = False,
    prefixed: bool = True,
    flow_only: bool = False,
    re_cmd_name_help: str | None = None,
) -> F: ...


@overload
def re_botcmd(
    *,
    hidden: bool | None = None,
    name: str | None = None,
    admin_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    pattern: str | re.Pattern[str] | None = None,
    flags: int = 0,
    matchall: bool = False,
    prefixed: bool = True,
    flow_only: bool = False,
    re_cmd_name_help: str | None = None,
) -> Callable[[F], F]: ...


def re_botcmd(
    *args: F,
    hidden: bool | None = None,
    name: str | None = None,
    admin_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    pattern: str | re.Pattern[str] | None = None,
    flags: int = 0,
    matchall: bool = False,
    prefixed: bool = True,
    flow_only: bool = False,
    re_cmd_name_help: str | None = None,
) -> F | Callable[[F], F]:
    """Make a plugin method a regex command ``(self, msg, match)``.

    The message text is ``search``-ed with ``pattern``; with ``matchall`` the handler gets
    the list of all matches. ``prefixed=False`` matches messages without the bot prefix.
    """

    def decorate(func: F) -> F:
        return _regex_command(
            func,
            dict(name=name, hidden=hidden, admin_only=admin_only, historize=historize,
                 template=template, flow_only=flow_only),
            dict(pattern=pattern, flags=flags, matchall=matchall, prefixed=prefixed,
                 re_cmd_name_help=re_cmd_name_help, decorator="re_botcmd"),
        )

    return decorate(args[0]) if args else decorate


@overload
def botmatch(
    func: F,
    pattern: str | re.Pattern[str],
    /,
    *,
    hidden: bool | None = None,
    name: str | None = None,
    admin_only: bool = False,
    flow_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    flags: int = 0,
    matchall: bool = False,
    re_cmd_name_help: str | None = None,
    **unsupported: Any,
) -> F: ...


@overload
def botmatch(
    pattern: str | re.Pattern[str],
    /,
    *,
    hidden: bool | None = None,
    name: str | None = None,
    admin_only: bool = False,
    flow_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    flags: int = 0,
    matchall: bool = False,
    re_cmd_name_help: str | None = None,
    **unsupported: Any,
) -> Callable[[F], F]: ...


def botmatch(
    *args: Any,
    hidden: bool | None = None,
    name: str | None = None,
    admin_only: bool = False,
    flow_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    flags: int = 0,
    matchall: bool = False,
    re_cmd_name_help: str | None = None,
    **unsupported: Any,
) -> Any:
    """Make a plugin method react to any message matching a pattern, prefix or not.

    ``@botmatch(pattern, ...)`` or ``botmatch(func, pattern)``.
    """
    if unsupported:
        # Errbot silently ignored unknown keywords here; keep plugins loading, but say so.
        warnings.warn(
            f"botmatch ignores the keyword(s) {', '.join(sorted(unsupported))}.",
            stacklevel=2,
        )

    def decorate(func: F, pattern: str | re.Pattern[str]) -> F:
        return _regex_command(
            func,
            dict(name=name, hidden=hidden, admin_only=admin_only, historize=historize,
                 template=template, flow_only=flow_only),
            dict(pattern=pattern, flags=flags, matchall=matchall, prefixed=False,
                 re_cmd_name_help=re_cmd_name_help, decorator="botmatch"),
        )

    if len(args) == 2:
        return decorate(args[0], args[1])
    # A bare @botmatch would otherwise silently replace the method with a decorator.
    if len(args) == 1 and not callable(args[0]):
        return lambda func: decorate(func, args[0])
    raise ValueError(_BOTMATCH_PATTERN_MISSING)


# --- arg_botcmd ---------------------------------------------------------------------------


def update_wrapper(
    wrapper: Callable[..., Any], argparse_args: Iterable[Any], kwargs: Mapping[str, Any]
) -> None:
    """Add one argparse argument to an ``arg_botcmd`` command and refresh its help texts."""
    parser = getattr(wrapper, "_err_command_parser", None)
    if parser is None:
        raise TypeError(f"{getattr(wrapper, '__name__', wrapper)!r} is not an arg_botcmd command.")
    argparse_args = tuple(argparse_args)
    if argparse_args or kwargs:
        parser.add_argument(*argparse_args, **kwargs)
    wrapper.__doc__ = parser.format_help()
    usage = parser.format_usage()
    prefix = f"usage: {parser.prog} "
    syntax = usage[len(prefix) :] if usage.startswith(prefix) else ""
    _set_attributes(wrapper, _err_command_syntax=syntax.removesuffix("\n"))


@overload
def arg_botcmd(
    func: Handler,
    /,
    *argparse_args: Any,
    hidden: bool | None = None,
    name: str | None = None,
    admin_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    flow_only: bool = False,
    unpack_args: bool = True,
    **argparse_kwargs: Any,
) -> Handler: ...


@overload
def arg_botcmd(
    *argparse_args: str,
    hidden: bool | None = None,
    name: str | None = None,
    admin_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    flow_only: bool = False,
    unpack_args: bool = True,
    **argparse_kwargs: Any,
) -> Callable[[Handler], Handler]: ...


def arg_botcmd(
    *argparse_args: Any,
    hidden: bool | None = None,
    name: str | None = None,
    admin_only: bool = False,
    historize: bool = True,
    template: str | None = None,
    flow_only: bool = False,
    unpack_args: bool = True,
    **argparse_kwargs: Any,
) -> Any:
    """Make a plugin method a command whose arguments are parsed with argparse.

    Each use adds ``add_argument(*argparse_args, **argparse_kwargs)`` to the command's
    parser; stack it once per argument. The other keywords only count on the bottom-most
    decorator, the one that creates the command.
    """
    target: Handler | None = None
    if argparse_args and callable(argparse_args[0]):
        # Function form, as used by Command(cmd_type=arg_botcmd, cmd_args=(...)).
        target, argparse_args = argparse_args[0], argparse_args[1:]

    def decorate(func: Handler) -> Handler:
        if _is_command(func):
            if not getattr(func, "_err_arg_command", False):
                raise TypeError(
                    f"arg_botcmd: {func.__name__} is already a command of another kind; "
                    "arg_botcmd cannot add arguments to it."
                )
            wrapper = func
        else:
            parser = ArgumentParser(prog=name or func.__name__, description=func.__doc__)
            wrapper = wrap_arg_handler(func, parser, unpack_args)
            _mark_command(
                wrapper,
                name=name,
                hidden=hidden,
                admin_only=admin_only,
                historize=historize,
                template=template,
                flow_only=flow_only,
                is_arg=True,
            )
            _set_attributes(wrapper, _err_command_parser=parser)
        update_wrapper(wrapper, argparse_args, argparse_kwargs)
        return wrapper

    return decorate(target) if target is not None else decorate


# --- cmdfilter / webhook / botflow --------------------------------------------------------


@overload
def cmdfilter(func: F, /, *, catch_unprocessed: bool = False) -> F: ...


@overload
def cmdfilter(*, catch_unprocessed: bool = False) -> Callable[[F], F]: ...


def cmdfilter(*args: F, catch_unprocessed: bool = False) -> F | Callable[[F], F]:
    """Make a plugin method a command filter ``(self, msg, cmd, args, dry_run)``.

    It returns ``(msg, cmd, args)`` to let the command through (possibly rewritten) or
    ``(None, None, None)`` to block it. With ``catch_unprocessed`` it is also called, with
    ``emptycmd=True``, for messages no command matched.
    """

    def decorate(func: F) -> F:
        _set_attributes(func, _err_command_filter=True, catch_unprocessed=bool(catch_unprocessed))
        return func

    return decorate(args[0]) if args else decorate


def _webhook_rule(rule: str) -> str:
    # The webserver strips a trailing "/" from incoming paths, so a rule must not end in one.
    return rule.rstrip("/") or "/"


@overload
def webhook(
    func: F,
    /,
    *,
    methods: Iterable[str] = ("POST", "GET"),
    form_param: str | None = None,
    raw: bool = False,
    signature: str | None = None,
    secret_setting: str | None = None,
) -> F: ...


@overload
def webhook(
    uri_rule: str,
    /,
    *,
    methods: Iterable[str] = ("POST", "GET"),
    form_param: str | None = None,
    raw: bool = False,
    signature: str | None = None,
    secret_setting: str | None = None,
) -> Callable[[F], F]: ...


@overload
def webhook(
    *,
    methods: Iterable[str] = ("POST", "GET"),
    form_param: str | None = None,
    raw: bool = False,
    signature: str | None = None,
    secret_setting: str | None = None,
) -> Callable[[F], F]: ...


def webhook(
    *args: Any,
    methods: Iterable[str] = ("POST", "GET"),
    form_param: str | None = None,
    raw: bool = False,
    signature: str | None = None,
    secret_setting: str | None = None,
) -> Any:
    """Expose a plugin method ``(self, payload, **url_variables)`` on the webserver.

    The URL rule defaults to "/" + the method name. ``form_param`` hands over one form
    field, ``raw`` the request object itself. Beyond Errbot, ``signature`` ("github" or
    "slack") makes the webserver verify an HMAC signature of every request with the secret
    named by ``secret_setting`` (see docs/webhooks.md); unsigned requests get a 401.
    """
    if raw and form_param is not None:
        raise ValueError("webhook: raw and form_param cannot be used together.")
    if len(args) > 1:
        raise TypeError("webhook takes at most one positional argument, the URI rule.")
    if signature is not None or secret_setting is not None:
        from errbot.web.signatures import check_signature_options

        check_signature_options(signature, secret_setting)

    def tag(func: F, rule: str) -> F:
        _set_attributes(
            func,
            _err_webhook_uri_rule=rule,
            _err_webhook_methods=methods,
            _err_webhook_form_param=form_param,
            _err_webhook_raw=raw,
            _err_webhook_signature=signature,
            _err_webhook_secret_setting=secret_setting,
        )
        return func

    if not args:
        return lambda func: tag(func, "/" + func.__name__)
    if isinstance(args[0], str):
        rule = _webhook_rule(args[0])
        return lambda func: tag(func, rule)
    return tag(args[0], "/" + args[0].__name__)


@overload
def botflow(func: F, /) -> F: ...


@overload
def botflow() -> Callable[[F], F]: ...


def botflow(*args: F) -> F | Callable[[F], F]:
    """Mark a ``BotFlow`` method ``(self, flow: FlowRoot)`` as a flow definition."""

    def decorate(func: F) -> F:
        _set_attributes(func, _err_flow=True)
        return func

    return decorate(args[0]) if args else decorate
