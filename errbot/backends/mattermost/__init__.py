"""The Mattermost backend (``BACKEND = "Mattermost"``), built on mattermostautodriver.

- `backend`: `MattermostBackend`: connecting, supervising, stopping; its mixins are
  `outbox` (sending), `files` (uploads), `addressing` (identifiers and replies) and
  `channel_ops` (rooms).
- `client`: REST and websocket; `events`: websocket events; `directory`: users, channels
  and teams the bot knows.
- `identifiers`: users and occupants; `rooms`: channels as rooms; `cards`: attachments.

The backend loader imports this package (the ``Module`` of mattermost.plug) and takes the one
`ErrBot` subclass it finds here.
"""

from errbot.backends.mattermost.backend import MattermostBackend
from errbot.backends.mattermost.identifiers import MattermostPerson, MattermostRoomOccupant
from errbot.backends.mattermost.rooms import MattermostRoom

__all__ = ["MattermostBackend", "MattermostPerson", "MattermostRoom", "MattermostRoomOccupant"]
