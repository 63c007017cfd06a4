"""Exceptions of the repository manager."""

from __future__ import annotations


class RepoException(Exception):
    """A repository could not be installed, updated or removed; the message says why."""


class RepoIndexError(RepoException):
    """The plugin index could not be refreshed; the stored index was left unchanged."""
