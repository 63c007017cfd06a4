from __future__ import annotations

from typing import Any

from errbot import BotPlugin, cmdfilter
from errbot.backends.base import Message


class CommandNotFoundFilter(BotPlugin):
    """Tells users when a command does not exist, and suggests close ones."""

    @cmdfilter(catch_unprocessed=True)
    def cnf_filter(
        self, msg: Message, cmd: str, args: Any, dry_run: bool, emptycmd: bool = False
    ) -> Any:
        if not emptycmd:
            return msg, cmd, args
        if self.bot_config.SUPPRESS_CMD_NOT_FOUND:
            self.log.debug("Suppressing the command not found reply")
            return None
        text = msg.body.strip()
        prefixes = (*self.bot_config.BOT_ALT_PREFIXES, self.bot_config.BOT_PREFIX)
        for prefix in prefixes:
            if text.startswith(prefix):
                text = text[len(prefix) :].strip()
                break
        parts = text.split(" ", 1)
        command = parts[0]
        arguments = parts[1] if len(parts) > 1 else ""
        return self._bot.unknown_command(msg, command, arguments)
