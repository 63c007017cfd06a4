"""A plugin's ``requirements.txt``: installing it with pip, or naming what is missing.

pip is run as ``<this python> -m pip``, so packages land in the bot's own environment. Its
usual configuration applies (pip.conf, ``PIP_INDEX_URL``, ``PIP_FIND_LINKS``, ``PIP_NO_INDEX``
...), which is how a bot without internet access is pointed at a local mirror.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from errbot.repos.errors import RepoException

REQUIREMENTS = "requirements.txt"
PIP_TIMEOUT = 600  # seconds; a build from source can be slow, a hung pip must not be eternal
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
# The distribution this bot is; a requirement naming it is never handed to pip.
FRAMEWORK = frozenset({"errbot"})


def _own_version() -> str:
    from errbot.version import VERSION

    return VERSION


def requirement_lines(path: Path) -> list[str]:
    """The requirements of the file: comments, blank lines and pip options left out."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def missing(path: Path) -> list[str]:
    """Requirements whose distribution is not installed (names only; versions not checked)."""
    absent = []
    for line in requirement_lines(path):
        match = _NAME.match(line)
        if match is None:
            continue
        try:
            metadata.distribution(match.group(0))
        except metadata.PackageNotFoundError:
            absent.append(line)
    return absent


def in_virtualenv() -> bool:
    return sys.prefix != getattr(sys, "base_prefix", sys.prefix)


def in_container() -> bool:
    return os.path.exists("/.dockerenv")


def pip_command(path: Path) -> list[str]:
    command = [sys.executable, "-m", "pip", "install", "--requirement", str(path)]
    # Outside a virtualenv (or a container, where the image is the environment) pip would
    # write to the system site-packages; --user keeps it within the bot's account.
    if not in_virtualenv() and not in_container():
        command.append("--user")
    return command


def _names_the_framework(line: str) -> bool:
    match = _NAME.match(line.split("#", 1)[0].strip())
    return match is not None and re.sub(r"[-_.]+", "-", match.group(0)).lower() in FRAMEWORK


def _without_framework(path: Path) -> tuple[Path, list[str]]:
    """``path``, or a copy next to it without the lines requiring errbot; the lines dropped.

    Many plugins list ``errbot`` (often pinned, ``errbot==6.1.7``) in their requirements.
    pip would then replace the framework the bot runs on with another version, or with
    Errbot itself. The copy sits in the same folder so relative ``-r``/``-c`` lines still work.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    dropped = [line.split("#", 1)[0].strip() for line in lines if _names_the_framework(line)]
    if not dropped:
        return path, []
    copy = path.with_name(f".{path.name}.without-errbot")
    copy.write_text("\n".join(ln for ln in lines if not _names_the_framework(ln)) + "\n",
                    encoding="utf-8")
    return copy, dropped


def pip_install(path: Path, shown: Path | None = None) -> list[str]:
    """Install the requirements; RepoException with pip's last lines when it fails.

    Returns the requirement lines left out because they name errbot itself.
    """
    shown = shown or path
    used, dropped = _without_framework(path)
    try:
        result = subprocess.run(  # noqa: S603
            pip_command(used),
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RepoException(f"Could not install the dependencies of {shown}: {exc}") from exc
    finally:
        if used != path:
            used.unlink(missing_ok=True)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
        raise RepoException(f"Could not install the dependencies of {shown}:\n{tail}")
    return dropped


def requirement_files(repo_dir: Path) -> list[Path]:
    """``requirements.txt`` at the repository root and next to each plugin descriptor."""
    from errbot.plugin_info import find_descriptors

    folders = [repo_dir, *(d.parent for d in find_descriptors([repo_dir], ".plug"))]
    files: list[Path] = []
    for folder in folders:
        path = folder / REQUIREMENTS
        if path.is_file() and path not in files:
            files.append(path)
    return files


def satisfy(repo_dir: Path, autoinstall: bool, shown_as: Path | None = None) -> str | None:
    """Make the requirements of ``repo_dir`` available.

    With ``autoinstall`` pip installs them (RepoException on failure); otherwise missing ones
    raise RepoException "You need these dependencies for <file>: a,b". Returns a note for
    the admin when something was installed. Messages name files under ``shown_as`` (where
    a repository being staged will live) rather than ``repo_dir``.
    """
    notes = []
    for path in requirement_files(repo_dir):
        shown = (shown_as / path.relative_to(repo_dir)) if shown_as is not None else path
        if autoinstall:
            dropped = pip_install(path, shown)
            notes.append(f"Dependencies of {shown} installed.")
            if dropped:
                notes.append(
                    f"Left out {', '.join(dropped)}: this bot runs errbot {_own_version()}, "
                    "which pip must not replace."
                )
            continue
        absent = missing(path)
        if absent:
            raise RepoException(f"You need these dependencies for {shown}: " + ",".join(absent))
    if notes:
        # Distributions installed by the subprocess must be visible to this process.
        import importlib

        importlib.invalidate_caches()
    return "\n".join(notes) or None
