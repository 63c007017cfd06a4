"""Conversation flows: the graph API (`FlowRoot`, `FlowNode`, `FLOW_END`) and `BotFlow`.

A flow is a graph of commands. Each edge carries a predicate over the flow's context; when a
command succeeds, the flow moves to the node of that command. This module holds the data
structures; running flows is the job of the flow executor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from errbot.backends.base import Identifier, Room, RoomOccupant

log = logging.getLogger(__name__)

Predicate = Callable[[dict[str, Any]], bool]


def _never(_: dict[str, Any]) -> bool:
    return False


class InvalidState(Exception):
    """The flow was asked to move along an edge whose predicate is false."""


class FlowNode:
    """A step of a flow: the command to run there and the steps that may follow."""

    def __init__(self, command: str | None = None, hints: bool = True) -> None:
        self.command = command
        self.children: list[tuple[Predicate, FlowNode]] = []
        self.hints = hints

    def connect(
        self,
        node_or_command: FlowNode | str,
        predicate: Predicate = _never,
        hints: bool = True,
    ) -> FlowNode:
        """Add a following step (a node, or a command name); returns the new node."""
        node = (
            node_or_command
            if isinstance(node_or_command, FlowNode)
            else FlowNode(node_or_command, hints)
        )
        self.children.append((predicate, node))
        return node

    def predicate_for_node(self, node: FlowNode) -> Predicate | None:
        for predicate, child in self.children:
            if child is node:
                return predicate
        return None

    def __str__(self) -> str:
        return str(self.command)


class FlowRoot(FlowNode):
    """The entry of a flow: its name, description and auto-triggering commands."""

    def __init__(self, name: str, description: str) -> None:
        super().__init__()
        self.name = name
        self.description = description
        self.auto_triggers: set[str] = set()
        self.room_flow = False

    def connect(  # type: ignore[override]
        self,
        node_or_command: FlowNode | str,
        predicate: Predicate = _never,
        auto_trigger: bool = False,
        room_flow: bool = False,
    ) -> FlowNode:
        node = super().connect(node_or_command, predicate)
        if auto_trigger and node.command is not None:
            self.auto_triggers.add(node.command)
        self.room_flow = room_flow
        return node

    def __str__(self) -> str:
        return self.name


class _FlowEnd(FlowNode):
    def __init__(self) -> None:
        super().__init__("END", hints=False)

    def __repr__(self) -> str:
        return "FLOW_END"


FLOW_END = _FlowEnd()


class Flow:
    """A running flow: where a requestor is in a FlowRoot's graph, with its context."""

    def __init__(
        self, root: FlowRoot, requestor: Identifier, initial_context: dict[str, Any]
    ) -> None:
        self._root = root
        self._current_step: FlowNode = root
        self.ctx = dict(initial_context)
        self.requestor = requestor

    def next_autosteps(self) -> list[FlowNode]:
        return [node for predicate, node in self._current_step.children if predicate(self.ctx)]

    def next_steps(self) -> list[FlowNode]:
        return [node for _, node in self._current_step.children]

    def advance(self, next_step: FlowNode, enforce_predicate: bool = True) -> None:
        predicate = self._current_step.predicate_for_node(next_step)
        if predicate is None:
            raise ValueError(f"There is no such children: {next_step}.")
        if enforce_predicate and not predicate(self.ctx):
            raise InvalidState(
                "It is not possible to advance to this step because its predicate is false."
            )
        self._current_step = next_step

    @property
    def name(self) -> str:
        return self._root.name

    @property
    def current_step(self) -> FlowNode:
        return self._current_step

    @property
    def root(self) -> FlowRoot:
        return self._root

    def check_identifier(self, identifier: Identifier) -> bool:
        if self.requestor == identifier:
            return True
        if isinstance(self.requestor, Room) and isinstance(identifier, RoomOccupant):
            return identifier.room == self.requestor
        return False

    def __str__(self) -> str:
        return f"{self.requestor} is using flow {self.name} on step {self._current_step}"


class BotFlow:
    """Subclass this and decorate methods with ``@botflow`` to define flows."""

    def __init__(self, bot: Any, name: str | None = None) -> None:
        self._bot = bot
        self.is_activated = False
        self._name = name or type(self).__name__

    @property
    def name(self) -> str:
        return self._name

    def activate(self) -> None:
        self._bot.inject_flows_from(self)
        self.is_activated = True

    def deactivate(self) -> None:
        self._bot.remove_flows_from(self)
        self.is_activated = False

    def get_command(self, command_name: str) -> Any:
        """The bot command named ``command_name`` (Errbot returned None here: a bug)."""
        return self._bot.all_commands.get(command_name)
