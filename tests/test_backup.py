"""``!backup``, the backup script format and ``errbot --restore``."""

from __future__ import annotations

import datetime
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from errbot.backup import (
    RepoManager,
    backup_script,
    write_backup,
    write_data_backup,
)
from errbot.bootstrap import setup_bot
from errbot.cli import main
from errbot.repos import RepoException
from errbot.settings import load_config

FIXTURES = os.path.join(os.path.dirname(__file__), "plugins", "backup_fixture")
extra_plugin_dir = FIXTURES


@pytest.fixture(autouse=True)
def _forget_loaded_config():
    """load_config registers the module as "config"; leave sys.modules as it was."""
    previous = sys.modules.get("config")
    yield
    if previous is None:
        sys.modules.pop("config", None)
    else:
        sys.modules["config"] = previous


# -- !backup through the test backend ---------------------------------------------------------
def test_backup_command_writes_the_script(testbot: Any) -> None:
    assert testbot.exec_command("!keep some words") == "kept"
    reply = testbot.exec_command("!backup script")
    path = os.path.join(testbot.bot_config.BOT_DATA_DIR, "backup.py")
    assert reply == f'The backup file has been written in "{path}".'
    text = Path(path).read_text()
    assert text.startswith("## This file is not executable on its own. use errbot -r FILE")
    assert "pobj = bot.plugin_manager.plugins['Keeper']\n" in text
    assert "pobj['kept'] = 'some words'\n" in text
    assert "bot.plugin_manager['configs'] = {}\n" in text
    compile(text, path, "exec")


# -- round trip through real storages -----------------------------------------------------------
def write_config(directory: Path, storage: str) -> Path:
    data = directory / "data"
    data.mkdir(parents=True)
    path = directory / "config.py"
    path.write_text(
        f"BACKEND = 'Text'\nBOT_DATA_DIR = {str(data)!r}\nSTORAGE = {storage!r}\n"
        f"BOT_EXTRA_PLUGIN_DIR = {FIXTURES!r}\nBOT_LOG_LEVEL = 'INFO'\n"
    )
    return path


def null_bot(config_path: Path) -> Any:
    return setup_bot("Null", load_config(str(config_path)))


PLUGIN_DATA = {
    "numbers": [1, 2, 3],
    "nested": {"a": {"b": (1, "x")}, "set": {1, 2}},
    "text": "quote ' and \"double\" and é",
    "nothing": None,
    "bytes": b"\x00\xff",
}


def fill_and_back_up(config_path: Path) -> str:
    bot = null_bot(config_path)
    try:
        keeper = bot.plugin_manager.plugins["Keeper"]
        keeper.init_storage()
        for key, value in PLUGIN_DATA.items():
            keeper[key] = value
        bot.plugin_manager.set_plugin_configuration("Keeper", {"LEVEL": 3, "NAMES": ["x"]})
        bot.plugin_manager.blacklist_plugin("Health")
        bot.repo_manager["repo_index"] = {"some": "index"}
        path = write_backup(bot)
        keeper.close_storage()
    finally:
        bot.shutdown()
    return path


@pytest.mark.parametrize("storage", ["Shelf", "SQLite"])
def test_round_trip_into_a_fresh_bot(tmp_path: Path, storage: str, capsys: Any) -> None:
    backup = fill_and_back_up(write_config(tmp_path / "old", storage))
    fresh = write_config(tmp_path / "new", storage)

    assert main(["-c", str(fresh), "--restore", backup]) == 0
    assert "Restore complete. You can restart the bot normally" in capsys.readouterr().out

    bot = null_bot(fresh)
    try:
        manager = bot.plugin_manager
        assert manager["configs"] == {"Keeper": {"LEVEL": 3, "NAMES": ["x"]}}
        assert manager.is_plugin_blacklisted("Health")
        assert bot.repo_manager["repo_index"] == {"some": "index"}
        keeper = manager.plugins["Keeper"]
        keeper.init_storage()
        assert dict(keeper.items()) == PLUGIN_DATA
        keeper.close_storage()
    finally:
        bot.shutdown()

    # The bot now holds data: a second restore is refused and changes nothing.
    assert main(["-c", str(fresh), "--restore", backup]) == 1
    assert "You cannot restore onto a non empty bot." in capsys.readouterr().err


def test_restore_defaults_to_the_data_dir_backup(tmp_path: Path, capsys: Any) -> None:
    config = write_config(tmp_path, "SQLite")
    (tmp_path / "data" / "backup.py").write_text(
        "bot.plugin_manager['bl_plugins'] = ['Keeper']\n")
    assert main(["-c", str(config), "-r"]) == 0
    bot = null_bot(config)
    try:
        assert bot.plugin_manager["bl_plugins"] == ["Keeper"]
    finally:
        bot.shutdown()


ERRBOT_6_BACKUP = '''\
## This file is not executable on its own. use errbot -r FILE to restore your bot.

log.info("Restoring repo_manager")
bot.repo_manager["installed_repos"] = ['http://127.0.0.1:9/someone/err-plugin.git']
log.info("Restoring plugin_manager")
bot.plugin_manager["configs"] = {'Keeper': {'A': 1}}
bot.plugin_manager["bl_plugins"] = []
log.info("Installing plugins.")
if "installed_repos" in bot.repo_manager:
  for repo in bot.repo_manager["installed_repos"]:
    log.error(bot.repo_manager.install_repo(repo))
log.info("Restoring plugins data.")
bot.plugin_manager.update_plugin_places(bot.repo_manager.get_all_repos_paths())
pobj = bot.plugin_manager.plugins["Keeper"]
pobj.init_storage()
pobj["kept"] = 'from errbot 6'
pobj.close_storage()
'''


def test_restores_an_errbot_6_script(tmp_path: Path, capsys: Any, caplog: Any) -> None:
    config = write_config(tmp_path, "Shelf")
    backup = tmp_path / "old-backup.py"
    backup.write_text(ERRBOT_6_BACKUP)
    with caplog.at_level(logging.ERROR):
        assert main(["-c", str(config), "--restore", str(backup)]) == 0
    # Nothing listens on port 9: the reinstall fails, is logged, and the restore goes on.
    assert "Could not reinstall http://127.0.0.1:9/someone/err-plugin.git" in caplog.text
    bot = null_bot(config)
    try:
        assert bot.plugin_manager["configs"] == {"Keeper": {"A": 1}}
        keeper = bot.plugin_manager.plugins["Keeper"]
        keeper.init_storage()
        assert keeper["kept"] == "from errbot 6"
        keeper.close_storage()
    finally:
        bot.shutdown()


def test_restore_errors(tmp_path: Path, capsys: Any) -> None:
    config = write_config(tmp_path, "SQLite")
    assert main(["-c", str(config), "--restore", str(tmp_path / "missing.py")]) == 1
    assert "cannot read the backup" in capsys.readouterr().err
    broken = tmp_path / "broken.py"
    broken.write_text("bot.plugin_manager['x'] = undefined_name\n")
    assert main(["-c", str(config), "--restore", str(broken)]) == 1
    assert "undefined_name" in capsys.readouterr().err


def test_restore_refuses_daemon_mode(tmp_path: Path, capsys: Any) -> None:
    if os.name == "nt":
        pytest.skip("no daemon mode on Windows")
    config = write_config(tmp_path, "SQLite")
    assert main(["-c", str(config), "--restore", "-d"]) == 1
    assert "daemon" in capsys.readouterr().err


def test_repo_manager(tmp_path: Path) -> None:
    from errbot.storage.memory import MemoryStoragePlugin

    class Config:
        STORAGE_CONFIG: dict = {}

    manager = RepoManager(MemoryStoragePlugin(Config()))
    assert manager.namespace == "repomgr"
    assert manager.get_all_repos_paths() == []
    with pytest.raises(RepoException, match="no plugin directory"):
        manager.install_repo("https://example.org/repo.git")
    manager.shutdown()
    assert not manager.is_open_storage()


def test_script_without_repo_manager(tmp_path: Path) -> None:
    bot = null_bot(write_config(tmp_path, "SQLite"))
    try:
        bot.repo_manager.close_storage()
        script = backup_script(bot)
        assert not [line for line in script.splitlines() if line.startswith("bot.repo_manager[")]
        assert "bot.plugin_manager['configs'] = {}" in script
    finally:
        bot.shutdown()


# -- data-only backups (backup.jsonl) -----------------------------------------------------------
def test_backup_data_command(testbot: Any) -> None:
    testbot.exec_command("!keep words")
    reply = testbot.exec_command("!backup")
    path = os.path.join(testbot.bot_config.BOT_DATA_DIR, "backup.jsonl")
    assert reply == f'The backup file has been written in "{path}".'
    lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
    assert lines[0] == {"format": "errbot-data-backup", "version": 1}
    assert {"namespace": "Keeper", "key": "kept", "value": "'words'"} in lines


def fill_and_back_up_data(config_path: Path) -> tuple[str, list[str]]:
    bot = null_bot(config_path)
    try:
        keeper = bot.plugin_manager.plugins["Keeper"]
        keeper.init_storage()
        for key, value in PLUGIN_DATA.items():
            keeper[key] = value
        keeper["when"] = datetime.date(2020, 1, 2)  # not a literal: left out
        bot.plugin_manager.set_plugin_configuration("Keeper", {"LEVEL": 3})
        bot.plugin_manager.blacklist_plugin("Health")
        result = write_data_backup(bot)
        keeper.close_storage()
    finally:
        bot.shutdown()
    return result


@pytest.mark.parametrize("storage", ["Shelf", "SQLite"])
def test_data_round_trip(tmp_path: Path, storage: str, capsys: Any) -> None:
    backup, skipped = fill_and_back_up_data(write_config(tmp_path / "old", storage))
    assert backup.endswith("backup.jsonl")
    assert skipped == ["Keeper/when"]
    fresh = write_config(tmp_path / "new", storage)
    assert main(["-c", str(fresh), "--restore", backup]) == 0
    assert "Restore complete." in capsys.readouterr().out
    bot = null_bot(fresh)
    try:
        assert bot.plugin_manager["configs"] == {"Keeper": {"LEVEL": 3}}
        assert bot.plugin_manager.is_plugin_blacklisted("Health")
        keeper = bot.plugin_manager.plugins["Keeper"]
        keeper.init_storage()
        assert dict(keeper.items()) == PLUGIN_DATA
        keeper.close_storage()
    finally:
        bot.shutdown()


def test_data_backup_runs_no_code_and_is_checked_first(tmp_path: Path, capsys: Any) -> None:
    config = write_config(tmp_path, "SQLite")
    marker = tmp_path / "pwned"
    backup = tmp_path / "evil.jsonl"
    backup.write_text(
        json.dumps({"format": "errbot-data-backup", "version": 1}) + "\n"
        + json.dumps({"namespace": "core", "key": "bl_plugins", "value": "['Keeper']"}) + "\n"
        + json.dumps({"namespace": "core", "key": "x",
                      "value": f"open({str(marker)!r}, 'w')"}) + "\n"
    )
    assert main(["-c", str(config), "--restore", str(backup)]) == 1
    assert "line 3 of the data backup is invalid" in capsys.readouterr().err
    assert not marker.exists()
    bot = null_bot(config)
    try:
        assert "bl_plugins" not in bot.plugin_manager  # nothing was written
    finally:
        bot.shutdown()
