"""TextCmds driven through a real Text backend reading a pipe, as `errbot -T` does.

Each line written to the pipe is one message; the backend waits for its answers before it
reads the next line, so every reply read here belongs to the line just sent.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

DENIED = "This command requires bot-admin privileges"


class Capture:
    """A stand-in for standard output: every message the backend prints is one item."""

    def __init__(self) -> None:
        self.messages: queue.Queue[str] = queue.Queue()

    def write(self, text: str) -> int:
        self.messages.put(text.rstrip("\n"))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class Console:
    """A bot served by the Text backend in a thread, fed through a pipe."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        values = {
            "BOT_DATA_DIR": str(data_dir),
            "STORAGE": "Memory",
            "BOT_ADMINS": ("@admin",),
            **settings,
        }
        self.bot = setup_bot("Text", config_from_dict(values))
        read_end, self._write_end = os.pipe()
        self.out = Capture()
        self._stdin = os.fdopen(read_end, "r", encoding="utf-8")
        self.bot.set_streams(self._stdin, self.out)
        self._thread = threading.Thread(target=self.bot.serve_forever, daemon=True)
        self._thread.start()
        # The empty line ends the message when a previous run left multi-line mode on.
        self.send("!echo ready")
        assert self.ask("") == "ready"

    def send(self, line: str) -> None:
        os.write(self._write_end, (line + "\n").encode())

    def reply(self) -> str:
        return self.out.messages.get(timeout=60)

    def ask(self, line: str) -> str:
        self.send(line)
        return self.reply()

    def close(self) -> None:
        if self._write_end >= 0:
            os.close(self._write_end)  # end of input: the console stops
            self._write_end = -1
        self._thread.join(60)
        assert not self._thread.is_alive()
        self._stdin.close()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    session = Console(tmp_path)
    yield session
    session.close()


def test_the_console_starts_as_the_first_admin_one_on_one(console: Console) -> None:
    who = console.ask("!whoami")
    assert "string representation is '@admin'" in who
    assert "class is 'TextPerson'" in who
    assert console.bot.user.aclattr == "@admin"


def test_the_console_joins_testroom_at_start(console: Console) -> None:
    assert [str(room) for room in console.bot.rooms()] == ["#testroom"]


def test_inroom_moves_the_conversation_into_the_room(console: Console) -> None:
    assert console.ask("!inroom #dev") == "Joined Room #dev."
    who = console.ask("!whoami")
    assert "string representation is '#dev/admin'" in who
    assert "class is 'TextOccupant'" in who
    assert "room is #dev" in who
    assert "#dev" in [str(room) for room in console.bot.rooms()]


def test_inroom_defaults_to_testroom_and_adds_the_hash(console: Console) -> None:
    assert console.ask("!inroom") == "Joined Room #testroom."
    assert console.ask("!inroom ops") == "Joined Room #ops."
    assert "string representation is '#ops/admin'" in console.ask("!whoami")


def test_inperson_goes_back_to_one_on_one(console: Console) -> None:
    console.ask("!inroom #dev")
    assert console.ask("!inperson") == "Now in one-on-one with the bot."
    assert "string representation is '@admin'" in console.ask("!whoami")


def test_asuser_speaks_as_a_normal_user_and_asadmin_restores(console: Console) -> None:
    assert console.ask("!log tail") != DENIED  # the admin may
    assert console.ask("!asuser") == "You are now: @luser."
    assert "string representation is '@luser'" in console.ask("!whoami")
    assert console.ask("!log tail") == DENIED
    assert console.ask("!asuser bob") == "You are now: @bob."
    assert console.ask("!asuser @carol") == "You are now: @carol."
    assert "string representation is '@carol'" in console.ask("!whoami")
    assert console.ask("!asadmin") == "You are now an admin: @admin."
    assert console.ask("!log tail").startswith("No log is configured")


def test_a_user_in_a_room_speaks_as_an_occupant(console: Console) -> None:
    console.ask("!asuser bob")
    console.ask("!inroom #dev")
    assert "string representation is '#dev/bob'" in console.ask("!whoami")
    assert console.ask("!log tail") == DENIED


def test_ml_toggles_multiline_messages(console: Console) -> None:
    assert console.ask("!ml") == "Multiline mode, press enter twice to end messages"
    console.send("!echo first line")
    console.send("second line")
    console.send("")
    assert console.reply() == "first line\nsecond line"
    console.send("!ml")
    assert console.ask("") == "Normal one line mode."
    assert console.ask("!echo back to one line") == "back to one line"


def test_identifier_text_forms(console: Console) -> None:
    bot = console.bot
    assert str(bot.build_identifier("@bob")) == "@bob"
    assert str(bot.build_identifier("#dev")) == "#dev"
    assert str(bot.build_identifier("#dev/bob")) == "#dev/bob"
    with pytest.raises(ValueError) as error:
        bot.build_identifier("bob")
    assert str(error.value) == (
        "An identifier for the Text backend needs to start with # for a room or @ for a person."
    )


def test_console_state_survives_a_restart(tmp_path: Path) -> None:
    first = Console(tmp_path, STORAGE="SQLite")
    try:
        first.ask("!asuser bob")
        first.ask("!inroom #dev")
        assert first.ask("!ml") == "Multiline mode, press enter twice to end messages"
    finally:
        first.close()

    second = Console(tmp_path, STORAGE="SQLite")
    try:
        # Still in multi-line mode, still bob, still in #dev.
        second.send("!whoami")
        second.send("")
        who = second.reply()
        assert "string representation is '#dev/bob'" in who
        second.send("!asadmin")
        assert second.ask("") == "You are now an admin: @admin."
    finally:
        second.close()


def test_an_admin_written_without_at_is_still_the_admin(tmp_path: Path) -> None:
    # Errbot #1135: the console crashed when BOT_ADMINS[0] did not start with "@".
    session = Console(tmp_path, BOT_ADMINS=("gbin@localhost",))
    try:
        assert "string representation is '@gbin@localhost'" in session.ask("!whoami")
        assert session.ask("!log tail") != DENIED
        session.ask("!asuser")
        assert session.ask("!log tail") == DENIED
        assert session.ask("!asadmin") == "You are now an admin: @gbin@localhost."
        assert session.ask("!log tail") != DENIED
    finally:
        session.close()


def test_textcmds_stays_inactive_on_other_backends(testbot: Any) -> None:
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("TextCmds")
    assert plugin is not None
    assert not plugin.is_activated
    assert "inroom" not in testbot.bot.commands
    assert 'Command "inroom" not found.' in testbot.exec_command("!inroom")
