"""Installing a plugin from a ``.tar.gz`` archive, refusing anything that could escape.

The archive is checked member by member before anything is written (absolute names, ``..``,
links and special files are refused), then extracted with tarfile's "data" filter, which
enforces the same rules again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from errbot.repos.errors import RepoException
from errbot.repos.index import TIMEOUT, USER_AGENT

if TYPE_CHECKING:
    import tarfile


def download(url: str, directory: Path) -> Path:
    """Save ``url`` (or copy a local path) into ``directory``; the file written."""
    target = directory / "archive.tar.gz"
    try:
        if "://" in url:
            import urllib.request  # only when installing: start-up does not pay for ssl/http

            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                with open(target, "wb") as handle:
                    shutil.copyfileobj(response, handle)
        else:
            shutil.copyfile(url, target)
    except Exception as exc:
        raise RepoException(f"Could not download {url}: {exc}") from exc
    return target


def _check_member(member: tarfile.TarInfo, archive: str) -> None:
    name = member.name
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or ":" in path.parts[0]:
        raise RepoException(f"{archive} holds an absolute path ({name}); refused.")
    if ".." in path.parts:
        raise RepoException(f"{archive} holds a path leaving its folder ({name}); refused.")
    if member.issym() or member.islnk():
        raise RepoException(f"{archive} holds a link ({name} -> {member.linkname}); refused.")
    if not (member.isfile() or member.isdir()):
        raise RepoException(f"{archive} holds a special file ({name}); refused.")


def extract(archive: Path, target: Path, label: str) -> None:
    """Extract ``archive`` into ``target`` (which must not exist yet).

    An archive holding a single top-level folder (GitHub's "repo-main/") is unwrapped, so the
    plugin files sit directly in ``target``.
    """
    import tarfile

    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, label)
            staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
            try:
                tar.extractall(staging, filter="data")
                _move_content(staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except (tarfile.TarError, EOFError, OSError) as exc:
        # gzip errors are OSErrors ("Not a gzipped file"), truncated files EOFErrors.
        raise RepoException(f"{label} is not a valid .tar.gz archive: {exc}") from exc


def _move_content(staging: Path, target: Path) -> None:
    top = list(staging.iterdir())
    if not top:
        raise RepoException("The archive is empty.")
    if len(top) == 1 and top[0].is_dir():
        os.replace(top[0], target)
    else:
        shutil.copytree(staging, target)
