"""requirements.txt of installed repositories: pip (from a local wheel, no network) or a
report of what is missing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from repos_support import (
    LocalServer,
    git_repo,
    plugin_dir,
    plugin_files,
    replies,
    started_bot,
    wheel,
)

from errbot.version import VERSION

DEPENDENT = {
    **plugin_files("RepoDependent", "repo_dependent", "tiny", "tinydep_for_errbot.VALUE",
                   body="import tinydep_for_errbot"),
    "requirements.txt": "# what the plugin needs\nerrbot-test-tinydep\n\n",
}
SATISFIED = {
    **plugin_files("RepoSatisfied", "repo_satisfied", "satisfied", "'dulwich is there'"),
    "requirements.txt": "dulwich>=0.1\n",
}
# As many plugins in the wild do: errbot itself in the requirements, pinned to another version.
PINNING = {
    **plugin_files("RepoPinning", "repo_pinning", "pinning", "tinydep_for_errbot.VALUE",
                   body="import tinydep_for_errbot"),
    "requirements.txt": "errbot==6.2.1  # the version the author had\nerrbot-test-tinydep\n"
                        "Errbot[slack]>=6\n",
}
UNAVAILABLE = {
    **plugin_files("RepoUnavailable", "repo_unavailable", "unavailable", "'never'"),
    "requirements.txt": "errbot-test-not-on-any-index\n",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    with LocalServer() as local:
        urls = {}
        for name, files in (("dependent", DEPENDENT), ("satisfied", SATISFIED),
                            ("unavailable", UNAVAILABLE), ("pinning", PINNING)):
            repo, _ = git_repo(tmp_path / name, files)
            urls[name] = local.add_repo(f"owner/{name}", repo)
        yield urls


@pytest.fixture
def local_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """pip configured (through its own environment variables) to install only from a local
    wheel folder, into a folder of this test that is put on sys.path."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel(wheels, "errbot-test-tinydep", "1.0",
          {"tinydep_for_errbot/__init__.py": "VALUE = 'tiny dependency 1.0'\n"})
    # An "errbot" on the index: pip would take it if a plugin's requirement reached it.
    wheel(wheels, "errbot", "6.2.1", {"errbot/__init__.py": "IMPOSTOR = True\n"})
    target = tmp_path / "site"
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv("PIP_TARGET", str(target))
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.syspath_prepend(str(target))
    yield target
    sys.modules.pop("tinydep_for_errbot", None)


def install(testbot: Any, url: str) -> list[str]:
    return replies(testbot, f"!repos install {url}", timeout=180,
                   until=("Plugins reloaded.", "Error installing the repo", "Removing "))


def test_autoinstall_runs_pip(server: dict[str, str], local_pip: Path) -> None:
    with started_bot(AUTOINSTALL_DEPS=True) as bot:
        seen = install(bot, server["dependent"])
        requirements = plugin_dir(bot) / "owner" / "dependent" / "requirements.txt"
        assert seen[1] == f"Dependencies of {requirements} installed."
        assert seen[-1] == "Plugins reloaded.", seen
        assert (local_pip / "tinydep_for_errbot" / "__init__.py").is_file()
        assert bot.exec_command("!tiny") == "tiny dependency 1.0"


def test_a_requirement_on_errbot_itself_is_left_out(server: dict[str, str],
                                                    local_pip: Path) -> None:
    with started_bot(AUTOINSTALL_DEPS=True) as bot:
        seen = install(bot, server["pinning"])
        assert seen[-1] == "Plugins reloaded.", seen
        requirements = plugin_dir(bot) / "owner" / "pinning" / "requirements.txt"
        assert seen[1] == (
            f"Dependencies of {requirements} installed.\nLeft out errbot==6.2.1, "
            f"Errbot[slack]>=6: this bot runs errbot {VERSION}, which pip must not replace."
        )
        assert bot.exec_command("!pinning") == "tiny dependency 1.0"
        # pip installed the other requirement, and nothing named errbot.
        assert (local_pip / "tinydep_for_errbot").is_dir()
        assert not (local_pip / "errbot").exists()
        assert not list(local_pip.glob("errbot-*.dist-info"))
        folder = plugin_dir(bot) / "owner" / "pinning"
        assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".req")) == []


def test_pip_failure_installs_nothing(server: dict[str, str], local_pip: Path) -> None:
    with started_bot(AUTOINSTALL_DEPS=True) as bot:
        seen = install(bot, server["unavailable"])
        requirements = plugin_dir(bot) / "owner" / "unavailable" / "requirements.txt"
        assert seen[-1].startswith(
            f"Error installing the repo: Could not install the dependencies of {requirements}:"
        )
        assert "errbot-test-not-on-any-index" in seen[-1]
        assert list(plugin_dir(bot).iterdir()) == []
        assert bot.bot.repo_manager.get_installed_plugin_repos() == {}


def test_missing_dependencies_are_reported(server: dict[str, str]) -> None:
    with started_bot(AUTOINSTALL_DEPS=False) as bot:
        seen = install(bot, server["dependent"])
        requirements = plugin_dir(bot) / "owner" / "dependent" / "requirements.txt"
        assert seen[-1] == (
            "Error installing the repo: You need these dependencies for "
            f"{requirements}: errbot-test-tinydep"
        )
        assert list(plugin_dir(bot).iterdir()) == []
        # Requirements already installed are fine.
        seen = install(bot, server["satisfied"])
        assert seen[-1] == "Plugins reloaded.", seen
        assert bot.exec_command("!satisfied") == "dulwich is there"
