"""The Matrix backend (``BACKEND = "Matrix"``), built on matrix-nio.

- `backend`: `MatrixBackend`: the session, supervision and the backend contract; its mixins
  are `sending` (messages, cards, files) and `room_ops` (rooms and direct chats).
- `client`: the nio client on the bot's event loop; `events`: ``/sync`` responses.
- `identifiers`: people (MXIDs) and occupants; `rooms`: rooms; `markup`: event contents;
  `outbox`: ordered work held while disconnected.

The backend loader imports this package (the ``Module`` of matrix.plug) and takes the one
`ErrBot` subclass it finds here.
"""

from errbot.backends.matrix.backend import MatrixBackend
from errbot.backends.matrix.identifiers import MatrixPerson, MatrixRoomOccupant
from errbot.backends.matrix.rooms import MatrixRoom

__all__ = ["MatrixBackend", "MatrixPerson", "MatrixRoom", "MatrixRoomOccupant"]
