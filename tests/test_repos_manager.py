"""RepoManager on its own (names, storage shapes) and restores of backups listing
repositories (Errbot's script and the data-only format), pinned commits included."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from repos_support import LocalServer, commit, git_repo, plugin_files

from errbot.backup import write_backup, write_data_backup
from errbot.bootstrap import setup_bot
from errbot.cli import main
from errbot.repos import RepoException, RepoManager
from errbot.repos.git import head
from errbot.repos.names import check_name, human_name_for_git_url, is_git_url, tarball_name
from errbot.settings import load_config
from errbot.storage.memory import MemoryStoragePlugin

V1 = plugin_files("RepoPinned", "repo_pinned", "pinned", "'version 1'")
V2 = plugin_files("RepoPinned", "repo_pinned", "pinned", "'version 2'")


@pytest.fixture(autouse=True)
def _forget_loaded_config() -> Iterator[None]:
    """load_config registers the module as "config"; leave sys.modules as it was."""
    previous = sys.modules.get("config")
    yield
    if previous is None:
        sys.modules.pop("config", None)
    else:
        sys.modules["config"] = previous


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://github.com/errbotio/err-helloworld.git", "errbotio/err-helloworld"),
        ("https://github.com/errbotio/err-helloworld", "errbotio/err-helloworld"),
        ("git@github.com:errbotio/err-helloworld.git", "errbotio/err-helloworld"),
        ("http://127.0.0.1:8000/git/deep/path/owner/repo.git/", "owner/repo"),
        ("http://127.0.0.1:8000/single.git", "single"),
    ],
)
def test_human_names(url: str, name: str) -> None:
    assert is_git_url(url)
    assert human_name_for_git_url(url) == name


def test_unsafe_names_are_refused() -> None:
    for bad in ("..", "owner/..", "/abs", "a//b", "", "owner/.hidden"):
        with pytest.raises(RepoException):
            check_name(bad)
    with pytest.raises(RepoException):
        human_name_for_git_url("https://host/owner/..")
    assert tarball_name("https://host/dl/err-foo.tar.gz") == "err-foo"
    assert not is_git_url("owner/repo")


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://github.com/alice/err-foo/archive/refs/heads/main.tar.gz", "alice/err-foo"),
        ("https://github.com/alice/err-foo/archive/refs/tags/v1.2.tar.gz", "alice/err-foo"),
        ("https://github.com/alice/err-foo/archive/main.tar.gz", "alice/err-foo"),
        ("https://gitlab.com/grp/alice/err-foo/-/archive/main/err-foo-main.tar.gz",
         "alice/err-foo"),
        ("https://host/archive/err-foo-1.0.tar.gz", "err-foo-1.0"),  # no owner/repo before it
    ],
)
def test_forge_archives_install_as_owner_and_repository(url: str, name: str) -> None:
    assert tarball_name(url) == name


def test_errbots_list_of_urls_is_read(tmp_path: Path) -> None:
    class Config:
        STORAGE_CONFIG: dict[str, Any] = {}

    manager = RepoManager(MemoryStoragePlugin(Config()), tmp_path, Config())
    manager["installed_repos"] = ["https://github.com/a/err-b.git", "https://x/y/z.tar.gz"]
    assert manager.get_installed_plugin_repos() == {
        "a/err-b": "https://github.com/a/err-b.git", "z": "https://x/y/z.tar.gz"}
    assert manager.get_all_repos_paths() == [str(tmp_path / "a/err-b"), str(tmp_path / "z")]
    manager.shutdown()


# -- restores -------------------------------------------------------------------------------------
def write_config(directory: Path) -> Path:
    data = directory / "data"
    data.mkdir(parents=True)
    path = directory / "config.py"
    path.write_text(
        f"BACKEND = 'Text'\nBOT_DATA_DIR = {str(data)!r}\nSTORAGE = 'SQLite'\n"
        "BOT_PLUGIN_INDEXES = ()\nAUTOINSTALL_DEPS = False\nBOT_LOG_LEVEL = 'INFO'\n"
    )
    return path


def installed_bot(config: Path, url: str) -> str:
    """Install ``url`` in the bot of ``config``; the backup path (both formats written)."""
    bot = setup_bot("Null", load_config(str(config)))
    try:
        path = bot.repo_manager.install_repo(url)
        assert not bot.plugin_manager.update_plugin_places([path])
        write_data_backup(bot)
        return write_backup(bot)
    finally:
        bot.shutdown()


@pytest.mark.parametrize("backup_format", ["script", "data"])
def test_restore_reinstalls_at_the_pinned_commit(tmp_path: Path, capsys: Any,
                                                 backup_format: str) -> None:
    with LocalServer() as server:
        repo, first = git_repo(tmp_path / "origin", V1)
        url = server.add_repo("owner/pinned", repo)
        script = installed_bot(write_config(tmp_path / "old"), url)
        backup = script if backup_format == "script" else script.replace(".py", ".jsonl")
        commit(repo, V2)  # the origin moved on since the backup

        fresh = write_config(tmp_path / "new")
        assert main(["-c", str(fresh), "--restore", backup]) == 0
        assert "Restore complete." in capsys.readouterr().out

    folder = tmp_path / "new" / "data" / "plugins" / "owner" / "pinned"
    assert head(folder) == first
    assert "version 1" in (folder / "repo_pinned.py").read_text()
    bot = setup_bot("Null", load_config(str(fresh)))
    try:
        assert bot.repo_manager.get_installed_plugin_repos() == {"owner/pinned": url}
        assert bot.repo_manager.get_pinned_commits() == {"owner/pinned": first}
        assert "RepoPinned" in bot.plugin_manager.get_all_plugin_names()
    finally:
        bot.shutdown()
