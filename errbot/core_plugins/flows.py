"""Core plugin ``Flows``: ``!flows list|show|start|status|stop|kill`` (contract section 8).

The texts are Errbot's. The tree of ``!flows show`` and ``!flows status <name>`` keeps
Errbot's HTML-ish markup (``<br>``, ``&emsp;``), one node per line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from errbot import BotPlugin, arg_botcmd, botcmd
from errbot.backends.base import Message
from errbot.flow import FLOW_END, Flow, FlowNode, FlowRoot
from errbot.rendering import md_escape

INDENT = "&emsp;&nbsp;"
ARROW = "↪&nbsp;&nbsp;"


def _acl_user(msg: Message) -> str:
    frm = msg.frm
    return str(getattr(frm, "aclattr", None) or getattr(frm, "person", None) or frm)


class Flows(BotPlugin):
    """Management commands related to flows / conversations."""

    @property
    def _executor(self) -> Any:
        return self._bot.flow_executor

    # -- rendering ------------------------------------------------------------------------
    def _command_summary(self, command: str | None) -> str:
        method = self._bot.all_commands.get(command) if command else None
        doc = (getattr(method, "__doc__", None) or "").strip()
        return doc.splitlines()[0].strip() if doc else ""

    def _tree(self, root: FlowRoot, flow: Flow | None = None) -> str:
        lines: list[str] = []
        self._walk(lines, [], root, flow)
        return "".join(lines)

    def _walk(
        self, out: list[str], stack: list[FlowNode], node: FlowNode, flow: Flow | None
    ) -> None:
        depth = len(stack)
        if any(node is seen for seen in stack):
            out.append(f"{INDENT * depth}↺<br>\n")
            return
        current = flow is not None and flow.current_step is node
        who = f" (_{md_escape(str(flow.requestor))}_)" if flow is not None and current else ""
        if isinstance(node, FlowRoot):
            description = f" {node.description}" if node.description else ""
            out.append(f"Flow [{md_escape(node.name)}]{description}<br>\n")
            if who:
                out.append(f"{ARROW}Start{who}<br>\n")
        else:
            if node is FLOW_END:
                label, summary = "END", ""
            else:
                label = md_escape(str(node.command))
                summary = self._command_summary(node.command) if flow is not None else ""
            summary = f" {summary}" if summary else ""
            out.append(f"{INDENT * depth}{ARROW}**{label}**{summary}{who}<br>\n")
        for _, child in node.children:
            self._walk(out, [*stack, node], child, flow)

    def _visible(self, msg: Message, flow: Flow) -> bool:
        """The requestor (or an occupant of a room flow's room) and BOT_ADMINS see a flow."""
        from errbot.core_plugins.acls import glob_match

        if glob_match(_acl_user(msg), self.bot_config.BOT_ADMINS):
            return True
        return flow.check_identifier(msg.frm)

    @staticmethod
    def _status_line(flow: Flow) -> str:
        steps = "\n".join(
            f"\\*{md_escape(str(step.command))}\\*" for step in flow.next_steps() if step.command
        )
        return (
            f"\\>>> {md_escape(str(flow.requestor))} is using flow \\*{md_escape(flow.name)}\\* "
            f"on step \\*{md_escape(str(flow.current_step))}\\*\nNext Step(s): \n{steps}"
        )

    # -- commands -------------------------------------------------------------------------
    @botcmd
    def flows_list(self, _: Message, args: str) -> str:
        """Displays the list of setup flows."""
        return "".join(
            f"- **{md_escape(name)}** {root.description or 'No description'}\n"
            for name, root in list(self._executor.flow_roots.items())
        )

    @botcmd(syntax="<name>")
    def flows_show(self, _: Message, args: str) -> str:
        """Shows the structure of a flow."""
        name = args.strip()
        if not name:
            return "You need to specify a flow name."
        root = self._executor.flow_roots.get(name)
        if root is None:
            return f"Flow {name} doesn't exist."
        return self._tree(root)

    @botcmd(syntax="<name> [initial_payload]")
    def flows_start(self, msg: Message, args: str) -> Iterator[str]:
        """Manually start a flow within the context of the calling user.
        You can prefeed the flow data with a json payload.
        Example:
             !flows start poll_setup {"title":"yeah!","options":["foo","bar","baz"]}
        """
        name, _, payload = args.strip().partition(" ")
        if not name:
            yield "You need to specify a flow to manually start"
            return
        context: dict[str, Any] = {}
        payload = payload.strip()
        if payload:
            try:
                context = json.loads(payload)
                if not isinstance(context, dict):
                    raise ValueError("the initial context must be a JSON object")
            except Exception as exc:
                yield f"Cannot parse json {payload}: {exc}."
                return
        # Registered now (errors become the reply); moved on only once the reply is out, so
        # the hints always follow "started".
        flow = self._executor.start_flow(name, msg.frm, context, run=False)
        yield f"Flow **{name}** started ..."
        self._executor.run(flow)

    @botcmd
    def flows_status(self, msg: Message, args: str) -> str:
        """Displays the list of started flows."""
        in_flight = list(self._executor.in_flight)
        if not in_flight:
            return "No Flow started."
        visible = [flow for flow in in_flight if self._visible(msg, flow)]
        if not visible:
            return f"No Flow started for current user: {_acl_user(msg)}."
        name = args.strip()
        if name:
            trees = [self._tree(flow.root, flow) for flow in visible if flow.name == name]
            return "\n".join(trees) if trees else "Flow not found."
        return "\n\n".join(self._status_line(flow) for flow in visible)

    @botcmd(syntax="[flow_name]")
    def flows_stop(self, msg: Message, args: str) -> Iterator[str]:
        """Stop flows you are in.
        optionally, stop a specific flow you are in.
        """
        name = args.strip()
        if name:
            flow = self._executor.stop_flow(name, msg.frm)
            yield f"{flow.name} stopped." if flow is not None else "Flow not found."
            return
        stopped = False
        for flow in self._executor.flows_of(msg.frm):
            if self._executor.stop(flow):
                stopped = True
                yield f"{flow.name} stopped."
        if not stopped:
            yield "No Flow found."

    @arg_botcmd("flow_name", type=str)
    @arg_botcmd("user", type=str)
    def flows_kill(self, _: Message, user: str, flow_name: str) -> str:
        """Admin command to kill a specific flow."""
        try:
            identifier = self.build_identifier(user)
        except Exception:
            identifier = None
        for flow in list(self._executor.in_flight):
            if flow.name != flow_name:
                continue
            if str(flow.requestor) == user or flow.check_identifier(identifier):
                if self._executor.stop(flow):
                    return f"{flow.name} killed."
        return "Flow not found."
