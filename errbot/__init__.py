"""errbot: a chatbot framework that runs Errbot plugins unchanged.

The names below are the public plugin API (section 1 of the compatibility contract). They are
imported on first use, so `errbot --version` and other quick commands stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "BotPlugin",
    "CommandError",
    "Command",
    "webhook",
    "cmdfilter",
    "botcmd",
    "re_botcmd",
    "botmatch",
    "arg_botcmd",
    "botflow",
    "BotFlow",
    "FlowRoot",
    "Flow",
    "FLOW_END",
]

_ORIGINS = {
    "ARG_BOTCMD_CHARACTER_REPLACEMENTS": "errbot.arguments",
    "ArgumentParseError": "errbot.arguments",
    "ArgumentParser": "errbot.arguments",
    "HelpRequested": "errbot.arguments",
    "SeparatorArgParser": "errbot.arguments",
    "ShlexArgParser": "errbot.arguments",
    "AWAY": "errbot.backends.base",
    "DND": "errbot.backends.base",
    "OFFLINE": "errbot.backends.base",
    "ONLINE": "errbot.backends.base",
    "Message": "errbot.backends.base",
    "BotPlugin": "errbot.botplugin",
    "BotPluginBase": "errbot.botplugin",
    "arg_botcmd": "errbot.decorators",
    "botcmd": "errbot.decorators",
    "botflow": "errbot.decorators",
    "botmatch": "errbot.decorators",
    "cmdfilter": "errbot.decorators",
    "re_botcmd": "errbot.decorators",
    "update_wrapper": "errbot.decorators",
    "webhook": "errbot.decorators",
    "Command": "errbot.dynamic_command",
    "CommandError": "errbot.exceptions",
    "ValidationException": "errbot.exceptions",
    "FLOW_END": "errbot.flow",
    "BotFlow": "errbot.flow",
    "Flow": "errbot.flow",
    "FlowNode": "errbot.flow",
    "FlowRoot": "errbot.flow",
    "webroute": "errbot.web.routing",
}


def __getattr__(name: str) -> Any:
    module = _ORIGINS.get(name)
    if module is None:
        raise AttributeError(f"module 'errbot' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_ORIGINS])


if TYPE_CHECKING:
    from errbot.arguments import (
        ARG_BOTCMD_CHARACTER_REPLACEMENTS,
        ArgumentParseError,
        ArgumentParser,
        HelpRequested,
        SeparatorArgParser,
        ShlexArgParser,
    )
    from errbot.backends.base import AWAY, DND, OFFLINE, ONLINE, Message
    from errbot.botplugin import BotPlugin, BotPluginBase
    from errbot.decorators import (
        arg_botcmd,
        botcmd,
        botflow,
        botmatch,
        cmdfilter,
        re_botcmd,
        update_wrapper,
        webhook,
    )
    from errbot.dynamic_command import Command
    from errbot.exceptions import CommandError, ValidationException
    from errbot.flow import FLOW_END, BotFlow, Flow, FlowNode, FlowRoot
    from errbot.web.routing import webroute
