"""The XMPP backend (``BACKEND = "XMPP"``), built on slixmpp.

- `backend`: `XMPPBackend`, start-up, supervision and the backend contract.
- `client`: one slixmpp connection and its MUC operations; `events`: incoming stanzas.
- `identifiers`: people (JIDs) and room occupants; `rooms`: MUC rooms (XEP-0045).

The backend loader imports this package (the ``Module`` of xmpp.plug) and takes the one
`ErrBot` subclass it finds here; the identifier classes are re-exported for plugins, as
Errbot's ``errbot.backends.xmpp`` offered them.
"""

from errbot.backends.xmpp.backend import XMPPBackend
from errbot.backends.xmpp.identifiers import XMPPPerson, XMPPRoomOccupant
from errbot.backends.xmpp.rooms import XMPPRoom

__all__ = ["XMPPBackend", "XMPPPerson", "XMPPRoom", "XMPPRoomOccupant"]
