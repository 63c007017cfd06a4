"""Core plugin Health: ``!status``, ``!uptime``, ``!restart`` and ``!shutdown``.

Status and uptime run through the Test backend. Shutting down and restarting act on the whole
process, so they run against a console bot (``python -m errbot -T``) in a subprocess fed
through a pipe.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from errbot.backends.base import Message

extra_plugin_dir = os.path.join(os.path.dirname(__file__), "plugins", "help_fixture")

LEGEND = "A = Activated, D = Deactivated, B = Blacklisted, C = Needs to be configured"
TRAFFIC = re.compile(
    r"^Traffic: (\d+) messages received, (\d+) commands dispatched, (\d+) replies sent$",
    re.MULTILINE,
)


# -- !status ----------------------------------------------------------------------------
def test_status_overview(testbot):
    reply = testbot.exec_command("!status")
    assert reply.startswith("Yes I am alive...")
    assert "┃ Status ┃ Name" in reply
    assert "A      │ Health" in reply
    assert LEGEND in reply
    assert re.search(r"^ ?Load \d+\.\d\d, \d+\.\d\d, \d+\.\d\d$", reply, re.MULTILINE)
    assert re.search(r"^ ?GC 0->\d+ 1->\d+ 2->\d+$", reply, re.MULTILINE)


def test_status_counts_messages_commands_and_replies(testbot):
    first = TRAFFIC.search(testbot.exec_command("!status").replace("\n ", "\n"))
    second = TRAFFIC.search(testbot.exec_command("!status").replace("\n ", "\n"))
    assert first and second
    before = [int(n) for n in first.groups()]
    after = [int(n) for n in second.groups()]
    # in between: one more message and one more reply (the first status)
    assert after[0] - before[0] == 1
    assert after[2] - before[2] == 1
    assert before[0] >= 2  # at least "!echo ready" and the first "!status"
    # The core counts a command right after handing it to a worker, so a status may or may
    # not count itself; the first status is counted by the time the second one runs.
    assert before[1] >= 1  # "!echo ready"
    assert 0 <= after[1] - before[1] <= 2
    assert after[1] >= 2


def test_status_plugins_table(testbot):
    reply = testbot.exec_command("!status plugins")
    lines = reply.splitlines()
    assert lines[0] == "Plugins"
    assert "┃ Status ┃ Name                  ┃" in lines
    for name in ("ACLs", "ChatRoom", "Health", "Help", "HelpDescribed", "HelpFixture", "Utils"):
        assert f"A      │ {name}" in reply
    assert "C      │ NeedsConfig" in reply
    assert lines[-1].strip() == LEGEND
    # sorted by name
    names = [line.split("│")[2].strip() for line in lines if line.startswith("│ ")]
    assert names == sorted(names, key=str.lower)


def test_status_plugins_deactivated_and_blacklisted(testbot):
    manager = testbot.bot.plugin_manager
    manager.deactivate_plugin("HelpDescribed")
    manager.blacklist_plugin("ChatRoom")
    manager.deactivate_plugin("ChatRoom")
    manager.blacklist_plugin("Utils")  # blacklisted but still running
    reply = testbot.exec_command("!status plugins")
    assert "D      │ HelpDescribed" in reply
    assert "B,D    │ ChatRoom" in reply
    assert "B,A    │ Utils" in reply
    assert "A      │ Health" in reply


def test_configured_plugin_is_no_longer_c(testbot):
    manager = testbot.bot.plugin_manager
    manager.set_plugin_configuration("NeedsConfig", {"TOKEN": "secret"})
    reply = testbot.exec_command("!status plugins")
    assert "D      │ NeedsConfig" in reply
    manager.activate_plugin("NeedsConfig")
    assert "A      │ NeedsConfig" in testbot.exec_command("!status plugins")
    assert testbot.exec_command("!needs config ping") == "configured pong"


def test_status_load(testbot):
    reply = testbot.exec_command("!status load")
    assert re.fullmatch(r"Load \d+\.\d\d, \d+\.\d\d, \d+\.\d\d", reply)
    assert all(float(n) >= 0 for n in reply[len("Load ") :].split(", "))


def test_status_gc(testbot):
    assert re.fullmatch(r"GC 0->\d+ 1->\d+ 2->\d+", testbot.exec_command("!status gc"))


def test_status_markdown_source(testbot):
    """The templates produce the Markdown the contract shows (before text rendering)."""
    health = testbot.bot.plugin_manager.get_plugin_obj_by_name("Health")
    text = testbot.bot.render_template("status_plugins", health.status_plugins(None, ""), "Health")
    assert text.startswith("### Plugins\n\n| Status | Name\n|--------|--------\n")
    assert "| A | Health\n" in text
    assert text.endswith(LEGEND)
    page = testbot.bot.render_template("status", health.status(None, ""), "Health")
    assert page.startswith("## Yes I am alive...\n\n### Plugins\n")


# -- !uptime ----------------------------------------------------------------------------
def test_uptime(testbot):
    started = datetime.now() - timedelta(hours=2, minutes=5, seconds=3)
    testbot.bot.startup_time = started
    since = started.strftime("%A, %b %d at %H:%M")
    assert testbot.exec_command("!uptime") == (
        f"I've been up for 2 hours and 5 minutes (since {since})."
    )


def test_uptime_just_started(testbot):
    started = datetime.now() - timedelta(minutes=3, seconds=10)
    testbot.bot.startup_time = started
    assert testbot.exec_command("!uptime").startswith("I've been up for 3 minutes (since ")


# -- !restart and !shutdown in the test bot: refusals and the confirmation request ---------
def as_user(testbot, person: str) -> None:
    testbot.bot.sender = testbot.bot.build_identifier(person)


def test_shutdown_asks_for_confirmation(testbot):
    assert testbot.exec_command("!shutdown") == (
        "Please provide --confirm to confirm you really want me to shut down."
    )


def test_shutdown_help(testbot):
    reply = testbot.exec_command("!shutdown --help")
    assert "--confirm" in reply
    assert "--kill" in reply


def test_shutdown_is_admin_only(testbot):
    as_user(testbot, "joe@localhost")
    assert testbot.exec_command("!shutdown") == "This command requires bot-admin privileges"


def test_restart_is_refused_to_users(testbot):
    # Asked in dry run: a failure here must not restart the test process.
    msg = Message("!restart")
    msg.frm = testbot.bot.build_identifier("joe@localhost")
    msg.to = testbot.bot.bot_identifier
    allowed, _, _ = testbot.bot.pipeline.run_filters(msg, "restart", "", True)
    assert allowed is None
    admin_msg = Message("!restart")
    admin_msg.frm = testbot.bot.build_identifier("gbin@localhost")
    admin_msg.to = testbot.bot.bot_identifier
    allowed, _, _ = testbot.bot.pipeline.run_filters(admin_msg, "restart", "", True)
    assert allowed is admin_msg
    assert testbot.bot.commands["restart"]._err_command_admin_only


# -- a real console bot in a subprocess ---------------------------------------------------
PROBE_PLUGIN = """\
import os
from errbot import BotPlugin


class Probe(BotPlugin):
    def activate(self):
        super().activate()
        print(f"probe activated in {os.getpid()}", flush=True)
"""


@pytest.fixture
def console_bot(tmp_path: Path):
    """Start ``python -m errbot -T`` on a fresh directory; yields a driver for it."""
    probe = tmp_path / "plugins" / "probe"
    probe.mkdir(parents=True)
    (probe / "probe.plug").write_text("[Core]\nName = Probe\nModule = probe\n")
    (probe / "probe.py").write_text(PROBE_PLUGIN)
    (tmp_path / "data").mkdir()
    # The console user is BOT_ADMINS[0]; listing it with and without "@" keeps it an admin
    # whichever form the Text backend matches.
    (tmp_path / "config.py").write_text(
        "import logging\n"
        'BACKEND = "Text"\n'
        f'BOT_DATA_DIR = "{tmp_path / "data"}"\n'
        f'BOT_EXTRA_PLUGIN_DIR = "{tmp_path / "plugins"}"\n'
        f'BOT_LOG_FILE = "{tmp_path / "errbot.log"}"\n'
        "BOT_LOG_LEVEL = logging.INFO\n"
        'BOT_ADMINS = ("@tester", "tester")\n'
    )
    with open(tmp_path / "stderr.txt", "w") as stderr:
        bot = ConsoleBot(tmp_path, stderr)
        try:
            yield bot
        finally:
            bot.close()


class ConsoleBot:
    def __init__(self, directory: Path, stderr) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.directory = directory
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "errbot", "-T", "-c", str(directory / "config.py")],
            cwd=directory,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        self.output: list[str] = []

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def read_until(self, text: str) -> str:
        """Read the console until a line containing ``text``; return that line."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                log = (self.directory / "stderr.txt").read_text()
                raise AssertionError(f"output ended before {text!r}: {self.output}\n{log}")
            line = line.rstrip("\n")
            self.output.append(line)
            if text in line:
                return line

    def wait(self) -> int:
        return self.proc.wait(timeout=60)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def test_console_shutdown_needs_confirmation_then_stops_cleanly(console_bot):
    console_bot.read_until("probe activated")
    console_bot.say("!shutdown")
    assert console_bot.read_until("--confirm") == (
        "Please provide --confirm to confirm you really want me to shut down."
    )
    console_bot.say("!shutdown --confirm")
    assert console_bot.read_until("Roger") == "Roger that. I am shutting down."
    # stdin is still open: only the interruption can have stopped the bot
    assert console_bot.wait() == 0


def test_console_shutdown_kill(console_bot):
    console_bot.read_until("probe activated")
    console_bot.say("!shutdown --confirm --kill")
    assert console_bot.read_until("Killing") == "Killing myself right now!"
    assert console_bot.wait() == -signal.SIGKILL


def test_console_restart_execs_the_same_command_again(console_bot):
    first = console_bot.read_until("probe activated")
    assert first == f"probe activated in {console_bot.proc.pid}"
    console_bot.say("!restart")
    console_bot.read_until("Deactivating all the plugins...")
    console_bot.read_until("Restarting")
    # the same process (same pid) starts over: plugins are activated again
    assert console_bot.read_until("probe activated") == first
    console_bot.say("!echo second life")
    assert console_bot.read_until("second life") == "second life"
    assert console_bot.proc.stdin is not None
    console_bot.proc.stdin.close()
    assert console_bot.wait() == 0
