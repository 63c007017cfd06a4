"""Turning a command's argument string into what its handler receives.

Two families live here: the small splitters plugins pass as ``split_args_with`` and the
argparse adapter behind ``arg_botcmd``. Neither knows anything about the bot or the chat.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import re
import shlex
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import IO, Any, NoReturn

__all__ = [
    "ARG_BOTCMD_CHARACTER_REPLACEMENTS",
    "ArgParserBase",
    "ArgumentParseError",
    "ArgumentParser",
    "HelpRequested",
    "SeparatorArgParser",
    "ShlexArgParser",
    "parse_arg_command",
    "sanitize_arguments",
    "wrap_arg_handler",
]

# Chat clients "helpfully" turn "--" into an em dash and straight quotes into curly ones,
# which breaks long options and shlex quoting. Public and mutable on purpose: plugins
# written for Errbot extend it.
ARG_BOTCMD_CHARACTER_REPLACEMENTS: dict[str, str] = {
    "—": "--",
    "“": '"',
    "”": '"',
    "’": "'",
    "‘": "'",
}

# Width an 80-column terminal gives argparse. Pinned so help and usage texts do not depend
# on the terminal the bot happens to be started from.
_HELP_WIDTH = 78


class ArgParserBase(ABC):
    """Interface of the objects accepted by ``botcmd(split_args_with=...)``."""

    @abstractmethod
    def parse_args(self, args: str) -> Any:
        """Turn the raw argument string into what the command handler receives."""


class SeparatorArgParser(ArgParserBase):
    """Split arguments on a separator, exactly like :meth:`str.split`."""

    def __init__(self, separator: str | None = None, maxsplit: int = -1) -> None:
        self.separator = separator
        self.maxsplit = maxsplit

    def parse_args(self, args: str) -> list[str]:
        return args.split(self.separator, self.maxsplit)


class ShlexArgParser(ArgParserBase):
    """Split arguments like a POSIX shell, so quoted values may contain spaces."""

    def parse_args(self, args: str) -> list[str]:
        return shlex.split(args)


class ArgumentParseError(Exception):
    """The arguments given to an ``arg_botcmd`` command do not fit its parser."""


class HelpRequested(Exception):
    """The user asked for ``-h``/``--help``; the help text is the reply."""


class _ChatHelpFormatter(argparse.HelpFormatter):
    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or _HELP_WIDTH)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser that reports through exceptions instead of printing and exiting.

    A chat bot must neither write to its own stdout nor end the process because a user
    mistyped an option.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _ChatHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise ArgumentParseError(message)

    def print_help(self, file: IO[str] | None = None) -> None:
        raise HelpRequested()

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        # Only reachable through actions such as action="version"; SystemExit would take
        # down a worker thread or the event loop.
        raise ArgumentParseError(
            message.strip() if message else f"argument parsing stopped (status {status})"
        )


# Text that shlex would split exactly like str.split(): ASCII, no quotes, backslashes or
# comment marks, and no whitespace other than the four shlex knows.
_SHLEX_FREE = re.compile(r"[^'\"\\#\x0b\x0c\x1c-\x1f\x80-\U0010ffff]*\Z").match


def sanitize_arguments(text: str) -> str:
    """Undo the typographic replacements chat clients apply to typed arguments."""
    replacements = ARG_BOTCMD_CHARACTER_REPLACEMENTS
    if not replacements or text.isascii() and all(key not in text for key in replacements):
        return text
    # Built on each call because plugins may change the table at run time; `re` caches it.
    pattern = re.compile("|".join(re.escape(key) for key in replacements))
    return pattern.sub(lambda found: replacements[found.group()], text)


def parse_arg_command(
    parser: ArgumentParser, text: str
) -> tuple[argparse.Namespace | None, Sequence[str]]:
    """Parse an ``arg_botcmd`` argument string.

    Returns ``(namespace, ())`` on success, or ``(None, replies)`` where ``replies`` are the
    texts to send to the user instead of running the command.
    """
    try:
        text = sanitize_arguments(text)
        # shlex only matters when quoting or escaping is present.
        words = text.split() if _SHLEX_FREE(text) else shlex.split(text)
        return parser.parse_args(words), ()
    except ArgumentParseError as error:
        return None, (f"I couldn't parse the arguments; {error}", parser.format_usage())
    except HelpRequested:
        return None, (parser.format_help(),)
    except ValueError as error:
        # shlex complains here, e.g. "No closing quotation" for an unbalanced quote.
        return None, (f"I couldn't parse this command; {error}", parser.format_help())


def _handler_call_args(
    namespace: argparse.Namespace, unpack_args: bool
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if unpack_args:
        return (), dict(vars(namespace))
    return (namespace,), {}


def _sync_arg_wrapper(
    func: Callable[..., Any], parser: ArgumentParser, unpack_args: bool
) -> Callable[..., Iterator[Any]]:
    @functools.wraps(func)
    def wrapper(self: Any, msg: Any, args: str) -> Iterator[Any]:
        namespace, replies = parse_arg_command(parser, args)
        if namespace is None:
            yield from replies
            return
        call_args, call_kwargs = _handler_call_args(namespace, unpack_args)
        result = func(self, msg, *call_args, **call_kwargs)
        if inspect.isgenerator(result):
            yield from result
        else:
            yield result

    return wrapper


def _async_arg_wrapper(
    func: Callable[..., Any], parser: ArgumentParser, unpack_args: bool
) -> Callable[..., AsyncIterator[Any]]:
    # An async generator, so the core runs it on the event loop like any async command.
    @functools.wraps(func)
    async def wrapper(self: Any, msg: Any, args: str) -> AsyncIterator[Any]:
        namespace, replies = parse_arg_command(parser, args)
        if namespace is None:
            for reply in replies:
                yield reply
            return
        call_args, call_kwargs = _handler_call_args(namespace, unpack_args)
        result = func(self, msg, *call_args, **call_kwargs)
        if inspect.isasyncgen(result):
            async for item in result:
                yield item
        elif inspect.isawaitable(result):
            yield await result
        else:
            yield result

    return wrapper


def wrap_arg_handler(
    func: Callable[..., Any], parser: ArgumentParser, unpack_args: bool = True
) -> Callable[..., Any]:
    """Build the ``(self, msg, args)`` command that parses ``args`` and then calls ``func``.

    The result is a generator function yielding the handler's replies, or an async
    generator function when ``func`` is ``async def`` (coroutine or async generator).
    Parse failures and ``-h`` are answered by the wrapper itself; ``func`` is not called.
    """
    if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        return _async_arg_wrapper(func, parser, unpack_args)
    return _sync_arg_wrapper(func, parser, unpack_args)
