"""Git through dulwich: no ``git`` binary is needed on the bot's host."""

from __future__ import annotations

import io
from pathlib import Path

from errbot.repos.errors import RepoException


def _describe(exc: BaseException) -> str:
    # dulwich raises NotGitRepository() without a message for an HTTP 404.
    text = str(exc).strip()
    if text:
        return text
    if type(exc).__name__ == "NotGitRepository":
        return "there is no git repository at this address (NotGitRepository)."
    return type(exc).__name__


def clone(url: str, target: Path) -> str:
    """Clone ``url`` into ``target`` (which must not exist); the checked-out commit sha."""
    from dulwich import porcelain

    errors = io.BytesIO()
    try:
        repo = porcelain.clone(url, str(target), errstream=errors)
    except Exception as exc:  # dulwich has no common base class for its errors
        raise RepoException(
            f"Could not load this plugin: \n\n{url}\n\n---\n\n{_describe(exc)}"
        ) from exc
    try:
        return repo.head().decode("ascii")
    finally:
        repo.close()


def head(path: Path) -> str | None:
    """The commit sha checked out in ``path``, or None if it is not a git repository."""
    from dulwich.errors import NotGitRepository
    from dulwich.repo import Repo

    try:
        with Repo(str(path)) as repo:
            return repo.head().decode("ascii")
    except (NotGitRepository, KeyError, OSError):
        return None


def pull(path: Path, url: str | None = None) -> tuple[str, str]:
    """Fast-forward ``path`` from ``url`` (default: its origin); (old sha, new sha)."""
    from dulwich import porcelain

    before = head(path)
    if before is None:
        raise RepoException(f"{path} is not a git repository.")
    output = io.BytesIO()
    try:
        porcelain.pull(str(path), url, outstream=output, errstream=output, ff_only=True)
    except Exception as exc:
        raise RepoException(f"git pull failed: {_describe(exc)}") from exc
    after = head(path) or before
    return before, after


def checkout(path: Path, sha: str) -> None:
    """Put the work tree of ``path`` on commit ``sha`` (a pinned commit being restored)."""
    from dulwich import porcelain

    try:
        porcelain.reset(str(path), "hard", sha)
    except Exception as exc:
        raise RepoException(f"Cannot check out {sha} in {path}: {_describe(exc)}") from exc
