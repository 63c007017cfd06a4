"""A flow module importing a sibling module relatively (errbot.flows is a package)."""

from errbot import BotFlow, FlowRoot, botflow

from .relhelper import FIRST_STEP


class RelativeFlows(BotFlow):
    @botflow()
    def relative(self, flow: FlowRoot) -> None:
        """Built from a sibling module."""
        flow.connect(FIRST_STEP, auto_trigger=True)
