"""Core plugin ``Help``: ``!about``, ``!help`` and ``!apropos`` (contract section 8).

The listings are built from the live command table of the bot, so commands of plugins activated
later, and of dynamic plugins, show up as soon as they exist. With HIDE_RESTRICTED_COMMANDS the
command filters are asked, in dry-run mode, whether the requester could run each command; the
ones they could not run are left out.
"""

from __future__ import annotations

import inspect
import platform
from collections.abc import Callable, Iterable
from typing import Any

from errbot import BotPlugin, botcmd
from errbot.backends.base import Message
from errbot.version import VERSION

UNDEFINED_COMMAND = "That command is not defined."
UNDOCUMENTED = "(undocumented)"
SUMMARY_MAX = 80

# A "!" that starts a word: "!help", "`!help`", "(!help)". An exclamation mark that ends a
# sentence ("Done!") is left alone. "!!" (re-run the last command) is a reference too.

Handler = Callable[..., Any]


class Help(BotPlugin):
    """Help on the bot's commands and information about this bot."""

    # -- documentation helpers ---------------------------------------------------------
    def _with_prefix(self, text: str) -> str:
        """Rewrite "!cmd" references of a docstring to the configured BOT_PREFIX."""
        return self._bot.with_prefix(text)

    def _full_doc(self, command: Handler) -> str:
        doc = getattr(command, "__doc__", None)
        if not doc or not doc.strip():
            return UNDOCUMENTED
        return self._with_prefix(inspect.cleandoc(doc))

    def _summary(self, command: Handler) -> str:
        """The first line of the docstring, cut to SUMMARY_MAX characters."""
        first = self._full_doc(command).split("\n", 1)[0].strip()
        if len(first) > SUMMARY_MAX:
            first = first[: SUMMARY_MAX - 3] + "..."
        return first

    def _plugin_doc(self, plugin: Any) -> str:
        doc = getattr(plugin, "__errdoc__", None) or getattr(type(plugin), "__errdoc__", None)
        if not isinstance(doc, str) or not doc.strip():
            return ""
        return self._with_prefix(inspect.cleandoc(doc))

    def _display_name(self, name: str, command: Handler) -> str:
        """How users type the command: prefix (when needed) and words separated by spaces."""
        if getattr(command, "_err_re_command", False):
            shown = getattr(command, "_err_command_re_name_help", None)
            if not shown:
                pattern = getattr(command, "_err_command_re_pattern", None)
                shown = getattr(pattern, "pattern", None) or name.replace("_", " ")
            if not getattr(command, "_err_command_prefix_required", True):
                return str(shown)
            return f"{self._bot.prefix}{shown}"
        return f"{self._bot.prefix}{name.replace('_', ' ')}"

    def _help_line(self, name: str, command: Handler, full: bool = False) -> str:
        doc = self._full_doc(command) if full else self._summary(command)
        return f"- **{self._display_name(name, command)}** - {doc}"

    # -- what the requester may see ----------------------------------------------------
    def _all_commands(self) -> list[tuple[str, Handler]]:
        """Regular and regex commands; a regex command may share a regular one's name."""
        bot = self._bot
        return [*list(bot.commands.items()), *list(bot.re_commands.items())]

    def _may_run(self, msg: Message, name: str) -> bool:
        if not self.bot_config.HIDE_RESTRICTED_COMMANDS:
            return True
        allowed, _, _ = self._bot.pipeline.run_filters(msg, name, None, True)
        return allowed is not None

    def _visible(self, msg: Message) -> list[tuple[Any, list[tuple[str, Handler]]]]:
        """(plugin, its listed commands), both sorted by the names users see."""
        by_plugin: dict[int, tuple[Any, list[tuple[str, Handler]]]] = {}
        for name, command in self._all_commands():
            if getattr(command, "_err_command_hidden", False):
                continue
            plugin = getattr(command, "__self__", None)
            if plugin is None or not self._may_run(msg, name):
                continue
            by_plugin.setdefault(id(plugin), (plugin, []))[1].append((name, command))
        groups = [
            (plugin, sorted(cmds, key=lambda item: _name_key(self._display_name(*item))))
            for plugin, cmds in by_plugin.values()
        ]
        return sorted(groups, key=lambda group: _name_key(_plugin_name(group[0])))

    def _section(self, plugin: Any, commands: Iterable[tuple[str, Handler]]) -> str:
        parts = [f"**{_plugin_name(plugin)}**"]
        doc = self._plugin_doc(plugin)
        if doc:
            parts.append(doc)
        parts.append("\n".join(self._help_line(name, command) for name, command in commands))
        return "\n\n".join(parts)

    # -- commands ---------------------------------------------------------------------
    @botcmd(template="about")
    def about(self, msg: Message, args: str) -> dict[str, Any]:
        """Return information about this Errbot instance and version"""
        return {
            "version": VERSION,
            "python": platform.python_version(),
            "backend": self._bot.mode,
            "prefix": self._bot.prefix,
        }

    @botcmd
    def help(self, msg: Message, args: str) -> str:
        """List the commands, by plugin: !help [<plugin name> | <command>].

        Without argument, every command you can use is listed with the first line of its
        documentation. With a plugin name (any case), only the commands of that plugin. With a
        command name (words separated by spaces or underscores), its full documentation.
        """
        query = args.strip()
        groups = self._visible(msg)
        if not query:
            sections = [self._section(plugin, commands) for plugin, commands in groups]
            return "\n\n".join(["### All commands", *sections])
        wanted = query.lower()
        for plugin, commands in groups:
            names = {_plugin_name(plugin).lower(), type(plugin).__name__.lower()}
            if wanted in names:
                return self._section(plugin, commands)
        key = "_".join(query.split())
        for table in (self._bot.commands, self._bot.re_commands):
            command = table.get(key)
            if command is not None and self._may_run(msg, key):
                return self._help_line(key, command, full=True)
        return UNDEFINED_COMMAND

    @botcmd
    def apropos(self, msg: Message, args: str) -> str:
        """Search the commands whose documentation mentions a term: !apropos <term>."""
        term = args.strip()
        if not term:
            return f"Usage: {self._bot.prefix}apropos search_term"
        needle = term.lower()
        lines = ["Available commands:"]
        for _, commands in self._visible(msg):
            for name, command in commands:
                doc = getattr(command, "__doc__", None)
                # Undocumented commands are always listed: nothing says they don't match.
                if doc and doc.strip() and needle not in doc.lower():
                    continue
                lines.append(f"\t{self._display_name(name, command)}: {self._summary(command)}")
        return "\n".join(lines)


def _plugin_name(plugin: Any) -> str:
    return str(getattr(plugin, "name", type(plugin).__name__))


def _name_key(name: str) -> tuple[str, str]:
    return name.lower(), name
