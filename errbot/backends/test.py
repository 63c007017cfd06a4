"""The Test backend and the plugin test harness (`testbot` fixture, `TestBot`, `FullStackTest`).

Plugin authors write ``pytest_plugins = ["errbot.backends.test"]`` and a ``testbot`` argument;
the fixture starts a complete bot (core plugins plus the module's ``extra_plugin_dir``) whose
replies are rendered to plain text. Messages travel through blocking queues: a test waits
exactly as long as the bot takes to answer, never a polling interval.
"""

from __future__ import annotations

import io
import logging
import shutil
import sys
import tempfile
import textwrap
import threading
from os.path import abspath, dirname, join
from queue import Empty, SimpleQueue
from typing import Any

from errbot.backends.base import (
    Identifier,
    Message,
    Person,
    Presence,
    Room,
    RoomDoesNotExistError,
    RoomOccupant,
    Stream,
)
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

QUIT_MESSAGE = "$STOP$"
STZ_MSG = 1
STZ_PRE = 2
STZ_IQ = 3

__all__ = [
    "QUIT_MESSAGE",
    "FullStackTest",  # noqa: F822 - built on first access (module __getattr__)
    "ShallowConfig",
    "TestBackend",
    "TestBot",
    "TestOccupant",
    "TestPerson",
    "TestRoom",
    "TestRoomAcl",
]


class MessageQueue(SimpleQueue):  # type: ignore[type-arg]
    """A SimpleQueue (fast hand-over between threads) with the `queue.Queue` calls tests use."""

    maxsize = 0

    def full(self) -> bool:
        return False

    def task_done(self) -> None:
        pass

    def join(self) -> None:
        pass


class ShallowConfig:
    """A plain attribute bag standing in for a `config.py` module."""

    def __init__(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self, key, value)


class TestPerson(Person):
    """A person of the Test backend; equal when the ``person`` strings are equal."""

    __test__ = False  # keep pytest from collecting this class

    def __init__(
        self,
        person: str,
        client: str | None = None,
        nick: str | None = None,
        fullname: str | None = None,
        email: str | None = None,
    ) -> None:
        self._person = person
        self._client = client
        self._nick = nick
        self._fullname = fullname
        self._email = email

    @property
    def person(self) -> str:
        return self._person

    @property
    def client(self) -> str | None:
        return self._client

    @property
    def nick(self) -> str | None:
        return self._nick

    @property
    def fullname(self) -> str | None:
        return self._fullname

    @property
    def email(self) -> str:
        return self._email or ""

    @property
    def aclattr(self) -> str:
        return self._person

    def __str__(self) -> str:
        return f"{self._person}/{self._client}" if self._client else self._person

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        # Same class first: isinstance on the Person ABC is slow, and the bot compares
        # every incoming sender with its own identity.
        if other.__class__ is TestPerson:
            return other._person == self._person  # type: ignore[attr-defined]
        return isinstance(other, Person) and other.person == self._person

    def __hash__(self) -> int:
        return hash(self._person)


class TestOccupant(TestPerson, RoomOccupant):
    """A person inside a TestRoom."""

    __test__ = False

    def __init__(self, person: str | Person, room: Room) -> None:
        name = person.person if isinstance(person, Person) else person
        super().__init__(name)
        self._room = room

    @property
    def room(self) -> Room:
        return self._room

    def __str__(self) -> str:
        return f"{self._person}@{self._room}"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RoomOccupant)
            and getattr(other, "person", None) == self._person
            and str(other.room) == str(self._room)
        )

    def __hash__(self) -> int:
        return hash((self._person, str(self._room)))


class TestRoom(Room):
    """An in-memory room; joining, leaving and topic changes fire the bot's room callbacks."""

    __test__ = False

    def __init__(
        self,
        name: str,
        occupants: list[TestOccupant] | None = None,
        topic: str | None = None,
        bot: TestBackend | None = None,
    ) -> None:
        self._name = name
        self._occupants = list(occupants or [])
        self._topic = topic
        self._bot = bot

    @property
    def _registry(self) -> list[TestRoom]:
        if self._bot is None:
            raise RoomDoesNotExistError(f"Room {self._name} is not attached to a bot")
        return self._bot._rooms

    def _stored(self) -> TestRoom | None:
        for room in self._registry:
            if room._name == self._name:
                return room
        return None

    @property
    def name(self) -> str:
        return self._name

    @property
    def aclattr(self) -> str:
        return self._name

    @property
    def occupants(self) -> list[TestOccupant]:
        stored = self._stored() if self._bot is not None else None
        return (stored or self)._occupants

    @property
    def exists(self) -> bool:
        return self._stored() is not None

    @property
    def joined(self) -> bool:
        stored = self._stored()
        if stored is None or self._bot is None:
            return False
        me = self._bot.room_nick
        return any(o.person == me for o in stored._occupants)

    def create(self) -> None:
        if self.exists:
            log.warning("Room %s already created", self)
            return
        self._registry.append(self)
        log.info("Created room %s", self)

    def destroy(self) -> None:
        if not self.exists:
            log.warning("Cannot destroy room %s, it doesn't exist", self)
            return
        self._bot._rooms[:] = [r for r in self._registry if r._name != self._name]  # type: ignore[union-attr]
        log.info("Destroyed room %s", self)

    def join(self, username: str | None = None, password: str | None = None) -> None:
        if self._bot is None:
            raise RoomDoesNotExistError(f"Room {self._name} is not attached to a bot")
        if self.joined:
            log.warning("Attempted to join room %s, but already in this room", self)
            return
        if not self.exists:
            self.create()
        room = self._stored()
        assert room is not None  # created just above
        me = TestOccupant(self._bot.room_nick, room)
        room._occupants.append(me)
        log.info("Joined room %s", self)
        self._bot.callback_room_joined(room, me)

    def leave(self, reason: str | None = None) -> None:
        if self._bot is None or not self.joined:
            log.warning("Attempted to leave room %s, but not in this room", self)
            return
        room = self._stored()
        assert room is not None  # joined implies stored
        nick = self._bot.room_nick
        room._occupants = [o for o in room._occupants if o.person != nick]
        log.info("Left room %s", self)
        self._bot.callback_room_left(room, TestOccupant(nick, room))

    @property
    def topic(self) -> str | None:
        stored = self._stored() if self._bot is not None else None
        return (stored or self)._topic

    @topic.setter
    def topic(self, topic: str) -> None:
        target = (self._stored() if self._bot is not None else None) or self
        target._topic = topic
        self._topic = topic
        log.info("Topic for room %s set to %s", self, topic)
        if self._bot is not None:
            self._bot.callback_room_topic(target)

    def invite(self, *identifiers: Identifier) -> None:
        for identifier in identifiers:
            log.info("Invited %s into %s", identifier, self)

    def __str__(self) -> str:
        return self._name

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TestRoom) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)


class TestRoomAcl(TestRoom):
    """A room whose ACL name differs from its string form (for ACL tests)."""

    __test__ = False

    @property
    def aclattr(self) -> str:
        return self._name

    def __str__(self) -> str:
        return "not room name"


class TestBackend(ErrBot):
    """A backend driven by queues: tests push messages in and pop rendered replies out."""

    __test__ = False

    def __init__(self, config: Any) -> None:
        config.BOT_IDENTITY = {"username": "err"}
        config.CHATROOM_PRESENCE = ("testroom",)
        self.bot_identifier = TestPerson("Err")
        super().__init__(config)
        from errbot.rendering import text

        self.incoming_stanza_queue: MessageQueue = MessageQueue()
        self.outgoing_message_queue: MessageQueue = MessageQueue()
        self.md = text()
        self._rooms: list[TestRoom] = []
        admins = config.BOT_ADMINS
        self.sender: Identifier = self.build_identifier(
            admins if isinstance(admins, str) else admins[0]
        )

    # -- the loop ---------------------------------------------------------------------
    def serve_forever(self) -> None:
        self.connect_callback()
        try:
            get = self.incoming_stanza_queue.get
            while True:
                kind, entry, extras = get()
                if kind == STZ_MSG:
                    if entry == QUIT_MESSAGE:
                        log.info("Stop magic message received, quitting...")
                        break
                    self._incoming_message(entry, extras)
                elif kind == STZ_PRE:
                    self.callback_presence(entry)
                else:
                    log.error("Unknown stanza type %r.", kind)
        except KeyboardInterrupt:
            pass
        finally:
            self.disconnect_callback()
            self.shutdown()

    def _incoming_message(self, text: str, extras: Any) -> None:
        msg = Message(text, extras=extras) if extras else Message(text)
        msg.frm = self.sender
        msg.to = self.bot_identifier
        self.callback_message(msg)
        if "@" in text:
            mentioned = [
                self.build_identifier(word[1:])
                for word in text.split()
                if word.startswith("@") and len(word) > 1
            ]
            if mentioned:
                self.callback_mention(msg, mentioned)

    def serve_once(self) -> bool:
        self.serve_forever()
        return True

    def connect(self) -> None:
        return None

    # -- outgoing ---------------------------------------------------------------------
    def send_message(self, msg: Message) -> None:
        super().send_message(msg)
        self.outgoing_message_queue.put(self.md.convert(msg.body))

    def send_stream_request(
        self,
        user: Identifier,
        fsource: Any,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> Stream:
        """Put the file's content on the outgoing queue (as Errbot does) and return its
        stream, already delivered: plugins that follow the transfer see it succeed."""
        data = fsource.read()
        self.outgoing_message_queue.put(data)
        size = len(data) if size is None else size
        stream = Stream(user, io.BytesIO(data), name, size, stream_type)
        stream.accept()
        stream.ack_data(len(data))
        stream.success()
        return stream

    def push_message(self, msg: str, extras: Any = "") -> None:
        self.incoming_stanza_queue.put((STZ_MSG, msg, extras))

    def push_presence(self, presence: Presence) -> None:
        self.incoming_stanza_queue.put((STZ_PRE, presence, None))

    def pop_message(self, timeout: float = 5, block: bool = True) -> str:
        return self.outgoing_message_queue.get(block=block, timeout=timeout)

    # -- identifiers and rooms --------------------------------------------------------
    def build_identifier(self, text_representation: str) -> Identifier:
        """Every text is a person here, as in Errbot's Test backend; rooms come from
        `query_room`."""
        return TestPerson(text_representation)

    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        reply = self.build_message(text or "")
        reply.frm = self.bot_identifier
        if not private and msg.is_group:
            reply.to = msg.frm.room  # type: ignore[union-attr]
        else:
            reply.to = msg.frm
        if threaded:
            reply.parent = msg
        return reply

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)
        name = getattr(identifier, "nick", None) or getattr(identifier, "person", identifier)
        message.body = f"@{name} {message.body}"

    def change_presence(self, status: str = "online", message: str = "") -> None:
        log.debug("Presence changed to %s (%s)", status, message)

    def query_room(self, room: str) -> TestRoom:
        for existing in self._rooms:
            if existing.name == room:
                return existing
        return TestRoom(room, bot=self)

    def rooms(self) -> list[TestRoom]:
        return [r for r in self._rooms if r.joined]

    def reset_rooms(self) -> None:
        self._rooms = []

    @property
    def room_nick(self) -> str:
        """How the bot appears in rooms: its BOT_IDENTITY username ("err"), as in Errbot."""
        return str(self.bot_config.BOT_IDENTITY.get("username", "err"))

    @property
    def mode(self) -> str:
        return "test"

    def zap_queues(self) -> None:
        for name, queue in (
            ("incoming", self.incoming_stanza_queue),
            ("outgoing", self.outgoing_message_queue),
        ):
            while not queue.empty():
                try:
                    item = queue.get(block=False)
                except Empty:
                    break
                log.error("Message left in the %s queue during a test: %s", name, item)


def _test_config(
    extra_plugin_dir: Any, loglevel: int, extra_config: dict[str, Any] | None
) -> ShallowConfig:
    data_dir = tempfile.mkdtemp(prefix="errbot-test-")
    config = ShallowConfig(
        BACKEND="Test",
        BOT_DATA_DIR=data_dir,
        BOT_LOG_FILE=join(data_dir, "log.txt"),
        BOT_LOG_LEVEL=loglevel,
        BOT_ADMINS=("gbin@localhost",),
        BOT_EXTRA_PLUGIN_DIR=extra_plugin_dir,
        BOT_IDENTITY={"username": "err"},
        STORAGE="Memory",
        BOT_ASYNC=True,
        BOT_ASYNC_POOLSIZE=10,
        BOT_PREFIX="!",
        CHATROOM_PRESENCE=(),
        CHATROOM_FN="Errbot",
        BOT_PLUGIN_INDEXES=(),
        AUTOINSTALL_DEPS=False,
    )
    for key, value in (extra_config or {}).items():
        setattr(config, key, value)
    config.BOT_EXTRA_PLUGIN_DIR = extra_plugin_dir
    config._harness_data_dir = data_dir
    if config.BOT_DATA_DIR != data_dir and config.BOT_LOG_FILE == join(data_dir, "log.txt"):
        config.BOT_LOG_FILE = join(config.BOT_DATA_DIR, "log.txt")
    from errbot.settings import apply_defaults

    apply_defaults(config)
    return config


class TestBot:
    """A complete bot on the Test backend, for plugin tests."""

    __test__ = False

    def __init__(
        self,
        extra_plugin_dir: Any = None,
        loglevel: int = logging.DEBUG,
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        self.bot_thread: threading.Thread | None = None
        self.setup(extra_plugin_dir, loglevel, extra_config)

    def setup(
        self,
        extra_plugin_dir: Any = None,
        loglevel: int = logging.DEBUG,
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        self.bot_config = _test_config(extra_plugin_dir, loglevel, extra_config)
        self._own_data_dir = self.bot_config._harness_data_dir
        self.loglevel = loglevel
        logging.getLogger().setLevel(loglevel)
        self._bot_instance: TestBackend | None = None

    @property
    def bot(self) -> TestBackend:
        if self._bot_instance is None:
            from errbot.bootstrap import setup_bot

            self._bot_instance = setup_bot("Test", self.bot_config)
        return self._bot_instance

    @property
    def _bot(self) -> TestBackend:
        return self.bot

    def start(self, timeout: float = 2) -> None:
        if self.bot_thread is not None:
            raise Exception("Bot has already been started")
        bot = self.bot
        self._open_log_file()
        self.bot_thread = threading.Thread(
            target=bot.serve_forever, name="TestBot main thread", daemon=True
        )
        self.bot_thread.start()
        bot.push_message(f"{bot.prefix}echo ready")
        # Start-up replies (admin warnings, for instance) may arrive before "ready".
        # The first reply waits for every plugin to activate; later ones (start-up warnings
        # sent before "ready") are already queued.
        wait = max(timeout, 30)
        for _ in range(60):
            try:
                reply = bot.pop_message(timeout=wait)
                wait = max(timeout, 5)
            except Empty:
                break
            if reply == "ready":
                return
        raise AssertionError('The "ready" message has not been received (timeout).')

    def stop(self) -> None:
        if self.bot_thread is None:
            return
        bot = self.bot
        bot.push_message(QUIT_MESSAGE)
        self.bot_thread.join(30)
        bot.zap_queues()
        bot.reset_rooms()
        self.bot_thread = None
        self._close_log_file()
        # Only the directory the harness made: a BOT_DATA_DIR passed in extra_config is the
        # caller's, and a later bot may reopen it.
        shutil.rmtree(self._own_data_dir, ignore_errors=True)

    def _open_log_file(self) -> None:
        """Log to BOT_LOG_FILE too, as a real bot does (so `!log tail` works in tests)."""
        handler = logging.FileHandler(self.bot_config.BOT_LOG_FILE, encoding="utf-8")
        handler.setLevel(self.loglevel)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-8s %(name)s %(message)s"))
        logging.getLogger().addHandler(handler)
        self._log_handler = handler

    def _close_log_file(self) -> None:
        handler = getattr(self, "_log_handler", None)
        if handler is not None:
            logging.getLogger().removeHandler(handler)
            handler.close()
            self._log_handler = None

    # -- driving the bot ----------------------------------------------------------------
    def pop_message(self, timeout: float = 5, block: bool = True) -> str:
        return self.bot.pop_message(timeout=timeout, block=block)

    def push_message(self, msg: str, extras: Any = "") -> None:
        self.bot.push_message(msg, extras=extras)

    def push_presence(self, presence: Presence) -> None:
        self.bot.push_presence(presence)

    def exec_command(self, command: str, timeout: float = 5) -> str:
        """Send ``command`` and return the first reply."""
        self.bot.push_message(command)
        return self.bot.pop_message(timeout=timeout)

    def zap_queues(self) -> None:
        self.bot.zap_queues()

    def assertInCommand(
        self, command: str, response: str, timeout: float = 5, dedent: bool = False
    ) -> None:
        """Assert ``response`` is in the first reply to ``command``."""
        if dedent:
            command = "\n".join(textwrap.dedent(command).splitlines()[1:])
        self.bot.push_message(command)
        reply = self.bot.pop_message(timeout=timeout)
        assert response in reply, f"{response} not in {reply}."

    def assertCommand(
        self, command: str, response: str, timeout: float = 5, dedent: bool = False
    ) -> None:
        """Deprecated alias of assertInCommand."""
        import warnings

        warnings.warn(
            "assertCommand is deprecated, use assertInCommand", DeprecationWarning, stacklevel=2
        )
        self.assertInCommand(command, response, timeout, dedent)

    def assertCommandFound(self, command: str, timeout: float = 5) -> None:
        """Assert ``command`` exists (its reply does not say "not found")."""
        self.bot.push_message(command)
        assert "not found" not in self.bot.pop_message(timeout=timeout)

    def inject_mocks(self, plugin_name: str, mock_dict: dict[str, Any]) -> None:
        """Replace attributes of a loaded plugin (e.g. with mocks)."""
        plugin = self.bot.plugin_manager.get_plugin_obj_by_name(plugin_name)
        if plugin is None:
            raise Exception(f'"{plugin_name}" is not loaded.')
        for field, value in mock_dict.items():
            if not hasattr(plugin, field):
                raise ValueError(f'No property/attribute named "{field}" attached.')
            setattr(plugin, field, value)


def _full_stack_test_class() -> type:
    # Built on first use: importing unittest costs start-up time every bot would pay.
    import unittest

    class FullStackTest(unittest.TestCase, TestBot):
        """unittest flavour of the harness: a started bot in every test method."""

        __test__ = True  # TestBot opts out of collection; its unittest subclasses opt back in

        def setUp(
            self,
            extra_plugin_dir: Any = None,
            loglevel: int = logging.DEBUG,
            extra_config: dict[str, Any] | None = None,
            extra_test_file: str | None = None,
        ) -> None:
            if extra_plugin_dir is None:
                if extra_test_file is not None:
                    extra_plugin_dir = dirname(dirname(abspath(extra_test_file)))
                else:
                    import os

                    extra_plugin_dir = dirname(dirname(os.getcwd()))
            self.bot_thread = None
            TestBot.setup(self, extra_plugin_dir, loglevel, extra_config)
            self.start()

        def tearDown(self) -> None:
            self.stop()

    return FullStackTest


def __getattr__(name: str) -> Any:
    if name == "FullStackTest":
        cls = _full_stack_test_class()
        globals()["FullStackTest"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _reset_logging_to_stdout(level: int) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(logging.Formatter("%(levelname)-8s %(name)-25s %(message)s"))
    root.addHandler(console)
    root.setLevel(level)


if "pytest" in sys.modules:  # loaded as a pytest plugin: offer the fixture
    import pytest

    @pytest.fixture
    def testbot(request: Any) -> Any:
        """A started `TestBot`, configured from module or class attributes of the test.

        ``extra_plugin_dir``, ``loglevel`` and ``extra_config`` are read from the test class
        (if any) and then from the test module.
        """
        kwargs: dict[str, Any] = {}
        for attr, default in (
            ("extra_plugin_dir", None),
            ("extra_config", None),
            ("loglevel", logging.DEBUG),
        ):
            value = None
            if getattr(request, "instance", None) is not None:
                value = getattr(request.instance, attr, None)
            if value is None:
                value = getattr(request.module, attr, default)
            kwargs[attr] = value
        _reset_logging_to_stdout(kwargs["loglevel"])
        bot = TestBot(**kwargs)
        bot.start()
        request.addfinalizer(bot.stop)
        return bot
