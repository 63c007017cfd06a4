"""Pollers (`start_poller` / `stop_poller`) on a running bot, with the `Pollers` fixture plugin.

A "did not fire" check is necessarily a bounded wait: we let several intervals go by
(`QUIET`) and check the call count did not move.
"""

import logging
import os
import threading
import time

import pytest

extra_plugin_dir = os.path.join(os.path.dirname(__file__), "plugins", "pollers")
loglevel = logging.WARNING

INTERVAL = 0.05
QUIET = INTERVAL * 8  # long enough for a stopped poller to have fired several times


def quiet_period() -> None:
    threading.Event().wait(QUIET)


@pytest.fixture
def plugin(testbot):
    # `settle` waits on the runtime's idle condition, which counts work only when tracked.
    testbot.bot.runtime.track_idle()
    return testbot.bot.plugin_manager.get_plugin_obj_by_name("Pollers")


def settle(testbot) -> None:
    """Let a call that was already running when a poller got stopped finish."""
    assert testbot.bot.runtime.wait_idle(30)


def test_first_call_happens_after_the_interval(plugin):
    interval = 0.3
    started = time.monotonic()
    plugin.start_poller(interval, plugin.tick, times=1)
    assert plugin.wait_calls("tick", 1) == 1
    # Allow the event loop's clock resolution, nothing more.
    assert plugin.times["tick"][0] - started >= interval - 0.02


def test_poller_repeats_until_stopped(testbot, plugin):
    plugin.start_poller(INTERVAL, plugin.tick)
    assert plugin.wait_calls("tick", 3) >= 3
    plugin.stop_poller(plugin.tick)
    settle(testbot)
    after_stop = plugin.count("tick")
    quiet_period()
    assert plugin.count("tick") == after_stop
    assert plugin.current_pollers == {}


def test_times_limits_the_number_of_calls(plugin):
    plugin.start_poller(INTERVAL, plugin.tick, times=3)
    assert plugin.wait_calls("tick", 3) == 3
    quiet_period()
    assert plugin.count("tick") == 3
    # A finished poller forgets its registration.
    assert plugin.current_pollers == {}


def test_stopped_argless_poller_never_fires_again_errbot_755(testbot, plugin):
    """Errbot #755: the timer of an arg-less poller kept firing after stop_poller."""
    for _ in range(3):  # stop and restart: each round must leave nothing behind
        before = plugin.count("tock")
        plugin.start_poller(INTERVAL, plugin.tock)
        plugin.wait_calls("tock", before + 2)
        plugin.stop_poller(plugin.tock)
        settle(testbot)
        stopped_at = plugin.count("tock")
        quiet_period()
        assert plugin.count("tock") == stopped_at


def test_stop_poller_from_inside_the_callback(plugin):
    plugin.start_poller(INTERVAL, plugin.stop_myself)
    assert plugin.wait_calls("stop_myself", 1) == 1
    quiet_period()
    assert plugin.count("stop_myself") == 1
    assert plugin.current_pollers == {}


def test_stop_poller_with_arguments_from_inside_the_callback(plugin):
    plugin.start_poller(INTERVAL, plugin.stop_myself_with_args, args=["a"])
    plugin.start_poller(INTERVAL, plugin.stop_myself_with_args, args=["b"])
    assert plugin.wait_calls("stop_myself_with_args", 2) == 2
    quiet_period()
    assert sorted(plugin.received) == [("a",), ("b",)]


def test_args_and_kwargs_are_passed(plugin):
    plugin.start_poller(
        INTERVAL, plugin.with_arguments, times=1, args=[1, "two"], kwargs={"keyword": "kw"}
    )
    plugin.wait_calls("with_arguments", 1)
    assert plugin.received == [(1, "two", "kw")]


def test_stop_poller_only_stops_the_matching_arguments(testbot, plugin):
    plugin.start_poller(INTERVAL, plugin.with_arguments, args=["x", 1])
    plugin.start_poller(INTERVAL, plugin.with_arguments, args=["y", 2], kwargs={"keyword": "k"})
    plugin.wait_calls("with_arguments", 4)
    plugin.stop_poller(plugin.with_arguments, args=["x", 1])
    settle(testbot)
    with plugin._changed:
        stopped_at = len(plugin.received)
    quiet_period()
    with plugin._changed:
        later = plugin.received[stopped_at:]
    assert later, "the other poller must keep running"
    assert set(later) == {("y", 2, "k")}
    plugin.stop_poller(plugin.with_arguments, args=["y", 2], kwargs={"keyword": "k"})
    assert plugin.current_pollers == {}


def test_stopping_an_unknown_poller_is_harmless(plugin):
    plugin.stop_poller(plugin.tick)
    plugin.stop_poller(plugin.tick, args=["never started"])


def test_async_poller_runs_on_the_event_loop(testbot, plugin):
    plugin.start_poller(INTERVAL, plugin.async_tick)
    plugin.wait_calls("async_tick", 2)
    plugin.stop_poller(plugin.async_tick)
    settle(testbot)
    stopped_at = plugin.count("async_tick")
    quiet_period()
    assert plugin.count("async_tick") == stopped_at
    threads = {thread_name for (thread_name,) in plugin.received}
    assert threads == {"errbot-loop"}


def test_async_poller_stopping_itself(plugin):
    plugin.start_poller(INTERVAL, plugin.async_stop_myself)
    plugin.wait_calls("async_stop_myself", 1)
    quiet_period()
    assert plugin.count("async_stop_myself") == 1


def test_times_limits_an_async_poller_too(plugin):
    plugin.start_poller(INTERVAL, plugin.async_tick, times=2)
    assert plugin.wait_calls("async_tick", 2) == 2
    quiet_period()
    assert plugin.count("async_tick") == 2
    assert plugin.current_pollers == {}


def test_a_crashing_async_poller_keeps_its_schedule_and_is_counted(testbot, plugin):
    plugin.start_poller(INTERVAL, plugin.async_crash, times=2)
    assert plugin.wait_calls("async_crash", 2) == 2
    settle(testbot)
    assert testbot.bot.metrics.plugin_errors[("Pollers", "poller")] == 2


def test_zero_times_never_calls(plugin):
    plugin.start_poller(INTERVAL, plugin.tick, times=0)
    assert plugin.current_pollers == {}
    quiet_period()
    assert plugin.count("tick") == 0


def test_a_crashing_poller_keeps_being_called(testbot, plugin):
    plugin.start_poller(INTERVAL, plugin.crash)
    assert plugin.wait_calls("crash", 3) >= 3
    plugin.stop_poller(plugin.crash)
    # The bot is still fine.
    assert testbot.exec_command("!echo still alive") == "still alive"


def test_deactivation_stops_every_poller(testbot, plugin):
    manager = testbot.bot.plugin_manager
    plugin.start_poller(INTERVAL, plugin.tick)
    plugin.start_poller(INTERVAL, plugin.async_tick)
    plugin.start_poller(INTERVAL, plugin.with_arguments, args=[1, 2])
    plugin.wait_calls("tick", 1)
    plugin.wait_calls("async_tick", 1)
    plugin.wait_calls("with_arguments", 1)
    manager.deactivate_plugin("Pollers")
    assert not plugin.is_activated
    assert plugin.current_pollers == {}
    settle(testbot)
    counts = dict(plugin.calls)
    quiet_period()
    assert dict(plugin.calls) == counts
    # Pollers are not restarted by a later activation.
    manager.activate_plugin("Pollers")
    assert plugin.is_activated
    quiet_period()
    assert dict(plugin.calls) == counts


def test_pollers_of_a_deactivated_plugin_started_while_firing(testbot, plugin):
    """Deactivating while a poller call is queued or running must not resurrect it."""
    manager = testbot.bot.plugin_manager
    for _ in range(5):
        manager.activate_plugin("Pollers")
        plugin.start_poller(0.001, plugin.tick)
        plugin.wait_calls("tick", plugin.count("tick") + 1)
        manager.deactivate_plugin("Pollers")
        settle(testbot)
        stopped_at = plugin.count("tick")
        threading.Event().wait(0.05)
        assert plugin.count("tick") == stopped_at
        assert plugin.current_pollers == {}


class TestSingleWorker:
    """With one worker thread, a poller call can be queued behind a busy worker."""

    extra_config = {"BOT_ASYNC_POOLSIZE": 1}

    def test_call_queued_before_stop_never_runs(self, testbot, plugin):
        gate = threading.Event()
        try:
            plugin.start_poller(INTERVAL, plugin.block, times=1, args=[gate])
            plugin.wait_calls("block", 1)
            # The only worker is now blocked: tick's first call gets queued behind it.
            plugin.start_poller(INTERVAL, plugin.tick)
            pool = testbot.bot.runtime.pool
            deadline = time.monotonic() + 10
            while pool.pending == 0 and time.monotonic() < deadline:
                threading.Event().wait(0.01)
            assert pool.pending >= 1, "tick's call was never queued"
            plugin.stop_poller(plugin.tick)
        finally:
            gate.set()
        settle(testbot)
        quiet_period()
        assert plugin.count("tick") == 0


def test_zero_interval_is_accepted(plugin):
    """Errbot schedules a zero-interval poller right away; plugins use it for "soon"."""
    plugin.start_poller(0, plugin.tick, times=2)
    assert plugin.wait_calls("tick", 2) == 2
    quiet_period()
    assert plugin.count("tick") == 2


def test_starting_a_running_poller_again_does_not_double_it(testbot, plugin):
    plugin.start_poller(INTERVAL, plugin.tick)
    plugin.start_poller(INTERVAL, plugin.tick)
    assert len(plugin.current_pollers) == 1
    plugin.wait_calls("tick", 2)
    plugin.stop_poller(plugin.tick)
    settle(testbot)
    stopped_at = plugin.count("tick")
    quiet_period()
    assert plugin.count("tick") == stopped_at
