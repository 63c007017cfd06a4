"""The backend contract: identifiers, messages, cards, presence, reactions, streams, `Backend`.

Plugins import these names from ``errbot.backends.base`` and backends written for Errbot
subclass them, so names, signatures and defaults follow Errbot 6.x. One deliberate
difference: `Message.flow` returns the flow the message belongs to (Errbot 6.2.1 returns the
sender instead).
"""

from __future__ import annotations

import copy
import io
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from errbot.flow import Flow

log = logging.getLogger(__name__)

__all__ = [
    "AWAY",
    "DND",
    "OFFLINE",
    "ONLINE",
    "REACTION_ADDED",
    "REACTION_REMOVED",
    "STREAM_ERROR",
    "STREAM_PAUSED",
    "STREAM_REJECTED",
    "STREAM_SUCCESSFULLY_TRANSFERED",
    "STREAM_TRANSFER_IN_PROGRESS",
    "STREAM_WAITING_TO_START",
    "Backend",
    "Card",
    "Identifier",
    "Message",
    "Person",
    "Presence",
    "Reaction",
    "Room",
    "RoomDoesNotExistError",
    "RoomError",
    "RoomNotJoinedError",
    "RoomOccupant",
    "Stream",
    "UserDoesNotExistError",
    "UserNotUniqueError",
]

_BACKEND_SPECIFIC = "It should be implemented specifically for your backend"


# -- identifiers ------------------------------------------------------------------------------
# The ABCs define neither __eq__ nor __hash__: each backend decides what makes two of its
# identifiers equal, and until it does, identity keeps them usable as dict keys.


class Identifier(ABC):  # noqa: B024 - a marker base: "anything the bot can talk to"
    """Anything the bot can talk to: a person, a room, a person in a room.

    Only backends subclass identifiers. Plugins get them from messages or from
    ``build_identifier``. ``str(identifier)`` is the backend's canonical text form and
    round-trips through ``build_identifier``.
    """


class Person(Identifier):
    """Someone the bot can talk to directly."""

    @property
    @abstractmethod
    def person(self) -> str:
        """The backend's unique id of this person (history and flows are keyed on it)."""

    @property
    @abstractmethod
    def client(self) -> str | None:
        """The device or resource the person talks from, if the network has the notion."""

    @property
    @abstractmethod
    def nick(self) -> str | None:
        """The person's nickname, if the network has one."""

    @property
    @abstractmethod
    def aclattr(self) -> str:
        """The string matched against ACL rules and BOT_ADMINS."""

    @property
    @abstractmethod
    def fullname(self) -> str | None:
        """The person's full name, if the network knows it."""

    @property
    def email(self) -> str:
        """The person's e-mail address; empty when the network does not expose it."""
        return ""


class RoomOccupant(Identifier):
    """Someone seen through a room (concrete occupants usually also subclass Person)."""

    @property
    @abstractmethod
    def room(self) -> Room:
        """The room this occupant is in."""


class Room(Identifier):
    """A multi-user chat room. Backends override what their network supports."""

    def join(self, username: str | None = None, password: str | None = None) -> None:
        """Join the room, creating it first if it does not exist."""
        raise NotImplementedError(_BACKEND_SPECIFIC)

    def leave(self, reason: str | None = None) -> None:
        """Leave the room, optionally telling the others why."""
        raise NotImplementedError(_BACKEND_SPECIFIC)

    def create(self) -> None:
        """Create the room; a no-op when it exists already."""
        raise NotImplementedError(_BACKEND_SPECIFIC)

    def destroy(self) -> None:
        """Destroy the room; a no-op when it does not exist."""
        raise NotImplementedError(_BACKEND_SPECIFIC)

    def invite(self, *args: Identifier) -> None:
        """Invite one or more people into the room."""
        raise NotImplementedError(_BACKEND_SPECIFIC)

    @property
    def exists(self) -> bool:
        """Whether the room exists on the network."""
        raise NotImplementedError(_BACKEND_SPECIFIC)

    @property
    def joined(self) -> bool:
        """Whether the bot is in the room."""
        raise NotImplementedError(_BACKEND_SPECIFIC)

    @property
    def topic(self) -> str | None:
        """The room topic, None when unset. May raise `RoomNotJoinedError`."""
        raise NotImplementedError(_BACKEND_SPECIFIC)

    @topic.setter
    def topic(self, topic: str) -> None:
        raise NotImplementedError(_BACKEND_SPECIFIC)

    @property
    def occupants(self) -> list[RoomOccupant]:
        """Who is in the room. May raise `RoomNotJoinedError`."""
        raise NotImplementedError(_BACKEND_SPECIFIC)

    @property
    def aclattr(self) -> str:
        """The string matched against the room ACL rules."""
        return str(self)


class RoomError(Exception):
    """Base class of the room related errors."""


class RoomNotJoinedError(RoomError):
    """The operation needs the bot to be in the room."""


class RoomDoesNotExistError(RoomError):
    """The room does not exist."""


class UserDoesNotExistError(Exception):
    """No user matches the given identifier."""


class UserNotUniqueError(Exception):
    """Several users match the given identifier."""


# -- messages ---------------------------------------------------------------------------------


_PERSON = "person"
_ROOM = "room"
_OTHER = "other"
_KINDS: dict[type, str] = {}


def _kind_of(identifier: Any) -> str:
    """Person, Room or other, remembered per class: isinstance on an ABC is slow, and every
    message asks several times."""
    cls = type(identifier)
    kind = _KINDS.get(cls)
    if kind is None:
        if isinstance(identifier, Person):
            kind = _PERSON
        elif isinstance(identifier, Room):
            kind = _ROOM
        else:
            kind = _OTHER
        if identifier.__class__ is cls and len(_KINDS) < 4096:  # not for proxies or mocks
            _KINDS[cls] = kind
    return kind


class Message:
    """A chat message, incoming or outgoing. The body is Markdown.

    One is created for every message the bot sees or sends, hence ``__slots__``. Plugins and
    backends sometimes hang their own attributes on messages, so instances keep a (lazily
    created) ``__dict__`` as well.
    """

    __slots__ = (
        "_body",
        "_from",
        "_to",
        "_parent",
        "_delayed",
        "_partial",
        "_extras",
        "_flow",
        "ctx",
        "__dict__",
        "__weakref__",
    )

    def __init__(
        self,
        body: str = "",
        frm: Identifier | None = None,
        to: Identifier | None = None,
        parent: Message | None = None,
        delayed: bool = False,
        partial: bool = False,
        extras: Mapping[str, Any] | None = None,
        flow: Flow | None = None,
    ) -> None:
        """
        :param body: the Markdown body.
        :param frm: the sender.
        :param to: the recipient: a Person (direct message) or a Room (group message).
        :param parent: the message this one replies to (the thread root on threaded networks).
        :param delayed: a backlog or history message, never run as a command.
        :param partial: this message is one chunk of a reply split to fit MESSAGE_SIZE_LIMIT.
        :param extras: backend specific data.
        :param flow: the conversation flow this message belongs to.
        """
        self._body = body
        self._from = frm
        self._to = to
        self._parent = parent
        self._delayed = delayed
        self._partial = partial
        self._extras = extras if extras is not None else {}
        self._flow = flow
        # Commands share data along a flow through msg.ctx, which is the flow's own dict.
        self.ctx: dict[str, Any] = flow.ctx if flow is not None else {}

    @property
    def body(self) -> str:
        """The Markdown body."""
        return self._body

    @body.setter
    def body(self, body: str) -> None:
        self._body = body

    @property
    def frm(self) -> Identifier | None:
        """The sender."""
        return self._from

    @frm.setter
    def frm(self, frm: Identifier | None) -> None:
        self._from = frm

    @property
    def to(self) -> Identifier | None:
        """The recipient: a Person for a direct message, a Room for a group message."""
        return self._to

    @to.setter
    def to(self, to: Identifier | None) -> None:
        self._to = to

    @property
    def parent(self) -> Message | None:
        """The message this one replies to, or None."""
        return self._parent

    @parent.setter
    def parent(self, parent: Message | None) -> None:
        self._parent = parent

    @property
    def delayed(self) -> bool:
        """True for backlog/history messages, which are never processed as commands."""
        return self._delayed

    @delayed.setter
    def delayed(self, delayed: bool) -> None:
        self._delayed = delayed

    @property
    def partial(self) -> bool:
        """True on every chunk of a reply that went through the size splitter."""
        return self._partial

    @partial.setter
    def partial(self, partial: bool) -> None:
        self._partial = partial

    @property
    def extras(self) -> Mapping[str, Any]:
        """Backend specific data (for example a message URL or network ids)."""
        return self._extras

    @property
    def flow(self) -> Flow | None:
        """The conversation flow this message belongs to, or None.

        Errbot 6.2.1 returns the sender here (a bug); this returns the flow given to the
        constructor, or assigned later.
        """
        return self._flow

    @flow.setter
    def flow(self, flow: Flow | None) -> None:
        # ctx is left alone: whoever moves a message into a flow decides what ctx it sees.
        self._flow = flow

    @property
    def is_direct(self) -> bool:
        """Whether the message is addressed to a person."""
        return _kind_of(self._to) is _PERSON

    @property
    def is_group(self) -> bool:
        """Whether the message is addressed to a room."""
        return _kind_of(self._to) is _ROOM

    @property
    def is_threaded(self) -> bool:
        """Whether the message replies to another one."""
        return self._parent is not None

    def clone(self) -> Message:
        """A shallow copy of the same class: extras, ctx and identifiers are shared."""
        return copy.copy(self)

    def __str__(self) -> str:
        return self._body

    def __repr__(self) -> str:
        body = str(self._body)
        if len(body) > 40:
            body = body[:37] + "..."
        flags = "".join(f" {name}" for name in ("delayed", "partial") if getattr(self, "_" + name))
        return f"<{type(self).__name__} frm={self._from!s} to={self._to!s} body={body!r}{flags}>"


class Card(Message):
    """A preformatted message: backends with native cards render it, others use ``card.md``."""

    __slots__ = ("_summary", "_title", "_link", "_image", "_thumbnail", "_color", "_fields")

    def __init__(
        self,
        body: str = "",
        frm: Identifier | None = None,
        to: Identifier | None = None,
        parent: Message | None = None,
        summary: str | None = None,
        title: str = "",
        link: str | None = None,
        image: str | None = None,
        thumbnail: str | None = None,
        color: str | None = None,
        fields: Sequence[tuple[str, str]] = (),
    ) -> None:
        """
        :param body: the main text, in Markdown.
        :param summary: a one line summary the card may collapse to.
        :param title: the title, linking to ``link`` when given.
        :param link: the URL the title points to.
        :param image: the URL of the main image.
        :param thumbnail: the URL of an icon or thumbnail.
        :param color: a background colour or colour indicator.
        :param fields: (key, value) pairs.
        """
        super().__init__(body=body, frm=frm, to=to, parent=parent)
        self._summary = summary
        self._title = title
        self._link = link
        self._image = image
        self._thumbnail = thumbnail
        self._color = color
        self._fields = fields

    @property
    def summary(self) -> str | None:
        return self._summary

    @property
    def title(self) -> str:
        return self._title

    @property
    def link(self) -> str | None:
        return self._link

    @property
    def image(self) -> str | None:
        return self._image

    @property
    def thumbnail(self) -> str | None:
        return self._thumbnail

    @property
    def color(self) -> str | None:
        return self._color

    @property
    def fields(self) -> Sequence[tuple[str, str]]:
        """(key, value) pairs, as given."""
        return self._fields

    @property
    def text_color(self) -> str:
        """A readable text colour on top of `color`."""
        return "white" if self._color in ("black", "blue") else "black"


# -- presence and reactions -------------------------------------------------------------------

ONLINE = "online"
OFFLINE = "offline"
AWAY = "away"
DND = "dnd"


class Presence:
    """A change of status or status message of a person or room occupant."""

    __slots__ = ("_identifier", "_status", "_message")

    def __init__(
        self,
        identifier: Identifier | None,
        status: str | None = None,
        message: str | None = None,
    ) -> None:
        if identifier is None:
            raise ValueError("Presence: an identifier is required")
        if status is None and message is None:
            raise ValueError("Presence: a status or a status message is required")
        self._identifier = identifier
        self._status = status
        self._message = message

    @property
    def identifier(self) -> Identifier:
        """Whose presence changed: a Person or a RoomOccupant."""
        return self._identifier

    @property
    def status(self) -> str | None:
        """ONLINE, OFFLINE, AWAY, DND or a backend specific status; None if only the message
        changed."""
        return self._status

    @property
    def message(self) -> str | None:
        """The human readable status message ("BRB, lunch"), or None."""
        return self._message

    def __str__(self) -> str:
        parts = [f'identifier: "{self._identifier}"']
        if self._status:
            parts.append(f'status: "{self._status}"')
        if self._message:
            parts.append(f'message: "{self._message}"')
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"<Presence {self}>"


REACTION_ADDED = "added"
REACTION_REMOVED = "removed"


class Reaction:
    """Someone added or removed a reaction (an emoji, usually) on a message."""

    __slots__ = (
        "_reactor",
        "_reacted_to_owner",
        "_action",
        "_timestamp",
        "_reaction_name",
        "_reacted_to",
    )

    def __init__(
        self,
        reactor: Identifier | None = None,
        reacted_to_owner: Identifier | None = None,
        action: str | None = None,
        timestamp: str | None = None,
        reaction_name: str | None = None,
        reacted_to: Mapping[str, Any] | None = None,
    ) -> None:
        if reactor is None:
            raise ValueError("Reaction: a reactor is required")
        if reaction_name is None:
            raise ValueError("Reaction: a reaction_name is required")
        self._reactor = reactor
        self._reacted_to_owner = reacted_to_owner
        self._action = action
        self._timestamp = timestamp
        self._reaction_name = reaction_name
        self._reacted_to = reacted_to

    @property
    def reactor(self) -> Identifier:
        """Who reacted."""
        return self._reactor

    @property
    def reacted_to_owner(self) -> Identifier | None:
        """The author of the message reacted to."""
        return self._reacted_to_owner

    @property
    def action(self) -> str | None:
        """REACTION_ADDED or REACTION_REMOVED."""
        return self._action

    @property
    def timestamp(self) -> str | None:
        """When it happened, in the backend's format."""
        return self._timestamp

    @property
    def reaction_name(self) -> str:
        """The reaction, e.g. the emoji name."""
        return self._reaction_name

    @property
    def reacted_to(self) -> Mapping[str, Any] | None:
        """Backend data describing the item reacted to."""
        return self._reacted_to

    def __str__(self) -> str:
        parts = [f'reactor: "{self._reactor}"', f'reaction_name: "{self._reaction_name}"']
        for name in ("action", "timestamp", "reacted_to_owner", "reacted_to"):
            value = getattr(self, "_" + name)
            if value:
                parts.append(f'{name}: "{value}"')
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"<Reaction {self}>"


# -- file transfers ---------------------------------------------------------------------------

STREAM_WAITING_TO_START = "pending"
STREAM_TRANSFER_IN_PROGRESS = "in progress"
STREAM_SUCCESSFULLY_TRANSFERED = "success"
STREAM_PAUSED = "paused"
STREAM_ERROR = "error"
STREAM_REJECTED = "rejected"

DEFAULT_REASON = "unknown"


class Stream(io.BufferedReader):
    """A file transfer, incoming or outgoing, readable like a buffered binary file.

    Status moves from "pending" to "in progress" (`accept`) or "rejected" (`reject`), then from
    "in progress" to "success" (`success`); `error` may end it from any state.
    """

    def __init__(
        self,
        identifier: Identifier,
        fsource: BinaryIO,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> None:
        super().__init__(fsource)  # type: ignore[arg-type]
        self._identifier = identifier
        self._name = name
        self._size = size
        self._stream_type = stream_type
        self._status = STREAM_WAITING_TO_START
        self._reason = DEFAULT_REASON
        self._transfered = 0

    @property
    def identifier(self) -> Identifier:
        """Who sends the file (incoming) or receives it (outgoing)."""
        return self._identifier

    @property
    def name(self) -> str | None:  # type: ignore[override]
        """The file name, if any. Never trust it as a local path."""
        return self._name

    @property
    def size(self) -> int | None:
        """The expected size in bytes, if known."""
        return self._size

    @property
    def transfered(self) -> int:
        """Bytes acknowledged so far (Errbot's spelling)."""
        return self._transfered

    @property
    def stream_type(self) -> str | None:
        """The MIME type, if known."""
        return self._stream_type

    @property
    def status(self) -> str:
        """One of the STREAM_* status strings."""
        return self._status

    @property
    def reason(self) -> str:
        """Why the transfer failed, after `error`."""
        return self._reason

    def accept(self) -> None:
        """Accept a pending transfer."""
        self._require(STREAM_WAITING_TO_START, "accept")
        self._status = STREAM_TRANSFER_IN_PROGRESS

    def reject(self) -> None:
        """Refuse a pending transfer."""
        self._require(STREAM_WAITING_TO_START, "reject")
        self._status = STREAM_REJECTED

    def error(self, reason: str = DEFAULT_REASON) -> None:
        """Mark the transfer as failed, whatever its state."""
        self._status = STREAM_ERROR
        self._reason = reason

    def success(self) -> None:
        """Mark an in-progress transfer as complete."""
        self._require(STREAM_TRANSFER_IN_PROGRESS, "succeed")
        self._status = STREAM_SUCCESSFULLY_TRANSFERED

    def clone(self, new_fsource: BinaryIO) -> Stream:
        """A new pending stream with the same metadata reading from ``new_fsource``."""
        return Stream(self._identifier, new_fsource, self._name, self._size, self._stream_type)

    def ack_data(self, length: int) -> None:
        """Record that ``length`` bytes have been transferred so far."""
        self._transfered = length

    def _require(self, expected: str, action: str) -> None:
        if self._status != expected:
            raise ValueError(
                f'Invalid state: cannot {action} a stream that is "{self._status}"'
                f' (it must be "{expected}").'
            )

    def __repr__(self) -> str:
        return (
            f"<Stream name={self._name!r} from/to={self._identifier!s} status={self._status!r}"
            f" transfered={self._transfered}/{self._size}>"
        )


# -- the backend contract ---------------------------------------------------------------------


class Backend(ABC):
    """What the core expects from a chat backend.

    Backends subclass ``errbot.core.ErrBot``, which implements the callbacks and the
    connection handling declared abstract here; a concrete backend supplies the network part
    (sending, identifiers, rooms, replies, mode). The abstract set is Errbot's, so backends
    written for Errbot instantiate unchanged.
    """

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.bot_config = config

    # -- implemented by the concrete backend -------------------------------------------------
    @abstractmethod
    def send_message(self, msg: Message) -> None:
        """Deliver ``msg``; implementations call ``super().send_message(msg)``."""

    @abstractmethod
    def change_presence(self, status: str = ONLINE, message: str = "") -> None:
        """Change the bot's own presence."""

    @abstractmethod
    def build_reply(
        self,
        msg: Message,
        text: str | None = None,
        private: bool = False,
        threaded: bool = False,
    ) -> Message:
        """The reply to ``msg``: to its room unless ``private``, else to its sender."""

    @abstractmethod
    def build_identifier(self, txtrep: str) -> Identifier:
        """Parse the backend's text form of a person, room or occupant."""

    @abstractmethod
    def query_room(self, room: str) -> Room:
        """The Room for ``room`` (it may not exist yet)."""

    @abstractmethod
    def rooms(self) -> Sequence[Room]:
        """The rooms the bot is in (a method, as every backend and plugin calls it)."""

    @property
    @abstractmethod
    def mode(self) -> str:
        """Short lower-case backend name ("text", "irc", "slackv3"...)."""

    @abstractmethod
    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        """Address ``message`` to ``identifier`` in the network's mention style."""

    # -- implemented by ErrBot ---------------------------------------------------------------
    @abstractmethod
    def callback_presence(self, presence: Presence) -> None:
        """Dispatch a presence change to the plugins."""

    @abstractmethod
    def callback_room_joined(
        self,
        room: Room,
        identifier: Identifier | None = None,
        invited_by: Identifier | None = None,
    ) -> None:
        """Dispatch a room join (by ``identifier``, the bot by default) to the plugins."""

    @abstractmethod
    def callback_room_left(
        self,
        room: Room,
        identifier: Identifier | None = None,
        kicked_by: Identifier | None = None,
    ) -> None:
        """Dispatch a room departure (of ``identifier``, the bot by default) to the plugins."""

    @abstractmethod
    def callback_room_topic(self, room: Room) -> None:
        """Dispatch a topic change to the plugins."""

    @abstractmethod
    def connect_callback(self) -> None:
        """Called by the backend once connected."""

    @abstractmethod
    def disconnect_callback(self) -> None:
        """Called by the backend once disconnected."""

    # -- optional ------------------------------------------------------------------------------
    def serve_once(self) -> Any:
        """Connect and serve until disconnected; a truthy result asks the bot to stop.

        Backends that replace ``serve_forever`` need not implement it.
        """
        raise NotImplementedError(_BACKEND_SPECIFIC)

    def connect(self) -> Any:
        """Connect to the network, or return the current connection."""
        return None

    def is_from_self(self, msg: Message) -> bool:
        """Whether ``msg`` was sent by the bot itself; backends override for accuracy."""
        return False

    def build_message(self, text: str) -> Message:
        """An outgoing message with ``text`` as body."""
        return Message(body=text)
