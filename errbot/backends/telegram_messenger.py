"""Errbot's module name for its Telegram backend, kept so that plugins importing
``errbot.backends.telegram_messenger`` (for ``TelegramPerson`` and friends) keep working.

The backend itself is the `errbot.backends.telegram` package; this module only re-exports it.
No ``.plug`` names it, so backend discovery never loads the backend twice.
"""

from errbot.backends.telegram import (
    TelegramBackend,
    TelegramMUCOccupant,
    TelegramPerson,
    TelegramRoom,
)

__all__ = ["TelegramBackend", "TelegramMUCOccupant", "TelegramPerson", "TelegramRoom"]
