"""Helpers shared by the flow tests: a synchronous chat driver and a fake clock."""

from __future__ import annotations

import logging
import queue
from pathlib import Path
from typing import Any

from errbot.backends.base import Identifier, Message
from errbot.backends.test import TestBot

FLOWS_DIR = str(Path(__file__).parent / "plugins" / "flows_basic")


class FakeClock:
    """An injectable clock: seconds since the epoch, moved by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Chat:
    """Drives a TestBot synchronously.

    `say` hands the message to the bot on the calling thread, then waits (on the runtime's
    idle condition, no polling) until every command, flow step and reply it caused is done,
    and returns the rendered replies. `sent` keeps (recipient, raw Markdown body) of them.
    """

    def __init__(self, testbot: TestBot) -> None:
        self.testbot = testbot
        self.bot = testbot.bot
        self.bot.runtime.track_idle()
        self.sent: list[tuple[str, str]] = []
        original = self.bot.send_message

        def record(msg: Message) -> None:
            self.sent.append((str(msg.to), msg.body))
            original(msg)

        self.bot.send_message = record  # type: ignore[method-assign]

    @property
    def executor(self) -> Any:
        return self.bot.flow_executor

    def say(
        self, text: str, frm: Identifier | None = None, to: Identifier | None = None
    ) -> list[str]:
        self.sent.clear()
        msg = Message(text, frm=frm or self.bot.sender, to=to or self.bot.bot_identifier)
        self.bot.callback_message(msg)
        return self.settle()

    def settle(self) -> list[str]:
        """Wait until the bot is idle and return the replies queued meanwhile."""
        assert self.bot.runtime.wait_idle(10), "the bot did not settle"
        return self.drain()

    def drain(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.bot.pop_message(block=False))
            except queue.Empty:
                return out


def flow_bot(
    extra_config: dict[str, Any] | None = None,
    clock: FakeClock | None = None,
    plugin_dir: Any = FLOWS_DIR,
) -> tuple[TestBot, Chat]:
    """A started TestBot with the test flows; ``clock`` is injected before start-up."""
    testbot = TestBot(plugin_dir, logging.INFO, extra_config)
    if clock is not None:
        testbot.bot.flow_executor.clock = clock
    chat = Chat(testbot)
    testbot.start()
    chat.drain()
    # what start-up said, apart from the harness's own "ready"
    chat.sent = [(to, body) for to, body in chat.sent if body != "ready"]
    return testbot, chat
