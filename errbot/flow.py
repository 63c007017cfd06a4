"""Conversation flows: the graph API (`FlowRoot`, `FlowNode`, `FLOW_END`) and `BotFlow`.

A flow is a graph of commands. Each edge carries a predicate over the flow's context; when a
command succeeds, the flow moves to the node of that command. This module holds the data
structures; running flows is the job of `errbot.flow_executor.FlowExecutor`, re-exported here
for code that imports it from ``errbot.flow`` as in Errbot.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from errbot.backends.base import Identifier, Person, Room, RoomOccupant

if TYPE_CHECKING:
    from errbot.flow_executor import FlowExecutor

__all__ = [
    "FLOW_END",
    "BotFlow",
    "Flow",
    "FlowExecutor",
    "FlowNode",
    "FlowRoot",
    "InvalidState",
    "Predicate",
    "same_requestor",
]

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
        """Add a following step (a node, or a command name); returns the new node.

        Passing a node that is already part of the graph makes a join or a loop.
        """
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
        """Add a first step. ``auto_trigger``: running that command starts the flow;
        ``room_flow``: the flow belongs to the room it starts in (the last call decides)."""
        node = super().connect(node_or_command, predicate)
        if auto_trigger and node.command is not None:
            self.auto_triggers.add(node.command)
        self.room_flow = room_flow
        return node

    # -- addressing nodes (used to persist in-flight flows) ---------------------------
    def path_to(self, target: FlowNode) -> list[int] | None:
        """The shortest list of child indexes leading from this root to ``target``."""
        if target is self:
            return []
        seen: set[int] = {id(self)}
        queue: deque[tuple[FlowNode, list[int]]] = deque([(self, [])])
        while queue:
            node, path = queue.popleft()
            for index, (_, child) in enumerate(node.children):
                if child is target:
                    return [*path, index]
                if id(child) not in seen:
                    seen.add(id(child))
                    queue.append((child, [*path, index]))
        return None

    def node_at(self, path: Sequence[int]) -> FlowNode | None:
        """The node reached by following ``path`` (child indexes), or None."""
        node: FlowNode = self
        for index in path:
            if not isinstance(index, int) or not 0 <= index < len(node.children):
                return None
            node = node.children[index][1]
        return node

    def __str__(self) -> str:
        return self.name


class _FlowEnd(FlowNode):
    def __init__(self) -> None:
        super().__init__("END", hints=False)

    def __repr__(self) -> str:
        return "FLOW_END"


FLOW_END = _FlowEnd()


def same_requestor(requestor: Identifier, identifier: Identifier | None) -> bool:
    """Whether ``identifier`` is the one who owns a flow started by ``requestor``.

    Rooms compare as rooms. People compare by `Person.person`, the backend's unique id (the
    contract keys flows on it): an identifier rebuilt from a string, or the same person
    writing from a room, still owns their flow, where plain ``==`` may differ between two
    identifier classes of one backend (Errbot issue #1225).
    """
    if identifier is None:
        return False
    if requestor == identifier:
        return True
    if isinstance(requestor, Room) or isinstance(identifier, Room):
        return False
    if isinstance(requestor, (Person, RoomOccupant)) and isinstance(
        identifier, (Person, RoomOccupant)
    ):
        mine = getattr(requestor, "person", None)
        return mine is not None and mine == getattr(identifier, "person", None)
    return False


class Flow:
    """A running flow: where a requestor is in a FlowRoot's graph, with its context."""

    def __init__(
        self, root: FlowRoot, requestor: Identifier, initial_context: dict[str, Any]
    ) -> None:
        self._root = root
        self._current_step: FlowNode = root
        self.ctx = dict(initial_context)
        self.requestor = requestor
        # Bookkeeping of the executor: a stable id for storage, the time of the last
        # activity (for expiry), the idle timer, and whether a run is in progress.
        self.id = uuid.uuid4().hex
        self.last_activity = 0.0
        self._timer: Any = None
        self._driving = False
        self._pending = False

    def next_autosteps(self) -> list[FlowNode]:
        """The following steps whose predicate holds for the current context.

        A predicate that raises counts as false (and is logged).
        """
        ready = []
        for predicate, node in self._current_step.children:
            try:
                if predicate(self.ctx):
                    ready.append(node)
            except Exception:
                log.exception("The predicate towards %s in flow %s raised", node, self.name)
        return ready

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

    def jump_to(self, step: FlowNode) -> None:
        """Put the flow on ``step`` without following an edge (restoring a saved flow)."""
        self._current_step = step

    @property
    def name(self) -> str:
        return self._root.name

    @property
    def current_step(self) -> FlowNode:
        return self._current_step

    @property
    def root(self) -> FlowRoot:
        return self._root

    def check_identifier(self, identifier: Identifier | None) -> bool:
        """Whether ``identifier`` may continue this flow: its requestor, or for a room flow
        any occupant of the room."""
        if identifier is None:
            return False
        if isinstance(self.requestor, Room) and isinstance(identifier, RoomOccupant):
            return bool(identifier.room == self.requestor)
        return same_requestor(self.requestor, identifier)

    def __str__(self) -> str:
        return f"{self.requestor} is using flow {self.name} on step {self._current_step}"


class BotFlow:
    """Subclass this and decorate methods with ``@botflow`` to define flows.

    Each ``@botflow`` method ``(self, flow: FlowRoot)`` builds one flow; the flow's name is
    the method's name and its description the method's docstring.
    """

    def __init__(self, bot: Any, name: str | None = None) -> None:
        self._bot = bot
        self.is_activated = False
        self._name = name or type(self).__name__

    @property
    def name(self) -> str:
        return self._name

    def activate(self) -> None:
        """Register the flows; override to do more, calling ``super().activate()``."""
        self._bot.inject_flows_from(self)
        self.is_activated = True

    def deactivate(self) -> None:
        """Withdraw the flows; override to do more, calling ``super().deactivate()``."""
        self._bot.remove_flows_from(self)
        self.is_activated = False

    def get_command(self, command_name: str) -> Any:
        """The bot command named ``command_name`` (Errbot returned None here: a bug)."""
        return self._bot.all_commands.get(command_name)


def __getattr__(name: str) -> Any:
    # FlowExecutor lives in its own module (it imports the bot's runtime helpers); Errbot
    # code imports it from here.
    if name == "FlowExecutor":
        from errbot.flow_executor import FlowExecutor

        return FlowExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
