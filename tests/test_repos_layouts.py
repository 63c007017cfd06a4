"""``!repos install`` of repository layouts found in the wild, then a restart.

Plugin repositories on GitHub come as: the ``.plug`` at the root, the plugin in a sub-folder
(next to a README, docs, tests), several plugins in one repository, or a forge's archive of a
branch (``/owner/repo/archive/refs/heads/main.tar.gz``). Each must be usable at once, appear in
``!help``, and still be there when a new bot starts on the same BOT_DATA_DIR with SQLite
storage (a real restart, not the in-memory storage of the harness).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from repos_support import LocalServer, git_repo, plugin_files, replies, started_bot, tarball


def _under(folder: str, files: dict[str, str]) -> dict[str, str]:
    return {f"{folder}/{name}": text for name, text in files.items()}


ROOT = {**plugin_files("WildRoot", "wild_root", "wildroot", "'root ok'"),
        "README.md": "# err-wild-root\n"}
SUB = {**_under("wild_sub", plugin_files("WildSub", "wild_sub", "wildsub", "'sub ok'")),
       "README.md": "# err-wild-sub\n", "docs/index.md": "docs\n"}
MULTI = {**_under("one", plugin_files("WildOne", "wild_one", "wildone", "'one ok'")),
         **_under("two", plugin_files("WildTwo", "wild_two", "wildtwo", "'two ok'"))}
FORGE = plugin_files("WildForge", "wild_forge", "wildforge", "'forge ok'")

COMMANDS = {"!wildroot": "root ok", "!wildsub": "sub ok", "!wildone": "one ok",
            "!wildtwo": "two ok", "!wildforge": "forge ok"}
PLUGINS = ("WildRoot", "WildSub", "WildOne", "WildTwo", "WildForge")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("wild")
    with LocalServer() as local:
        urls = {}
        for key, owner, files in (("root", "alice/err-wild-root", ROOT),
                                  ("sub", "bob/err-wild-sub", SUB),
                                  ("multi", "carol/err-wild-multi", MULTI)):
            repo, _ = git_repo(root / key, files)
            urls[key] = local.add_repo(owner, repo)
        urls["forge"] = local.add_file(
            "dave/err-wild-forge/archive/refs/heads/main.tar.gz",
            tarball(_under("err-wild-forge-main", FORGE)),
        )
        yield urls


def install(testbot: Any, source: str) -> list[str]:
    return replies(testbot, f"!repos install {source}",
                   until=("Plugins reloaded.", "Error installing the repo", "Removing "))


def test_wild_layouts_install_work_at_once_and_survive_a_restart(
        sources: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config = {"BOT_DATA_DIR": str(data), "STORAGE": "SQLite"}
    with started_bot(**config) as testbot:
        for source in sources.values():
            assert install(testbot, source)[-1] == "Plugins reloaded.", source
        for command, answer in COMMANDS.items():
            assert testbot.exec_command(command) == answer
        help_text = testbot.exec_command("!help")
        for name in PLUGINS:
            assert name in help_text
        assert "The WildSub test plugin." in help_text
        installed = testbot.bot.repo_manager.get_installed_plugin_repos()
        # The forge archive is named after its repository, not after its branch ("main").
        assert sorted(installed) == ["alice/err-wild-root", "bob/err-wild-sub",
                                     "carol/err-wild-multi", "dave/err-wild-forge"]
    assert (data / "plugins" / "dave" / "err-wild-forge" / "wild_forge.plug").is_file()

    with started_bot(**config) as restarted:
        for command, answer in COMMANDS.items():
            assert restarted.exec_command(command) == answer
        listing = restarted.exec_command("!repos")
        for name in ("alice/err-wild-root @", "carol/err-wild-multi @", "dave/err-wild-forge"):
            assert name in listing
        status = restarted.exec_command("!status plugins")
        for name in PLUGINS:
            assert re.search(rf"\bA\s+│ {name}\b", status), status
        assert restarted.exec_command("!repos uninstall carol/err-wild-multi") == (
            "Repo carol/err-wild-multi removed.")
        assert "WildOne" not in restarted.exec_command("!help")


def test_two_forge_archives_of_main_do_not_clash(tmp_path: Path) -> None:
    other = plugin_files("WildOther", "wild_other", "wildother", "'other ok'")
    with LocalServer() as local:
        first = local.add_file("erin/err-a/archive/refs/heads/main.tar.gz",
                               tarball(_under("err-a-main", FORGE)))
        second = local.add_file("frank/err-b/archive/refs/heads/main.tar.gz",
                                tarball(_under("err-b-main", other)))
        with started_bot() as testbot:
            assert install(testbot, first)[-1] == "Plugins reloaded."
            assert install(testbot, second)[-1] == "Plugins reloaded."
            assert testbot.exec_command("!wildother") == "other ok"
            assert testbot.exec_command("!wildforge") == "forge ok"
