"""Small helpers that plugins import from ``errbot.utils``.

Kept free of heavy imports: plugins import this module at load time.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)

__all__ = [
    "ON_WINDOWS",
    "PLUGINS_SUBDIR",
    "collect_roots",
    "deprecated",
    "entry_point_plugins",
    "find_roots",
    "format_timedelta",
    "global_restart",
    "rate_limited",
    "split_string_after",
    "version2tuple",
]

ON_WINDOWS = sys.platform.startswith("win")

PLUGINS_SUBDIR = "plugins"

P = ParamSpec("P")
R = TypeVar("R")

# Indirections so tests can drive rate_limited with a fake clock instead of sleeping.
_clock: Callable[[], float] = time.monotonic
_sleep: Callable[[float], None] = time.sleep


def rate_limited(min_interval: float) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Space out calls of the decorated function by at least ``min_interval`` seconds.

    A call that comes too early sleeps for the remainder before running. Calls from several
    threads queue up on one lock, so they stay spaced out too.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        lock = threading.Lock()
        last_call: float | None = None

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            nonlocal last_call
            with lock:
                if last_call is not None:
                    wait = min_interval - (_clock() - last_call)
                    if wait > 0:
                        log.debug("Rate limiting %s: waiting %.3fs", func.__name__, wait)
                        _sleep(wait)
                try:
                    return func(*args, **kwargs)
                finally:
                    last_call = _clock()

        return wrapper

    return decorate


def split_string_after(str_: str, n: int) -> Iterator[str]:
    """Yield successive chunks of ``n`` characters of ``str_`` (one empty chunk for "")."""
    if n < 1:
        raise ValueError(f"chunk length must be at least 1, got {n}")
    for start in range(0, max(len(str_), 1), n):
        yield str_[start : start + n]


def version2tuple(version: str) -> tuple[int, int, int, int]:
    """A comparable tuple for "x.y.z" or "x.y.z-alpha|-beta|-rcN".

    alpha < beta < rc1 < rc2 < ... < final. Raises ValueError for anything else.
    """
    from errbot.plugin_info import errbot_version_tuple

    return errbot_version_tuple(version)


def format_timedelta(td: timedelta) -> str:
    """Errbot's short human form: "N seconds", "N minutes", "N hours" or
    "N hours and M minutes" (days count as hours, sub-second parts are dropped)."""
    total = td.days * 86400 + td.seconds
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if not hours and not minutes:
        return f"{seconds} seconds"
    if not hours:
        return f"{minutes} minutes"
    if not minutes:
        return f"{hours} hours"
    return f"{hours} hours and {minutes} minutes"


def deprecated(
    new: Callable[..., Any] | property | None = None,
) -> Callable[[Callable[P, R]], Callable[P, Any]]:
    """Mark a function or method as deprecated.

    Each call emits a DeprecationWarning naming the replacement; when ``new`` (a function or
    a property) is given, the call is forwarded to it, as Errbot does.
    """

    def decorate(old: Callable[P, R]) -> Callable[P, Any]:
        @functools.wraps(old)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            owner = f"{type(args[0]).__name__}." if args else ""
            message = f"{owner}{old.__name__} is deprecated"
            if isinstance(new, property):
                message += f", use the property {owner}{new.fget.__name__} instead"
            elif new is not None:
                message += f", use {owner}{new.__name__} instead"
            warnings.warn(message + ".", DeprecationWarning, stacklevel=2)
            if isinstance(new, property):
                return new.fget(*args, **kwargs)
            if new is not None:
                return new(*args, **kwargs)
            return old(*args, **kwargs)

        return wrapper

    return decorate


def global_restart() -> None:
    """Replace the current process with a fresh run of the same command line."""
    # sys.orig_argv keeps "-m errbot": re-running sys.argv[0] (errbot/__main__.py) would put
    # the package folder first on sys.path and let its modules shadow others.
    argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    os.execv(sys.executable, [sys.executable, *argv[1:]])


def find_roots(path: str | os.PathLike[str], file_sig: str = "*.plug") -> list[str]:
    """Directories under ``path`` (recursive, symlinks followed) holding a ``file_sig`` file.

    Hidden directories and ``__pycache__`` are skipped; each directory is listed once, in
    walk order.
    """
    roots: dict[str, None] = {}
    for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        if fnmatch.filter(filenames, file_sig):
            roots[dirpath] = None
    return list(roots)


def collect_roots(
    base_paths: str | os.PathLike[str] | Iterable[Any] | None,
    file_sig: str | None = "*.plug",
) -> list[str]:
    """Flatten ``base_paths`` (a path, None, or nested lists/tuples of them) into directories.

    With ``file_sig`` (Errbot's behaviour) the result is every directory under those paths
    that holds a matching file (see `find_roots`); with ``file_sig=None`` it is the given
    paths themselves that exist as directories. Duplicates are dropped, order is kept.
    """
    result: dict[str, None] = {}
    for base in _flatten(base_paths):
        if file_sig is None:
            if os.path.isdir(base):
                result[base] = None
        else:
            result.update(dict.fromkeys(find_roots(base, file_sig)))
    return list(result)


def _flatten(paths: str | os.PathLike[str] | Iterable[Any] | None) -> Iterator[str]:
    if paths is None:
        return
    if isinstance(paths, (str, os.PathLike)):
        yield os.fspath(paths)
        return
    for item in paths:
        yield from _flatten(item)


def entry_point_plugins(group: str) -> list[str]:
    """Directories of installed distributions that declare the entry-point ``group``."""
    from errbot.plugin_info import entry_point_dirs

    return entry_point_dirs(group)
