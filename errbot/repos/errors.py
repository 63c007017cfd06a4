"""Exceptions of the repository manager."""

from __future__ import annotations

from errbot.urls import mask_credentials


class RepoException(Exception):
    """A repository could not be installed, updated or removed; the message says why.

    The message goes to chat and to the logs, so credentials in URLs are masked.
    """

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(mask_credentials(str(message)), *args)


class RepoIndexError(RepoException):
    """The plugin index could not be refreshed; the stored index was left unchanged."""
