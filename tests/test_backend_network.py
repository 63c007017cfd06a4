"""The helpers the network backends share: `BackOff`, `NetworkBackendMixin`, `BoundedOutbox`.

The mixin is exercised on a real `ErrBot` (its own runtime and event loop), with a fake
"connection" that is only a list of outcomes: nothing here needs a server.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from errbot.backends.base import Message
from errbot.backends.network import BackOff, NetworkBackendMixin
from errbot.backends.outbox import BoundedOutbox
from errbot.backends.test import ShallowConfig, TestPerson
from errbot.core.bot import ErrBot
from errbot.settings import apply_defaults

# -- BackOff ----------------------------------------------------------------------------------


def test_back_off_grows_by_its_factor_up_to_the_cap() -> None:
    backoff = BackOff(1.0, 2.0, 5.0)
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_back_off_reset_starts_over() -> None:
    backoff = BackOff(0.5, 3.0, 100.0)
    backoff.next_delay()
    backoff.next_delay()
    assert backoff.delay == 4.5
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_back_off_jitter_adds_at_most_its_amount() -> None:
    backoff = BackOff(1.0, 1.0, 1.0, jitter=0.5)
    waits = [backoff.next_delay() for _ in range(200)]
    assert all(1.0 <= wait < 1.5 for wait in waits)
    assert len(set(waits)) > 1  # random, so bots cut off together do not return together


# -- NetworkBackendMixin ----------------------------------------------------------------------


class ScriptedBackend(NetworkBackendMixin, ErrBot):
    """Each "connection" takes the next outcome: a string, or an exception to raise."""

    close_timeout = 2.0
    close_failure_text = "Closing the scripted connection failed"
    reconnect_initial_delay = 0.01
    reconnect_factor = 2.0
    reconnect_max_delay = 0.04
    reconnect_jitter = 0.0
    operation_failure_text = "Scripted operation %s failed: %s"
    refusal_outcomes = ("locked out",)
    refusal_retry_delay = 0.5

    def __init__(self, config: Any, outcomes: list[Any], close_error: bool = False) -> None:
        self.bot_identifier = TestPerson("bot")
        super().__init__(config)
        self.outcomes = list(outcomes)
        self.delays: list[float] = []
        self.events: list[str] = []
        self.close_error = close_error

    def serve_forever(self) -> None:
        self._reconnect_forever(
            self._serve_connection,
            "The scripted connection failed unexpectedly",
            "Reconnecting in %.2f s.",
            fatal=(LookupError,),
        )

    def _serve_connection(self) -> str | None:
        if not self.outcomes:
            self._stop.set()
            return None
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        if outcome == "connected":
            self.reset_reconnection_count()
            self._activate_plugins()
        return str(outcome)

    def _next_delay(self, outcome: str | None) -> float:
        delay = super()._next_delay(outcome)
        self.delays.append(delay)
        return delay

    def connect_callback(self) -> None:
        self.events.append("plugins activated")

    def disconnect_callback(self) -> None:
        self.events.append("plugins deactivated")

    async def _room_echo(self, room: str, value: str) -> str:
        assert self.runtime.in_loop()
        if value == "boom":
            raise ValueError(f"{room} refused")
        return f"{room}: {value}"

    async def _close(self) -> None:
        assert self.runtime.in_loop()
        self.events.append("closed")
        if self.close_error:
            raise OSError("socket already gone")

    # The abstract parts of a backend, unused here.
    def send_message(self, msg: Message) -> None:
        super().send_message(msg)

    def build_identifier(self, text: str) -> TestPerson:
        return TestPerson(text)

    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        return Message(text, frm=self.bot_identifier, to=msg.frm)

    def change_presence(self, status: str = "online", message: str = "") -> None:
        pass

    def query_room(self, room: str) -> Any:
        raise NotImplementedError

    def rooms(self) -> list[Any]:
        return []

    @property
    def mode(self) -> str:
        return "scripted"


@pytest.fixture
def make_backend(tmp_path: Any) -> Any:
    made: list[ScriptedBackend] = []

    def make(outcomes: list[Any], **options: Any) -> ScriptedBackend:
        config = ShallowConfig(BOT_ADMINS=("admin",), BOT_DATA_DIR=str(tmp_path))
        apply_defaults(config)
        backend = ScriptedBackend(config, outcomes, **options)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.shutdown()


def test_failures_are_retried_with_growing_delays_reset_by_a_connection(
    make_backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    backend = make_backend(["refused", RuntimeError("bug"), "refused", "connected", "dropped"])
    with caplog.at_level(logging.INFO, logger=__name__):
        backend.serve_forever()
    # 0.01, 0.02, 0.04 (capped), then a connection starts the delays over.
    assert backend.delays == [0.01, 0.02, 0.04, 0.01, 0.02]
    assert "The scripted connection failed unexpectedly" in caplog.text
    assert "RuntimeError: bug" in caplog.text
    assert "Reconnecting in 0.04 s." in caplog.text
    # The lines carry the backend's module logger, the name users filter on.
    assert {r.name for r in caplog.records if "Reconnecting" in r.getMessage()} == {__name__}


def test_a_refusal_waits_at_least_the_refusal_delay(make_backend: Any) -> None:
    backend = make_backend(["locked out", "refused"])
    backend.serve_forever()
    assert backend.delays == [0.5, 0.02]  # the back-off itself still grew underneath


def test_plugins_are_activated_once_and_deactivated_before_closing(make_backend: Any) -> None:
    backend = make_backend(["connected", "dropped", "connected"])
    dispatched: list[str] = []
    backend.callbacks.dispatch = lambda name, *args: dispatched.append(name)
    backend.serve_forever()
    assert backend.events == ["plugins activated", "plugins deactivated", "closed"]
    assert dispatched == ["callback_connect"]  # the reconnection, told to the plugins


def test_a_fatal_error_ends_serving(make_backend: Any) -> None:
    backend = make_backend([LookupError("bad setting"), "connected"])
    backend.serve_forever()
    assert backend.outcomes == ["connected"]
    assert backend.delays == []
    assert not backend.runtime.running


def test_shutdown_is_safe_twice_and_from_another_thread(make_backend: Any) -> None:
    backend = make_backend([])
    threads = [threading.Thread(target=backend.shutdown) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    backend.shutdown()
    assert backend.events == ["closed"]
    assert not backend.runtime.running


def test_a_failing_close_is_logged_and_the_bot_still_stops(
    make_backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    backend = make_backend([], close_error=True)
    with caplog.at_level(logging.ERROR, logger=__name__):
        backend.shutdown()
    assert "Closing the scripted connection failed" in caplog.text
    assert "socket already gone" in caplog.text
    assert not backend.runtime.running


def test_wait_runs_on_the_loop_and_gives_up_once_stopping(make_backend: Any) -> None:
    backend = make_backend([])

    async def where() -> bool:
        return backend.runtime.in_loop()

    assert backend._wait(where()) is True

    async def forever() -> None:
        await asyncio.Event().wait()

    threading.Timer(0.1, backend._stop.set).start()
    assert backend._wait(forever()) is None  # cancelled when the stop flag is set
    assert backend._wait(where()) is None  # stopping: not even started


def test_room_call_waits_from_a_thread_and_logs_from_the_loop(
    make_backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    backend = make_backend([])
    assert backend.room_call("#r", "echo", "hello") == "#r: hello"
    with pytest.raises(ValueError, match="#r refused"):
        backend.room_call("#r", "echo", "boom")

    async def from_the_loop() -> Any:
        return backend.room_call("#r", "echo", "boom")

    with caplog.at_level(logging.ERROR, logger=__name__):
        assert backend.runtime.run_sync(from_the_loop(), timeout=5) is None
        wait_until = threading.Event()
        for _ in range(100):  # the spawned operation ends on the loop, soon
            if "Scripted operation echo #r failed: #r refused" in caplog.text:
                break
            wait_until.wait(0.02)
    assert "Scripted operation echo #r failed: #r refused" in caplog.text


# -- BoundedOutbox ----------------------------------------------------------------------------


class RecordingOutbox(BoundedOutbox[str]):
    def __init__(self, limit: int) -> None:
        super().__init__(asyncio.Event(), limit)
        self.written: list[str] = []

    def put(self, item: str) -> bool:
        if self.full():
            return False
        self._push(item)
        return True

    async def _run(self) -> None:
        while True:
            item = await self._next()
            await asyncio.sleep(0)
            self.written.append(item)
            self._done()


def test_outbox_holds_items_offline_up_to_its_bound_then_sends_in_order() -> None:
    async def scenario() -> None:
        outbox = RecordingOutbox(limit=3)
        outbox.start()
        assert [outbox.put(x) for x in "abcd"] == [True, True, True, False]
        assert not await outbox.drain(0.05)  # offline: nothing goes out
        assert outbox.written == [] and len(outbox) == 3
        outbox.online.set()
        assert await outbox.drain(5)
        assert outbox.written == ["a", "b", "c"] and outbox.sent == 3
        await outbox._stop_worker()

    asyncio.run(scenario())


def test_outbox_discard_forgets_what_waits() -> None:
    async def scenario() -> None:
        outbox = RecordingOutbox(limit=10)
        outbox.start()
        outbox.put("lost")
        assert outbox.discard() == 1
        assert await outbox.drain(0)
        outbox.online.set()
        assert outbox.put("kept")
        assert await outbox.drain(5)
        assert outbox.written == ["kept"]
        await outbox._stop_worker()

    asyncio.run(scenario())
