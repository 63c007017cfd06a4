"""The plugin index: sources, merging, caching, failures, search (and ``!repos search``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from repos_support import LocalServer, started_bot

from errbot.repos import RepoManager
from errbot.repos.index import LAST_UPDATE, search
from errbot.storage.memory import MemoryStoragePlugin


def plugin(name: str, repo: str, doc: str) -> dict[str, Any]:
    return {"name": name, "repo": repo, "path": f"{name.lower()}.plug", "documentation": doc,
            "python": "3", "avatar_url": "", "score": 2.5}


FIRST = {
    "alice/err-weather": {"Weather": plugin("Weather", "https://example.invalid/a/w",
                                            "Forecasts for the team's city")},
    "shared/err-both": {"Both": plugin("Both", "https://example.invalid/first", "from first")},
}
SECOND = {
    "bob/err-jenkins": {"Jenkins": plugin("Jenkins", "https://example.invalid/b/j",
                                          "Start CI builds")},
    "shared/err-both": {"Both": plugin("Both", "https://example.invalid/second", "second")},
}


class Config:
    STORAGE_CONFIG: dict[str, Any] = {}
    BOT_PLUGIN_INDEXES: Any = ()
    AUTOINSTALL_DEPS = False


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as local:
        yield local


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[RepoManager]:
    config = Config()
    repo_manager = RepoManager(MemoryStoragePlugin(config), tmp_path / "plugins", config)
    yield repo_manager
    repo_manager.shutdown()


def test_sources_are_merged_earlier_ones_winning(manager: RepoManager, server: LocalServer,
                                                 tmp_path: Path) -> None:
    local_file = tmp_path / "second.json"
    local_file.write_text(json.dumps(SECOND))
    manager.bot_config.BOT_PLUGIN_INDEXES = (server.add_file("first.json", json.dumps(FIRST)),
                                             str(local_file))
    manager.index_update()
    stored = manager["repo_index"]
    assert set(stored) == {"alice/err-weather", "bob/err-jenkins", "shared/err-both",
                           LAST_UPDATE}
    assert abs(stored[LAST_UPDATE] - time.time()) < 60
    [both] = manager.get_repo_from_index("shared/err-both")
    assert both.repo == "https://example.invalid/first"
    assert both.score == 2.5
    assert manager.get_repo_from_index("nobody/nothing") is None
    assert server.user_agents == ["Errbot"]


def test_a_single_string_setting(manager: RepoManager, server: LocalServer) -> None:
    manager.bot_config.BOT_PLUGIN_INDEXES = server.add_file("first.json", json.dumps(FIRST))
    manager.index_update()
    assert manager.get_repo_from_index("alice/err-weather")


@pytest.mark.parametrize("bad", ["not json {", "[1, 2]", None])
def test_a_failing_source_keeps_the_stored_index(manager: RepoManager, server: LocalServer,
                                                 bad: str | None) -> None:
    good = server.add_file("first.json", json.dumps(FIRST))
    manager.bot_config.BOT_PLUGIN_INDEXES = (good,)
    manager.index_update()
    before = manager["repo_index"]
    broken = server.add_file("bad.json", bad) if bad is not None else f"{server.url}/files/gone"
    manager.bot_config.BOT_PLUGIN_INDEXES = (good, broken)
    manager["repo_index"] = {**before, LAST_UPDATE: 0}  # stale: the next search refreshes
    message = manager.check_for_index_update()
    assert message is not None and broken in message
    assert manager["repo_index"] == {**before, LAST_UPDATE: 0}
    # The stored index still answers.
    assert [e.entry_name for e in manager.search_repos("weather", refresh=False)] == [
        "alice/err-weather"]


class Clock:
    """A clock the test moves by hand: the index's hour passes without waiting."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_refreshed_only_when_older_than_an_hour(tmp_path: Path, server: LocalServer) -> None:
    config = Config()
    config.BOT_PLUGIN_INDEXES = server.add_file("first.json", json.dumps(FIRST))
    clock = Clock()
    manager = RepoManager(MemoryStoragePlugin(config), tmp_path / "plugins", config, clock=clock)
    try:
        manager.search_repos("weather")
        assert manager["repo_index"][LAST_UPDATE] == clock.now
        assert len(server.user_agents) == 1
        clock.now += 3600  # exactly one hour old: still fresh
        manager.search_repos("weather")
        assert manager.get_repo_from_index("alice/err-weather")
        assert len(server.user_agents) == 1
        # The index changes upstream; the stored one is used until it is an hour old.
        server.add_file("first.json", json.dumps(SECOND))
        clock.now += 1
        assert [e.entry_name for e in manager.search_repos("jenkins")] == ["bob/err-jenkins"]
        assert len(server.user_agents) == 2
        assert manager["repo_index"][LAST_UPDATE] == clock.now
    finally:
        manager.shutdown()


def test_search_words() -> None:
    index = {**FIRST, **SECOND, LAST_UPDATE: 1.0}

    def found(query: str) -> list[str]:
        return sorted(e.entry_name for e in search(index, query))

    assert found("WEATHER") == ["alice/err-weather"]
    assert found("team's") == ["alice/err-weather"]  # apostrophes stay inside a word
    assert found("ci forecasts") == ["alice/err-weather", "bob/err-jenkins"]
    assert found("weath") == []  # whole words only
    assert found("2.5") == ["alice/err-weather", "bob/err-jenkins", "shared/err-both"]
    assert found("...") == []


def test_malformed_stored_index_is_tolerated(manager: RepoManager) -> None:
    manager["repo_index"] = {"some": "index", "x": {"P": "not a dict"}, LAST_UPDATE: 1e12}
    assert manager.search_repos("index") == []
    assert manager.get_repo_from_index("some") is None


# -- from chat ----------------------------------------------------------------------------------
def test_repos_search_command(server: LocalServer) -> None:
    url = server.add_file("first.json", json.dumps(FIRST))
    with started_bot(BOT_PLUGIN_INDEXES=[url]) as bot:
        assert bot.exec_command("!repos search") == "Please specify a keyword."
        reply = bot.exec_command("!repos search weather")
        assert "alice/err-weather" in reply
        assert "Weather: Forecasts for the team's city" in reply
        assert "bob/err-jenkins" not in reply
        assert bot.exec_command("!repos search nothingmatches") == (
            "No repository of the plugin index matches nothingmatches."
        )


def test_repos_search_with_an_index_that_is_not_json(server: LocalServer) -> None:
    url = server.add_file("broken.json", "<html>not an index</html>")
    with started_bot(BOT_PLUGIN_INDEXES=url) as bot:
        reply = bot.exec_command("!repos search weather")
        assert reply.startswith(f"The plugin index {url} is not valid JSON")
        assert "The stored index was searched." in reply
        assert "repo_index" not in bot.bot.repo_manager
        seen = [bot.exec_command("!repos install alice/err-weather")]
        seen.append(bot.pop_message())
        assert seen[1].startswith("Error installing the repo: alice/err-weather is not in the "
                                  "stored plugin index, which could not be refreshed: The "
                                  f"plugin index {url} is not valid JSON")
