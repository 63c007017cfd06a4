import os
import queue
import time

import pytest

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_repeating_poller_and_stop(testbot):
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Ticker")
    reply = testbot.exec_command("!ticks stop")
    assert reply.startswith("stopped after ")
    stopped_at = plugin.ticks
    time.sleep(0.2)  # only to prove a negative: a stopped poller never fires again
    assert plugin.ticks == stopped_at


def test_times(testbot):
    assert testbot.exec_command("!remind stand up") == "ok, three reminders coming"
    assert [testbot.pop_message() for _ in range(3)] == ["Reminder: stand up"] * 3
    with pytest.raises(queue.Empty):
        testbot.pop_message(timeout=0.3)


def test_async_poller(testbot):
    assert testbot.exec_command("!ping later") == "ping scheduled"
    assert testbot.pop_message() == "ping!"
    with pytest.raises(queue.Empty):
        testbot.pop_message(timeout=0.3)


def test_deactivation_stops_pollers(testbot):
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Ticker")
    testbot.bot.plugin_manager.deactivate_plugin("Ticker")
    assert plugin.current_pollers == {}
