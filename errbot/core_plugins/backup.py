"""Core plugin Backup: ``!backup`` writes ``<BOT_DATA_DIR>/backup.py`` (see errbot.backup)."""

from __future__ import annotations

from typing import Any

from errbot import BotPlugin, botcmd
from errbot.backup import write_backup, write_data_backup


class Backup(BotPlugin):
    """Backup related commands."""

    @botcmd(admin_only=True)
    def backup(self, msg: Any, args: Any) -> str:
        """Back up the bot's storage for errbot --restore: a data-only backup.jsonl whose
        restore runs no code, or with "script" Errbot's backup.py format."""
        if str(args).strip() != "script":
            path, skipped = write_data_backup(self._bot)
            reply = f'The backup file has been written in "{path}".'
            if skipped:
                reply += (" Left out (not Python literals): "
                          + ", ".join(f"`{name}`" for name in skipped) + ".")
            return reply
        path = write_backup(self._bot)
        return f'The backup file has been written in "{path}".'
