"""Flows exercised by tests/test_flows*.py."""

from __future__ import annotations

from typing import Any

from errbot import FLOW_END, BotFlow, FlowRoot, botflow
from errbot.flow import FlowNode


def always(_: dict[str, Any]) -> bool:
    return True


class FlowDefs(BotFlow):
    """Conversation flows for the tests."""

    def __init__(self, bot: Any, name: str | None = None) -> None:
        super().__init__(bot, name)
        self.first_command: Any = None

    @botflow
    def linear(self, flow: FlowRoot) -> None:
        """A linear conversation."""
        # Commands of the plugins are there when flows are built (flows start after plugins).
        self.first_command = self.get_command("first")
        first = flow.connect("first", auto_trigger=True)
        third = first.connect("second").connect("third")
        summary = third.connect("summary", predicate=always)
        summary.connect(FLOW_END, predicate=always)

    @botflow
    def routing(self, flow: FlowRoot) -> None:
        """Goes left or right depending on the choice."""
        choose = flow.connect("choose", auto_trigger=True)
        left = choose.connect("go_left", predicate=lambda ctx: ctx.get("side") == "left")
        right = choose.connect("go_right", predicate=lambda ctx: ctx.get("side") == "right")
        left.connect(FLOW_END, predicate=always)
        right.connect(FLOW_END, predicate=always)

    @botflow
    def broken(self, flow: FlowRoot) -> None:
        start = flow.connect("crash_start", auto_trigger=True)
        start.connect("boom", predicate=always).connect("after_boom", predicate=always)

    @botflow
    def asyncflow(self, flow: FlowRoot) -> None:
        """Async steps."""
        start = flow.connect("astart", auto_trigger=True)
        start.connect("acount", predicate=always).connect("afinish", predicate=always)

    @botflow
    def poll(self, flow: FlowRoot) -> None:
        """A poll in a room: anyone in the room votes."""
        opened = flow.connect("poll_open", auto_trigger=True, room_flow=True)
        vote = opened.connect("vote")
        vote.connect(vote)
        vote.connect("poll_close")

    @botflow
    def manual(self, flow: FlowRoot) -> None:
        """Started by hand, with or without a seed."""
        flow.connect("show_seed", predicate=lambda ctx: "seed" in ctx)
        flow.connect("first")

    @botflow
    def quiet(self, flow: FlowRoot) -> None:
        """Waits without hints."""
        start = flow.connect(FlowNode("quiet_start", hints=False), auto_trigger=True)
        start.connect("quiet_end")

    @botflow
    def picky(self, flow: FlowRoot) -> None:
        """A regex step."""
        flow.connect("pick_start", auto_trigger=True).connect("pick_one")

    @botflow
    def unbuildable(self, flow: FlowRoot) -> None:
        """Its definition raises: it is left out, the others load."""
        raise RuntimeError("cannot build")
