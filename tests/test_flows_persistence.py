"""Flows in flight survive a restart on durable storage, and idle flows expire."""

from __future__ import annotations

from typing import Any

import pytest
from test_flows_helpers import FLOWS_DIR, Chat, FakeClock, flow_bot

from errbot.backends.test import TestPerson
from errbot.flow_executor import NAMESPACE, describe_duration

extra_plugin_dir = FLOWS_DIR
extra_config = {"FLOW_IDLE_TIMEOUT": 600}

ALICE = TestPerson("alice")
EXPIRED_LINEAR = "Your flow **linear** expired after 10 minutes without activity."


def sqlite_config(tmp_path: Any, **more: Any) -> dict[str, Any]:
    # TestBot deletes BOT_DATA_DIR when it stops: the database lives in a folder of the test.
    return {"STORAGE": "SQLite", "STORAGE_CONFIG": {"basedir": str(tmp_path)}, **more}


def saved_flows(testbot: Any) -> list[dict[str, Any]]:
    store = testbot.bot.storage_plugin.open(NAMESPACE)
    try:
        return [store.get(key) for key in store.keys()]
    finally:
        store.close()


def test_flows_in_flight_survive_a_restart(tmp_path):
    config = sqlite_config(tmp_path)
    first_bot, chat = flow_bot(config)
    try:
        chat.say("!first a", frm=ALICE)
        chat.say("!second b", frm=ALICE)
        chat.say("!choose up")
        (record,) = [r for r in saved_flows(first_bot) if r["name"] == "linear"]
        assert record["requestor"] == "alice"
        assert record["ctx"] == {"first": "a", "second": "b"}
    finally:
        first_bot.stop()

    second_bot, chat = flow_bot(config)
    try:
        # nothing is said at start-up: the users saw the hints already
        assert chat.sent == []
        assert sorted((f.name, str(f.requestor)) for f in chat.executor.in_flight) == [
            ("linear", "alice"),
            ("routing", "gbin@localhost"),
        ]
        assert chat.say("!third", frm=ALICE) == [
            "third done with a/b in linear",
            "summary: first=a second=b in linear",
        ]
        assert chat.say("!go right") == ["went right"]
        assert chat.executor.in_flight == []
        assert saved_flows(second_bot) == []
    finally:
        second_bot.stop()


def test_room_flow_survives_a_restart(tmp_path):
    from errbot.backends.test import TestOccupant

    config = sqlite_config(tmp_path)
    first_bot, chat = flow_bot(config)
    try:
        room = chat.bot.query_room("testroom")
        chat.say("!poll open lunch", frm=TestOccupant("alice", room), to=room)
        chat.say("!vote pizza", frm=TestOccupant("bob", room), to=room)
    finally:
        first_bot.stop()
    second_bot, chat = flow_bot(config)
    try:
        room = chat.bot.query_room("testroom")
        assert chat.say("!poll close", frm=TestOccupant("carol", room), to=room) == [
            "results: bob:pizza"
        ]
    finally:
        second_bot.stop()


def test_a_flow_idle_past_the_timeout_expires_at_start_up(tmp_path):
    config = sqlite_config(tmp_path, FLOW_IDLE_TIMEOUT=600)
    clock = FakeClock()
    first_bot, chat = flow_bot(config, clock)
    try:
        chat.say("!first a", frm=ALICE)
    finally:
        first_bot.stop()
    clock.advance(601)
    second_bot, chat = flow_bot(config, clock)
    try:
        assert chat.sent == [("alice", EXPIRED_LINEAR)]
        assert chat.executor.in_flight == []
        assert saved_flows(second_bot) == []
    finally:
        second_bot.stop()


def test_idle_flow_expires_with_a_message(testbot):
    chat = Chat(testbot)
    clock = FakeClock()
    chat.executor.clock = clock
    chat.say("!first a", frm=ALICE)
    clock.advance(599)
    assert chat.executor.expire_idle_flows() == []
    # activity resets the idle time
    chat.say("!second b", frm=ALICE)
    clock.advance(599)
    assert chat.executor.expire_idle_flows() == []
    clock.advance(1)
    (expired,) = chat.executor.expire_idle_flows()
    assert expired.name == "linear"
    assert chat.drain() == ["Your flow linear expired after 10 minutes without activity."]
    assert chat.sent[-1] == ("alice", EXPIRED_LINEAR)
    assert chat.executor.in_flight == []
    assert chat.say("!third", frm=ALICE) == []


class FakeTimers:
    """Stands in for runtime.call_later: records the timers, fires them on demand."""

    def __init__(self) -> None:
        self.armed: list[tuple[float, Any, tuple[Any, ...], Any]] = []

    def __call__(self, delay: float, fn: Any, *args: Any) -> Any:
        handle = _Handle()
        self.armed.append((delay, fn, args, handle))
        return handle

    def live(self) -> list[tuple[float, Any, tuple[Any, ...], Any]]:
        return [t for t in self.armed if not t[3].cancelled]


class _Handle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def test_idle_timer_is_armed_rearmed_and_expires(testbot, monkeypatch):
    chat = Chat(testbot)
    clock = FakeClock()
    chat.executor.clock = clock
    timers = FakeTimers()
    monkeypatch.setattr(testbot.bot.runtime, "call_later", timers)

    chat.say("!first a", frm=ALICE)
    ((delay, fire, args, _),) = timers.live()
    assert delay == 600
    # fired early (e.g. after some activity moved the deadline): re-armed for the rest
    clock.advance(200)
    fire(*args)
    assert chat.settle() == []
    ((delay, fire, args, _),) = timers.live()
    assert delay == 400
    clock.advance(400)
    fire(*args)
    assert chat.settle() == ["Your flow linear expired after 10 minutes without activity."]
    assert chat.executor.in_flight == []


def test_stopping_a_flow_cancels_its_timer(testbot, monkeypatch):
    chat = Chat(testbot)
    timers = FakeTimers()
    monkeypatch.setattr(testbot.bot.runtime, "call_later", timers)
    chat.say("!first a")
    assert len(timers.live()) == 1
    chat.say("!flows stop")
    assert timers.live() == []


class TestNoExpiry:
    extra_config = {"FLOW_IDLE_TIMEOUT": None}

    def test_flows_never_expire(self, testbot, monkeypatch):
        chat = Chat(testbot)
        clock = FakeClock()
        chat.executor.clock = clock
        timers = FakeTimers()
        monkeypatch.setattr(testbot.bot.runtime, "call_later", timers)
        chat.say("!first a")
        clock.advance(10**9)
        assert chat.executor.expire_idle_flows() == []
        assert timers.armed == []
        assert len(chat.executor.in_flight) == 1


def test_context_that_cannot_be_pickled_is_saved_without_those_entries(testbot):
    chat = Chat(testbot)
    flow = chat.executor.start_flow(
        "linear", ALICE, {"kept": 1, "lock": __import__("threading").Lock()}
    )
    chat.settle()
    (record,) = saved_flows(testbot)
    assert record["ctx"] == {"kept": 1}
    assert record["path"] == []
    assert flow.ctx["kept"] == 1


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (3600, "60 minutes"),
        (60, "1 minute"),
        (90, "1.5 minutes"),
        (30, "30 seconds"),
        (1, "1 second"),
    ],
)
def test_describe_duration(seconds, text):
    assert describe_duration(seconds) == text


def test_a_second_bot_on_the_same_data_dir_resumes_the_flow(tmp_path):
    """SQLite (the default outside the test harness, which uses Memory) without
    STORAGE_CONFIG keeps its files in BOT_DATA_DIR; a new bot (here a second bot object)
    started on that directory picks the flow up."""
    config = {"BOT_DATA_DIR": str(tmp_path), "STORAGE": "SQLite"}
    first_bot, chat = flow_bot(config)
    try:
        chat.say("!first a", frm=ALICE)
        chat.say("!second b", frm=ALICE)
    finally:
        first_bot.stop()
    assert any(tmp_path.iterdir()), "the data directory must hold the saved flows"
    second_bot, chat = flow_bot(config)
    try:
        (flow,) = chat.executor.in_flight
        assert (flow.name, str(flow.requestor), flow.ctx) == (
            "linear",
            "alice",
            {"first": "a", "second": "b"},
        )
        assert chat.say("!third", frm=ALICE) == [
            "third done with a/b in linear",
            "summary: first=a second=b in linear",
        ]
    finally:
        second_bot.stop()


class TestInvalidIdleTimeout:
    extra_config = {"FLOW_IDLE_TIMEOUT": "1 hour"}

    def test_flows_work_and_the_setting_is_reported_once(self, testbot, caplog):
        chat = Chat(testbot)
        with caplog.at_level("ERROR", logger="errbot.flow_executor"):
            assert chat.say("!first a") == [
                "first done (a)",
                "You are in the flow linear, you can continue with:\n• !second [value]",
            ]
            assert chat.say("!second b") == [
                "second done",
                "You are in the flow linear, you can continue with:\n• !third",
            ]
        reports = [r for r in caplog.records if "FLOW_IDLE_TIMEOUT" in r.getMessage()]
        assert len(reports) == 1
        assert "'1 hour'" in reports[0].getMessage()
        assert chat.executor.idle_timeout == 3600
