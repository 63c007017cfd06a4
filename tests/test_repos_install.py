"""``!repos install`` / ``!repos`` / ``!repos uninstall`` against real git repositories and
archives served on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from repos_support import (
    DENIED,
    LocalServer,
    as_user,
    git_repo,
    plugin_dir,
    plugin_files,
    replies,
    started_bot,
    tarball,
)

GOOD = plugin_files("RepoHello", "repo_hello", "repohello", "'hello from a repo'")
BROKEN = plugin_files("RepoBroken", "repo_broken", "repobroken", "'never'",
                      body="import a_module_that_does_not_exist_anywhere")
TARRED = plugin_files("RepoTarred", "repo_tarred", "repotarred", "'hello from an archive'")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("repos")
    with LocalServer() as local:
        good, good_sha = git_repo(root / "good", GOOD)
        broken, _ = git_repo(root / "broken", BROKEN)
        # A library rather than a plugin, and plugins named like one the bot already runs.
        empty, _ = git_repo(root / "empty", {"README.md": "not a plugin\n", "lib.py": ""})
        twin, _ = git_repo(root / "twin", GOOD)
        core_twin, _ = git_repo(root / "core_twin", plugin_files("Help", "my_help", "myhelp",
                                                                 "'my own help'"))
        urls = {
            "good": local.add_repo("owner/good", good),
            "good_sha": good_sha,
            "broken": local.add_repo("owner/broken", broken),
            "empty": local.add_repo("owner/empty", empty),
            "twin": local.add_repo("other/good", twin),
            "core_twin": local.add_repo("owner/help", core_twin),
            "missing": f"{local.url}/git/owner/missing.git",
            "tarred": local.add_file("err-tarred.tar.gz", tarball(
                {f"err-tarred-main/{k}": v for k, v in TARRED.items()})),
            "flat": local.add_file("flat.tar.gz", tarball(TARRED)),
            "not_a_tarball": local.add_file("fake.tar.gz", "just some text, not gzip\n"),
            "dotdot": local.add_file("dotdot.tar.gz", tarball(
                {**TARRED, "../escaped.py": "print('out')\n"})),
            "absolute": local.add_file("absolute.tar.gz", tarball(
                {**TARRED, "/tmp/absolute-escape.py": "print('out')\n"})),
            "symlink": local.add_file("symlink.tar.gz", tarball(
                TARRED, links={"escape": "../../../.."})),
        }
        index = {"owner/good": {"RepoHello": {
            "name": "RepoHello", "repo": urls["good"], "path": "repo_hello.plug",
            "documentation": "says hello from a repository", "python": "3",
            "avatar_url": "", "score": 1.0}}}
        urls["index"] = local.add_file("index.json", json.dumps(index))
        urls["local"] = local
        yield urls


@pytest.fixture
def bot(server: dict[str, Any]) -> Iterator[Any]:
    with started_bot(BOT_PLUGIN_INDEXES=server["index"]) as testbot:
        yield testbot


def install(testbot: Any, source: str) -> list[str]:
    """The replies of ``!repos install``, up to the last one."""
    return replies(testbot, f"!repos install {source}",
                   until=("Plugins reloaded.", "Error installing the repo", "Removing "))


def finished_with(testbot: Any, source: str, last: str) -> list[str]:
    seen = install(testbot, source)
    assert seen[-1].startswith(last), seen
    return seen


def leftovers(testbot: Any) -> list[str]:
    """What the plugin folder holds besides nothing (hidden staging folders included)."""
    return sorted(p.name for p in plugin_dir(testbot).iterdir())


# -- success --------------------------------------------------------------------------------
def test_install_by_index_name(bot: Any, server: dict[str, Any]) -> None:
    seen = finished_with(bot, "owner/good", "Plugins reloaded.")
    assert seen == [
        "Installing owner/good...",
        "A new plugin repository has been installed correctly from owner/good. "
        "Refreshing the plugins commands...",
        "Plugins reloaded.",
    ]
    assert (plugin_dir(bot) / "owner" / "good" / "repo_hello.plug").is_file()
    assert bot.exec_command("!repohello") == "hello from a repo"
    repo_manager = bot.bot.repo_manager
    assert repo_manager["installed_repos"] == {"owner/good": server["good"]}
    assert repo_manager["installed_repos_commits"] == {"owner/good": server["good_sha"]}
    listing = bot.exec_command("!repos")
    short = server["good_sha"][:7]
    assert f"owner/good @ {short}" in listing
    assert "RepoHello: says hello from a repository" in listing
    assert "Status" in listing and "Description" in listing
    # In the index: installed, not private.
    row = next(line for line in listing.splitlines() if "owner/good" in line)
    assert "IP" not in row and "I" in row


def test_install_by_git_url_is_private(bot: Any, server: dict[str, Any]) -> None:
    finished_with(bot, server["good"], "Plugins reloaded.")
    assert bot.exec_command("!repohello") == "hello from a repo"
    assert (plugin_dir(bot) / "owner" / "good").is_dir()
    row = next(line for line in bot.exec_command("!repos").splitlines() if "owner/good" in line)
    assert "IP" in row and "RepoHello" in row  # not from the index: its plugins are named


def test_install_from_archive(bot: Any, server: dict[str, Any]) -> None:
    finished_with(bot, server["tarred"], "Plugins reloaded.")
    # The single top folder of the archive is unwrapped into plugins/<archive name>.
    assert (plugin_dir(bot) / "err-tarred" / "repo_tarred.plug").is_file()
    assert bot.exec_command("!repotarred") == "hello from an archive"
    assert bot.bot.repo_manager.get_installed_plugin_repos() == {"err-tarred": server["tarred"]}
    listing = bot.exec_command("!repos")
    assert "err-tarred" in listing and "err-tarred @" not in listing  # no commit to show


def test_flat_archive(bot: Any, server: dict[str, Any]) -> None:
    finished_with(bot, server["flat"], "Plugins reloaded.")
    assert (plugin_dir(bot) / "flat" / "repo_tarred.plug").is_file()


def test_uninstall_removes_commands_and_folder(bot: Any, server: dict[str, Any]) -> None:
    finished_with(bot, server["good"], "Plugins reloaded.")
    assert bot.exec_command("!repos uninstall owner/good") == "Repo owner/good removed."
    assert "not found" in bot.exec_command("!repohello")
    assert not (plugin_dir(bot) / "owner").exists()
    assert "RepoHello" not in bot.bot.plugin_manager.get_all_plugin_names()
    assert bot.bot.repo_manager.get_installed_plugin_repos() == {}
    here = str(plugin_dir(bot))
    assert not [p for p in sys.path if p.startswith(here)]
    # It can come back.
    finished_with(bot, server["good"], "Plugins reloaded.")
    assert bot.exec_command("!repohello") == "hello from a repo"


def test_uninstall_errors(bot: Any) -> None:
    assert bot.exec_command("!repos uninstall") == "You should have a repo name as argument"
    assert bot.exec_command("!repos uninstall owner/nothing") == (
        "This repo is not installed check with !repos the list of installed ones"
    )


# -- failures leave nothing behind ------------------------------------------------------------
def test_no_argument(bot: Any) -> None:
    assert bot.exec_command("!repos install") == (
        'Please specify a repository listed in "!repos" or "give me the URL to a git '
        'repository that I should clone for you."'
    )


def test_unknown_index_name(bot: Any) -> None:
    seen = finished_with(bot, "owner/unknown", "Error installing the repo")
    assert "owner/unknown is not in the plugin index" in seen[-1]
    assert leftovers(bot) == []


def test_git_url_that_does_not_exist(bot: Any, server: dict[str, Any]) -> None:
    seen = finished_with(bot, server["missing"], "Error installing the repo")
    # The test backend renders the Markdown: "---" becomes a rule.
    assert seen[-1].startswith("Error installing the repo: Could not load this plugin:")
    assert server["missing"] in seen[-1]
    assert "there is no git repository at this address" in seen[-1]
    assert leftovers(bot) == []
    assert bot.bot.repo_manager.get_installed_plugin_repos() == {}


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("not_a_tarball", "is not a valid .tar.gz archive"),
        ("dotdot", "a path leaving its folder (../escaped.py); refused."),
        ("absolute", "an absolute path (/tmp/absolute-escape.py); refused."),
        ("symlink", "a link (escape -> ../../../..); refused."),
    ],
)
def test_bad_archives(bot: Any, server: dict[str, Any], key: str, reason: str) -> None:
    seen = finished_with(bot, server[key], "Error installing the repo")
    assert reason in seen[-1]
    assert leftovers(bot) == []
    data_dir = plugin_dir(bot).parent
    assert not (data_dir / "escaped.py").exists()
    assert not Path("/tmp/absolute-escape.py").exists()
    assert "not found" in bot.exec_command("!repotarred")


def test_failing_import_is_removed(bot: Any, server: dict[str, Any]) -> None:
    seen = finished_with(bot, server["broken"], "Removing ")
    folder = plugin_dir(bot) / "owner" / "broken"
    assert seen[0] == f"Installing {server['broken']}..."
    assert seen[1].startswith("Some plugins are generating errors:\n")
    assert "a_module_that_does_not_exist_anywhere" in seen[1]
    assert seen[-1] == f"Removing {folder} as it did not load correctly."
    assert leftovers(bot) == []
    assert bot.bot.repo_manager.get_installed_plugin_repos() == {}
    # The bot and its other plugins are fine, and a good repository still installs.
    assert bot.exec_command("!echo still here") == "still here"
    finished_with(bot, server["good"], "Plugins reloaded.")
    assert bot.exec_command("!repohello") == "hello from a repo"


def test_a_repository_without_plugins_is_refused(bot: Any, server: dict[str, Any]) -> None:
    seen = finished_with(bot, server["empty"], "Error installing the repo")
    assert seen[-1] == (f"Error installing the repo: {server['empty']} holds no plugin (no "
                        ".plug or .flow file in it); nothing was installed.")
    assert leftovers(bot) == []
    assert bot.bot.repo_manager.get_installed_plugin_repos() == {}


def test_a_plugin_named_like_a_loaded_one_is_refused(bot: Any, server: dict[str, Any]) -> None:
    finished_with(bot, server["good"], "Plugins reloaded.")
    seen = finished_with(bot, server["twin"], "Removing ")
    assert "a plugin named RepoHello is already loaded from " in seen[1]
    assert str(plugin_dir(bot) / "owner" / "good" / "repo_hello.plug") in seen[1]
    assert not (plugin_dir(bot) / "other").exists()
    # The first one is untouched.
    assert bot.exec_command("!repohello") == "hello from a repo"
    seen = finished_with(bot, server["core_twin"], "Removing ")
    assert "a plugin named Help is already loaded from " in seen[1]
    assert "not found" in bot.exec_command("!myhelp")
    assert "All commands" in bot.exec_command("!help")
    assert sorted(bot.bot.repo_manager.get_installed_plugin_repos()) == ["owner/good"]


def test_installing_twice_is_refused(bot: Any, server: dict[str, Any]) -> None:
    finished_with(bot, server["good"], "Plugins reloaded.")
    seen = finished_with(bot, "owner/good", "Error installing the repo")
    assert "already exists" in seen[-1]
    assert bot.exec_command("!repohello") == "hello from a repo"


# -- permissions ------------------------------------------------------------------------------
def test_non_admins_are_refused(bot: Any, server: dict[str, Any]) -> None:
    finished_with(bot, server["good"], "Plugins reloaded.")
    as_user(bot, "joe@localhost")
    for command in (f"!repos install {server['tarred']}", "!repos uninstall owner/good",
                    "!repos update all"):
        assert DENIED in bot.exec_command(command), command
    assert "owner/good" in bot.exec_command("!repos")  # listing is for everyone
    searched = bot.exec_command("!repos search hello")
    assert DENIED not in searched and "owner/good" in searched
    assert bot.exec_command("!repohello") == "hello from a repo"
    assert not (plugin_dir(bot) / "err-tarred").exists()


# -- plugins installed with pip -----------------------------------------------------------------
def test_pip_installed_plugins_are_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    site = tmp_path / "site"
    package = site / "errbot_test_pipplugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name, text in plugin_files("PipPlugged", "pip_plugged", "pipplugged", "'from pip'").items():
        (package / name).write_text(text)
    info = site / "errbot_test_pipplugin-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: errbot-test-pipplugin\nVersion: 0.3\n"
        "Summary: A plugin shipped as a distribution\n")
    (info / "entry_points.txt").write_text("[errbot.plugins]\npipplugged = errbot_test_pipplugin\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    with started_bot() as testbot:
        assert testbot.exec_command("!pipplugged") == "from pip"
        listing = testbot.exec_command("!repos")
        row = next(line for line in listing.splitlines() if "errbot-test-pipplugin" in line)
        assert "(pip 0.3)" in row and "A plugin shipped as a distribution" in row


def test_listing_without_repositories(bot: Any) -> None:
    assert bot.exec_command("!repos") == "No plugin repository is installed."


def _with_credentials(url: str, userinfo: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{userinfo}@{rest}"


def test_credentials_in_urls_stay_out_of_chat_and_logs(
    bot: Any, server: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A private repository is often given as https://user:TOKEN@host/... or https://TOKEN@host/...
    failing = _with_credentials(server["missing"], "deploy:s3cr3t-pass")
    seen = finished_with(bot, failing, "Error installing the repo")
    working = _with_credentials(server["good"], "ghp_s3cr3tTOKEN")
    seen += finished_with(bot, working, "Plugins reloaded.")
    assert bot.exec_command("!repohello") == "hello from a repo"
    text = "\n".join(seen)
    assert "deploy:***@" in text and "***@" in text
    log_text = caplog.text
    assert "installed from http://***@" in log_text  # the log does name the source
    for secret in ("s3cr3t-pass", "ghp_s3cr3tTOKEN"):
        assert secret not in text
        assert secret not in log_text
        assert secret not in bot.exec_command("!history")
    # The stored URL keeps the token: updates need it.
    assert working in bot.bot.repo_manager.get_installed_plugin_repos().values()
