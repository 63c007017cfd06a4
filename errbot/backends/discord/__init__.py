"""The Discord backend (``BACKEND = "Discord"``), built on discord.py.

- `backend`: `DiscordBackend`, start-up, supervision and the backend contract.
- `client`: the discord.py client on the bot's event loop; `events`: gateway events.
- `identifiers`: users, channels and threads, occupants; `rooms`: parsing and the rooms API.
- `markup`: Markdown, the length limit and cards as embeds; `outbox`: ordered sending.

The backend loader imports this package (the ``Module`` of discord.plug) and takes the one
`ErrBot` subclass it finds here. Its name does not hide the ``discord`` library: the
``errbot/backends`` folder is never put on ``sys.path``, and imports are absolute.
"""

from errbot.backends.discord.backend import DiscordBackend
from errbot.backends.discord.identifiers import DiscordPerson, DiscordRoom, DiscordRoomOccupant

__all__ = ["DiscordBackend", "DiscordPerson", "DiscordRoom", "DiscordRoomOccupant"]
