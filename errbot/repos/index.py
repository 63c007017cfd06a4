"""The plugin index (BOT_PLUGIN_INDEXES): fetching, merging, looking up and searching.

An index is a JSON object ``{"owner/repo": {"PluginName": {"name": ..., "repo": <url>,
"path": ..., "documentation": ..., "python": ..., "avatar_url": ..., "score": ...}}}``. The
merged index is stored as one dict whose ``last_update`` key holds the time it was fetched
(where Errbot keeps it), so every other key is a repository.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from errbot.repos.errors import RepoIndexError

LAST_UPDATE = "last_update"
MAX_AGE = 3600  # seconds before search/install fetch the index again
TIMEOUT = 10
USER_AGENT = "Errbot"
WORDS = re.compile(r"\w[\w']*\w|\w")


@dataclass(frozen=True)
class IndexEntry:
    """One plugin of the index, under the repository key it was listed with."""

    entry_name: str  # the repository key, e.g. "errbotio/err-helloworld"
    name: str
    repo: str
    path: str = ""
    documentation: str = ""
    python: str = ""
    avatar_url: str = ""
    score: float | None = None


def sources_of(setting: Any) -> list[str]:
    """BOT_PLUGIN_INDEXES as a list: one URL or path, or several."""
    if not setting:
        return []
    if isinstance(setting, str):
        return [setting]
    return [str(s) for s in setting]


def _read(source: str) -> bytes:
    if "://" in source:
        import urllib.request  # only when fetching: start-up does not pay for ssl/http

        request = urllib.request.Request(source, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return response.read()
    with open(source, "rb") as handle:
        return handle.read()


def fetch_source(source: str) -> dict[str, Any]:
    """One index source, parsed; RepoIndexError saying which source failed and why."""
    try:
        raw = _read(source)
    except Exception as exc:  # network, HTTP status, missing file: all mean "not usable"
        raise RepoIndexError(f"Could not fetch the plugin index {source}: {exc}") from exc
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise RepoIndexError(f"The plugin index {source} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RepoIndexError(
            f"The plugin index {source} is not an index: a JSON object was expected."
        )
    return data


def fetch_index(sources: Iterable[str], now: float | None = None) -> dict[str, Any]:
    """The merged index of ``sources`` with its ``last_update`` time (``now``, default the
    current time).

    Sources are read last to first so the earlier ones win on a shared key. Any failure
    raises before anything is returned: the caller keeps its stored index.
    """
    merged: dict[str, Any] = {}
    for source in reversed(list(sources)):
        merged.update(fetch_source(source))
    merged[LAST_UPDATE] = now if now is not None else time.time()
    return merged


def is_stale(index: Mapping[str, Any] | None, now: float | None = None) -> bool:
    if not index:
        return True
    last = index.get(LAST_UPDATE)
    if not isinstance(last, (int, float)):
        return True
    return (now if now is not None else time.time()) - last > MAX_AGE


def _entry(entry_name: str, plugin: Mapping[str, Any]) -> IndexEntry:
    score = plugin.get("score")
    return IndexEntry(
        entry_name=entry_name,
        name=str(plugin.get("name", "")),
        repo=str(plugin.get("repo", "")),
        path=str(plugin.get("path", "")),
        documentation=str(plugin.get("documentation", "")),
        python=str(plugin.get("python", "")),
        avatar_url=str(plugin.get("avatar_url", "")),
        score=float(score) if isinstance(score, (int, float)) else None,
    )


def entries(index: Mapping[str, Any] | None) -> Iterator[tuple[IndexEntry, Mapping[str, Any]]]:
    """Every plugin of the index with its raw fields; malformed parts are skipped."""
    for entry_name, plugins in (index or {}).items():
        if entry_name == LAST_UPDATE or not isinstance(plugins, Mapping):
            continue
        for plugin in plugins.values():
            if isinstance(plugin, Mapping):
                yield _entry(str(entry_name), plugin), plugin


def find(index: Mapping[str, Any] | None, entry_name: str) -> list[IndexEntry] | None:
    """The plugins listed under ``entry_name``, or None when the index does not list it."""
    if entry_name == LAST_UPDATE:
        return None
    plugins = (index or {}).get(entry_name)
    if not isinstance(plugins, Mapping):
        return None
    found = [
        _entry(entry_name, plugin) for plugin in plugins.values() if isinstance(plugin, Mapping)
    ]
    return found or None


def words(text: str) -> set[str]:
    return set(WORDS.findall(text.lower()))


def search(index: Mapping[str, Any] | None, query: str) -> list[IndexEntry]:
    """Plugins sharing at least one word with ``query`` (any field, case-insensitive)."""
    wanted = words(query)
    if not wanted:
        return []
    found = []
    for entry, raw in entries(index):
        fields = " ".join([entry.entry_name, *(str(v) for v in raw.values())])
        if wanted & words(fields):
            found.append(entry)
    return found
