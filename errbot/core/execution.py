"""Running one command and turning what it returns or yields into replies.

A command may return a value, yield values (sync or async generator), be a coroutine, raise
`CommandError` (an expected failure, shown to the user) or raise anything else (logged, and the
user is told "Computer says nooo."). Nothing it does can escape into the bot.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Mapping
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from errbot.core.metrics import COMMAND_ERROR, ERROR, SUCCESS
from errbot.exceptions import CommandError

if TYPE_CHECKING:
    from errbot.backends.base import Message
    from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

ERROR_REPLY = "Computer says nooo. See logs for details:\n"


class Invocation:
    """One command call: what to run, with what, and where its replies go."""

    __slots__ = (
        "bot", "msg", "cmd", "method", "args", "template", "private", "threaded", "created",
    )  # fmt: skip

    def __init__(
        self,
        bot: ErrBot,
        msg: Message,
        cmd: str,
        method: Callable[..., Any],
        args: Any,
        private: bool,
        threaded: bool,
        template: str | None = None,
    ) -> None:
        self.bot = bot
        self.msg = msg
        self.cmd = cmd
        self.method = method
        self.args = args
        self.template = template
        self.private = private
        self.threaded = threaded
        # The latency metric starts here, at the hand-over: time spent waiting for a free
        # worker is part of what the user waits for.
        self.created = time.perf_counter()

    # -- replies --------------------------------------------------------------------
    def reply(self, value: Any) -> None:
        """Send one result of the command, rendered through the command's template."""
        self._send(value, self.template)

    def _send(self, value: Any, template: str | None) -> None:
        if not value:
            return
        if type(value) is str:
            text = value
        elif template and isinstance(value, Mapping):
            owner = getattr(self.method, "__self__", None)
            text = self.bot.render_template(template, value, getattr(owner, "name", None))
        else:
            text = str(value)
        self.bot.send_simple_reply(self.msg, text, self.private, self.threaded)

    def fail(self, exc: BaseException) -> None:
        """Report the exception ``exc`` the command raised, and count it."""
        if isinstance(exc, CommandError):
            # Only the error's own template applies: the command's template describes its
            # results, not its errors (as in Errbot).
            try:
                self._send(exc.reason, exc.template)
                self._finished(COMMAND_ERROR)
                return
            except Exception as render_error:  # e.g. the error's template does not exist
                exc = render_error
        self.bot.metrics.plugin_error(self.method, "command")
        log.exception("An error happened while running the command %s: %s", self.cmd, exc)
        try:
            self.bot.send_simple_reply(
                self.msg, ERROR_REPLY + str(exc), self.private, self.threaded
            )
        finally:
            self._finished(ERROR)

    def succeeded(self) -> None:
        self._finished(SUCCESS)
        self.bot.command_succeeded(self.msg, self.cmd)

    def _finished(self, outcome: str) -> None:
        self.bot.metrics.command_finished(self.cmd, outcome, time.perf_counter() - self.created)

    # -- running --------------------------------------------------------------------
    def run_sync(self) -> None:
        """Run a plain or generator command on the calling (worker) thread."""
        try:
            result = self.method(self.msg, self.args)
            if type(result) is str or result is None:
                self._send(result, self.template)
            elif inspect.isgenerator(result):
                for item in result:
                    self.reply(item)
            elif inspect.isawaitable(result):
                # A plain function returning a coroutine: finish it on the event loop.
                self.reply(self.bot.runtime.run_sync(result))
            else:
                self.reply(result)
        except Exception as exc:
            self.fail(exc)
            return
        self.succeeded()

    async def run_async(self) -> None:
        """Run an ``async def`` command or async generator on the event loop."""
        try:
            result = self.method(self.msg, self.args)
            if type(result) is CoroutineType:  # the usual case, tested first: no ABC check
                self._send(await result, self.template)
            elif inspect.isasyncgen(result):
                async for item in result:
                    self.reply(item)
            elif inspect.isawaitable(result):
                self.reply(await result)
            elif inspect.isgenerator(result):
                for item in result:
                    self.reply(item)
            else:
                self.reply(result)
        except Exception as exc:
            self.fail(exc)
            return
        self.succeeded()
