"""``!repos`` commands: plugin repositories from chat (mixed into the core plugin Plugins).

The repository manager (``bot.repo_manager``) fetches and records code; these commands then
load, activate, reload or unload the plugins that code brings, through the plugin manager.
Installing a repository runs its code with the bot's privileges, hence admin_only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from errbot import botcmd
from errbot.backends.base import Message
from errbot.plugin_info import PluginDescriptorError, PluginInfo, find_descriptors
from errbot.plugin_manager import PluginActivationException, located_under
from errbot.rendering import md_escape
from errbot.repos import RepoException
from errbot.repos.pip_plugins import pip_plugins
from errbot.urls import mask_credentials

SHORT_SHA = 7


def _cell(text: str) -> str:
    """Text for one Markdown table cell: a "|" or a line break would end it."""
    return " ".join(text.split()).replace("|", "\\|")


def _holds_plugins(path: str) -> bool:
    return any(True for suffix in (".plug", ".flow") for _ in find_descriptors([path], suffix))


def _shadowed(manager: Any, path: str) -> list[str]:
    """Errors for the plugins under ``path`` that did not load because a plugin of the same
    name is already loaded from elsewhere (the manager only logs a warning for those): an
    install reporting success while its plugin never runs would mislead the admin."""
    errors = []
    for descriptor in find_descriptors([path], ".plug"):
        try:
            info = PluginInfo.load(descriptor)
        except PluginDescriptorError:
            continue  # already reported by the manager as a load error
        known = manager.plugin_infos.get(info.name)
        if known is not None and known.location is not None and not located_under(
                str(known.location), path):
            errors.append(f"{descriptor}: a plugin named {info.name} is already loaded from "
                          f"{known.location}")
    return errors


class RepoCommands:
    """The ``!repos`` commands; the class using it must be a BotPlugin."""

    _bot: Any

    @property
    def _repo_manager(self) -> Any:
        return self._bot.repo_manager

    # -- listing ---------------------------------------------------------------------------
    @botcmd(template="repos")
    def repos(self, _: Message, args: str) -> dict[str, Any]:
        """List the installed plugin repositories and the commit each one runs."""
        repo_manager = self._repo_manager
        commits = repo_manager.get_pinned_commits()
        stored = repo_manager.stored_index() or {}  # one storage read, not one per repo
        rows = []
        for name in sorted(repo_manager.get_installed_plugin_repos()):
            from_index = repo_manager.get_repo_from_index(name, stored)
            if from_index:
                description = ", ".join(f"{e.name}: {e.documentation}" for e in from_index)
            else:
                description = self._loaded_plugins(name) or "No description."
            sha = commits.get(name)
            shown = f"{name} @ {sha[:SHORT_SHA]}" if sha else name
            rows.append(("I" if from_index else "IP", _cell(shown), _cell(description)))
        for plugin in pip_plugins():
            shown = f"{plugin.distribution} (pip {plugin.version})"
            rows.append(("IP", _cell(shown), _cell(plugin.summary or "Installed with pip.")))
        return {"repos": rows}

    def _loaded_plugins(self, name: str) -> str:
        try:
            path = self._repo_manager.repo_path(name)
        except RepoException:
            return ""
        plugins = self._bot.plugin_manager.get_plugins_by_path(str(path))
        return ", ".join(sorted(p.name for p in plugins))

    @botcmd(template="repos_search")
    def repos_search(self, _: Message, args: str) -> str | dict[str, Any]:
        """Search the plugin index, for example: !repos search jenkins"""
        query = args.strip()
        if not query:
            return "Please specify a keyword."
        repo_manager = self._repo_manager
        warning = repo_manager.check_for_index_update()
        installed = repo_manager.get_installed_plugin_repos()
        rows = [
            (
                "I" if entry.entry_name in installed else "",
                _cell(entry.entry_name),
                _cell(f"{entry.name}: {entry.documentation}"),
            )
            for entry in repo_manager.search_repos(query, refresh=False)
        ]
        return {"repos": rows, "warning": warning, "query": query}

    # -- install -------------------------------------------------------------------------------
    @botcmd(admin_only=True, historize=False)
    def repos_install(self, _: Message, args: str) -> Iterator[str]:
        """Install a plugin repository: an index name, a git URL or a .tar.gz URL.

        For example: !repos install errbotio/err-helloworld
        Installing a repository runs its code with the bot's privileges.
        """
        source = args.strip()
        if not source:
            yield (
                'Please specify a repository listed in "!repos" or "give me the URL to a git '
                'repository that I should clone for you."'
            )
            return
        yield f"Installing {mask_credentials(source)}..."
        repo_manager = self._repo_manager
        try:
            path = repo_manager.install_repo(source)
        except Exception as exc:  # RepoException, or a disk error: the staging is gone either way
            yield f"Error installing the repo: {mask_credentials(str(exc))}"
            return
        if repo_manager.last_install_note:
            yield repo_manager.last_install_note
        if not _holds_plugins(path):
            # A wrong URL (a library, a fork of something else) would otherwise "install
            # correctly" and bring nothing: say so and take it away.
            self._remove_repo(path)
            yield (f"Error installing the repo: {source} holds no plugin (no .plug or .flow "
                   "file in it); nothing was installed.")
            return
        errors = self._load_repo(path)
        if errors:
            yield f"Some plugins are generating errors:\n{errors}."
            self._remove_repo(path)
            yield f"Removing {md_escape(str(path))} as it did not load correctly."
            return
        shown = mask_credentials(source)
        yield (
            f"A new plugin repository has been installed correctly from {shown}. "
            "Refreshing the plugins commands..."
        )
        yield from self._activate_repo(path, before=set())
        yield "Plugins reloaded."

    def _load_repo(self, path: str) -> str:
        """Load the plugins under ``path``; the load errors of that folder ("" if none)."""
        manager = self._bot.plugin_manager
        errors = manager.update_plugin_places([path])
        # Plugins elsewhere that already failed at start-up are retried and fail again: they
        # say nothing about this repository.
        found = [
            f"{where}: {error}" for where, error in errors.items() if located_under(where, path)
        ]
        found += _shadowed(manager, path)
        return "\n".join(found)

    def _remove_repo(self, path: str) -> None:
        self._bot.plugin_manager.remove_plugins_from_path(path)
        name = Path(path).relative_to(self._repo_manager.plugin_dir).as_posix()
        self._repo_manager.uninstall_repo(name)

    def _activate_repo(self, path: str, before: set[str]) -> Iterator[str]:
        """Activate the plugins under ``path`` not in ``before`` (except blacklisted ones)."""
        manager = self._bot.plugin_manager
        for plugin in manager.get_plugins_by_path(path):
            if plugin.name in before or plugin.is_activated:
                continue
            if manager.is_plugin_blacklisted(plugin.name):
                yield (f'Notice: {plugin.name} is blacklisted, use "{self._bot.prefix}plugin '
                       f'unblacklist {plugin.name}" to unblacklist it.')
                continue
            try:
                manager.activate_plugin(plugin.name)
            except PluginActivationException as exc:
                yield f"Error: {plugin.name} failed to activate: {exc}"
        yield from manager.activate_flows()

    # -- uninstall / update ----------------------------------------------------------------
    @botcmd(admin_only=True)
    def repos_uninstall(self, _: Message, args: str) -> str:
        """Remove a plugin repository and its plugins: !repos uninstall owner/repo"""
        name = args.strip()
        if not name:
            return "You should have a repo name as argument"
        repo_manager = self._repo_manager
        if name not in repo_manager.get_installed_plugin_repos():
            return (f"This repo is not installed check with {self._bot.prefix}repos the list "
                    "of installed ones")
        try:
            path = repo_manager.repo_path(name)
            self._bot.plugin_manager.remove_plugins_from_path(str(path))
            repo_manager.uninstall_repo(name)
        except RepoException as exc:
            return f"Error removing the repo: {exc}"
        return f"Repo {name} removed."

    @botcmd(admin_only=True, split_args_with=" ")
    def repos_update(self, _: Message, args: list[str]) -> Iterator[str]:
        """Update plugin repositories from their origin and reload their plugins.

        !repos update all, or !repos update owner/repo [owner/other ...]
        """
        names = [a for a in args if a]
        if not names:
            yield (f"Please tell me which repositories to update: {self._bot.prefix}repos "
                   "update all, or their names.")
            return
        yield "Start updating ... "
        for path, succeeded, feedback in self._repo_manager.update_repos(names):
            if not succeeded:
                yield f"Update of {md_escape(str(path))} failed...\n\n{feedback}"
                continue
            yield f"Update of {md_escape(str(path))} succeeded...\n\n{feedback}\n\n"
            yield from self._reload_repo(path)
        yield "Done."

    def _reload_repo(self, path: str) -> Iterator[str]:
        """Reload the active plugins of ``path`` with the new code; load plugins it added."""
        manager = self._bot.plugin_manager
        known = {p.name for p in manager.get_plugins_by_path(path)}
        for plugin in manager.get_plugins_by_path(path):
            if not plugin.is_activated:
                continue
            yield f"/me is reloading plugin {plugin.name}"
            try:
                manager.reload_plugin_by_name(plugin.name)
            except PluginActivationException as exc:
                yield f"Error reactivating plugin {plugin.name}: {exc}"
                continue
            yield f"Plugin {plugin.name} reloaded."
        errors = self._load_repo(path)
        if errors:
            yield f"Some plugins are generating errors:\n{errors}."
        yield from self._activate_repo(path, before=known)
