"""``!repos update``: pulling new commits through dulwich and reloading the plugins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from repos_support import (
    LocalServer,
    commit,
    git_repo,
    plugin_dir,
    plugin_files,
    replies,
    started_bot,
    tarball,
)

V1 = plugin_files("RepoMoving", "repo_moving", "moving", "'version 1'")
V2 = plugin_files("RepoMoving", "repo_moving", "moving", "'version 2'")
EXTRA = plugin_files("RepoExtra", "repo_extra", "extra", "'an extra plugin'")


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as local:
        yield local


@pytest.fixture
def bot() -> Iterator[Any]:
    with started_bot() as testbot:
        yield testbot


def install(testbot: Any, url: str) -> None:
    seen = replies(testbot, f"!repos install {url}",
                   until=("Plugins reloaded.", "Error", "Removing"))
    assert seen[-1] == "Plugins reloaded.", seen


def update(testbot: Any, args: str) -> list[str]:
    return replies(testbot, f"!repos update {args}", until="Done.")


def test_update_from_a_to_b_reloads(bot: Any, server: LocalServer, tmp_path: Path) -> None:
    repo, first = git_repo(tmp_path / "moving", V1)
    url = server.add_repo("owner/moving", repo)
    install(bot, url)
    assert bot.exec_command("!moving") == "version 1"
    second = commit(repo, V2, "version 2")

    seen = update(bot, "owner/moving")
    folder = plugin_dir(bot) / "owner" / "moving"
    assert seen[0] == "Start updating ..."  # the renderer drops the trailing space
    assert seen[1].startswith(f"Update of {folder} succeeded...")
    assert f"Updated from {first} to {second}." in seen[1]
    assert seen[2:] == [
        "/me is reloading plugin RepoMoving",
        "Plugin RepoMoving reloaded.",
        "Done.",
    ]
    assert bot.exec_command("!moving") == "version 2"
    assert bot.bot.repo_manager.get_pinned_commits() == {"owner/moving": second}
    assert f"owner/moving @ {second[:7]}" in bot.exec_command("!repos")

    # Nothing new: reported, still a success.
    seen = update(bot, "all")
    assert f"Already up to date at {second}." in seen[1]


def test_update_adds_new_plugins(bot: Any, server: LocalServer, tmp_path: Path) -> None:
    repo, _ = git_repo(tmp_path / "moving", V1)
    install(bot, server.add_repo("owner/moving", repo))
    commit(repo, {f"extra/{k}": v for k, v in EXTRA.items()}, "a second plugin")
    seen = update(bot, "all")
    assert "Plugin RepoMoving reloaded." in seen
    assert bot.exec_command("!extra") == "an extra plugin"


def test_a_deactivated_plugin_is_not_restarted(bot: Any, server: LocalServer,
                                               tmp_path: Path) -> None:
    repo, _ = git_repo(tmp_path / "moving", V1)
    install(bot, server.add_repo("owner/moving", repo))
    bot.exec_command("!plugin deactivate RepoMoving")
    commit(repo, V2)
    seen = update(bot, "owner/moving")
    assert "/me is reloading plugin RepoMoving" not in seen
    assert seen[-1] == "Done."
    assert "not found" in bot.exec_command("!moving")


def test_update_failures(bot: Any, server: LocalServer) -> None:
    # Underscores in the path would be Markdown emphasis: the reply must show the path as is.
    archive = server.add_file("err-_arch_-plugin.tar.gz", tarball(V1))
    install(bot, archive)
    seen = update(bot, "err-_arch_-plugin owner/none")
    assert seen[1].startswith(f"Update of {plugin_dir(bot) / 'err-_arch_-plugin'} failed...")
    assert "installed from an archive" in seen[1]
    assert seen[2].startswith(f"Update of {plugin_dir(bot) / 'owner' / 'none'} failed...")
    assert "owner/none is not an installed repository." in seen[2]
    assert seen[3] == "Done."
    assert bot.exec_command("!moving") == "version 1"


def test_update_when_the_origin_is_gone(bot: Any, server: LocalServer, tmp_path: Path) -> None:
    repo, _ = git_repo(tmp_path / "moving", V1)
    install(bot, server.add_repo("owner/moving", repo))
    del server.repos["/owner/moving.git"]
    seen = update(bot, "all")
    assert "failed..." in seen[1] and "git pull failed" in seen[1]
    assert bot.exec_command("!moving") == "version 1"


def test_update_without_names(bot: Any) -> None:
    assert bot.exec_command("!repos update") == (
        "Please tell me which repositories to update: !repos update all, or their names."
    )
