"""`!plugin reload`: new code from disk, sub-modules included, state kept, failures harmless.

Each test writes its plugin into ``tmp_path`` under module names of its own (the plugin
modules of every bot share the ``errbot.plugins`` package) and edits the files between reloads.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest
from test_plugins_admin_helpers import active, started_bot

PLUGIN_CODE = """\
from errbot import BotPlugin, botcmd

import {absolute}

from .{relative} import WORD


class {cls}(BotPlugin):
    \"\"\"Reloaded by the tests.\"\"\"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    @botcmd
    def rl(self, msg, args):
        self.calls += 1
        return f"{version} {{WORD}} {{{absolute}.NUMBER}} calls={{self.calls}}"
{extra}"""

EXTRA_COMMAND = """
    @botcmd
    def rl_extra(self, msg, args):
        return "a command added by the new code"
"""


class ReloadablePlugin:
    """A plugin folder in tmp_path: top module, a relative and an absolute sub-module."""

    def __init__(self, root: Path, request: pytest.FixtureRequest) -> None:
        tag = re.sub(r"\W", "_", request.node.name).lower()[-40:]
        self.name = "Reloadable"
        self.cls = "ReloadablePlugin"
        self.module = f"rl_top_{tag}"
        self.relative = f"rl_rel_{tag}"
        self.absolute = f"rl_abs_{tag}"
        self.folder = root / "reloadable"
        self.folder.mkdir(parents=True)
        (self.folder / "reloadable.plug").write_text(
            f"[Core]\nName = {self.name}\nModule = {self.module}\n"
        )
        self.write_top("v1")
        self.write_relative('WORD = "alpha"\n')
        self.write_absolute("NUMBER = 1\n")
        request.addfinalizer(self.forget_modules)

    @property
    def top_file(self) -> Path:
        return self.folder / f"{self.module}.py"

    @property
    def relative_file(self) -> Path:
        return self.folder / f"{self.relative}.py"

    def write_top(self, version: str, extra: str = "", broken: bool = False) -> None:
        code = PLUGIN_CODE.format(
            absolute=self.absolute,
            relative=self.relative,
            cls=self.cls,
            version=version,
            extra=extra,
        )
        if broken:
            code += "\n    def oops(self:\n        pass\n"
        self.top_file.write_text(code)

    def write_relative(self, code: str) -> None:
        self.relative_file.write_text(code)

    def write_absolute(self, code: str) -> None:
        (self.folder / f"{self.absolute}.py").write_text(code)

    def forget_modules(self) -> None:
        for name in list(sys.modules):
            if name.split(".")[-1] in (self.module, self.relative, self.absolute):
                del sys.modules[name]


@pytest.fixture(autouse=True)
def write_bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cache bytecode even under PYTHONDONTWRITEBYTECODE: a stale ``.pyc`` (same size, same
    second) is the trap a reload has to avoid, so the tests must have one to avoid."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


@pytest.fixture
def reloadable(tmp_path: Path, request: pytest.FixtureRequest) -> ReloadablePlugin:
    return ReloadablePlugin(tmp_path, request)


def line_of(file: Path, text: str) -> int:
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {file}")


def test_reload_runs_new_code_and_new_submodules_and_keeps_the_state(reloadable):
    with started_bot(str(reloadable.folder.parent)) as (testbot, _):
        manager = testbot.bot.plugin_manager
        plugin = manager.get_plugin_obj_by_name("Reloadable")
        old_class = type(plugin)
        assert testbot.exec_command("!rl") == "v1 alpha 1 calls=1"
        assert testbot.exec_command("!rl") == "v1 alpha 1 calls=2"

        # Same sizes as before: the edits must not hide behind cached bytecode.
        reloadable.write_top("v2", extra=EXTRA_COMMAND)
        reloadable.write_relative('WORD = "gamma"\n')
        reloadable.write_absolute("NUMBER = 7\n")
        assert testbot.exec_command("!plugin reload Reloadable") == "Plugin Reloadable reloaded."

        assert testbot.exec_command("!rl") == "v2 gamma 7 calls=3"
        assert testbot.exec_command("!rl extra") == "a command added by the new code"
        same = manager.get_plugin_obj_by_name("Reloadable")
        assert same is plugin
        assert type(same) is not old_class
        assert type(same).__name__ == old_class.__name__
        assert same.is_activated


def test_a_syntax_error_keeps_the_old_version_running(reloadable):
    with started_bot(str(reloadable.folder.parent)) as (testbot, _):
        assert testbot.exec_command("!rl") == "v1 alpha 1 calls=1"
        reloadable.write_top("v2", broken=True)
        line = line_of(reloadable.top_file, "def oops(self:")
        reply = testbot.exec_command("!plugin reload Reloadable")
        assert reply.startswith(
            f"Error reloading plugin Reloadable: {reloadable.top_file}, line {line}: SyntaxError:"
        )
        assert reply.endswith("The previous version is still running.")
        assert active(testbot, "Reloadable")
        assert testbot.exec_command("!rl") == "v1 alpha 1 calls=2"

        reloadable.write_top("v3")
        assert testbot.exec_command("!plugin reload Reloadable") == "Plugin Reloadable reloaded."
        assert testbot.exec_command("!rl") == "v3 alpha 1 calls=3"


def test_a_broken_submodule_keeps_the_old_version_and_its_modules(reloadable):
    with started_bot(str(reloadable.folder.parent)) as (testbot, _):
        assert testbot.exec_command("!rl") == "v1 alpha 1 calls=1"
        helper_name = f"errbot.plugins.{reloadable.relative}"
        old_helper = sys.modules[helper_name]

        reloadable.write_top("v2")
        reloadable.write_relative('WORD = "delta"\nbroken = (\n')
        reply = testbot.exec_command("!plugin reload Reloadable")
        assert reply.startswith(
            f"Error reloading plugin Reloadable: {reloadable.relative_file}, line 2: SyntaxError:"
        )
        assert sys.modules[helper_name] is old_helper
        assert testbot.exec_command("!rl") == "v1 alpha 1 calls=2"

        reloadable.write_relative('WORD = "delta"\n')
        assert testbot.exec_command("!plugin reload Reloadable") == "Plugin Reloadable reloaded."
        assert testbot.exec_command("!rl") == "v2 delta 1 calls=3"


def test_an_error_raised_while_importing_names_file_and_line(reloadable):
    with started_bot(str(reloadable.folder.parent)) as (testbot, _):
        reloadable.write_absolute("NUMBER = 1\nraise RuntimeError('no luck today')\n")
        reply = testbot.exec_command("!plugin reload Reloadable")
        absolute_file = reloadable.folder / f"{reloadable.absolute}.py"
        assert reply == (
            f"Error reloading plugin Reloadable: {absolute_file}, line 2: RuntimeError: "
            "no luck today. The previous version is still running."
        )
        assert testbot.exec_command("!rl") == "v1 alpha 1 calls=1"


def test_reloading_a_deactivated_plugin_warns_and_leaves_it_deactivated(reloadable):
    with started_bot(str(reloadable.folder.parent)) as (testbot, _):
        assert testbot.exec_command("!rl") == "v1 alpha 1 calls=1"
        testbot.exec_command("!plugin deactivate Reloadable")
        reloadable.write_top("v2")
        testbot.push_message("!plugin reload Reloadable")
        assert testbot.pop_message() == (
            "Warning: plugin Reloadable is currently not activated. "
            "Use !plugin activate Reloadable to activate it."
        )
        assert testbot.pop_message() == "Plugin Reloadable reloaded."
        assert not active(testbot, "Reloadable")
        assert testbot.exec_command("!plugin activate Reloadable") == (
            "Plugin Reloadable activated."
        )
        assert testbot.exec_command("!rl") == "v2 alpha 1 calls=2"


def test_a_failing_reload_of_a_deactivated_plugin_keeps_the_old_code(reloadable):
    with started_bot(str(reloadable.folder.parent)) as (testbot, _):
        testbot.exec_command("!plugin deactivate Reloadable")
        reloadable.write_top("v2", broken=True)
        testbot.push_message("!plugin reload Reloadable")
        assert testbot.pop_message().startswith("Warning: plugin Reloadable is currently")
        reply = testbot.pop_message()
        assert reply.startswith("Error reloading plugin Reloadable: ")
        assert reply.endswith("The previous version is kept.")
        testbot.exec_command("!plugin activate Reloadable")
        assert testbot.exec_command("!rl") == "v1 alpha 1 calls=1"


def test_reloading_a_plugin_leaves_other_plugins_modules_alone(reloadable, tmp_path):
    # Another plugin in the very same folder: its module is not a sub-module of Reloadable.
    other = reloadable.folder
    (other / "other.plug").write_text(
        f"[Core]\nName = OtherOne\nModule = other_{reloadable.module}\n"
    )
    (other / f"other_{reloadable.module}.py").write_text(
        textwrap.dedent(
            """\
            from errbot import BotPlugin, botcmd


            class OtherOne(BotPlugin):
                @botcmd
                def other_ping(self, msg, args):
                    return "other pong"
            """
        )
    )
    with started_bot(str(tmp_path)) as (testbot, _):
        other_module = sys.modules[f"errbot.plugins.other_{reloadable.module}"]
        assert testbot.exec_command("!plugin reload Reloadable") == "Plugin Reloadable reloaded."
        assert sys.modules[f"errbot.plugins.other_{reloadable.module}"] is other_module
        assert testbot.exec_command("!other ping") == "other pong"
    del sys.modules[f"errbot.plugins.other_{reloadable.module}"]
