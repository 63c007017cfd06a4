"""Commands defined at run time, for plugins created with ``create_dynamic_plugin``."""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from errbot.decorators import botcmd, update_wrapper

__all__ = ["Command"]

log = logging.getLogger(__name__)

_LAMBDA_NAME = "<lambda>"


def _own_copy(function: Callable[..., Any]) -> Callable[..., Any]:
    """A private copy of a plain function, so renaming and tagging it leaves the original
    alone and the same function can back several commands under different names."""
    if not isinstance(function, types.FunctionType):
        return function
    copy = types.FunctionType(
        function.__code__,
        function.__globals__,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    copy.__module__ = function.__module__
    copy.__doc__ = function.__doc__
    copy.__dict__.update(function.__dict__)
    return copy


class Command:
    """A command built from a plain function ``(plugin, msg, args)`` or a lambda.

    ``cmd_type`` is the decorator that makes it a command (``botcmd`` by default), applied
    as ``cmd_type(function, *cmd_args, **cmd_kwargs)``; ``definition`` is the result.
    """

    __slots__ = ("definition", "name")

    def __init__(
        self,
        function: Callable[..., Any],
        cmd_type: Callable[..., Any] | None = None,
        cmd_args: Iterable[Any] | None = None,
        cmd_kwargs: Mapping[str, Any] | None = None,
        name: str | None = None,
        doc: str | None = None,
    ) -> None:
        function_name = getattr(function, "__name__", None)
        if name is None:
            if function_name == _LAMBDA_NAME:
                raise ValueError(
                    "function is a lambda (anonymous), parameter name needs to be set."
                )
            if function_name is None:
                raise ValueError(f"{function!r} has no __name__, parameter name needs to be set.")
            name = function_name
        function = _own_copy(function)
        # The decorators read the name and help text from the function itself.
        function.__name__ = name
        if doc:
            function.__doc__ = doc
        decorator = botcmd if cmd_type is None else cmd_type
        self.name: str = name
        self.definition: Callable[..., Any] = decorator(
            function, *tuple(cmd_args or ()), **dict(cmd_kwargs or {})
        )

    def append_args(self, args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
        """Add an argparse argument to a command made with ``cmd_type=arg_botcmd``."""
        if not getattr(self.definition, "_err_arg_command", False):
            # Errbot only warns here, and dynamic plugins written for it rely on that.
            log.warning("Cannot append arguments to %s: it is not an arg_botcmd command.", self)
            return
        update_wrapper(self.definition, args, kwargs)

    def __repr__(self) -> str:
        return f"<Command {self.name!r}>"
