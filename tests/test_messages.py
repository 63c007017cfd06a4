"""Identifiers, messages, cards, presence, reactions, streams and the Backend contract."""

from __future__ import annotations

import io
import pickle
from typing import Any

import pytest

from errbot.backends.base import (
    AWAY,
    DND,
    OFFLINE,
    ONLINE,
    REACTION_ADDED,
    REACTION_REMOVED,
    STREAM_ERROR,
    STREAM_PAUSED,
    STREAM_REJECTED,
    STREAM_SUCCESSFULLY_TRANSFERED,
    STREAM_TRANSFER_IN_PROGRESS,
    STREAM_WAITING_TO_START,
    Backend,
    Card,
    Identifier,
    Message,
    Person,
    Presence,
    Reaction,
    Room,
    RoomDoesNotExistError,
    RoomError,
    RoomNotJoinedError,
    RoomOccupant,
    Stream,
    UserDoesNotExistError,
    UserNotUniqueError,
)


class Someone(Person):
    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def person(self) -> str:
        return self.name

    @property
    def client(self) -> str | None:
        return None

    @property
    def nick(self) -> str:
        return self.name

    @property
    def aclattr(self) -> str:
        return self.name

    @property
    def fullname(self) -> str:
        return self.name.title()

    def __str__(self) -> str:
        return "@" + self.name


class Lobby(Room):
    def __str__(self) -> str:
        return "#lobby"


class Occupant(Someone, RoomOccupant):
    @property
    def room(self) -> Room:
        return Lobby()


class FakeFlow:
    def __init__(self) -> None:
        self.ctx: dict[str, Any] = {"step": 1}


# -- identifiers --------------------------------------------------------------------------------


def test_identifier_classes_are_abstract() -> None:
    with pytest.raises(TypeError):
        Person()  # type: ignore[abstract]
    with pytest.raises(TypeError):
        RoomOccupant()  # type: ignore[abstract]


def test_person_defaults() -> None:
    alice = Someone("alice")
    assert alice.email == ""
    assert isinstance(alice, Identifier)


def test_identifiers_work_as_dict_keys_by_identity() -> None:
    alice, other_alice = Someone("alice"), Someone("alice")
    seen = {alice: 1}
    assert alice in seen
    assert other_alice not in seen


def test_room_defaults_say_what_is_missing() -> None:
    room = Lobby()
    assert room.aclattr == "#lobby"
    for action in (room.join, room.leave, room.create, room.destroy, room.invite):
        with pytest.raises(NotImplementedError):
            action()
    for prop in ("exists", "joined", "topic", "occupants"):
        with pytest.raises(NotImplementedError):
            getattr(room, prop)
    with pytest.raises(NotImplementedError):
        room.topic = "news"


def test_occupant_is_both_person_and_occupant() -> None:
    bob = Occupant("bob")
    assert isinstance(bob, Person) and isinstance(bob, RoomOccupant)
    assert str(bob.room) == "#lobby"


def test_room_errors_hierarchy() -> None:
    assert issubclass(RoomNotJoinedError, RoomError)
    assert issubclass(RoomDoesNotExistError, RoomError)
    assert not issubclass(UserDoesNotExistError, RoomError)
    assert issubclass(UserNotUniqueError, Exception)


# -- Message ------------------------------------------------------------------------------------


def test_message_defaults() -> None:
    msg = Message()
    assert msg.body == ""
    assert msg.frm is None and msg.to is None and msg.parent is None
    assert msg.delayed is False and msg.partial is False
    assert msg.extras == {}
    assert msg.flow is None
    assert msg.ctx == {}
    assert not msg.is_direct and not msg.is_group and not msg.is_threaded


def test_message_properties_are_settable() -> None:
    msg = Message("hi")
    alice, parent = Someone("alice"), Message("root")
    msg.body = "changed"
    msg.frm = alice
    msg.to = alice
    msg.parent = parent
    msg.delayed = True
    msg.partial = True
    assert (msg.body, msg.frm, msg.to, msg.parent) == ("changed", alice, alice, parent)
    assert msg.delayed and msg.partial and msg.is_threaded


def test_extras_are_read_only_but_kept() -> None:
    extras = {"url": "http://chat/1"}
    msg = Message("x", extras=extras)
    assert msg.extras is extras
    with pytest.raises(AttributeError):
        msg.extras = {}  # type: ignore[misc]


def test_direct_and_group_depend_on_the_recipient() -> None:
    assert Message("x", to=Someone("alice")).is_direct
    assert not Message("x", to=Someone("alice")).is_group
    assert Message("x", to=Lobby()).is_group
    assert not Message("x", to=Lobby()).is_direct
    # an occupant is a Person, so addressing one is direct
    assert Message("x", to=Occupant("bob")).is_direct


def test_flow_property_returns_the_flow_not_the_sender() -> None:
    flow = FakeFlow()
    msg = Message("x", frm=Someone("alice"), flow=flow)  # type: ignore[arg-type]
    assert msg.flow is flow
    assert msg.ctx is flow.ctx
    msg.ctx["answer"] = 42
    assert flow.ctx["answer"] == 42


def test_ctx_is_a_fresh_dict_per_message_without_flow() -> None:
    first, second = Message(), Message()
    first.ctx["k"] = "v"
    assert second.ctx == {}
    second.ctx = {"replaced": True}
    assert second.ctx == {"replaced": True}


def test_str_is_the_body_and_repr_is_informative() -> None:
    msg = Message("hello there", frm=Someone("alice"), to=Lobby(), partial=True)
    assert str(msg) == "hello there"
    text = repr(msg)
    assert "Message" in text and "@alice" in text and "#lobby" in text
    assert "hello there" in text and "partial" in text
    assert len(repr(Message("x" * 500))) < 120


def test_clone_copies_every_field_and_shares_extras() -> None:
    flow = FakeFlow()
    extras = {"k": 1}
    original = Message(
        "body",
        Someone("a"),
        Lobby(),
        Message("p"),
        True,
        True,
        extras,
        flow,  # type: ignore[arg-type]
    )
    original.custom = "plugin data"  # type: ignore[attr-defined]
    copy = original.clone()
    assert copy is not original
    for name in ("body", "frm", "to", "parent", "delayed", "partial", "flow", "ctx"):
        assert getattr(copy, name) is getattr(original, name)
    assert copy.extras is extras
    assert copy.custom == "plugin data"  # type: ignore[attr-defined]
    copy.body = "changed"
    assert original.body == "body"


def test_messages_are_slotted_but_accept_extra_attributes() -> None:
    assert "_body" in Message.__slots__
    msg = Message("x")
    msg.anything = 1  # type: ignore[attr-defined]
    assert msg.anything == 1  # type: ignore[attr-defined]


def test_message_subclass_clone_keeps_the_class() -> None:
    class NetworkMessage(Message):
        pass

    assert type(NetworkMessage("x").clone()) is NetworkMessage


def test_message_pickles() -> None:
    msg = Message("x", extras={"a": 1})
    back = pickle.loads(pickle.dumps(msg))
    assert back.body == "x" and back.extras == {"a": 1}


# -- Card ---------------------------------------------------------------------------------------


def test_card_fields_and_defaults() -> None:
    card = Card("body")
    assert (card.summary, card.title, card.link, card.image) == (None, "", None, None)
    assert (card.thumbnail, card.color, card.fields) == (None, None, ())
    full = Card(
        "b",
        summary="s",
        title="t",
        link="l",
        image="i",
        thumbnail="th",
        color="red",
        fields=(("k", "v"),),
    )
    assert (full.summary, full.title, full.link, full.image) == ("s", "t", "l", "i")
    assert (full.thumbnail, full.color, full.fields) == ("th", "red", (("k", "v"),))
    assert isinstance(full, Message) and full.body == "b"


def test_card_properties_are_read_only() -> None:
    with pytest.raises(AttributeError):
        Card().title = "new"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("color", "expected"),
    [("black", "white"), ("blue", "white"), ("red", "black"), (None, "black"), ("green", "black")],
)
def test_card_text_color(color: str | None, expected: str) -> None:
    assert Card(color=color).text_color == expected


def test_card_clone_is_a_card() -> None:
    card = Card("b", title="t", to=Lobby())
    copy = card.clone()
    assert isinstance(copy, Card) and copy.title == "t" and copy.is_group


# -- Presence and Reaction ----------------------------------------------------------------------


def test_presence_constants() -> None:
    assert (ONLINE, OFFLINE, AWAY, DND) == ("online", "offline", "away", "dnd")


def test_presence_requires_identifier_and_some_change() -> None:
    with pytest.raises(ValueError):
        Presence(None, ONLINE)
    with pytest.raises(ValueError):
        Presence(Someone("a"))
    only_message = Presence(Someone("a"), message="lunch")
    assert only_message.status is None and only_message.message == "lunch"


def test_presence_properties_and_str() -> None:
    alice = Someone("alice")
    presence = Presence(alice, AWAY, "brb")
    assert (presence.identifier, presence.status, presence.message) == (alice, AWAY, "brb")
    assert "@alice" in str(presence) and "away" in str(presence) and "brb" in str(presence)


def test_reaction() -> None:
    alice, bob = Someone("alice"), Someone("bob")
    reaction = Reaction(alice, bob, REACTION_ADDED, "123.4", "thumbsup", {"ts": "1"})
    assert reaction.reactor is alice and reaction.reacted_to_owner is bob
    assert reaction.action == "added" and REACTION_REMOVED == "removed"
    assert reaction.timestamp == "123.4" and reaction.reaction_name == "thumbsup"
    assert reaction.reacted_to == {"ts": "1"}
    assert "thumbsup" in str(reaction)


def test_reaction_requires_reactor_and_name() -> None:
    with pytest.raises(ValueError):
        Reaction(reaction_name="x")
    with pytest.raises(ValueError):
        Reaction(reactor=Someone("a"))


# -- Stream -------------------------------------------------------------------------------------


def make_stream() -> Stream:
    return Stream(Someone("a"), io.BytesIO(b"payload"), "f.txt", 7, "text/plain")


def test_stream_status_strings() -> None:
    assert (STREAM_WAITING_TO_START, STREAM_TRANSFER_IN_PROGRESS) == ("pending", "in progress")
    assert (STREAM_SUCCESSFULLY_TRANSFERED, STREAM_PAUSED) == ("success", "paused")
    assert (STREAM_ERROR, STREAM_REJECTED) == ("error", "rejected")


def test_stream_metadata_and_reading() -> None:
    stream = make_stream()
    assert stream.name == "f.txt" and stream.size == 7 and stream.stream_type == "text/plain"
    assert stream.status == "pending" and stream.transfered == 0
    assert stream.read() == b"payload"
    stream.ack_data(7)
    assert stream.transfered == 7


def test_stream_accept_then_success() -> None:
    stream = make_stream()
    stream.accept()
    assert stream.status == "in progress"
    stream.success()
    assert stream.status == "success"


def test_stream_reject() -> None:
    stream = make_stream()
    stream.reject()
    assert stream.status == "rejected"


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ([], "success"),  # not accepted yet
        (["accept"], "accept"),
        (["accept"], "reject"),
        (["reject"], "accept"),
        (["accept", "success"], "success"),
        (["accept", "success"], "reject"),
    ],
)
def test_stream_invalid_transitions(setup: list[str], action: str) -> None:
    stream = make_stream()
    for step in setup:
        getattr(stream, step)()
    before = stream.status
    with pytest.raises(ValueError):
        getattr(stream, action)()
    assert stream.status == before


def test_stream_error_from_any_state_keeps_the_reason() -> None:
    for setup in ([], ["accept"], ["reject"]):
        stream = make_stream()
        for step in setup:
            getattr(stream, step)()
        stream.error("disk full")
        assert stream.status == "error" and stream.reason == "disk full"
    default = make_stream()
    default.error()
    assert default.reason == "unknown"


def test_stream_clone_is_a_new_pending_stream() -> None:
    stream = make_stream()
    stream.accept()
    copy = stream.clone(io.BytesIO(b"other"))
    assert copy.status == "pending"
    assert (copy.identifier, copy.name, copy.size, copy.stream_type) == (
        stream.identifier,
        "f.txt",
        7,
        "text/plain",
    )
    assert copy.read() == b"other"


# -- Backend ------------------------------------------------------------------------------------

ABSTRACT = {
    "send_message",
    "change_presence",
    "build_reply",
    "build_identifier",
    "query_room",
    "rooms",
    "mode",
    "prefix_groupchat_reply",
    "callback_presence",
    "callback_room_joined",
    "callback_room_left",
    "callback_room_topic",
    "connect_callback",
    "disconnect_callback",
}


def test_backend_abstract_set_is_errbots() -> None:
    assert Backend.__abstractmethods__ == ABSTRACT


class MinimalBackend(Backend):
    def send_message(self, msg: Message) -> None: ...
    def change_presence(self, status: str = ONLINE, message: str = "") -> None: ...
    def build_reply(self, msg, text=None, private=False, threaded=False):  # type: ignore[no-untyped-def]
        return Message(text)

    def build_identifier(self, txtrep: str) -> Identifier:
        return Someone(txtrep)

    def query_room(self, room: str) -> Room:
        return Lobby()

    def rooms(self) -> list[Room]:
        return []

    @property
    def mode(self) -> str:
        return "minimal"

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None: ...
    def callback_presence(self, presence: Presence) -> None: ...
    def callback_room_joined(self, room, identifier=None, invited_by=None):  # type: ignore[no-untyped-def]
        ...
    def callback_room_left(self, room, identifier=None, kicked_by=None):  # type: ignore[no-untyped-def]
        ...
    def callback_room_topic(self, room: Room) -> None: ...
    def connect_callback(self) -> None: ...
    def disconnect_callback(self) -> None: ...


def test_backend_defaults() -> None:
    config = object()
    backend = MinimalBackend(config)
    assert backend.bot_config is config
    assert backend.mode == "minimal"
    assert backend.connect() is None
    assert backend.is_from_self(Message("x")) is False
    built = backend.build_message("hello")
    assert type(built) is Message and built.body == "hello"
    with pytest.raises(NotImplementedError):
        backend.serve_once()
