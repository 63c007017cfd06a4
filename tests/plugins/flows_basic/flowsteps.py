"""Commands used as steps by the flows of flowdefs.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from errbot import BotPlugin, botcmd, re_botcmd
from errbot.backends.base import Message


class FlowSteps(BotPlugin):
    """Steps of the test flows."""

    # -- linear -------------------------------------------------------------------------
    @botcmd
    def first(self, msg: Message, args: str) -> str:
        """Start the linear flow."""
        msg.ctx["first"] = args
        return f"first done ({args})"

    @botcmd(syntax=" [value]")
    def second(self, msg: Message, args: str) -> str:
        """Second step."""
        msg.ctx["second"] = args
        return "second done"

    @botcmd(flow_only=True)
    def third(self, msg: Message, args: str) -> str:
        """Third step, only inside a flow."""
        flow = msg.flow.name if msg.flow is not None else None
        return f"third done with {msg.ctx.get('first')}/{msg.ctx.get('second')} in {flow}"

    @botcmd(flow_only=True)
    def summary(self, msg: Message, args: Any) -> str:
        """Automatic last step."""
        return f"summary: first={msg.ctx['first']} second={msg.ctx['second']} in {msg.flow.name}"

    # -- routing ------------------------------------------------------------------------
    @botcmd
    def choose(self, msg: Message, args: str) -> str:
        msg.ctx["side"] = args.strip()
        return f"you chose {args.strip()}"

    @botcmd(flow_only=True)
    def go_left(self, msg: Message, args: Any) -> str:
        return "went left"

    @botcmd(flow_only=True)
    def go_right(self, msg: Message, args: Any) -> str:
        return "went right"

    # -- errors -------------------------------------------------------------------------
    @botcmd
    def crash_start(self, msg: Message, args: str) -> str:
        return "starting"

    @botcmd(flow_only=True)
    def boom(self, msg: Message, args: Any) -> str:
        raise RuntimeError("kaboom")

    @botcmd(flow_only=True)
    def after_boom(self, msg: Message, args: Any) -> str:
        return "recovered"

    # -- async --------------------------------------------------------------------------
    @botcmd
    async def astart(self, msg: Message, args: str) -> str:
        msg.ctx["ticks"] = 2
        return "async start"

    @botcmd(flow_only=True)
    async def acount(self, msg: Message, args: Any) -> AsyncIterator[str]:
        for i in range(msg.ctx["ticks"]):
            yield f"tick {i}"

    @botcmd(flow_only=True)
    async def afinish(self, msg: Message, args: Any) -> str:
        return "async done"

    # -- room poll ------------------------------------------------------------------------
    @botcmd
    def poll_open(self, msg: Message, args: str) -> str:
        msg.ctx["votes"] = []
        return f"poll opened: {args}"

    @botcmd(flow_only=True, syntax=" <choice>")
    def vote(self, msg: Message, args: str) -> str:
        msg.ctx["votes"].append(f"{msg.frm.person}:{args}")
        return f"{msg.frm.person} voted {args}"

    @botcmd(flow_only=True)
    def poll_close(self, msg: Message, args: str) -> str:
        return "results: " + ", ".join(msg.ctx["votes"])

    # -- manual / quiet -------------------------------------------------------------------
    @botcmd(flow_only=True)
    def show_seed(self, msg: Message, args: Any) -> str:
        return f"seed is {msg.ctx['seed']}"

    @botcmd
    def quiet_start(self, msg: Message, args: str) -> str:
        return "quiet started"

    @botcmd(flow_only=True)
    def quiet_end(self, msg: Message, args: str) -> str:
        return "quiet ended"

    # -- regex step -----------------------------------------------------------------------
    @botcmd
    def pick_start(self, msg: Message, args: str) -> str:
        return "pick a colour"

    @re_botcmd(pattern=r"^pick (\w+)$", prefixed=False, flow_only=True)
    def pick_one(self, msg: Message, match: Any) -> str:
        return f"picked {match.group(1)} in {msg.flow.name}"
