"""The Text backend: talk to the bot in a terminal (`errbot -T`).

Two ways to use it:

* **Interactive** (standard input and output are a terminal and prompt_toolkit is installed,
  ``pip install errbot[text]``): a prompt with history, tab completion of command names, a
  multi-line mode and Markdown rendered with ANSI colours. Replies and log lines that arrive
  while you type are printed above the prompt. Ctrl-D or Ctrl-C quits (status 0). The prompt
  itself lives in `errbot.backends.text_console`.
* **Piped** (``printf '!echo hi\\n' | errbot -T``): one line is one message, and each message
  waits for its answers before the next line is read, so a script's commands never race.
  End of input waits for running commands, then exits with status 0. Replies are plain text
  (ANSI when standard output is a terminal).

The conversation is written to standard output, logs go to standard error.

Identifiers: ``@name`` is a person, ``#room`` a room, ``#room/name`` someone in a room. The
console speaks as `TextBackend.user`, in `TextBackend.room` (None: one-on-one with the bot),
which the core plugin TextCmds changes (``!inroom``, ``!inperson``, ``!asuser``, ``!asadmin``,
``!ml``) through the small public API below.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, TextIO

from errbot.backends.base import (
    OFFLINE,
    ONLINE,
    Identifier,
    Message,
    Person,
    Presence,
    Room,
    RoomOccupant,
)
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

IDENTIFIER_ERROR = (
    "An identifier for the Text backend needs to start with # for a room or @ for a person."
)
DEFAULT_ROOM = "#testroom"

# How long a message waits for its answers before the next one is read. A piped script
# waits long (its commands must not race); a person at a keyboard only briefly.
PIPED_ANSWER_WAIT = 60.0
TYPED_ANSWER_WAIT = 5.0
# How long the end of input waits for commands still running.
PIPED_EXIT_WAIT = 30.0
INTERACTIVE_EXIT_WAIT = 5.0

_MENTION = re.compile(r"(?<![\w@])@(\w(?:[\w.\-]*\w)?)")

# ANSI colours of the labelled renderings (TEXT_DEMO_MODE = False), per TEXT_COLOR_THEME.
_BAR_COLOURS = {"light": "\x1b[34m", "dark": "\x1b[96m"}
_RESET = "\x1b[0m"


def _is_tty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


# -- identifiers ------------------------------------------------------------------------------
# Identifiers pickle as their text form and are rebuilt by the running backend, so a plugin
# can keep ``msg.frm`` in its storage (rooms hold a reference to the bot, which cannot be
# pickled).

_live_backend: weakref.ref[TextBackend] | None = None


def _identifier_from_text(text: str) -> Identifier:
    backend = _live_backend() if _live_backend is not None else None
    if backend is not None:
        return backend.identifier_from_text(text)
    if text.startswith("#"):
        name, sep, person = text[1:].partition("/")
        room = TextRoom(name, None)
        return TextOccupant(person, room) if sep else room
    return TextPerson(text[1:] if text.startswith("@") else text)


class TextPerson(Person):
    """Someone at the console: ``@name``.

    ``aclattr`` is the text form, so ``BOT_ADMINS = ("@name",)`` matches. The console's
    admin is built from ``BOT_ADMINS[0]`` even when that entry has no ``@``; its ``aclattr``
    is then the entry itself, so it still passes the admin check.
    """

    def __init__(
        self,
        person: str,
        client: str | None = None,
        nick: str | None = None,
        fullname: str | None = None,
        aclattr: str | None = None,
    ) -> None:
        self._person = person
        self._client = client
        self._nick = nick or person
        self._fullname = fullname or person
        self._aclattr = aclattr

    @property
    def person(self) -> str:
        return self._person

    @property
    def client(self) -> str | None:
        return self._client

    @property
    def nick(self) -> str:
        return self._nick

    @property
    def fullname(self) -> str:
        return self._fullname

    @property
    def aclattr(self) -> str:
        return self._aclattr if self._aclattr is not None else str(self)

    def __str__(self) -> str:
        return f"@{self._person}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Person) and other.person == self._person

    def __hash__(self) -> int:
        return hash(self._person)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _identifier_from_text, (str(self),)


class TextRoom(Room):
    """A room of the console: ``#name``. Rooms exist as soon as they are named."""

    def __init__(self, name: str, bot: TextBackend | None) -> None:
        self._name = name
        self._bot = bot
        self._topic: str | None = None
        self._joined = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def occupants(self) -> list[RoomOccupant]:
        if not self._joined or self._bot is None:
            return []
        people: list[RoomOccupant] = [TextOccupant(self._bot.user.person, self)]
        bot_person = getattr(self._bot.bot_identifier, "person", None)
        if bot_person and bot_person != self._bot.user.person:
            people.append(TextOccupant(bot_person, self))
        return people

    @property
    def exists(self) -> bool:
        return True

    @property
    def joined(self) -> bool:
        return self._joined

    def join(self, username: str | None = None, password: str | None = None) -> None:
        if not self._joined:
            self._joined = True
            if self._bot is not None:
                self._bot.callback_room_joined(self, self._bot.bot_identifier)

    def leave(self, reason: str | None = None) -> None:
        if self._joined:
            self._joined = False
            if self._bot is not None:
                self._bot.callback_room_left(self, self._bot.bot_identifier)

    def create(self) -> None:
        pass

    def destroy(self) -> None:
        self.leave()
        if self._bot is not None:
            self._bot.forget_room(self)

    def invite(self, *identifiers: Identifier) -> None:
        pass

    @property
    def topic(self) -> str | None:
        return self._topic

    @topic.setter
    def topic(self, value: str) -> None:
        self._topic = value
        if self._bot is not None:
            self._bot.callback_room_topic(self)

    def __str__(self) -> str:
        return f"#{self._name}"

    def __repr__(self) -> str:
        return f"<TextRoom {self}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextRoom) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _identifier_from_text, (str(self),)


class TextOccupant(TextPerson, RoomOccupant):
    """Someone speaking in a room: ``#room/name``."""

    def __init__(self, person: str | Person, room: TextRoom) -> None:
        super().__init__(person.person if isinstance(person, Person) else person)
        self._room = room

    @property
    def room(self) -> TextRoom:
        return self._room

    def __str__(self) -> str:
        return f"{self._room}/{self._person}"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RoomOccupant)
            and getattr(other, "person", None) == self._person
            and other.room == self._room
        )

    def __hash__(self) -> int:
        return hash((self._person, self._room))


# -- the backend ------------------------------------------------------------------------------


class TextBackend(ErrBot):
    """A console chat: what you type is a message to the bot, its replies are printed."""

    def __init__(self, config: Any, stdin: TextIO | None = None, stdout: TextIO | None = None):
        global _live_backend
        identity = getattr(config, "BOT_IDENTITY", None) or {}
        username = str(identity.get("username", "@errbot")) or "@errbot"
        self.bot_identifier = TextPerson(username.lstrip("@") or "errbot")
        super().__init__(config)
        # The console waits for each message's answers (`runtime.wait_idle`).
        self.runtime.track_idle()
        self._rooms: dict[str, TextRoom] = {}
        self._admin = self._admin_from_config(config)
        self.user: TextPerson = self._admin
        self.room: TextRoom | None = None
        self.multiline = False
        self.demo_mode = bool(getattr(config, "TEXT_DEMO_MODE", True))
        self.color_theme = str(getattr(config, "TEXT_COLOR_THEME", "light"))
        self._out_lock = threading.Lock()
        self._stdin: TextIO = sys.stdin
        self._stdout: TextIO = sys.stdout
        self._out: Any = sys.stdout
        self._stdout_tty = False
        self.set_streams(stdin or sys.stdin, stdout or sys.stdout)
        _live_backend = weakref.ref(self)

    # -- streams and rendering ---------------------------------------------------------
    def set_streams(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        """Read the conversation from ``stdin`` and print it to ``stdout`` (before serving)."""
        if stdin is not None:
            self._stdin = stdin
        if stdout is not None:
            with self._out_lock:
                self._stdout = stdout
                self._out = stdout
            self._stdout_tty = _is_tty(stdout)

    @property
    def interactive(self) -> bool:
        """Whether `serve_forever` runs the prompt: both ends are a terminal."""
        return _is_tty(self._stdin) and self._stdout_tty

    def render(self, body: str) -> str:
        """The Markdown ``body`` as printed: plain text unless standard output is a terminal,
        where it is the ANSI rendering (TEXT_DEMO_MODE) or every rendering, labelled."""
        from errbot import rendering

        if not self._stdout_tty:
            return rendering.text().convert(body)
        if self.demo_mode:
            return rendering.ansi().convert(body)
        colour = _BAR_COLOURS.get(self.color_theme, "")
        sections = []
        for label, convert in (
            ("MD", lambda b: b),
            ("HTML", rendering.xhtml().convert),
            ("TEXT", rendering.text().convert),
            ("IM", rendering.imtext().convert),
            ("ANSI", rendering.ansi().convert),
            ("BORDERLESS", rendering.borderless_ansi().convert),
        ):
            bar = f"╶─ {label} " + "─" * (60 - len(label))
            sections.append(f"{colour}{bar}{_RESET if colour else ''}\n{convert(body)}")
        return "\n".join(sections) + "\n"

    def write_conversation(self, text: str) -> None:
        """Print ``text`` (already rendered) and a newline; safe from any thread."""
        with self._out_lock:
            self._out.write(text + "\n")
            self._out.flush()

    def redirect_output(self, stream: Any | None) -> None:
        """Print the conversation to ``stream`` instead (None: back to standard output).

        The interactive console points it at a proxy that prints above the prompt.
        """
        with self._out_lock:
            try:
                self._out.flush()
            except (OSError, ValueError):
                pass
            self._out = stream if stream is not None else self._stdout

    # -- who speaks, and where ---------------------------------------------------------
    def _admin_from_config(self, config: Any) -> TextPerson:
        admins = getattr(config, "BOT_ADMINS", None) or ()
        entry = admins if isinstance(admins, str) else (admins[0] if admins else "@admin")
        entry = str(entry).strip() or "@admin"
        if entry.startswith("@") and len(entry) > 1:
            return TextPerson(entry[1:])
        # Errbot #1135: an admin written "gbin@localhost" or "#room/name" crashed the
        # console. Speak as that name and keep the entry as aclattr, so it stays an admin.
        name = entry.rsplit("/", 1)[-1] if entry.startswith("#") else entry
        return TextPerson(name.lstrip("@#") or "admin", aclattr=entry)

    @property
    def admin(self) -> TextPerson:
        """The console's admin: the first entry of BOT_ADMINS."""
        return self._admin

    def is_admin(self, identifier: Identifier) -> bool:
        """Whether ``identifier`` matches BOT_ADMINS (what the ACLs check)."""
        admins = getattr(self.bot_config, "BOT_ADMINS", ()) or ()
        if isinstance(admins, str):
            admins = (admins,)
        acl = str(getattr(identifier, "aclattr", identifier))
        return any(fnmatch.fnmatchcase(acl, str(pattern)) for pattern in admins)

    def talk_as(self, person: TextPerson) -> None:
        """Speak as ``person`` from now on."""
        self.user = person

    def talk_in_room(self, room: str | TextRoom) -> TextRoom:
        """Join ``room`` and speak in it from now on; returns the room."""
        target = room if isinstance(room, TextRoom) else self.query_room(room)
        target.join()
        self.room = target
        return target

    def talk_in_person(self) -> None:
        """Speak one-on-one with the bot from now on."""
        self.room = None

    def conversation(self) -> tuple[Identifier, Identifier]:
        """``(frm, to)`` of the next message typed at the console."""
        room = self.room
        if room is not None:
            return TextOccupant(self.user.person, room), room
        return self.user, self.bot_identifier

    def identifier_from_text(self, text: str) -> Identifier:
        """`build_identifier`, except that the admin's text form gives back the admin."""
        if text == str(self._admin):
            return TextPerson(self._admin.person, aclattr=self._admin._aclattr)
        return self.build_identifier(text)

    def send_console_message(self, body: str) -> Message:
        """Deliver ``body`` to the bot as typed at the console by the current user."""
        frm, to = self.conversation()
        msg = Message(body, frm=frm, to=to)
        self.callback_message(msg)
        mentioned: list[Identifier] = [TextPerson(name) for name in _MENTION.findall(body)]
        if mentioned:
            self.callback_mention(msg, mentioned)
        return msg

    # -- serving -------------------------------------------------------------------------
    def serve_forever(self) -> None:
        console = self._console() if self.interactive else None
        interactive = console is not None
        interrupted = False
        try:
            if not self.rooms():
                # Like Errbot's console: there is always a room to talk in with !inroom.
                self.query_room(DEFAULT_ROOM).join()
            self.connect_callback()
            self.callback_presence(Presence(identifier=self.user, status=ONLINE))
            if console is not None:
                interrupted = console(self, self._stdin, self._stdout)
            else:
                self._serve_lines()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self._finish(0 if interrupted else (
                INTERACTIVE_EXIT_WAIT if interactive else PIPED_EXIT_WAIT
            ))

    @staticmethod
    def _console() -> Callable[[TextBackend, TextIO, TextIO], bool] | None:
        """The prompt_toolkit console, or None (with a warning) when it is not installed."""
        try:
            from errbot.backends.text_console import run_console
        except ImportError as exc:
            log.warning(
                "The interactive console needs prompt_toolkit (pip install 'errbot[text]'): "
                "%s. Reading plain lines instead.",
                exc,
            )
            return None
        return run_console

    def _serve_lines(self) -> None:
        """One line, one message (in multi-line mode, a blank line ends a message)."""
        typing = _is_tty(self._stdin)
        prompt_to = self._stdout if self._stdout_tty else sys.stderr
        pending: list[str] = []
        while True:
            if typing:
                prompt_to.write("... " if pending else ">>> ")
                prompt_to.flush()
            line = self._stdin.readline()
            if not line:
                break
            line = line.rstrip("\n")
            if self.multiline:
                if line.strip():
                    pending.append(line)
                    continue
                if not pending:
                    continue
                body, pending = "\n".join(pending), []
            elif not line.strip():
                continue
            else:
                body = line
            self._deliver_and_wait(body, TYPED_ANSWER_WAIT if typing else PIPED_ANSWER_WAIT)
        if pending:
            self._deliver_and_wait("\n".join(pending), PIPED_ANSWER_WAIT)

    def _deliver_and_wait(self, body: str, wait: float) -> None:
        self.send_console_message(body)
        # Like a person waiting for the answer: replies stay in order and a piped
        # script's commands never race each other.
        self.runtime.wait_idle(wait)

    def _finish(self, wait: float) -> None:
        try:
            if wait:
                self.runtime.wait_idle(wait)
            self.callback_presence(Presence(identifier=self.user, status=OFFLINE))
        except KeyboardInterrupt:
            pass
        finally:
            self.disconnect_callback()
            self.shutdown()

    def serve_once(self) -> bool:
        self.serve_forever()
        return True

    def connect(self) -> None:
        return None

    # -- the backend contract ----------------------------------------------------------
    def send_message(self, msg: Message) -> None:
        super().send_message(msg)
        self.write_conversation(self.render(msg.body))

    def build_identifier(self, txtrep: str) -> Identifier:
        text = str(txtrep).strip()
        if text.startswith("#") and len(text) > 1:
            room, sep, person = text[1:].partition("/")
            if sep:
                person = person.lstrip("@")
                if not room or not person:
                    raise ValueError(IDENTIFIER_ERROR)
                return TextOccupant(person, self.query_room(room))
            return self.query_room(room)
        if text.startswith("@") and len(text) > 1:
            return TextPerson(text[1:])
        raise ValueError(IDENTIFIER_ERROR)

    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        reply = self.build_message(text or "")
        reply.frm = self.bot_identifier
        frm = msg.frm
        if isinstance(frm, RoomOccupant) and not private:
            reply.to = frm.room
        else:
            reply.to = frm
        if threaded:
            reply.parent = msg
        return reply

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)
        message.body = f"{getattr(identifier, 'person', identifier)} {message.body}"

    def change_presence(self, status: str = ONLINE, message: str = "") -> None:
        log.debug("Presence: %s %s", status, message)

    def query_room(self, room: str) -> TextRoom:
        name = str(room).strip().lstrip("#")
        existing = self._rooms.get(name)
        if existing is None:
            existing = self._rooms.setdefault(name, TextRoom(name, self))
        return existing

    def forget_room(self, room: TextRoom) -> None:
        """Drop a destroyed room (a later query creates it afresh)."""
        if self._rooms.get(room.name) is room:
            del self._rooms[room.name]
        if self.room is room:
            self.room = None

    def rooms(self) -> list[Room]:
        return [r for r in self._rooms.values() if r.joined]

    @property
    def mode(self) -> str:
        return "text"
