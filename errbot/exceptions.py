"""Exceptions plugin code raises to talk to the framework."""

from __future__ import annotations

from typing import Any


class ValidationException(Exception):
    """Raised by `check_configuration` to reject a configuration; the text reaches the admin."""


class CommandError(Exception):
    """Raised by a command to report an expected failure to the user (no traceback logged)."""

    def __init__(self, reason: Any, template: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.template = template

    def __str__(self) -> str:
        return str(self.reason)
