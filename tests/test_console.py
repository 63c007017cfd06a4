"""The console backend driven the way a newcomer uses it: `errbot --init`, then `errbot -T`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ERRBOT = [sys.executable, "-m", "errbot"]


def run(args, cwd, stdin="", timeout=60):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        ERRBOT + args,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def bot_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mybot")
    result = run(["--init", str(directory)], cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory


def test_piped_commands_are_answered_in_order(bot_dir):
    result = run(["-T"], cwd=bot_dir, stdin="!echo hello\n!tryme\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["hello", "It works!"]


def test_end_of_input_waits_for_a_slow_answer(bot_dir, tmp_path):
    plugin = tmp_path / "slow"
    plugin.mkdir()
    (plugin / "slow.plug").write_text("[Core]\nName = Slow\nModule = slow\n")
    (plugin / "slow.py").write_text(
        "import time\nfrom errbot import BotPlugin, botcmd\n\n"
        "class Slow(BotPlugin):\n"
        "    @botcmd\n"
        "    def slow(self, msg, args):\n"
        "        time.sleep(0.5)\n"
        "        return 'finally'\n"
    )
    config = (bot_dir / "config.py").read_text()
    alt = tmp_path / "config.py"
    alt.write_text(
        config.replace(
            f'BOT_EXTRA_PLUGIN_DIR = "{bot_dir}/plugins"', f'BOT_EXTRA_PLUGIN_DIR = "{plugin}"'
        )
    )
    result = run(["-T", "-c", str(alt)], cwd=bot_dir, stdin="!slow\n")
    assert result.returncode == 0, result.stderr
    assert "finally" in result.stdout


def test_unknown_command_suggests(bot_dir):
    result = run(["-T"], cwd=bot_dir, stdin="!ech hi\n")
    assert 'Command "ech" / "ech hi" not found.' in result.stdout
    assert 'Did you mean "!echo" ?' in result.stdout


def test_storage_persists_across_runs(bot_dir, tmp_path):
    plugin = tmp_path / "counter"
    plugin.mkdir()
    (plugin / "counter.plug").write_text("[Core]\nName = Counter\nModule = counter\n")
    (plugin / "counter.py").write_text(
        "from errbot import BotPlugin, botcmd\n\n"
        "class Counter(BotPlugin):\n"
        "    @botcmd\n"
        "    def count(self, msg, args):\n"
        "        self['n'] = self.get('n', 0) + 1\n"
        "        return f\"count {self['n']}\"\n"
    )
    data = tmp_path / "data"
    data.mkdir()
    config = (bot_dir / "config.py").read_text()
    config = config.replace(
        f'BOT_EXTRA_PLUGIN_DIR = "{bot_dir}/plugins"', f'BOT_EXTRA_PLUGIN_DIR = "{plugin}"'
    )
    config = config.replace(f'BOT_DATA_DIR = "{bot_dir}/data"', f'BOT_DATA_DIR = "{data}"')
    alt = tmp_path / "config.py"
    alt.write_text(config)
    first = run(["-T", "-c", str(alt)], cwd=tmp_path, stdin="!count\n!count\n")
    second = run(["-T", "-c", str(alt)], cwd=tmp_path, stdin="!count\n")
    assert first.stdout.splitlines()[:2] == ["count 1", "count 2"], first.stderr
    assert second.stdout.splitlines()[:1] == ["count 3"], second.stderr
    assert (data / "storage.sqlite3").exists()


def test_conversation_stays_on_stdout(bot_dir):
    result = run(["-T"], cwd=bot_dir, stdin="!echo only this\n")
    assert result.stdout.strip() == "only this"
    assert "only this" not in result.stderr


def test_missing_admins_is_a_clear_error(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "config.py").write_text(f'BACKEND = "Text"\nBOT_DATA_DIR = "{tmp_path}/data"\n')
    result = run(["-T"], cwd=tmp_path)
    assert result.returncode == 1
    assert "BOT_ADMINS missing from config.py." in result.stderr


def test_init_dir_plugin_is_listed_in_config(bot_dir):
    config = Path(bot_dir, "config.py").read_text()
    assert config.endswith("\n")
    assert 'BACKEND = "Text"' in config
