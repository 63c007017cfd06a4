"""What an argument of ``!repos install`` designates, and the folder name it installs under.

Names become paths under the plugin directory, so every component is checked: a crafted URL
or index key must never point outside it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from errbot.repos.errors import RepoException

# `user@host:owner/repo.git`, the scp-like form git accepts for SSH.
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?P<path>[^/].*)$")
_SAFE_COMPONENT = re.compile(r"^[\w][\w.+-]*$")
_URL_SCHEMES = ("http", "https", "git", "ssh", "file", "git+ssh", "ssh+git")


def is_tarball(source: str) -> bool:
    return source.lower().endswith(".tar.gz")


def is_git_url(source: str) -> bool:
    """A URL git can clone: a scheme it knows, or the scp-like SSH form."""
    if _SCP_LIKE.match(source):
        return True
    scheme = urlsplit(source).scheme.lower()
    return scheme in _URL_SCHEMES


def _path_of(source: str) -> str:
    match = _SCP_LIKE.match(source)
    if match:
        return match.group("path")
    return urlsplit(source).path


def check_name(name: str) -> str:
    """``name`` if every "/"-separated component is a plain file name, else RepoException."""
    parts = name.split("/")
    if not name or not all(_SAFE_COMPONENT.match(p) and p not in (".", "..") for p in parts):
        raise RepoException(f"{name!r} cannot be used as a repository name.")
    return name


def human_name_for_git_url(url: str) -> str:
    """"owner/repo" for ``.../owner/repo.git``: the last two path components, without .git."""
    parts = [p for p in _path_of(url).split("/") if p]
    if not parts:
        raise RepoException(f"Cannot find a repository name in {url}.")
    if parts[-1].endswith(".git"):
        parts[-1] = parts[-1][: -len(".git")]
    return check_name("/".join(parts[-2:]))


def tarball_name(url: str) -> str:
    """The folder an archive installs as.

    ``.../err-foo.tar.gz`` installs as err-foo. A forge's archive of a branch or tag
    (GitHub and Gitea ``/owner/repo/archive/refs/heads/main.tar.gz``, GitLab
    ``/owner/repo/-/archive/main/repo-main.tar.gz``) installs as "owner/repo", like a clone of
    the same repository: its file name ("main", "v1.0") says nothing about the plugin, and two
    repositories' "main" archives would land in the same folder.
    """
    parts = [p for p in _path_of(url).split("/") if p]
    if "archive" in parts:
        before = parts[: parts.index("archive")]
        if before and before[-1] == "-":  # GitLab's "/-/" separator
            before.pop()
        if len(before) >= 2:
            return check_name("/".join(before[-2:]))
    base = parts[-1] if parts else ""
    return check_name(base[: -len(".tar.gz")])
