"""Reactions and presence of the Slack bot itself (reactions.add/remove,
users.setPresence). Incoming reactions are in `events`."""

from __future__ import annotations

from typing import Any

from errbot.backends.base import ONLINE, Message

__all__ = ["SlackReactionsMixin"]


class SlackReactionsMixin:
    """Mixed into `SlackBackend`; expects ``runtime``, ``client`` and ``_logged``."""

    runtime: Any
    client: Any

    def add_reaction(self, msg: Message, reaction: str) -> None:
        """React to an incoming message with the emoji ``reaction`` (name without colons)."""
        self._react(msg, reaction, "add")

    def remove_reaction(self, msg: Message, reaction: str) -> None:
        self._react(msg, reaction, "remove")

    def _react(self, msg: Message, reaction: str, action: str) -> None:
        channel, ts = msg.extras.get("channel"), msg.extras.get("ts")
        if not channel or not ts:
            raise ValueError("Only messages received from Slack can get reactions.")
        if self.client is None:
            raise ValueError("Not connected to Slack yet.")
        method = getattr(self.client, f"reactions_{action}")
        call = method(channel=channel, timestamp=ts, name=reaction.strip(":"))
        self.runtime.spawn(self._logged(call))  # type: ignore[attr-defined]

    def change_presence(self, status: str = ONLINE, message: str = "") -> None:
        if self.client is None:
            return
        presence = "auto" if status == ONLINE else "away"
        call = self.client.users_setPresence(presence=presence)
        self.runtime.spawn(self._logged(call))  # type: ignore[attr-defined]
