"""Backup, restore and the storage command-line tools.

* `write_backup` produces the Errbot backup script (``!backup``): Python code that, executed
  by ``errbot --restore`` with the globals ``bot`` and ``log``, stores every value back.
  Files written by Errbot 6.x use the same form and restore here too.
* `restore_command` is ``errbot -r/--restore [FILE]``.
* `storage_command` is ``errbot --storage-get/--storage-set/--storage-merge NS`` and
  ``--storage-list``.
* `RepoManager` (from `errbot.repos`, re-exported here) is the repository manager backup
  scripts drive through ``bot.repo_manager`` (namespace "repomgr").
"""

from __future__ import annotations

import ast
import logging
import os
import sys
from typing import Any

from errbot.repos import RepoManager
from errbot.storage import StoreMixin

__all__ = [
    "RepoManager",
    "backup_script",
    "restore_command",
    "storage_command",
    "write_backup",
    "write_data_backup",
]

log = logging.getLogger(__name__)

STORAGE_ERROR_EXIT = -3
HEADER = "## This file is not executable on its own. use errbot -r FILE to restore your bot."


# --- !backup ------------------------------------------------------------------------------------


def _assignment(target: str, key: str, value: Any) -> str:
    text = repr(value)
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        log.warning("The value of %s[%r] is not a Python literal; restoring it may fail: %s",
                    target, key, text[:200])
    return f"{target}[{key!r}] = {text}\n"


def backup_script(bot: Any) -> str:
    """The backup script of ``bot``'s repo manager, core and open plugin storages."""
    parts = [HEADER + "\n\n", 'log.info("Restoring repo_manager.")\n']
    repo_manager = getattr(bot, "repo_manager", None)
    if repo_manager is not None and repo_manager.is_open_storage():
        for key in repo_manager:
            parts.append(_assignment("bot.repo_manager", key, repo_manager[key]))
    parts.append('log.info("Restoring plugin_manager.")\n')
    manager = bot.plugin_manager
    for key in manager:
        parts.append(_assignment("bot.plugin_manager", key, manager[key]))
    parts.append(
        'log.info("Installing plugins.")\n'
        'if "installed_repos" in bot.repo_manager:\n'
        '    for repo in bot.repo_manager["installed_repos"]:\n'
        "        try:\n"
        "            log.error(bot.repo_manager.install_repo(repo))\n"
        "        except Exception as error:\n"
        "            log.error(error)\n"
        'log.info("Restoring plugins data.")\n'
        "bot.plugin_manager.update_plugin_places(bot.repo_manager.get_all_repos_paths())\n"
    )
    for name, plugin in list(manager.plugins.items()):
        if not plugin.is_open_storage():
            continue
        parts.append(f"pobj = bot.plugin_manager.plugins[{name!r}]\n")
        parts.append("pobj.init_storage()\n")
        for key in plugin:
            parts.append(_assignment("pobj", key, plugin[key]))
        parts.append("pobj.close_storage()\n")
    return "".join(parts)


def write_backup(bot: Any, path: str | None = None) -> str:
    """Write the backup script (default ``<BOT_DATA_DIR>/backup.py``); return its path."""
    if path is None:
        path = os.path.join(os.fspath(bot.bot_config.BOT_DATA_DIR), "backup.py")
    text = backup_script(bot)
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
    return path


# --- data-only backups (JSON lines) ------------------------------------------------------------

DATA_FORMAT = "errbot-data-backup"


def _literal(value: Any) -> str | None:
    """``repr(value)`` if it reads back equal with `ast.literal_eval`, else None."""
    text = repr(value)
    try:
        return text if ast.literal_eval(text) == value else None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def write_data_backup(bot: Any, path: str | None = None) -> tuple[str, list[str]]:
    """Write ``<BOT_DATA_DIR>/backup.jsonl``: one JSON object per stored key, whose "value" is
    a Python literal, so restoring it runs no code. Returns the path and the keys left out
    (values that are not Python literals), as "namespace/key"."""
    import json

    if path is None:
        path = os.path.join(os.fspath(bot.bot_config.BOT_DATA_DIR), "backup.jsonl")
    sources: list[tuple[str, Any]] = []
    repo_manager = getattr(bot, "repo_manager", None)
    if repo_manager is not None and repo_manager.is_open_storage():
        sources.append(("repomgr", repo_manager))
    sources.append(("core", bot.plugin_manager))
    sources += [(name, plugin) for name, plugin in list(bot.plugin_manager.plugins.items())
                if plugin.is_open_storage()]
    lines = [json.dumps({"format": DATA_FORMAT, "version": 1})]
    skipped: list[str] = []
    for namespace, store in sources:
        for key in store:
            text = _literal(store[key])
            if text is None:
                skipped.append(f"{namespace}/{key}")
                log.warning("Not a Python literal, left out of the data backup: %s/%s",
                            namespace, key)
                continue
            lines.append(json.dumps({"namespace": namespace, "key": key, "value": text}))
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(temporary, path)
    return path, skipped


def read_data_backup(source: str) -> list[tuple[str, str, Any]] | None:
    """The (namespace, key, value) entries of a data backup; None if ``source`` is not one.

    Every line is checked before the caller writes anything; ValueError names the bad line.
    """
    import json

    lines = source.splitlines()
    try:
        header = json.loads(lines[0]) if lines else None
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("format") != DATA_FORMAT:
        return None
    entries = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            namespace, key = entry["namespace"], entry["key"]
            value = ast.literal_eval(entry["value"])
            if not isinstance(namespace, str) or not isinstance(key, str):
                raise TypeError("namespace and key must be strings")
        except (ValueError, SyntaxError, TypeError, KeyError, MemoryError,
                RecursionError) as exc:
            raise ValueError(f"line {number} of the data backup is invalid: {exc!r}") from None
        entries.append((namespace, key, value))
    return entries


def _restore_data(bot: Any, entries: list[tuple[str, str, Any]]) -> None:
    fixed = {"core": bot.plugin_manager, "repomgr": bot.repo_manager}
    opened: dict[str, Any] = {}
    try:
        for namespace, key, value in entries:
            store = fixed.get(namespace) or opened.get(namespace)
            if store is None:
                store = opened[namespace] = _Namespace()
                store.open_storage(bot.storage_plugin, namespace)
            store[key] = value
    finally:
        for store in opened.values():
            store.close_storage()
    log.info("Restored %d keys.", len(entries))


def _reinstall_repos(bot: Any) -> None:
    """Fetch the repositories a data backup lists (at their pinned commits), as the backup
    scripts do; a repository that fails is logged and the others still come back."""
    for name in bot.repo_manager.get_installed_plugin_repos():
        log.info("Reinstalling %s: %s", name, bot.repo_manager.install_repo(name))


# --- errbot --restore ---------------------------------------------------------------------------


def _is_empty(bot: Any) -> bool:
    """No repository, plugin configuration, blacklist or plugin data stored yet."""
    if "repos" in bot:  # what Errbot checks
        return False
    if len(bot.repo_manager):
        return False
    manager = bot.plugin_manager
    if any(key != "configs" for key in manager) or manager.get("configs"):
        return False
    list_namespaces = getattr(bot.storage_plugin, "namespaces", None)
    try:
        namespaces = list_namespaces() if list_namespaces else []
    except NotImplementedError:
        namespaces = []
    known = {"core", "repomgr", f"{bot.mode}_backend"}
    return not [name for name in namespaces if name not in known]


def restore_command(config_path: str | None, backup: str | None) -> int:
    """``errbot --restore [FILE]`` on the Null backend; 0 when the script ran to its end."""
    from errbot.bootstrap import setup_bot
    from errbot.settings import ConfigError, apply_defaults, load_config

    def fail(message: str) -> int:
        print(f"errbot: {message}".replace("\n", " "), file=sys.stderr)
        return 1

    try:
        config = load_config(config_path)
        apply_defaults(config)
    except ConfigError as exc:
        return fail(str(exc))
    if not backup:
        # The data-only backup is the default format; Errbot's script stays readable.
        data_dir = os.fspath(config.BOT_DATA_DIR)
        backup = os.path.join(data_dir, "backup.jsonl")
        if not os.path.exists(backup):
            backup = os.path.join(data_dir, "backup.py")
    try:
        with open(backup, encoding="utf-8") as handle:
            source = handle.read()
        entries = read_data_backup(source)
        code = compile(source, backup, "exec") if entries is None else None
    except (OSError, SyntaxError, ValueError) as exc:
        return fail(f"cannot read the backup {backup}: {exc}")

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config.BACKEND = "Null"
    try:
        bot = setup_bot("Null", config)
    except Exception as exc:
        return fail(f"cannot start the bot to restore into: {exc}")
    try:
        if not _is_empty(bot):
            return fail("You cannot restore onto a non empty bot.")
        bot.repo_manager.restoring = True
        if entries is not None:
            _restore_data(bot, entries)
            _reinstall_repos(bot)
        else:
            exec(code, {"bot": bot, "log": logging.getLogger("errbot.restore")})  # noqa: S102
    except Exception as exc:
        log.exception("The restore failed")
        return fail(f"the restore of {backup} failed: {exc}")
    finally:
        bot.repo_manager.restoring = False
        bot.shutdown()
    print("Restore complete. You can restart the bot normally")
    return 0


# --- errbot --storage-get/--storage-set/--storage-merge/--storage-list ---------------------------


class _Namespace(StoreMixin):
    pass


def _read_dict(text: str) -> dict[str, Any]:
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"the input is not a Python literal: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"the input must be a dict literal, not {type(value).__name__}")
    bad = [key for key in value if not isinstance(key, str)]
    if bad:
        raise ValueError(f"the keys must be strings, not {bad[0]!r}")
    return value


def storage_command(config_path: str | None, action: str, namespace: str | None = None,
                    stdin: Any = None) -> int:
    """Run one storage tool; ``action`` is get, set, merge or list. 0, or -3 on error."""
    from errbot.settings import ConfigError, apply_defaults, load_config
    from errbot.storage import StoreException
    from errbot.storage.loader import load_storage_plugin

    def fail(message: str) -> int:
        print(f"errbot: {message}".replace("\n", " "), file=sys.stderr)
        return STORAGE_ERROR_EXIT

    try:
        given = None
        if action in ("set", "merge"):
            given = _read_dict((stdin or sys.stdin).read())
        config = load_config(config_path)
        apply_defaults(config)
        storage = load_storage_plugin(config)
        if action == "list":
            try:
                names = storage.namespaces()
            except NotImplementedError as exc:
                return fail(str(exc))
            for name in names:
                print(name)
            return 0
        store = _Namespace()
        store.open_storage(storage, namespace or "")
        try:
            if action == "get":
                print(repr({key: store[key] for key in store}))
            elif action == "set":
                store.clear()
                for key, value in (given or {}).items():
                    store[key] = value
            else:
                from deepmerge import always_merger

                for key, value in (given or {}).items():
                    store[key] = always_merger.merge(store.get(key, {}), value)
        finally:
            store.close_storage()
    except (ConfigError, StoreException, ValueError, TypeError, OSError) as exc:
        return fail(str(exc))
    return 0
