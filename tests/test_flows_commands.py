"""The ``!flows`` commands of the Flows core plugin and their exact texts."""

from __future__ import annotations

import json
import os

import pytest
from test_flows_helpers import FLOWS_DIR, Chat

from errbot.backends.test import TestPerson

extra_plugin_dir = FLOWS_DIR

ALICE = TestPerson("alice")


@pytest.fixture
def chat(testbot):
    return Chat(testbot)


def test_list(chat):
    (reply,) = chat.say("!flows list")
    raw = chat.sent[-1][1]
    assert "- **linear** A linear conversation.\n" in raw
    assert "- **broken** No description\n" in raw
    assert "• routing Goes left or right depending on the choice." in reply


class TestWithoutFlows:
    extra_plugin_dir = os.path.join(os.path.dirname(__file__), "plugins", "smoke")

    def test_list_without_flows_sends_nothing(self, testbot):
        assert Chat(testbot).say("!flows list") == []


def test_show(chat):
    chat.say("!flows show linear")
    raw = chat.sent[-1][1]
    lines = raw.splitlines()
    assert lines[0] == "Flow [linear] A linear conversation.<br>"
    assert lines[1] == "&emsp;&nbsp;↪&nbsp;&nbsp;**first**<br>"
    assert lines[2] == "&emsp;&nbsp;&emsp;&nbsp;↪&nbsp;&nbsp;**second**<br>"
    assert lines[-1] == "&emsp;&nbsp;" * 5 + "↪&nbsp;&nbsp;**END**<br>"


def test_show_marks_cycles(chat):
    chat.say("!flows show poll")
    raw = chat.sent[-1][1]
    assert "&emsp;&nbsp;" * 3 + "↺<br>" in raw.splitlines()
    assert "**poll\\_close**" in raw


def test_show_errors(chat):
    assert chat.say("!flows show") == ["You need to specify a flow name."]
    assert chat.say("!flows show nope") == ["Flow nope doesn't exist."]


def test_start_with_json_context(chat):
    assert chat.say('!flows start manual {"seed": 42}') == [
        "Flow manual started ...",
        "seed is 42",
    ]
    assert chat.sent[0][1] == "Flow **manual** started ..."
    assert chat.executor.in_flight == []


def test_start_without_context_gives_hints(chat):
    assert chat.say("!flows start manual") == [
        "Flow manual started ...",
        "You are in the flow manual, you can continue with:\n• !show seed\n• !first",
    ]
    # the manually started flow waits for its steps; "first" is one of them
    assert chat.say("!first go") == ["first done (go)"]
    assert chat.executor.in_flight == []


def test_start_errors(chat):
    payload = "{oops}"
    try:
        json.loads(payload)
    except ValueError as exc:
        expected = f"Cannot parse json {payload}: {exc}."
    assert chat.say(f"!flows start manual {payload}") == [expected]
    assert chat.say("!flows start manual [1, 2]") == [
        "Cannot parse json [1, 2]: the initial context must be a JSON object."
    ]
    assert chat.say("!flows start nope") == [
        "Computer says nooo. See logs for details:\nFlow nope doesn't exist"
    ]
    chat.say("!flows start manual")
    assert chat.say("!flows start linear") == [
        "Computer says nooo. See logs for details:\nUser gbin@localhost is already running a flow."
    ]
    assert chat.executor.in_flight[0].name == "manual"


def test_status_texts(chat):
    assert chat.say("!flows status") == ["No Flow started."]
    chat.say("!first a", frm=ALICE)
    # the admin sees every flow
    assert chat.say("!flows status") == [
        ">>> alice is using flow *linear* on step *first*\nNext Step(s): \n*second*"
    ]
    assert chat.sent[-1][1] == (
        "\\>>> alice is using flow \\*linear\\* on step \\*first\\*\nNext Step(s): \n\\*second\\*"
    )
    # another user sees none of them
    carol = TestPerson("carol")
    assert chat.say("!flows status", frm=carol) == ["No Flow started for current user: carol."]
    # the requestor sees their own
    assert chat.say("!flows status", frm=ALICE)[0].startswith(">>> alice is using flow *linear*")


def test_status_of_one_flow_shows_its_tree(chat):
    chat.say("!first a", frm=ALICE)
    chat.say("!flows status linear", frm=ALICE)
    raw = chat.sent[-1][1]
    assert raw.splitlines()[:2] == [
        "Flow [linear] A linear conversation.<br>",
        "&emsp;&nbsp;↪&nbsp;&nbsp;**first** Start the linear flow. (_alice_)<br>",
    ]
    assert chat.say("!flows status routing", frm=ALICE) == ["Flow not found."]


def test_stop(chat):
    assert chat.say("!flows stop") == ["No Flow found."]
    assert chat.say("!flows stop linear") == ["Flow not found."]
    chat.say("!first a")
    assert chat.say("!flows stop linear") == ["linear stopped."]
    assert chat.executor.in_flight == []
    chat.say("!first a")
    assert chat.say("!flows stop") == ["linear stopped."]
    # the flow is gone: its steps are plain commands again, flow_only ones are refused
    assert chat.say("!second b") == ["second done"]
    assert chat.say("!third") == []


def test_stop_only_touches_the_callers_flows(chat):
    chat.say("!first a", frm=ALICE)
    assert chat.say("!flows stop linear") == ["Flow not found."]
    assert len(chat.executor.in_flight) == 1


def test_kill(chat):
    chat.say("!first a", frm=ALICE)
    assert chat.say("!flows kill alice routing") == ["Flow not found."]
    assert chat.say("!flows kill alice linear") == ["linear killed."]
    assert chat.say("!flows kill alice linear") == ["Flow not found."]
    assert chat.executor.in_flight == []


def test_kill_a_room_flow_by_room_name(chat):
    from errbot.backends.test import TestOccupant

    room = chat.bot.query_room("testroom")
    chat.say("!poll open x", frm=TestOccupant("alice", room), to=room)
    assert chat.say("!flows kill testroom poll") == ["poll killed."]


class TestKillRestrictedByAcl:
    extra_config = {"ACCESS_CONTROLS": {"Flows:flows_kill": {"allowusers": ("gbin@localhost",)}}}

    def test_only_allowed_users_kill(self, testbot):
        chat = Chat(testbot)
        chat.say("!first a")
        assert chat.say("!flows kill gbin@localhost linear", frm=ALICE) == [
            "You're not allowed to access this command from this user"
        ]
        assert chat.say("!flows kill gbin@localhost linear") == ["linear killed."]
