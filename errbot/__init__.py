"""errbot: a chatbot framework that runs Errbot plugins unchanged.

The names below are the public plugin API (section 1 of the compatibility contract).
"""

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

_ = (
    ARG_BOTCMD_CHARACTER_REPLACEMENTS, ArgumentParseError, ArgumentParser, HelpRequested,
    SeparatorArgParser, ShlexArgParser, AWAY, DND, OFFLINE, ONLINE, Message, BotPluginBase,
    update_wrapper, ValidationException, FlowNode,
)
