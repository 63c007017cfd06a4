"""Running flows through a real bot: triggers, steps, hints, predicates, rooms, errors."""

from __future__ import annotations

import pytest
from test_flows_helpers import FLOWS_DIR, Chat

from errbot.backends.test import TestOccupant, TestPerson

extra_plugin_dir = FLOWS_DIR

LINEAR_HINT_SECOND = "You are in the flow **linear**, you can continue with:\n\n- !second [value]"
LINEAR_HINT_THIRD = "You are in the flow **linear**, you can continue with:\n\n- !third"


@pytest.fixture
def chat(testbot):
    return Chat(testbot)


def names_in_flight(chat: Chat) -> list[tuple[str, str]]:
    return sorted((f.name, str(f.requestor)) for f in chat.executor.in_flight)


def test_linear_flow_from_auto_trigger_to_end(chat):
    assert chat.say("!first a") == [
        "first done (a)",
        "You are in the flow linear, you can continue with:\n• !second [value]",
    ]
    # the raw Markdown of the hints, sent to the requestor
    assert chat.sent[-1] == ("gbin@localhost", LINEAR_HINT_SECOND)
    assert chat.say("!second b") == [
        "second done",
        "You are in the flow linear, you can continue with:\n• !third",
    ]
    assert chat.sent[-1][1] == LINEAR_HINT_THIRD
    # third reads the context filled by the earlier steps and sees msg.flow; summary is an
    # automatic step whose reply reaches the chat (Errbot #934), then FLOW_END ends the flow
    assert chat.say("!third") == [
        "third done with a/b in linear",
        "summary: first=a second=b in linear",
    ]
    assert chat.executor.in_flight == []


def test_flow_only_command_is_ignored_outside_a_flow(chat):
    assert chat.say("!third") == []
    assert chat.say("!first x") == [
        "first done (x)",
        "You are in the flow linear, you can continue with:\n• !second [value]",
    ]
    # in a flow, but not the step the flow waits for
    assert chat.say("!third") == []
    assert chat.say("!summary") == []


def test_step_not_expected_runs_as_a_plain_command(chat):
    chat.say("!first x")
    # "second" is expected: it advances; "first" again is just a command now
    chat.say("!second y")
    assert chat.say("!first z") == ["first done (z)"]
    flow = chat.executor.in_flight[0]
    assert str(flow.current_step) == "second"
    assert flow.ctx == {"first": "x", "second": "y"}


def test_predicates_route_to_the_matching_branch(chat):
    assert chat.say("!choose right") == ["you chose right", "went right"]
    assert chat.executor.in_flight == []
    assert chat.say("!choose left") == ["you chose left", "went left"]


def test_no_true_predicate_waits_with_hints_and_flow_only_steps_work_inside(chat):
    assert chat.say("!choose up") == [
        "you chose up",
        "You are in the flow routing, you can continue with:\n• !go left\n• !go right",
    ]
    assert chat.say("!go left") == ["went left"]
    assert chat.executor.in_flight == []


def test_error_in_an_automatic_step_is_reported_and_the_flow_goes_on(chat):
    assert chat.say("!crash_start") == [
        "starting",
        'gbin@localhost is using flow broken on step crash_start errored at boom with "kaboom"',
        "recovered",
    ]
    assert chat.executor.in_flight == []


def test_async_commands_as_trigger_and_automatic_steps(chat):
    assert chat.say("!astart") == ["async start", "tick 0", "tick 1", "async done"]
    assert chat.executor.in_flight == []


def test_hints_false_waits_silently(chat):
    assert chat.say("!quiet_start") == ["quiet started"]
    assert names_in_flight(chat) == [("quiet", "gbin@localhost")]
    assert chat.say("!quiet end") == ["quiet ended"]
    assert chat.executor.in_flight == []


def test_several_users_have_their_own_flows(chat):
    alice, bob = TestPerson("alice"), TestPerson("bob")
    assert chat.say("!first a1", frm=alice)[0] == "first done (a1)"
    assert chat.sent[-1] == ("alice", LINEAR_HINT_SECOND)
    assert chat.say("!first b1", frm=bob)[0] == "first done (b1)"
    assert chat.sent[-1] == ("bob", LINEAR_HINT_SECOND)
    chat.say("!second a2", frm=alice)
    # bob waits for "second": his "third" is refused, alice's flow is untouched
    assert chat.say("!third", frm=bob) == []
    chat.say("!second b2", frm=bob)
    assert chat.say("!third", frm=bob) == [
        "third done with b1/b2 in linear",
        "summary: first=b1 second=b2 in linear",
    ]
    assert names_in_flight(chat) == [("linear", "alice")]
    assert chat.executor.in_flight[0].ctx == {"first": "a1", "second": "a2"}
    assert chat.say("!third", frm=alice)[0] == "third done with a1/a2 in linear"


def test_a_user_in_a_flow_does_not_auto_trigger_another(chat):
    chat.say("!first a")
    assert chat.say("!choose left") == ["you chose left"]
    assert names_in_flight(chat) == [("linear", "gbin@localhost")]


def test_person_flow_follows_the_person_from_a_room(chat):
    room = chat.bot.query_room("testroom")
    chat.say("!first a", frm=TestPerson("alice"))
    # alice writes in the room: the same person, the same flow
    replies = chat.say("!second b", frm=TestOccupant("alice", room), to=room)
    assert replies[0] == "second done"
    assert str(chat.executor.in_flight[0].current_step) == "second"


def test_room_flow_any_occupant_continues(chat):
    room = chat.bot.query_room("testroom")
    alice, bob = TestOccupant("alice", room), TestOccupant("bob", room)
    assert chat.say("!poll open lunch", frm=alice, to=room) == [
        "poll opened: lunch",
        "You are in the flow poll, you can continue with:\n• !vote <choice>",
    ]
    # the flow belongs to the room: hints go to the room
    assert chat.sent[-1] == (
        "testroom",
        "You are in the flow **poll**, you can continue with:\n\n- !vote <choice>",
    )
    assert names_in_flight(chat) == [("poll", "testroom")]
    assert chat.say("!vote pizza", frm=bob, to=room)[0] == "bob voted pizza"
    # someone outside the room is not in the flow
    assert chat.say("!vote sushi", frm=TestPerson("carol")) == []
    assert chat.say("!vote salad", frm=alice, to=room)[0] == "alice voted salad"
    assert chat.say("!poll close", frm=bob, to=room) == ["results: bob:pizza, alice:salad"]
    assert chat.executor.in_flight == []


def test_room_flow_does_not_block_personal_flows(chat):
    room = chat.bot.query_room("testroom")
    alice = TestOccupant("alice", room)
    chat.say("!poll open x", frm=alice, to=room)
    chat.say("!first a", frm=alice, to=room)
    assert names_in_flight(chat) == [("linear", "alice@testroom"), ("poll", "testroom")]


def test_botflow_get_command_returns_the_command(testbot):
    botflow = testbot.bot.plugin_manager.flows["FlowDefs"]
    assert botflow.is_activated
    assert botflow.first_command is not None
    assert botflow.first_command.__name__ == "first"


def test_start_flow_and_stop_flow_api(chat):
    executor = chat.executor
    with pytest.raises(ValueError, match="Flow nope doesn't exist"):
        executor.start_flow("nope", TestPerson("dan"), {})
    flow = executor.start_flow("manual", TestPerson("dan"), {"seed": 7})
    assert chat.settle() == ["seed is 7"]
    assert flow not in executor.in_flight
    executor.start_flow("linear", TestPerson("dan"), {})
    chat.settle()
    with pytest.raises(ValueError, match="User dan is already running a flow."):
        executor.start_flow("manual", TestPerson("dan"), {})
    assert executor.stop_flow("manual", TestPerson("dan")) is None
    stopped = executor.stop_flow("linear", TestPerson("dan"))
    assert stopped is not None and stopped.name == "linear"
    assert executor.in_flight == []


def test_flows_are_withdrawn_with_the_plugins(testbot):
    manager = testbot.bot.plugin_manager
    executor = testbot.bot.flow_executor
    assert "linear" in executor.flow_roots
    manager.deactivate_flows()
    assert executor.flow_roots == {}
    assert manager.activate_flows() == []
    assert "linear" in executor.flow_roots


def test_regex_step_hint_and_continuation(chat):
    assert chat.say("!pick_start") == [
        "pick a colour",
        "You are in the flow picky, you can continue with:\n• ^pick (\\w+)$",
    ]
    assert chat.sent[-1][1] == (
        "You are in the flow **picky**, you can continue with:\n\n- ^pick (\\w+)$"
    )
    assert chat.say("pick blue") == ["picked blue in picky"]
    assert chat.executor.in_flight == []
    # outside the flow the flow_only regex command does not answer
    assert chat.say("pick red") == []


def test_a_flow_whose_definition_raises_is_left_out(testbot):
    roots = testbot.bot.flow_executor.flow_roots
    assert "unbuildable" not in roots
    assert {"linear", "routing", "poll", "picky"} <= set(roots)


class TestWithoutWorkerPool:
    extra_config = {"BOT_ASYNC": False}

    def test_flows_run_when_commands_run_inline(self, testbot):
        chat = Chat(testbot)
        assert chat.say("!first a")[1].startswith("You are in the flow linear")
        chat.say("!second b")
        assert chat.say("!third") == [
            "third done with a/b in linear",
            "summary: first=a second=b in linear",
        ]
        assert chat.say("!astart") == ["async start", "tick 0", "tick 1", "async done"]
