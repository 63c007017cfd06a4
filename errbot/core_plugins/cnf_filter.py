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
        text = self._without_prefix(msg)
        parts = text.split(None, 1)
        command = parts[0] if parts else ""
        arguments = parts[1] if len(parts) > 1 else ""
        return self._bot.unknown_command(msg, command, arguments)

    def _without_prefix(self, msg: Message) -> str:
        """The text after the bot's prefix, removed exactly as command detection does.

        Errbot strips the first alternate prefix that matches, case-sensitively and without
        separators, so with BOT_ALT_PREFIXES ("err", "errbot") "errbot foo" was reported as
        the unknown command "bot". The pipeline's parser takes the longest prefix, honours
        BOT_ALT_PREFIX_CASEINSENSITIVE and removes the separators.
        """
        pipeline = getattr(self._bot, "pipeline", None)
        prefixes = getattr(pipeline, "prefixes", None)
        if prefixes is not None:
            return str(prefixes.parse(msg.body, msg.is_direct).text)
        text = msg.body.strip()
        for prefix in (*self.bot_config.BOT_ALT_PREFIXES, self.bot_config.BOT_PREFIX):
            if text.startswith(prefix):
                return text[len(prefix) :].strip()
        return text
