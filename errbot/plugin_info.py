"""The `.plug` / `.flow` descriptor: parsing, version constraints and discovery on disk.

A descriptor is an INI file with a ``[Core]`` section (``Name``, ``Module``, optional
``DependsOn`` and ``Core``), optional ``[Documentation] Description``, ``[Python] Version`` and
``[Errbot] Min`` / ``Max``. Backends and storage plugins use the same format.
"""

from __future__ import annotations

import configparser
import importlib.util
import inspect
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

VersionTuple = tuple[int, int, int, int]

_ERRBOT_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-(alpha|beta|rc(\d+)))?$")


class PluginDescriptorError(Exception):
    """A `.plug` file is malformed; the message names the file and the problem."""


def errbot_version_tuple(version: str) -> VersionTuple:
    """Parse "x.y.z" or "x.y.z-alpha|-beta|-rcN" into a comparable 4-tuple.

    alpha < beta < rc1 < rc2 < ... < final.
    """
    match = _ERRBOT_VERSION_RE.match(version.strip())
    if not match:
        raise ValueError(
            f'version "{version}" is not of the form x.y.z or x.y.z-alpha|-beta|-rcN'
        )
    major, minor, patch, tag, rc = match.groups()
    if tag is None:
        rank = 10**6
    elif tag == "alpha":
        rank = 0
    elif tag == "beta":
        rank = 1
    else:
        rank = 2 + int(rc)
    return int(major), int(minor), int(patch), rank


def _python_version_constraint(value: str | None) -> tuple[int, ...] | None:
    """Return the parsed ``[Python] Version``; None means "any Python 3"."""
    if value is None:
        return None
    value = value.strip()
    if value in ("2+", "3"):
        return (3, 0, 0)
    if value == "2":
        return (2, 0, 0)
    parts = tuple(int(p) for p in value.split(".")[:3])
    return parts + (0,) * (3 - len(parts))


@dataclass
class PluginInfo:
    """Everything a descriptor says about one plugin, backend, storage or flow module."""

    name: str
    module: str
    doc: str | None
    core: bool
    python_version: tuple[int, ...] | None
    errbot_minversion: VersionTuple | None
    errbot_maxversion: VersionTuple | None
    dependencies: list[str] = field(default_factory=list)
    location: Path | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PluginInfo:
        path = Path(path)
        parser = configparser.ConfigParser()
        try:
            with path.open(encoding="utf-8") as handle:
                parser.read_file(handle)
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise PluginDescriptorError(f"{path}: cannot be parsed: {exc}") from exc
        except OSError as exc:
            raise PluginDescriptorError(f"{path}: cannot be read: {exc}") from exc
        info = cls.from_parser(parser, str(path))
        info.location = path
        return info

    @classmethod
    def from_parser(cls, parser: configparser.ConfigParser, origin: str = "<string>") -> PluginInfo:
        if not parser.has_section("Core"):
            raise PluginDescriptorError(f"{origin}: missing the [Core] section")
        missing = [key for key in ("Name", "Module") if not parser.get("Core", key, fallback="")]
        if missing:
            raise PluginDescriptorError(
                f"{origin}: [Core] needs {' and '.join(missing)}"
            )
        name = parser.get("Core", "Name").strip()
        module = parser.get("Core", "Module").strip()
        core = parser.get("Core", "Core", fallback="false").strip().lower() == "true"
        depends = parser.get("Core", "DependsOn", fallback="")
        dependencies = [d.strip() for d in depends.split(",") if d.strip()]
        doc = parser.get("Documentation", "Description", fallback=None)
        try:
            python_version = _python_version_constraint(
                parser.get("Python", "Version", fallback=None)
            )
        except ValueError as exc:
            raise PluginDescriptorError(f"{origin}: [Python] Version is invalid: {exc}") from exc
        bounds: list[VersionTuple | None] = []
        for key in ("Min", "Max"):
            raw = parser.get("Errbot", key, fallback=None)
            try:
                bounds.append(errbot_version_tuple(raw) if raw else None)
            except ValueError as exc:
                raise PluginDescriptorError(f"{origin}: [Errbot] {key}: {exc}") from exc
        return cls(
            name=name,
            module=module,
            doc=doc,
            core=core,
            python_version=python_version,
            errbot_minversion=bounds[0],
            errbot_maxversion=bounds[1],
            dependencies=dependencies,
        )

    @property
    def module_path(self) -> Path:
        """The Python file (or package directory) the descriptor points to."""
        assert self.location is not None
        base = self.location.parent / self.module
        if base.is_dir():
            return base / "__init__.py"
        return base.with_suffix(".py")

    def python_supported(self, running: tuple[int, ...] | None = None) -> bool:
        """Errbot's rule: ``Version = x.y.z`` refuses interpreters at or below that version."""
        if self.python_version is None:
            return True
        if self.python_version == (2, 0, 0):
            return False
        if self.python_version == (3, 0, 0):
            return True
        running = running or tuple(sys.version_info[:3])
        return self.python_version < running

    def load_module(self, package: str) -> ModuleType:
        """Import the descriptor's module as ``<package>.<Module>`` (fresh each call)."""
        qualified = f"{package}.{self.module}"
        spec = importlib.util.spec_from_file_location(qualified, self.module_path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {self.module_path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(qualified, None)
            raise
        return module


def find_descriptors(
    roots: Iterable[str | os.PathLike[str]], suffix: str = ".plug"
) -> Iterator[Path]:
    """Yield every descriptor file under ``roots`` (recursive, symlinks followed).

    Hidden directories and ``__pycache__`` are skipped. A directory reached twice (through a
    symlink loop or overlapping roots) is visited once.
    """
    seen: set[str] = set()
    for root in roots:
        root_path = Path(root)
        if root_path.is_file() and root_path.name.endswith(suffix):
            yield root_path
            continue
        if not root_path.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root_path, followlinks=True):
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and d != "__pycache__"
            )
            for filename in sorted(filenames):
                if filename.endswith(suffix):
                    yield Path(dirpath) / filename


def find_class(module: ModuleType, base: type, origin: str) -> type:
    """The one subclass of ``base`` defined in or imported by ``module``.

    Errbot's rule: the first by attribute name wins; several is a warning, none an error.
    """
    candidates = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, base)
        and obj is not base
        and not getattr(obj, "__abstract_base__", False)
    ]
    # A class defined in the module beats the base classes it imported.
    local = [c for c in candidates if c.__module__ == module.__name__]
    imported_bases = {b for c in local for b in c.__mro__[1:]}
    candidates = [c for c in candidates if c not in imported_bases] or candidates
    if not candidates:
        raise PluginDescriptorError(f"Did not find any plugin in {origin}.")
    if len(candidates) > 1:
        log.warning("%s: Contains more than one plugin, only one will be loaded.", origin)
    return candidates[0]


def entry_point_dirs(group: str) -> list[str]:
    """Where installed distributions declaring the entry-point ``group`` keep descriptors.

    For a package, its directory (searched recursively). For a plain module, which sits
    directly in site-packages, the descriptor files of its own distribution: walking the
    directory it lives in would pick up every other installed package.
    """
    from importlib.metadata import entry_points

    dirs: list[str] = []
    for entry in entry_points(group=group):
        module_name = entry.value.split(":")[0].strip()
        try:
            spec = importlib.util.find_spec(module_name)
        except (ImportError, ValueError):
            log.exception("entry point %s of group %s cannot be found", entry.name, group)
            continue
        if spec is None:
            log.warning("entry point %s of group %s: no module %s", entry.name, group, module_name)
            continue
        if spec.submodule_search_locations:
            dirs.extend(spec.submodule_search_locations)
        elif spec.origin:
            dirs.extend(_distribution_descriptors(entry, Path(spec.origin)))
    return dirs


def _distribution_descriptors(entry: object, module_file: Path) -> list[str]:
    """The descriptor files shipped by the distribution of ``entry`` (single-module case)."""
    suffixes = (".plug", ".flow")
    dist = getattr(entry, "dist", None)
    files = (getattr(dist, "files", None) or []) if dist is not None else []
    found = [
        str(dist.locate_file(f))  # type: ignore[union-attr]
        for f in files
        if str(f).endswith(suffixes)
    ]
    if found:
        return found
    # No RECORD to go by: the descriptors named after the module, next to it.
    return [
        str(p)
        for p in sorted(module_file.parent.glob(f"{module_file.stem}*"))
        if p.name.endswith(suffixes)
    ]
