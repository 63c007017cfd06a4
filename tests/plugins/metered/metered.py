"""Plugin code with every outcome the metrics tests count."""

from __future__ import annotations

from typing import Any

from errbot import BotPlugin, CommandError, botcmd, webhook
from errbot.backends.base import Message


class Metered(BotPlugin):
    """Succeeds, fails and raises on demand."""

    def activate(self) -> None:
        super().activate()
        self.fail_next_message = False

    @botcmd
    def fine(self, msg: Message, args: str) -> str:
        """Always works."""
        return "fine indeed"

    @botcmd
    def broken(self, msg: Message, args: str) -> str:
        """Always raises."""
        raise RuntimeError("broken on purpose")

    @botcmd
    def refusing(self, msg: Message, args: str) -> str:
        """Reports a failure the expected way."""
        raise CommandError("not today")

    @botcmd(split_args_with=None)
    async def later(self, msg: Message, args: list[str]) -> str:
        """An async command."""
        return f"later {len(args)}"

    @botcmd(admin_only=True)
    def secret(self, msg: Message, args: str) -> str:
        """Admins only."""
        return "secret"

    @botcmd
    def card(self, msg: Message, args: str) -> None:
        """Answers with a card in the thread of the request."""
        self.send_card(body="card body", in_reply_to=msg, title="Card")

    def callback_message(self, message: Message) -> None:
        if self.fail_next_message:
            self.fail_next_message = False
            raise ValueError("callback failure on purpose")

    @webhook
    def metered_hook(self, payload: Any) -> str:
        if payload == "boom":
            raise RuntimeError("webhook failure on purpose")
        return "ok"
