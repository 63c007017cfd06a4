"""The `ErrBot` base class as a third-party backend sees it (contract section 5)."""

import logging

import pytest

from errbot.backends.base import Message, Person, Room, RoomOccupant
from errbot.backends.test import ShallowConfig, TestPerson
from errbot.core.bot import ErrBot
from errbot.settings import apply_defaults


class Occupant(TestPerson, RoomOccupant):
    def __init__(self, nick, room):
        super().__init__(nick, nick=nick)
        self._room = room

    @property
    def room(self):
        return self._room


class PlainRoom(Room):
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return self.name


class FlakyBackend(ErrBot):
    """A backend whose connection fails twice, drops once, then is told to stop."""

    reconnect_initial_delay = 1.0
    reconnect_jitter = 0.0

    def __init__(self, config, outcomes):
        self.bot_identifier = TestPerson("bot")
        super().__init__(config)
        self.outcomes = list(outcomes)
        self.delays = []
        self.sent = []

    def _wait_before_reconnecting(self, delay):
        self.delays.append(delay)

    def serve_once(self):
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def send_message(self, msg):
        super().send_message(msg)
        self.sent.append(msg)

    def build_identifier(self, text):
        return TestPerson(text)

    def build_reply(self, msg, text=None, private=False, threaded=False):
        reply = Message(text, frm=self.bot_identifier, to=msg.frm)
        return reply

    def change_presence(self, status="online", message=""):
        pass

    def query_room(self, room):
        return PlainRoom(room)

    def rooms(self):
        return []

    @property
    def mode(self):
        return "flaky"


def make_config(**values):
    config = ShallowConfig(BOT_ADMINS=("admin",), BOT_DATA_DIR="/tmp", **values)
    apply_defaults(config)
    return config


@pytest.fixture
def backend_factory():
    made = []

    def make(outcomes, **config):
        backend = FlakyBackend(make_config(**config), outcomes)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.shutdown()


def test_serve_forever_reconnects_with_growing_back_off(backend_factory, caplog):
    backend = backend_factory([RuntimeError("refused"), RuntimeError("refused"), False, True])
    with caplog.at_level(logging.ERROR):
        backend.serve_forever()
    assert backend.outcomes == []
    assert backend.delays == [1.0, 1.75, 1.75 * 1.75]
    assert "refused" in caplog.text


def test_back_off_is_capped(backend_factory):
    backend = backend_factory([False] * 20 + [True])
    backend.reconnect_max_delay = 5.0
    backend.serve_forever()
    assert max(backend.delays) == 5.0


def test_keyboard_interrupt_stops_serving(backend_factory):
    backend = backend_factory([KeyboardInterrupt(), True])
    backend.serve_forever()
    assert backend.outcomes == [True]


def test_is_from_self_direct_and_room(backend_factory):
    backend = backend_factory([True], CHATROOM_FN="Errbot")
    room = PlainRoom("#r")
    assert backend.is_from_self(Message("x", frm=TestPerson("bot"), to=TestPerson("someone")))
    assert not backend.is_from_self(Message("x", frm=TestPerson("joe"), to=TestPerson("bot")))
    assert backend.is_from_self(Message("x", frm=Occupant("Errbot", room), to=room))
    assert not backend.is_from_self(Message("x", frm=Occupant("joe", room), to=room))


def test_prefix_groupchat_reply_keeps_headings(backend_factory):
    backend = backend_factory([True])
    msg = Message("# Title")
    backend.prefix_groupchat_reply(msg, TestPerson("joe"))
    assert msg.body == "\n# Title"


def test_message_size_limit_from_config_wins(backend_factory):
    backend = backend_factory([True], MESSAGE_SIZE_LIMIT="50")
    backend.set_message_size_limit(510, 510)
    assert backend.message_size_limit == 50
    default = backend_factory([True])
    default.set_message_size_limit(510, 510)
    assert default.message_size_limit == 510


def test_split_and_send_marks_every_chunk_partial(backend_factory):
    backend = backend_factory([True], MESSAGE_SIZE_LIMIT=40)
    backend.set_message_size_limit()
    words = " ".join(f"word{i}" for i in range(30))
    backend.send(TestPerson("joe"), words)
    assert len(backend.sent) > 1
    assert all(m.partial for m in backend.sent)
    assert all(len(m.body) <= 40 for m in backend.sent)
    assert " ".join(m.body for m in backend.sent).split() == words.split()
    backend.sent.clear()
    backend.send(TestPerson("joe"), "short")
    assert [m.partial for m in backend.sent] == [True]


def test_send_refuses_strings(backend_factory):
    backend = backend_factory([True])
    with pytest.raises(ValueError, match="the old string behavior is not supported"):
        backend.send("joe", "hello")


def test_send_from_a_reply_sets_parent_and_from(backend_factory):
    backend = backend_factory([True])
    original = Message("hi", frm=TestPerson("joe"), to=TestPerson("bot"))
    backend.send(TestPerson("joe"), "answer", in_reply_to=original)
    (sent,) = backend.sent
    assert sent.parent is original
    assert sent.frm == TestPerson("bot")
    assert isinstance(sent.to, Person)


def test_unknown_command_text_without_args(backend_factory):
    backend = backend_factory([True])
    assert backend.unknown_command(Message("!zzz"), "zzz", "") == 'Command "zzz" not found.'
