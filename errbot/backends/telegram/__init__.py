"""The Telegram backend (``BACKEND = "Telegram"``), built on python-telegram-bot.

- `backend`: `TelegramBackend`, start-up, supervision and the backend contract.
- `client`: the Bot API `Application` on the bot's event loop; `events`: incoming updates.
- `identifiers`: users, chats and users in chats; `markup`: Markdown to Telegram's HTML and
  its length limit; `files`: which Bot API call sends a stream.

The backend loader imports this package (the ``Module`` of telegram.plug) and takes the one
`ErrBot` subclass it finds here. Errbot named this module ``errbot.backends.telegram_messenger``;
that name is kept as an alias module.
"""

from errbot.backends.telegram.backend import TelegramBackend
from errbot.backends.telegram.identifiers import (
    TelegramMUCOccupant,
    TelegramPerson,
    TelegramRoom,
)

__all__ = ["TelegramBackend", "TelegramMUCOccupant", "TelegramPerson", "TelegramRoom"]
