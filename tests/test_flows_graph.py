"""The flow graph API, identity matching, and loading `.flow` descriptors."""

from __future__ import annotations

import os

import pytest
from test_flows_helpers import flow_bot

from errbot import FLOW_END, BotFlow, Flow, FlowRoot, botflow
from errbot.backends.test import TestOccupant, TestPerson, TestRoom
from errbot.flow import FlowNode, InvalidState, same_requestor

BROKEN_DIR = os.path.join(os.path.dirname(__file__), "plugins", "flows_broken")


def build() -> tuple[FlowRoot, FlowNode, FlowNode, FlowNode]:
    root = FlowRoot("demo", "A demo.")
    a = root.connect("a", auto_trigger=True)
    b = a.connect("b", predicate=lambda ctx: ctx.get("go", False))
    c = a.connect("c", hints=False)
    c.connect(a)  # a loop back
    b.connect(FLOW_END, predicate=lambda ctx: True)
    return root, a, b, c


def test_graph_structure():
    root, a, b, c = build()
    assert root.auto_triggers == {"a"}
    assert [node for _, node in a.children] == [b, c]
    assert c.hints is False and b.hints is True
    assert a.predicate_for_node(c)({}) is False  # the default predicate never fires
    assert a.predicate_for_node(FLOW_END) is None
    assert str(root) == "demo" and str(b) == "b" and repr(FLOW_END) == "FLOW_END"


def test_room_flow_flag_is_set_by_the_last_connect():
    root = FlowRoot("r", "")
    root.connect("x", room_flow=True)
    assert root.room_flow
    root.connect("y")
    assert not root.room_flow


def test_paths_address_nodes_even_through_loops():
    root, a, b, c = build()
    assert root.path_to(root) == []
    assert root.path_to(c) == [0, 1]
    assert root.path_to(FLOW_END) == [0, 0, 0]
    assert root.node_at([0, 1, 0]) is a
    assert root.node_at([5]) is None
    assert root.path_to(FlowNode("elsewhere")) is None


def test_flow_advance_and_steps():
    root, a, b, c = build()
    flow = Flow(root, TestPerson("alice"), {"seed": 1})
    assert flow.current_step is root and flow.name == "demo" and flow.root is root
    assert flow.next_steps() == [a]
    with pytest.raises(InvalidState):
        flow.advance(a)  # the root edge's predicate is false
    flow.advance(a, enforce_predicate=False)
    assert flow.next_autosteps() == []
    flow.ctx["go"] = True
    assert flow.next_autosteps() == [b]
    with pytest.raises(ValueError, match="There is no such children"):
        flow.advance(FLOW_END)
    flow.advance(b)
    assert str(flow) == "alice is using flow demo on step b"


def test_a_raising_predicate_counts_as_false():
    root = FlowRoot("p", "")
    root.connect("x", predicate=lambda ctx: ctx["missing"])
    assert Flow(root, TestPerson("a"), {}).next_autosteps() == []


def test_identity_matching():
    room = TestRoom("lobby")
    alice = TestPerson("alice")
    assert same_requestor(alice, TestPerson("alice"))
    assert same_requestor(alice, TestOccupant("alice", room))
    assert not same_requestor(alice, TestPerson("bob"))
    assert not same_requestor(alice, room)
    assert not same_requestor(alice, None)
    root = FlowRoot("r", "")
    room_flow = Flow(root, room, {})
    assert room_flow.check_identifier(TestOccupant("bob", room))
    assert not room_flow.check_identifier(TestOccupant("bob", TestRoom("other")))
    assert not room_flow.check_identifier(TestPerson("bob"))


def test_botflow_methods_are_marked():
    class Defs(BotFlow):
        @botflow
        def bare(self, flow: FlowRoot) -> None:
            pass

        @botflow()
        def called(self, flow: FlowRoot) -> None:
            pass

    assert Defs.bare._err_flow and Defs.called._err_flow
    assert Defs(None).name == "Defs"
    assert Defs(None, "Named").name == "Named"


def test_flow_descriptors_load_and_report_errors():
    testbot, chat = flow_bot(plugin_dir=BROKEN_DIR)
    try:
        manager = testbot.bot.plugin_manager
        # a .flow module is imported as errbot.flows.<Module> and may import its siblings
        assert type(manager.flows["RelativeFlows"]).__module__ == "errbot.flows.relflows"
        assert "relative" in testbot.bot.flow_executor.flow_roots
        assert "NoFlow" not in manager.flows
        warnings = [body for _, body in chat.sent if "failed to start" in body]
        assert len(warnings) == 1
        assert "noflow.flow" in warnings[0]
        assert "Did not find any plugin in" in warnings[0]
    finally:
        testbot.stop()
