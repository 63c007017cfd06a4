"""Copying a bot's storage from one storage plugin to another, and checking the copy.

`migrate` works on any two storage plugins; ``errbot --storage-migrate FROM TO`` (see
`migrate_command`) builds them from ``config.py``. The usual case is leaving Errbot's Shelf::

    errbot --storage-migrate Shelf SQLite      # then set STORAGE = "SQLite" in config.py

Nothing is ever deleted from the source. The target namespaces must be empty unless
``overwrite`` is given, in which case each copied namespace of the target is made equal to the
source (keys absent from the source are removed). After copying, every namespace is read back
from the target and compared with the source: same keys, same count, equal values.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from errbot.storage import StoreException
from errbot.storage.base import StoragePluginBase

__all__ = ["MigrationError", "MigrationReport", "migrate", "migrate_command", "storage_config_for"]


class MigrationError(StoreException):
    """The migration was refused, or its copy does not match the source."""


@dataclass
class MigrationReport:
    """What `migrate` copied: keys per namespace, and any difference found when verifying."""

    source: str
    target: str
    namespaces: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def keys(self) -> int:
        return sum(self.namespaces.values())

    def __str__(self) -> str:
        lines = [
            f"  {name}: {count} key{'s' if count != 1 else ''}"
            for name, count in self.namespaces.items()
        ]
        total = (
            f"{self.keys} key{'s' if self.keys != 1 else ''} in {len(self.namespaces)} "
            f"namespace{'s' if len(self.namespaces) != 1 else ''}"
        )
        if self.ok:
            lines.append(
                f"Copied {total} from {self.source} to {self.target}; "
                "every value was read back and verified."
            )
        else:
            lines.append(
                f"Copied {total} from {self.source} to {self.target}, but the copy "
                f"differs from the source in {len(self.mismatches)} place(s):"
            )
            lines.extend(f"  - {problem}" for problem in self.mismatches)
        return "\n".join(lines)


def _name(plugin: StoragePluginBase) -> str:
    return type(plugin).__name__.removesuffix("StoragePlugin") or type(plugin).__name__


def _same(first: Any, second: Any) -> bool:
    if first is second:
        return True
    try:
        if first == second:
            return True
    except Exception:  # a value's own __eq__ may fail: fall back on the serialised form
        pass
    try:
        return pickle.dumps(first, protocol=4) == pickle.dumps(second, protocol=4)
    except Exception:
        return False


def migrate(
    source_plugin: StoragePluginBase,
    target_plugin: StoragePluginBase,
    namespaces: Iterable[str] | None = None,
    *,
    overwrite: bool = False,
) -> MigrationReport:
    """Copy ``namespaces`` (default: all of the source's) and verify the copy.

    Raises `MigrationError` before writing anything when a target namespace already holds
    keys and ``overwrite`` is false, or when the source cannot list its namespaces and none
    were given. Returns the report; ``report.ok`` is false when verification found a
    difference (each one is described in ``report.mismatches``).
    """
    report = MigrationReport(_name(source_plugin), _name(target_plugin))
    if namespaces is None:
        try:
            names = list(source_plugin.namespaces())
        except NotImplementedError:
            raise MigrationError(
                f"The {report.source} storage cannot list its namespaces: name the namespaces "
                "to copy."
            ) from None
    else:
        names = list(dict.fromkeys(namespaces))

    if not overwrite:
        busy = []
        for name in names:
            target = target_plugin.open(name)
            try:
                if target.len():
                    busy.append(name)
            finally:
                target.close()
        if busy:
            raise MigrationError(
                f"The {report.target} storage already holds data in the namespace(s) "
                f"{', '.join(busy)}: nothing was copied. Empty them, choose another target, "
                "or overwrite them (--storage-migrate-overwrite) to make them equal to the "
                "source."
            )

    for name in names:
        report.namespaces[name] = _copy_namespace(source_plugin, target_plugin, name, report)
    return report


def _copy_namespace(
    source_plugin: StoragePluginBase,
    target_plugin: StoragePluginBase,
    name: str,
    report: MigrationReport,
) -> int:
    source = source_plugin.open(name)
    target = target_plugin.open(name)
    try:
        keys = list(source.keys())
        values = {}
        for key in keys:
            values[key] = value = source.get(key)
            target.set(key, value)
        for extra in set(target.keys()) - set(keys):
            target.remove(extra)
    finally:
        target.close()

    # Verify through a fresh handle, as the next start of the bot will read it.
    check = target_plugin.open(name)
    try:
        count = check.len()
        if count != len(keys):
            report.mismatches.append(
                f"{name}: the target holds {count} keys, the source {len(keys)}"
            )
        copied = set(check.keys())
        for key in keys:
            if key not in copied:
                report.mismatches.append(f"{name}: the key {key!r} is missing from the target")
                continue
            if not _same(values[key], check.get(key)):
                report.mismatches.append(f"{name}: the value of {key!r} differs in the target")
    finally:
        check.close()
        source.close()
    return len(keys)


# -- errbot --storage-migrate --------------------------------------------------------------------


def storage_config_for(config: Any, name: str, override: dict[str, Any] | None = None) -> dict:
    """The STORAGE_CONFIG the storage plugin ``name`` gets for a migration.

    In order: ``override`` (``--storage-migrate-config`` for the target); else a sub-dict of
    STORAGE_CONFIG under the plugin's Name (``STORAGE_CONFIG = {"SQL": {...}}``); else the whole
    STORAGE_CONFIG when ``name`` is the configured STORAGE; else nothing (the plugin's defaults,
    file storages in BOT_DATA_DIR).
    """
    if override is not None:
        return dict(override)
    storage_config = getattr(config, "STORAGE_CONFIG", None) or {}
    own = storage_config.get(name)
    if isinstance(own, dict):
        return dict(own)
    if name == (getattr(config, "STORAGE", None) or "SQLite"):
        # Without the per-plugin sub-dicts (capitalised Names); options like engine_options stay.
        return {
            k: v for k, v in storage_config.items() if not isinstance(v, dict) or k[:1].islower()
        }
    return {}


class _ConfigView:
    """The bot configuration as one storage plugin sees it: its own STORAGE and STORAGE_CONFIG."""

    def __init__(self, config: Any, storage: str, storage_config: dict[str, Any]) -> None:
        self._config = config
        self.STORAGE = storage
        self.STORAGE_CONFIG = storage_config

    def __getattr__(self, name: str) -> Any:
        return getattr(self._config, name)


def build_storage_plugin(
    config: Any, name: str, storage_config: dict[str, Any]
) -> StoragePluginBase:
    """The storage plugin ``name`` built on ``config`` with ``storage_config``."""
    from errbot.storage.loader import load_storage_plugin

    return load_storage_plugin(_ConfigView(config, name, storage_config))


def migrate_command(
    config_path: str | None,
    source: str,
    target: str,
    target_config: str | None = None,
    overwrite: bool = False,
) -> int:
    """``errbot --storage-migrate FROM TO``: print the report; 0 if verified, else -3."""
    import sys

    from errbot.settings import ConfigError, apply_defaults, load_config

    def fail(message: str) -> int:
        print(f"errbot: {message}".replace("\n", " "), file=sys.stderr)
        return -3

    override = None
    if target_config is not None:
        try:
            override = json.loads(target_config)
        except ValueError as exc:
            return fail(f"--storage-migrate-config is not valid JSON: {exc}")
        if not isinstance(override, dict):
            return fail('--storage-migrate-config must be a JSON object, e.g. {"basedir": "/srv"}.')
    try:
        config = load_config(config_path)
        apply_defaults(config)
    except ConfigError as exc:
        return fail(str(exc))

    source_config = storage_config_for(config, source)
    destination_config = storage_config_for(config, target, override)
    if source == target and source_config == destination_config:
        return fail(f"FROM and TO are the same storage ({source} with the same configuration).")
    try:
        source_plugin = build_storage_plugin(config, source, source_config)
        target_plugin = build_storage_plugin(config, target, destination_config)
        report = migrate(source_plugin, target_plugin, overwrite=overwrite)
    except StoreException as exc:
        return fail(str(exc))
    print(report)
    if not report.ok:
        return -3
    current = getattr(config, "STORAGE", None)
    if current != target:
        print(f'To use it, set STORAGE = "{target}" in config.py (it is now {current!r}).')
    return 0
