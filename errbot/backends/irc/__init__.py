"""The IRC backend (``BACKEND = "IRC"``, needs ``pip install errbot[irc]``).

- `backend`: `IRCBackend`, start-up, supervision and the backend contract.
- `client`: the connection on the bot's event loop; `events`: what the server says.
- `channels`: channel membership and topics; `identifiers`: people, channels, occupants.
- `lines`: fitting replies into IRC lines, finding mentions; `outbox`: paced sending.

The backend loader imports this package (the ``Module`` of irc.plug) and takes the one
`ErrBot` subclass it finds here, so only `IRCBackend` and the identifier classes (the names
Errbot's ``errbot.backends.irc`` offered plugins) are re-exported.
"""

from errbot.backends.irc.backend import IRCBackend
from errbot.backends.irc.identifiers import IRCPerson, IRCRoom, IRCRoomOccupant

__all__ = ["IRCBackend", "IRCPerson", "IRCRoom", "IRCRoomOccupant"]
