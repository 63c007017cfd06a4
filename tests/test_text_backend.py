"""The Text backend: identifiers, the piped console, and the interactive console on a real
pseudo-terminal.

The interactive tests run `python -m errbot -T` with a pty as standard input, output and error,
type keys into it, and read back what a terminal would show: a small VT100 screen below
replays prompt_toolkit's cursor movements and erasures, so assertions are about the lines a
person would see, not about escape sequences. Every wait is bounded by one generous deadline
and ends as soon as the expected screen appears.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from errbot.backends.text import TextBackend, TextOccupant, TextPerson, TextRoom
from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

ERRBOT = [sys.executable, "-m", "errbot"]
DEADLINE = 90.0
ROWS, COLUMNS = 30, 120
IDENTIFIER_ERROR = (
    "An identifier for the Text backend needs to start with # for a room or @ for a person."
)


# -- identifiers ------------------------------------------------------------------------------


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[TextBackend]:
    bot = setup_bot(
        "Text",
        config_from_dict(
            {"BOT_DATA_DIR": str(tmp_path), "STORAGE": "Memory", "BOT_ADMINS": ("@boss",)}
        ),
    )
    yield bot
    bot.shutdown()


def test_identifiers_round_trip_through_their_text_form(backend: TextBackend) -> None:
    person = backend.build_identifier("@alice")
    room = backend.build_identifier("#dev")
    occupant = backend.build_identifier("#dev/alice")
    assert isinstance(person, TextPerson) and person.person == "alice"
    assert isinstance(room, TextRoom)
    assert isinstance(occupant, TextOccupant) and occupant.room is room
    for identifier in (person, room, occupant):
        assert backend.build_identifier(str(identifier)) == identifier
    assert str(person) == "@alice" and person.aclattr == "@alice"
    assert str(occupant) == "#dev/alice" and occupant.person == "alice"


@pytest.mark.parametrize("text", ["alice", "alice@example.com", "", "@", "#"])
def test_other_identifiers_are_refused(backend: TextBackend, text: str) -> None:
    with pytest.raises(ValueError) as error:
        backend.build_identifier(text)
    assert str(error.value) == IDENTIFIER_ERROR


def test_identifiers_pickle_as_text(backend: TextBackend) -> None:
    occupant = backend.build_identifier("#dev/alice")
    copy = pickle.loads(pickle.dumps(occupant))
    assert copy == occupant and copy.room is occupant.room
    assert pickle.loads(pickle.dumps(backend.build_identifier("@bob"))) == TextPerson("bob")


def test_mentions_in_console_messages_reach_callback_mention(
    backend: TextBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(
        backend,
        "callback_mention",
        lambda msg, people: seen.append((msg.body, [str(p) for p in people])),
    )
    backend.send_console_message("hello @alice and @bob.smith. Mail a@b.c")
    assert seen == [("hello @alice and @bob.smith. Mail a@b.c", ["@alice", "@bob.smith"])]


def test_the_console_starts_as_the_admin(backend: TextBackend) -> None:
    assert backend.user == TextPerson("boss")
    assert backend.is_admin(backend.user)
    assert not backend.is_admin(TextPerson("luser"))


def test_room_replies_go_to_the_room_and_private_ones_to_the_person(backend: TextBackend) -> None:
    frm = backend.build_identifier("#dev/alice")
    msg = backend.build_message("hello")
    msg.frm, msg.to = frm, frm.room
    assert backend.build_reply(msg, "hi").to == frm.room
    assert backend.build_reply(msg, "hi", private=True).to == frm
    reply = backend.build_reply(msg, "hi")
    backend.prefix_groupchat_reply(reply, frm)
    assert reply.body == "alice hi"


# -- piped ------------------------------------------------------------------------------------


def run(args: list[str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ERRBOT + args,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture
def bot_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "bot"
    directory.mkdir()
    result = run(["--init", str(directory)], cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory


def test_piped_lines_are_plain_messages(bot_dir: Path) -> None:
    result = run(["-T"], cwd=bot_dir, stdin="!echo hi\n!echo **bold**\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["hi", "bold"]  # no prompt, no ANSI


def test_piped_end_of_input_exits_cleanly(bot_dir: Path) -> None:
    result = run(["-T"], cwd=bot_dir, stdin="")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_piped_console_commands(bot_dir: Path) -> None:
    script = "!asuser\n!log tail\n!asadmin\n!ml\n!echo one\ntwo\n\n!ml\n\n"
    result = run(["-T"], cwd=bot_dir, stdin=script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "You are now: @luser.",
        "This command requires bot-admin privileges",
        "You are now an admin: @CHANGE_ME.",
        "Multiline mode, press enter twice to end messages",
        "one",
        "two",
        "Normal one line mode.",
    ]


# -- interactive ------------------------------------------------------------------------------

_CSI = re.compile(r"\x1b\[([0-9;?<=>]*)[ -/]*([@-~])")
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


class Screen:
    """Just enough of a VT100 to see what prompt_toolkit leaves on screen.

    The screen grows downwards instead of scrolling (prompt_toolkit only moves relative to
    where it drew), and lines are not wrapped.
    """

    def __init__(self, raw: str) -> None:
        self.rows: list[list[str]] = [[]]
        self.row = self.col = 0
        self._feed(raw)

    def _put(self, char: str) -> None:
        line = self.rows[self.row]
        if len(line) < self.col:
            line.extend(" " * (self.col - len(line)))
        if self.col < len(line):
            line[self.col] = char
        else:
            line.append(char)
        self.col += 1

    def _down(self, count: int) -> None:
        self.row += count
        while len(self.rows) <= self.row:
            self.rows.append([])

    def _csi(self, params: str, final: str) -> None:
        numbers = [int(p) for p in params.lstrip("?").split(";") if p.isdigit()]
        count = numbers[0] if numbers else 1
        if final == "A":
            self.row = max(0, self.row - count)
        elif final == "B":
            self._down(count)
        elif final == "C":
            self.col += count
        elif final == "D":
            self.col = max(0, self.col - count)
        elif final == "G":
            self.col = count - 1
        elif final == "K":
            del self.rows[self.row][self.col :]
        elif final == "J":
            del self.rows[self.row][self.col :]
            del self.rows[self.row + 1 :]
        # Colours, modes and reports change nothing on screen.

    def _feed(self, raw: str) -> None:
        i = 0
        while i < len(raw):
            char = raw[i]
            if char == "\x1b":
                match = _CSI.match(raw, i) or _OSC.match(raw, i)
                if match is None:
                    i += 2  # ESC plus one character: charset selection, keypad mode...
                    continue
                if match.re is _CSI:
                    self._csi(match.group(1), match.group(2))
                i = match.end()
                continue
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self._down(1)
            elif char == "\b":
                self.col = max(0, self.col - 1)
            elif char >= " ":
                self._put(char)
            i += 1

    @property
    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.rows]


class Terminal:
    """`errbot -T` on a pseudo-terminal: type keys, watch the screen."""

    def __init__(self, cwd: Path, **env: str) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.process = subprocess.Popen(
            [*ERRBOT, "-T"],
            cwd=cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, "TERM": "xterm", "PYTHONUNBUFFERED": "1", **env},
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.raw = b""
        self.closed = False
        self.deadline = time.monotonic() + DEADLINE

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the program closed the terminal
            data = b""
        if not data:
            self.closed = True
            return
        # Answer cursor position requests as a terminal whose cursor is on the last row.
        for _ in range(data.count(b"\x1b[6n")):
            os.write(self.master, f"\x1b[{ROWS};1R".encode())
        self.raw += data

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")

    @property
    def screen(self) -> list[str]:
        return Screen(self.text).lines

    def wait_for(self, condition: Callable[[list[str]], bool], what: str) -> list[str]:
        while True:
            lines = self.screen
            if condition(lines):
                return lines
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                raise AssertionError(f"never saw {what}; screen:\n" + "\n".join(lines))
            self._read(min(remaining, 1.0))

    def wait_line(self, line: str) -> list[str]:
        return self.wait_for(lambda lines: line in lines, repr(line))

    def wait_prompt(self, typed: str = "") -> list[str]:
        """Wait until the last line is the prompt with ``typed`` on it."""

        def ready(lines: list[str]) -> bool:
            last = _last(lines)
            return last.endswith(">>> " + typed) if typed else last.endswith(">>>")

        return self.wait_for(ready, f"the prompt with {typed!r}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_exit(self) -> int:
        while not self.closed and time.monotonic() < self.deadline:
            self._read(1.0)
        return self.process.wait(timeout=max(1.0, self.deadline - time.monotonic()))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


def _last(lines: list[str]) -> str:
    non_empty = [line for line in lines if line]
    return non_empty[-1] if non_empty else ""


def _follows(lines: list[str], first: str, second: str) -> bool:
    return any(a == first and b == second for a, b in zip(lines, lines[1:], strict=False))


@pytest.fixture
def terminal(bot_dir: Path) -> Iterator[Terminal]:
    session = Terminal(bot_dir)
    yield session
    session.close()


def test_the_prompt_answers_and_ctrl_d_exits(terminal: Terminal) -> None:
    lines = terminal.wait_prompt()
    assert "[@CHANGE_ME ➡ @errbot] >>>" in lines
    terminal.type("!echo hi\r")
    terminal.wait_line("hi")
    terminal.wait_prompt()
    terminal.type("\x04")
    assert terminal.wait_exit() == 0
    assert "Traceback" not in terminal.text


def test_replies_are_rendered_with_ansi_colours(terminal: Terminal) -> None:
    terminal.wait_prompt()
    terminal.type("!echo **loud** words\r")
    terminal.wait_line("loud words")
    assert "\x1b[1mloud\x1b[22m words" in terminal.text


def test_ctrl_c_exits_cleanly(terminal: Terminal) -> None:
    terminal.wait_prompt()
    terminal.type("!echo not sent")
    terminal.wait_prompt("!echo not sent")
    terminal.type("\x03")
    assert terminal.wait_exit() == 0
    assert "Traceback" not in terminal.text
    assert "not sent" not in terminal.screen


def test_tab_completes_command_names(terminal: Terminal) -> None:
    terminal.wait_prompt()
    terminal.type("!ec")
    terminal.wait_prompt("!ec")
    terminal.type("\t")
    terminal.wait_prompt("!echo")
    terminal.type(" completed\r")
    terminal.wait_line("completed")
    # Multi-word commands complete with spaces, as they are typed.
    terminal.type("!log t\t")
    terminal.wait_prompt("!log tail")


def test_multiline_mode_sends_one_message_on_an_empty_line(terminal: Terminal) -> None:
    terminal.wait_prompt()
    terminal.type("!ml\r")
    terminal.wait_line("Multiline mode, press enter twice to end messages")
    terminal.wait_for(lambda lines: "(multi-line) >>>" in _last(lines), "the multi-line prompt")
    terminal.type("!echo alpha\rbeta\r\r")
    terminal.wait_for(lambda lines: _follows(lines, "alpha", "beta"), "one two-line reply")
    terminal.type("!ml\r\r")
    terminal.wait_line("Normal one line mode.")
    terminal.type("!echo single\r")
    terminal.wait_line("single")


def test_history_recalls_previous_messages(terminal: Terminal) -> None:
    terminal.wait_prompt()
    terminal.type("!echo again\r")
    terminal.wait_line("again")
    terminal.wait_prompt()
    terminal.type("\x1b[A")  # arrow up
    terminal.wait_prompt("!echo again")


@pytest.fixture
def gated_dir(bot_dir: Path, tmp_path: Path) -> Path:
    """A bot with a command that answers (and logs) only once a file appears."""
    plugin = tmp_path / "gate"
    plugin.mkdir()
    (plugin / "gate.plug").write_text("[Core]\nName = Gate\nModule = gate\n")
    (plugin / "gate.py").write_text(
        "import time\nfrom pathlib import Path\nfrom errbot import BotPlugin, botcmd\n\n"
        "class Gate(BotPlugin):\n"
        "    @botcmd\n"
        "    def gate(self, msg, args):\n"
        f"        door = Path({str(tmp_path / 'open')!r})\n"
        "        while not door.exists():\n"
        "            time.sleep(0.02)\n"
        "        self.log.warning('the gate log line')\n"
        "        return 'the gate opened'\n"
    )
    config = bot_dir / "config.py"
    text = config.read_text().replace(
        f'BOT_EXTRA_PLUGIN_DIR = "{bot_dir}/plugins"', f'BOT_EXTRA_PLUGIN_DIR = "{plugin}"'
    )
    config.write_text(text)
    return bot_dir


def test_replies_and_logs_arriving_while_typing_keep_the_input_line(
    gated_dir: Path, tmp_path: Path
) -> None:
    terminal = Terminal(gated_dir)
    try:
        terminal.wait_prompt()
        terminal.type("!gate\r")
        terminal.wait_prompt()
        terminal.type("!ech")
        terminal.wait_prompt("!ech")
        (tmp_path / "open").touch()
        lines = terminal.wait_line("the gate opened")
        # Printed above the prompt, which is drawn again with what was typed.
        lines = terminal.wait_prompt("!ech")
        assert any("the gate log line" in line for line in lines)
        assert lines.index("the gate opened") < len(lines) - 1
        terminal.type("\t")
        terminal.wait_prompt("!echo")
        terminal.type(" typed meanwhile\r")
        terminal.wait_line("typed meanwhile")
        terminal.wait_prompt()
        terminal.type("\x04")
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()


def test_without_demo_mode_every_rendering_is_shown(bot_dir: Path) -> None:
    config = bot_dir / "config.py"
    config.write_text(config.read_text() + "TEXT_DEMO_MODE = False\n")
    terminal = Terminal(bot_dir)
    try:
        terminal.wait_prompt()
        terminal.type("!echo *labelled*\r")
        labels = ["MD", "HTML", "TEXT", "IM", "ANSI", "BORDERLESS"]
        lines = terminal.wait_for(
            lambda lines: all(any(line.startswith(f"╶─ {label} ─") for line in lines)
                              for label in labels),
            "every labelled rendering",
        )
        assert "*labelled*" in lines  # the Markdown source
        assert "<p><em>labelled</em></p>" in "".join(lines)  # the HTML
        assert "_labelled_" in lines  # the IM text
    finally:
        terminal.close()


def test_the_dark_theme_colours_the_prompt(bot_dir: Path) -> None:
    config = bot_dir / "config.py"
    config.write_text(config.read_text() + 'TEXT_COLOR_THEME = "dark"\n')
    terminal = Terminal(bot_dir)
    try:
        terminal.wait_prompt()
        assert "\x1b[0;91;1m[@CHANGE_ME" in terminal.text  # bright red: the admin speaks
        terminal.type("!asuser\r")
        terminal.wait_line("You are now: @luser.")
        terminal.wait_for(lambda lines: "@luser ➡" in _last(lines), "the user's prompt")
        assert "\x1b[0;92;1m[@luser" in terminal.text  # bright green: a user speaks
    finally:
        terminal.close()


def test_without_prompt_toolkit_the_console_reads_plain_lines(
    bot_dir: Path, tmp_path: Path
) -> None:
    hidden = tmp_path / "hidden"
    (hidden / "prompt_toolkit").mkdir(parents=True)
    (hidden / "prompt_toolkit" / "__init__.py").write_text(
        "raise ImportError('prompt_toolkit is hidden by the test')\n"
    )
    terminal = Terminal(bot_dir, PYTHONPATH=str(hidden))
    try:
        terminal.wait_prompt()
        assert any("pip install 'errbot[text]'" in line for line in terminal.screen)
        terminal.type("!echo plain\r")
        terminal.wait_line("plain")
        terminal.wait_prompt()
        terminal.type("\x04")
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()
