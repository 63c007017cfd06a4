"""Access control: the ``acls`` command filter (section 6.5 of the contract).

It runs before any plugin code, for regular and regex commands, on every path that reaches a
command (prefixes, multi-word forms, history re-runs), because the core calls the filter chain
with the resolved command name rather than the text the user typed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from errbot import BotPlugin, cmdfilter
from errbot.backends.base import Message, RoomOccupant

DENY_ARGS = "You're not allowed to access this command using the provided arguments"
DENY_USER = "You're not allowed to access this command from this user"
DENY_MUC = "You're not allowed to access this command from a chatroom"
DENY_ROOM = "You're not allowed to access this command from this room"
DENY_PRIVATE = "You're not allowed to access this command via private message to me"
DENY_ADMIN = "This command requires bot-admin privileges"
DENY_ADMIN_MUC = "This command may only be issued through a direct message"


def _patterns(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def glob_match(text: Any, patterns: Any) -> bool:
    """Case-sensitive glob match of ``text`` against one pattern or several."""
    subject = str(text)
    return any(fnmatch.fnmatchcase(subject, pattern) for pattern in _patterns(patterns))


def ciglob(text: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(text.lower(), p.lower()) for p in patterns)


class ACLS(BotPlugin):
    """Checks ACCESS_CONTROLS, admin-only commands and where commands may be used."""

    def access_rules(self, plugin_name: str, cmd: str) -> dict[str, Any]:
        config = self.bot_config
        acl: dict[str, Any] = dict(config.ACCESS_CONTROLS_DEFAULT or {})
        target = f"{plugin_name}:{cmd}"
        controls: Mapping[str, Any] = config.ACCESS_CONTROLS or {}
        for key, rules in controls.items():
            pattern = key if ":" in key else f"*:{key}"
            if fnmatch.fnmatch(target.lower(), pattern.lower()):
                acl.update(rules)
                break
        return acl

    def denial(self, msg: Message, cmd: str, args: Any, method: Any) -> str | None:
        """Why ``msg.frm`` may not run ``cmd`` here, or None when it may."""
        config = self._bot.bot_config
        if (
            not config.ACCESS_CONTROLS
            and not config.ACCESS_CONTROLS_DEFAULT
            and not getattr(method, "_err_command_admin_only", False)
        ):
            return None  # nothing configured restricts this command
        owner = getattr(method, "__self__", None)
        plugin_name = getattr(owner, "name", type(owner).__name__)
        acl = self.access_rules(plugin_name, cmd)
        frm = msg.frm
        user = getattr(frm, "aclattr", None) or frm.person
        arguments = "" if args is None else (args if isinstance(args, str) else str(args))
        if args is not None:
            if "allowargs" in acl and not glob_match(arguments, acl["allowargs"]):
                return DENY_ARGS
            if "denyargs" in acl and glob_match(arguments, acl["denyargs"]):
                return DENY_ARGS
        if "allowusers" in acl and not glob_match(user, acl["allowusers"]):
            return DENY_USER
        if "denyusers" in acl and glob_match(user, acl["denyusers"]):
            return DENY_USER
        if msg.is_group:
            if not isinstance(frm, RoomOccupant):
                raise ValueError(f"msg.frm is not a RoomOccupant. Class of frm: {type(frm)}")
            room = getattr(frm.room, "aclattr", None) or str(frm.room)
            if acl.get("allowmuc", True) is False:
                return DENY_MUC
            if "allowrooms" in acl and not glob_match(room, acl["allowrooms"]):
                return DENY_ROOM
            if "denyrooms" in acl and glob_match(room, acl["denyrooms"]):
                return DENY_ROOM
        elif acl.get("allowprivate", True) is False:
            return DENY_PRIVATE
        if getattr(method, "_err_command_admin_only", False):
            if not glob_match(user, self.bot_config.BOT_ADMINS):
                return DENY_ADMIN
            if msg.is_group and acl.get("allowmuc") is not True:
                return DENY_ADMIN_MUC
        return None

    def handlers(self, cmd: str) -> list[Any]:
        """Every command registered under ``cmd``: a regular and a regex command may share a
        name, and the filter is not told which of the two is about to run."""
        bot = self._bot
        return [h for h in (bot.commands.get(cmd), bot.re_commands.get(cmd)) if h is not None]

    @cmdfilter
    def acls(self, msg: Message, cmd: str, args: Any, dry_run: bool) -> tuple[Any, Any, Any]:
        # Errbot looks the name up in all_commands, where a regex command hides a regular one
        # of the same name: a plugin's regex command named like an admin-only command would
        # let anyone run the admin command. Here the command must pass the rules of both.
        reason = None
        for method in self.handlers(cmd):
            reason = self.denial(msg, cmd, args, method)
            if reason is not None:
                break
        if reason is None:
            return msg, cmd, args
        self.log.info("Denied %s to %s: %s", cmd, msg.frm, reason)
        if not dry_run and not self.bot_config.HIDE_RESTRICTED_ACCESS:
            self._bot.send_simple_reply(msg, reason)
        return None, None, None
