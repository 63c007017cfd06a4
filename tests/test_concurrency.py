"""Concurrency promises (contract 6.2 step 5, 6.6, DESIGN promise 2 and 4): commands run on
the worker pool or the event loop without holding up each other, the backend thread or the
plugins' callbacks; send() works from any thread or coroutine.

Nothing here measures time: a test waits on events the commands set, with a bound only
so that a failure cannot hang the suite.
"""

import logging

import pytest
from test_dispatch_helpers import CONCURRENCY_DIR, plugin

extra_plugin_dir = CONCURRENCY_DIR
loglevel = logging.WARNING

BOUND = 10  # seconds; only reached when a test fails


def conc(testbot):
    return plugin(testbot, "Conc")


@pytest.fixture
def release_all(testbot):
    """Whatever a test leaves blocked is let go before the bot stops."""
    yield
    c = conc(testbot)
    c.hang_release.set()
    c.cb_release.set()
    for gate in list(c.gates.values()):
        gate.set()
    testbot.bot.runtime.call_soon(c.release_async_hang)


class TestSynchronous:
    extra_config = {"BOT_ASYNC": False}

    def test_commands_run_on_the_backend_thread(self, testbot):
        assert testbot.exec_command("!whichthread") == "TestBot main thread"

    def test_commands_run_one_after_the_other_in_order(self, testbot):
        for i in range(6):
            testbot.push_message(f"!seq {i}")
        assert [testbot.pop_message() for _ in range(6)] == [f"seq {i}" for i in range(6)]
        expected = []
        for i in range(6):
            expected += [("start", str(i), "TestBot main thread"),
                         ("end", str(i), "TestBot main thread")]
        assert conc(testbot).events == expected

    def test_async_def_commands_still_run_on_the_loop(self, testbot):
        assert testbot.exec_command("!athread") == "errbot-loop"


def test_def_commands_run_on_the_pool(testbot):
    assert testbot.exec_command("!whichthread").startswith("errbot-worker")


def test_async_def_commands_run_on_the_event_loop(testbot):
    assert testbot.exec_command("!athread") == "errbot-loop"


def test_blocked_command_does_not_block_others(testbot, release_all):
    c = conc(testbot)
    testbot.push_message("!block on g1")
    gate, waiting = c.gate("g1")
    assert waiting.wait(BOUND)  # the first command is running and blocked
    assert testbot.exec_command("!quick while blocked") == "quick while blocked"
    assert testbot.exec_command("!aquick while blocked") == "aquick while blocked"
    assert not gate.is_set()
    # The gate is opened by another command, which therefore ran while the first waited.
    testbot.push_message("!open gate g1")
    assert sorted([testbot.pop_message(), testbot.pop_message()]) == ["opened g1", "unblocked g1"]


def test_several_blocked_commands_wait_together(testbot, release_all):
    c = conc(testbot)
    names = [f"w{i}" for i in range(5)]
    for name in names:
        testbot.push_message(f"!block on {name}")
    for name in names:
        assert c.gate(name)[1].wait(BOUND)  # all five are waiting at the same time
    for name in names:
        testbot.push_message(f"!open gate {name}")
    replies = sorted(testbot.pop_message() for _ in range(10))
    assert replies == sorted([f"opened {n}" for n in names] + [f"unblocked {n}" for n in names])


def test_burst_of_commands_all_complete(testbot):
    count = 60
    for i in range(count):
        testbot.push_message(f"!quick {i}")
        testbot.push_message(f"!aquick {i}")
    replies = [testbot.pop_message() for _ in range(2 * count)]
    assert sorted(replies) == sorted(
        [f"quick {i}" for i in range(count)] + [f"aquick {i}" for i in range(count)]
    )


def test_raising_command_does_not_stop_the_bot(testbot):
    assert testbot.exec_command("!boom") == "Computer says nooo. See logs for details:\nboom"
    assert testbot.exec_command("!aboom") == (
        "Computer says nooo. See logs for details:\nasync boom"
    )
    assert testbot.exec_command("!quick after") == "quick after"
    assert testbot.exec_command("!aquick after") == "aquick after"


def test_command_that_never_returns_does_not_stop_the_bot(testbot, release_all):
    c = conc(testbot)
    testbot.push_message("!hang")
    assert c.hang_started.wait(BOUND)
    assert testbot.exec_command("!quick still here") == "quick still here"
    assert testbot.exec_command("!aquick still here") == "aquick still here"
    assert testbot.exec_command("!whichthread").startswith("errbot-worker")
    assert not c.hang_release.is_set()


def test_coroutine_that_never_returns_does_not_stop_the_loop(testbot, release_all):
    c = conc(testbot)
    testbot.push_message("!ahang")
    assert c.hang_started.wait(BOUND)
    assert testbot.exec_command("!aquick loop free") == "aquick loop free"
    assert testbot.exec_command("!quick pool free") == "quick pool free"
    testbot.bot.runtime.call_soon(c.release_async_hang)
    assert testbot.pop_message() == "async hang released"


def test_send_from_a_foreign_thread(testbot):
    testbot.push_message("!send from thread")
    assert testbot.pop_message() == "from thread foreign"


def test_send_from_a_coroutine_on_the_loop(testbot):
    testbot.push_message("!send from loop")
    assert testbot.pop_message() == "from the loop"


def test_send_from_a_coroutine_scheduled_on_the_loop(testbot):
    c = conc(testbot)
    target = testbot.bot.build_identifier("someone")

    async def speak():
        c.send(target, "spoken on the loop")

    testbot.bot.runtime.spawn(speak())
    assert testbot.pop_message() == "spoken on the loop"


def test_slow_callback_message_does_not_delay_replies(testbot, release_all):
    c = conc(testbot)
    testbot.push_message("slow callback")
    assert c.cb_started.wait(BOUND)  # the callback is now stuck
    assert testbot.exec_command("!quick meanwhile") == "quick meanwhile"
    assert testbot.exec_command("!aquick meanwhile") == "aquick meanwhile"
    assert not c.cb_done.is_set()
    c.cb_release.set()
    assert c.cb_done.wait(BOUND)


def test_hung_commands_filling_the_pool_do_not_starve_later_ones():
    """Every worker stuck: after STALL_SECONDS a new submit gets an extra thread."""
    import threading as _threading

    from errbot.core.workers import WorkerPool

    pool = WorkerPool(2)
    pool.STALL_SECONDS = 0.05
    gate = _threading.Event()
    done = _threading.Event()
    started = _threading.Semaphore(0)

    def hang():
        started.release()
        gate.wait(30)

    try:
        pool.submit(hang)
        pool.submit(hang)
        assert started.acquire(timeout=10) and started.acquire(timeout=10)
        # Both workers are stuck; wait until they count as stalled, then submit more work.
        stall = _threading.Event()
        stall.wait(0.1)
        pool.submit(done.set)
        assert done.wait(10), "the pool stayed starved by hung commands"
        assert len(pool._threads) == 3
    finally:
        gate.set()
        pool.shutdown()


def test_a_busy_pool_does_not_grow_before_the_stall_delay():
    import threading as _threading

    from errbot.core.workers import WorkerPool

    pool = WorkerPool(1)
    pool.STALL_SECONDS = 3600
    gate = _threading.Event()
    started = _threading.Event()
    ran = _threading.Event()

    def hang():
        started.set()
        gate.wait(30)

    try:
        pool.submit(hang)
        assert started.wait(10)
        pool.submit(ran.set)
        assert not ran.wait(0.2)
        assert len(pool._threads) == 1
        gate.set()
        assert ran.wait(10)
    finally:
        gate.set()
        pool.shutdown()
