"""`RepoManager`: the plugin repositories installed in ``<BOT_DATA_DIR>/plugins``.

Storage (namespace "repomgr"), kept in Errbot's shapes so backups move both ways:

* ``installed_repos``: {name: url} of every installed repository (older Errbot backups hold
  a list of URLs, which is read too);
* ``installed_repos_commits``: {name: commit sha} checked out at install or last update. A
  separate key, because Errbot's backup scripts iterate ``installed_repos`` and pass each
  item to `install_repo`;
* ``repo_index``: the merged plugin index and its ``last_update`` time.

The repository manager fetches code and records it. Loading the plugins it brings, and
unloading them, is the plugin manager's job (see `errbot.core_plugins.repos`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from errbot.repos import git, index, requirements, tarball
from errbot.repos.errors import RepoException, RepoIndexError
from errbot.repos.names import (
    check_name,
    human_name_for_git_url,
    is_git_url,
    is_tarball,
    tarball_name,
)
from errbot.storage import StoreMixin
from errbot.urls import mask_credentials

log = logging.getLogger(__name__)

NAMESPACE = "repomgr"
INSTALLED_REPOS = "installed_repos"
REPO_COMMITS = "installed_repos_commits"
REPO_INDEX = "repo_index"
STAGING_PREFIX = ".installing-"  # hidden: plugin discovery skips dot folders


class RepoManager(StoreMixin):
    """Installs, updates and removes plugin repositories; keeps the plugin index."""

    def __init__(
        self, storage_plugin: Any, plugin_dir: str | os.PathLike[str] | None = None,
        bot_config: Any = None, clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage_plugin = storage_plugin
        # The index's age is measured with this: tests move it instead of waiting an hour.
        self.clock = clock
        self.plugin_dir = Path(plugin_dir) if plugin_dir is not None else None
        self.bot_config = bot_config
        # While a backup script runs, a failed install is logged and the restore goes on.
        self.restoring = False
        # What the last install did besides fetching code (dependencies installed), for chat.
        self.last_install_note: str | None = None
        self._lock = threading.RLock()
        self.open_storage(storage_plugin, NAMESPACE)

    # -- settings (read at each use, like the bot's other settings) -------------------------
    @property
    def plugin_indexes(self) -> list[str]:
        return index.sources_of(getattr(self.bot_config, "BOT_PLUGIN_INDEXES", None))

    @property
    def autoinstall_deps(self) -> bool:
        return bool(getattr(self.bot_config, "AUTOINSTALL_DEPS", True))

    # -- what is installed --------------------------------------------------------------------
    def get_installed_plugin_repos(self) -> dict[str, str]:
        """{name: url} of the installed repositories."""
        stored = self.get(INSTALLED_REPOS, {})
        if isinstance(stored, dict):
            return {str(k): str(v) for k, v in stored.items()}
        repos: dict[str, str] = {}
        for url in stored or ():  # Errbot's older list of URLs
            try:
                name = tarball_name(url) if is_tarball(url) else human_name_for_git_url(url)
            except RepoException:
                log.warning(
                    "Ignoring the stored repository %r: no usable name.", mask_credentials(url)
                )
                continue
            repos[name] = str(url)
        return repos

    def get_pinned_commits(self) -> dict[str, str]:
        """{name: sha} of the commit each installed git repository has checked out."""
        stored = self.get(REPO_COMMITS, {})
        return dict(stored) if isinstance(stored, dict) else {}

    def repo_path(self, name: str) -> Path:
        return self._require_plugin_dir() / check_name(name)

    def get_all_repos_paths(self) -> list[str]:
        if self.plugin_dir is None:
            return []
        paths = []
        for name in self.get_installed_plugin_repos():
            try:
                paths.append(str(self.repo_path(name)))
            except RepoException:
                log.warning("Ignoring the stored repository name %r.", name)
        return paths

    def _require_plugin_dir(self) -> Path:
        if self.plugin_dir is None:
            raise RepoException("This bot has no plugin directory to install repositories in.")
        return self.plugin_dir

    def _record(self, name: str, url: str | None, sha: str | None) -> None:
        repos = self.get_installed_plugin_repos()
        commits = self.get_pinned_commits()
        if url is None:
            repos.pop(name, None)
            commits.pop(name, None)
        else:
            repos[name] = url
            if sha:
                commits[name] = sha
            else:
                commits.pop(name, None)
        self[INSTALLED_REPOS] = repos
        self[REPO_COMMITS] = commits

    # -- the index ------------------------------------------------------------------------------
    def index_update(self) -> None:
        """Fetch and store the index; RepoIndexError (stored index unchanged) on any failure."""
        merged = index.fetch_index(self.plugin_indexes, now=self.clock())
        self[REPO_INDEX] = merged
        log.info("Plugin index updated: %d repositories.", len(merged) - 1)

    def check_for_index_update(self) -> str | None:
        """Refresh the index when older than an hour; the reason if that failed."""
        if not index.is_stale(self.get(REPO_INDEX), now=self.clock()):
            return None
        try:
            self.index_update()
        except RepoIndexError as exc:
            log.warning("%s", exc)
            return str(exc)
        return None

    def get_repo_from_index(
        self, name: str, stored: Mapping[str, Any] | None = None
    ) -> list[index.IndexEntry] | None:
        """The plugins the stored index (or ``stored``, read once by the caller) lists under
        ``name``, or None."""
        return index.find(self.get(REPO_INDEX) if stored is None else stored, name)

    def stored_index(self) -> Mapping[str, Any] | None:
        """The plugin index as last fetched (not refreshed here)."""
        return self.get(REPO_INDEX)

    def search_repos(self, query: str, refresh: bool = True) -> list[index.IndexEntry]:
        if refresh:
            self.check_for_index_update()
        return index.search(self.get(REPO_INDEX), query)

    # -- install ----------------------------------------------------------------------------------
    def install_repo(self, repo: str) -> str:
        """Install an index entry, a git URL or a ``.tar.gz`` URL; the installed folder.

        Nothing is left behind when it fails (RepoException). While restoring a backup, the
        failure is logged and its message returned instead, so the restore goes on.
        """
        try:
            with self._lock:
                return self._install(repo.strip())
        except Exception as exc:
            if not self.restoring:
                raise
            message = mask_credentials(f"Could not reinstall {repo}: {exc}")
            log.error("%s", message)
            return message

    def _resolve(self, source: str) -> tuple[str, str]:
        """(name, url) of what ``source`` designates."""
        if not source:
            raise RepoException("You should give an index name or the URL of a repository.")
        if self.restoring:
            # A backup lists names (and the URLs they came from): no index needed offline.
            url = self.get_installed_plugin_repos().get(source)
            if url:
                return check_name(source), url
        if is_tarball(source):
            return tarball_name(source), source
        if is_git_url(source):
            return human_name_for_git_url(source), source
        failure = self.check_for_index_update()
        found = self.get_repo_from_index(source)
        if found is None:
            if failure:
                raise RepoException(
                    f"{source} is not in the stored plugin index, which could not be "
                    f"refreshed: {failure}"
                )
            raise RepoException(
                f"{source} is not in the plugin index. Give the name of an index entry (see "
                "repos search) or the URL of a git repository or of a .tar.gz archive."
            )
        url = next((entry.repo for entry in found if entry.repo), "")
        if not url:
            raise RepoException(f"The index entry {source} has no repository URL.")
        return check_name(source), url

    def _install(self, source: str) -> str:
        plugin_dir = self._require_plugin_dir()
        name, url = self._resolve(source)
        target = plugin_dir / name
        self.last_install_note = None
        if target.exists():
            if self.restoring and name in self.get_installed_plugin_repos():
                return str(target)
            raise RepoException(
                f"{target} already exists: update it with repos update {name}, or uninstall "
                "it first."
            )
        made = _missing_parents(target, plugin_dir)
        plugin_dir.mkdir(parents=True, exist_ok=True)
        # The code is fetched and its requirements met in a hidden staging folder; the
        # target appears only when that all worked, so a failure leaves nothing behind.
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=plugin_dir))
        try:
            work = staging / "repo"
            sha = self._fetch(name, url, work, staging)
            self.last_install_note = requirements.satisfy(work, self.autoinstall_deps, target)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(work, target)
        except BaseException:
            _remove_empty(made)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._record(name, url, sha)
        log.info(
            "Repository %s installed from %s at %s.",
            name, mask_credentials(url), sha or "(archive)",
        )
        return str(target)

    def _fetch(self, name: str, url: str, work: Path, staging: Path) -> str | None:
        if is_tarball(url):
            tarball.extract(tarball.download(url, staging), work, url)
            return None
        sha = git.clone(url, work)
        pinned = self.get_pinned_commits().get(name) if self.restoring else None
        if pinned and pinned != sha:
            # Restore the code the backed-up bot was running, not whatever is newest.
            git.checkout(work, pinned)
            sha = pinned
        return sha

    # -- uninstall / update -----------------------------------------------------------------------
    def uninstall_repo(self, name: str) -> str:
        """Delete the folder of ``name`` and forget it; the folder removed."""
        with self._lock:
            if name not in self.get_installed_plugin_repos():
                raise RepoException(f"{name} is not an installed repository.")
            path = self.repo_path(name)
            shutil.rmtree(path, ignore_errors=True)
            _remove_empty([path.parent] if path.parent != self.plugin_dir else [])
            self._record(name, None, None)
            log.info("Repository %s uninstalled (%s removed).", name, path)
            return str(path)

    def update_repos(self, names: Iterable[str]) -> Iterator[tuple[str, bool, str]]:
        """Pull each repository ("all": every one); yield (folder, succeeded, feedback)."""
        installed = self.get_installed_plugin_repos()
        wanted = list(names)
        selected = list(installed) if "all" in wanted else wanted
        for name in selected:
            with self._lock:
                result = self._update(name, installed.get(name))
            # Yielded outside the lock: the caller reloads plugins before asking for more.
            yield result

    def _update(self, name: str, url: str | None) -> tuple[str, bool, str]:
        try:
            path = self.repo_path(name)
        except RepoException as exc:
            return name, False, str(exc)
        if url is None:
            return str(path), False, f"{name} is not an installed repository."
        if is_tarball(url):
            return str(path), False, (
                f"{name} was installed from an archive: uninstall it and install the new "
                "archive to update it."
            )
        try:
            old, new = git.pull(path, url)
        except RepoException as exc:
            return str(path), False, str(exc)
        self._record(name, url, new)
        feedback = (
            f"Already up to date at {new}." if old == new else f"Updated from {old} to {new}."
        )
        try:
            note = requirements.satisfy(path, self.autoinstall_deps)
        except RepoException as exc:
            return str(path), False, f"{feedback}\n\n{exc}"
        return str(path), True, f"{feedback}\n\n{note}" if note else feedback

    def shutdown(self) -> None:
        if self.is_open_storage():
            self.close_storage()


def _missing_parents(target: Path, root: Path) -> list[Path]:
    """The folders between ``root`` and ``target`` that do not exist yet, deepest first."""
    missing = []
    parent = target.parent
    while parent != root and root in parent.parents and not parent.exists():
        missing.append(parent)
        parent = parent.parent
    return missing


def _remove_empty(folders: Iterable[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (another repository of the same owner) or already gone
