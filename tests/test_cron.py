"""Cron jobs: expression parsing, next-run computation (DST included), and jobs on a real
test bot driven by a fake clock (`CronScheduler.now` + `run_due`), never by real waiting."""

import logging
import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from errbot.plugin.cron import LAST_RUN_KEY, CronExpression, parse_timezone

extra_plugin_dir = os.path.join(os.path.dirname(__file__), "plugins", "cron_jobs")
loglevel = logging.WARNING

PARIS = ZoneInfo("Europe/Paris")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def paris(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=PARIS, fold=fold)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)

    def set(self, when: datetime) -> None:
        self.current = when


# -- parsing ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "field", "expected"),
    [
        ("* * * * *", "minutes", set(range(60))),
        ("*/15 * * * *", "minutes", {0, 15, 30, 45}),
        ("5/20 * * * *", "minutes", {5, 25, 45}),
        ("1,2,10-12 * * * *", "minutes", {1, 2, 10, 11, 12}),
        ("0 9-17/4 * * *", "hours", {9, 13, 17}),
        ("0 0 1,15 * *", "days", {1, 15}),
        ("0 0 * JAN-MAR,dec *", "months", {1, 2, 3, 12}),
        ("0 0 * * MON-FRI", "weekdays", {1, 2, 3, 4, 5}),
        ("0 0 * * sat,SUN", "weekdays", {6, 0}),
        ("0 0 * * 7", "weekdays", {0}),
        ("0 0 * * 5-7", "weekdays", {5, 6, 0}),
    ],
)
def test_valid_expressions(expression, field, expected):
    assert set(getattr(CronExpression(expression), field)) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "* * * *",
        "* * * * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * 32 * *",
        "* * * 13 *",
        "* * * * 8",
        "*/0 * * * *",
        "5-1 * * * *",
        "a * * * *",
        "1,,2 * * * *",
        "* * * FOO *",
        "* * * * MONDAY",
        "-1 * * * *",
        "0 0 30 2 *",
    ],
)
def test_invalid_expressions_raise_naming_the_expression(expression):
    with pytest.raises(ValueError) as excinfo:
        CronExpression(expression)
    assert repr(expression) in str(excinfo.value)


def test_unknown_time_zone():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        parse_timezone("Mars/Olympus")
    assert parse_timezone(None) is UTC
    assert parse_timezone("Europe/Paris") == PARIS


# -- next run -----------------------------------------------------------------------------
def test_next_run_basic():
    expr = CronExpression("*/15 * * * *")
    assert expr.next_after(utc(2026, 1, 5, 10, 0)) == utc(2026, 1, 5, 10, 15)
    assert expr.next_after(utc(2026, 1, 5, 10, 7, 30)) == utc(2026, 1, 5, 10, 15)
    assert expr.next_after(utc(2026, 1, 5, 23, 59)) == utc(2026, 1, 6, 0, 0)


def test_next_run_weekdays_and_months():
    weekdays = CronExpression("30 8 * * MON-FRI")
    # Friday 2026-01-09 after 08:30 -> Monday 2026-01-12.
    assert weekdays.next_after(utc(2026, 1, 9, 9, 0)) == utc(2026, 1, 12, 8, 30)
    yearly = CronExpression("0 0 1 JAN *")
    assert yearly.next_after(utc(2026, 1, 1, 0, 0)) == utc(2027, 1, 1, 0, 0)
    leap = CronExpression("0 12 29 2 *")
    assert leap.next_after(utc(2026, 3, 1)) == utc(2028, 2, 29, 12, 0)


def test_day_of_month_or_day_of_week_when_both_restricted():
    expr = CronExpression("0 0 13 * FRI")
    # After Thu 2026-02-12: the 13th (a Friday anyway), then Fri 20th.
    assert expr.next_after(utc(2026, 2, 12, 1)) == utc(2026, 2, 13)
    assert expr.next_after(utc(2026, 2, 13, 1)) == utc(2026, 2, 20)
    # A 13th that is not a Friday still matches: 2026-03-13 is a Friday, 2026-04-13 a Monday.
    assert expr.next_after(utc(2026, 4, 10, 1)) == utc(2026, 4, 13)


def test_next_run_in_a_zone():
    expr = CronExpression("0 9 * * *")
    # 09:00 in Paris is 08:00 UTC in winter, 07:00 UTC in summer.
    assert expr.next_after(utc(2026, 1, 5, 12), PARIS) == utc(2026, 1, 6, 8)
    assert expr.next_after(utc(2026, 7, 5, 12), PARIS) == utc(2026, 7, 6, 7)


def test_dst_spring_forward_in_paris():
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
    daily = CronExpression("30 2 * * *")
    first = daily.next_after(paris(2026, 3, 28, 12), PARIS)
    assert first == paris(2026, 3, 29, 3, 30)  # the skipped time runs once, shifted
    assert first == utc(2026, 3, 29, 1, 30)
    assert daily.next_after(first, PARIS) == paris(2026, 3, 30, 2, 30)
    # A job at 09:00 keeps its wall-clock time across the change.
    nine = CronExpression("0 9 * * *")
    assert nine.next_after(paris(2026, 3, 28, 9), PARIS) == utc(2026, 3, 29, 7)
    # Every 30 minutes: 01:30 CET is followed directly by 03:00 CEST (one real half-hour).
    half = CronExpression("*/30 * * * *")
    assert half.next_after(paris(2026, 3, 29, 1, 30), PARIS) == paris(2026, 3, 29, 3, 0)


def test_dst_fall_back_in_paris():
    # 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:00-02:59 happens twice.
    daily = CronExpression("30 2 * * *")
    first = daily.next_after(paris(2026, 10, 24, 12), PARIS)
    assert first == utc(2026, 10, 25, 0, 30)  # the first 02:30 (CEST)
    # ...and only once: the next run is the following day.
    assert daily.next_after(first, PARIS) == paris(2026, 10, 26, 2, 30)
    # Wall-clock times run once: an hourly job does not repeat during the repeated hour.
    hourly = CronExpression("30 * * * *")
    runs = [utc(2026, 10, 24, 23, 0)]
    for _ in range(4):
        runs.append(hourly.next_after(runs[-1], PARIS))
    assert runs[1:] == [
        utc(2026, 10, 24, 23, 30),  # 01:30 CEST
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 2, 30),  # 03:30 CET
        utc(2026, 10, 25, 3, 30),  # 04:30 CET
    ]
    # Computed from inside the second pass, the rest of that pass is still to come.
    assert hourly.next_after(paris(2026, 10, 25, 2, 10, fold=1), PARIS) == utc(2026, 10, 25, 1, 30)


def test_next_after_needs_an_aware_datetime():
    with pytest.raises(ValueError):
        CronExpression("* * * * *").next_after(datetime(2026, 1, 1))


# -- on a bot -----------------------------------------------------------------------------
@pytest.fixture
def plugin(testbot):
    return testbot.bot.plugin_manager.get_plugin_obj_by_name("CronJobs")


@pytest.fixture
def clock(plugin):
    fake = FakeClock(utc(2026, 1, 5, 9, 59))  # a Monday
    plugin._crons.now = fake
    return fake


def test_invalid_expression_raises_when_registering(plugin, clock):
    with pytest.raises(ValueError, match="'61 \\* \\* \\* \\*'"):
        plugin.start_cron("61 * * * *", plugin.tick)
    with pytest.raises(ValueError, match="Nowhere/Land"):
        plugin.start_cron("* * * * *", plugin.tick, tz="Nowhere/Land")
    assert plugin._crons.jobs == {}


def test_job_fires_when_due(plugin, clock):
    plugin.start_cron("0 10 * * *", plugin.tick)
    assert plugin._crons.run_due() == 0
    clock.advance(seconds=59)
    assert plugin._crons.run_due() == 0
    clock.advance(seconds=1)
    assert plugin._crons.run_due() == 1
    assert plugin.wait_calls("tick", 1) == 1
    # Re-armed for the next day, not due again today.
    assert plugin._crons.run_due() == 0
    job = next(iter(plugin._crons.jobs.values()))
    assert job.next_run == utc(2026, 1, 6, 10)
    clock.set(utc(2026, 1, 6, 10))
    assert plugin._crons.run_due() == 1
    assert plugin.wait_calls("tick", 2) == 2
    plugin.stop_cron(plugin.tick)


def test_missed_runs_are_not_queued(plugin, clock):
    plugin.start_cron("* * * * *", plugin.tick)
    clock.advance(hours=3)
    assert plugin._crons.run_due() == 1
    assert plugin._crons.run_due() == 0
    plugin.wait_calls("tick", 1)
    plugin.stop_cron(plugin.tick)


def test_job_in_a_zone_with_arguments(plugin, clock):
    plugin.start_cron(
        "0 11 * * MON-FRI",
        plugin.with_arguments,
        tz="Europe/Paris",
        args=["x"],
        kwargs={"keyword": "k"},
    )
    clock.set(utc(2026, 1, 5, 10))  # 11:00 in Paris
    assert plugin._crons.run_due() == 1
    plugin.wait_calls("with_arguments", 1)
    assert plugin.received == [("x", "k")]
    plugin.stop_cron(plugin.with_arguments, args=["x"], kwargs={"keyword": "k"})
    assert plugin._crons.jobs == {}


def test_stop_cron(plugin, clock):
    plugin.start_cron("* * * * *", plugin.tick)
    plugin.start_cron("* * * * *", plugin.with_arguments, args=[1])
    plugin.stop_cron(plugin.tick)
    clock.advance(minutes=1)
    assert plugin._crons.run_due() == 1  # only with_arguments
    plugin.wait_calls("with_arguments", 1)
    assert plugin.count("tick") == 0
    plugin.stop_cron(plugin.with_arguments, args=[1])
    clock.advance(minutes=1)
    assert plugin._crons.run_due() == 0
    # Stopping an unknown job is harmless.
    plugin.stop_cron(plugin.tick)


def test_starting_twice_does_not_double_the_job(plugin, clock):
    plugin.start_cron("* * * * *", plugin.tick)
    plugin.start_cron("* * * * *", plugin.tick)
    assert len(plugin._crons.jobs) == 1
    plugin.stop_cron(plugin.tick)


def test_stopped_job_timer_is_cancelled(plugin, clock):
    plugin.start_cron("* * * * *", plugin.tick)
    job = next(iter(plugin._crons.jobs.values()))
    plugin.stop_cron(plugin.tick)
    assert job.stopped
    assert job.timer is not None and job.timer.cancelled


def test_deactivation_stops_every_job(testbot, plugin, clock):
    manager = testbot.bot.plugin_manager
    plugin.start_cron("* * * * *", plugin.tick)
    plugin.start_cron("* * * * *", plugin.async_tick)
    jobs = list(plugin._crons.jobs.values())
    manager.deactivate_plugin("CronJobs")
    assert plugin._crons.jobs == {}
    assert all(job.stopped and job.timer.cancelled for job in jobs)
    clock.advance(minutes=5)
    assert plugin._crons.run_due() == 0
    manager.activate_plugin("CronJobs")
    assert plugin._crons.jobs == {}  # not restarted by a later activation


def test_async_job_runs_on_the_event_loop(plugin, clock):
    plugin.start_cron("0 10 * * *", plugin.async_tick)
    clock.advance(minutes=1)
    assert plugin._crons.run_due() == 1
    plugin.wait_calls("async_tick", 1)
    assert plugin.received == [("errbot-loop",)]
    plugin.stop_cron(plugin.async_tick)


def test_crashing_job_keeps_its_schedule(testbot, plugin, clock):
    plugin.start_cron("* * * * *", plugin.crash)
    for expected in (1, 2):
        clock.advance(minutes=1)
        assert plugin._crons.run_due() == 1
        plugin.wait_calls("crash", expected)
    plugin.stop_cron(plugin.crash)
    assert testbot.exec_command("!echo still alive") == "still alive"


def test_last_run_is_stored(plugin, clock):
    plugin.start_cron("0 10 * * *", plugin.tick)
    job = next(iter(plugin._crons.jobs.values()))
    # Registration stores a baseline.
    assert plugin[LAST_RUN_KEY][job.job_id] == utc(2026, 1, 5, 9, 59).isoformat()
    clock.advance(minutes=1, seconds=20)
    plugin._crons.run_due()
    plugin.wait_calls("tick", 1)
    # The scheduled time, not the (late) moment it was noticed.
    assert plugin[LAST_RUN_KEY][job.job_id] == utc(2026, 1, 5, 10).isoformat()
    plugin.stop_cron(plugin.tick)


def _simulate_downtime(plugin, clock, catch_up):
    """Register, stop (the bot goes down) before 10:00, come back at 12:00."""
    plugin.start_cron("0 10 * * *", plugin.tick, catch_up=catch_up)
    plugin.stop_cron(plugin.tick)
    clock.set(utc(2026, 1, 5, 12))
    plugin.start_cron("0 10 * * *", plugin.tick, catch_up=catch_up)


def test_catch_up_runs_a_missed_job_once_at_start(plugin, clock):
    _simulate_downtime(plugin, clock, catch_up=True)
    assert plugin.wait_calls("tick", 1) == 1
    job = next(iter(plugin._crons.jobs.values()))
    assert job.next_run == utc(2026, 1, 6, 10)
    assert plugin._crons.run_due() == 0
    plugin.stop_cron(plugin.tick)
    # The catch-up counts as the run: registering again does not catch up a second time.
    plugin.start_cron("0 10 * * *", plugin.tick, catch_up=True)
    assert plugin._crons.run_due() == 0
    plugin.stop_cron(plugin.tick)
    clock.set(utc(2026, 1, 5, 13))
    assert plugin.count("tick") == 1


def test_catch_up_from_a_stored_last_run(plugin, clock):
    plugin.start_cron("*/5 * * * *", plugin.with_arguments, args=["a"], catch_up=True)
    job_id = next(iter(plugin._crons.jobs.values())).job_id
    plugin.stop_cron(plugin.with_arguments, args=["a"])
    # Days of downtime since a run recorded by a previous process: one catch-up only.
    plugin[LAST_RUN_KEY] = {job_id: utc(2026, 1, 1, 0, 0).isoformat()}
    plugin.start_cron("*/5 * * * *", plugin.with_arguments, args=["a"], catch_up=True)
    plugin.wait_calls("with_arguments", 1)
    assert plugin.received == [("a", "unset")]
    plugin.stop_cron(plugin.with_arguments, args=["a"])


def test_no_catch_up_without_the_flag(plugin, clock):
    _simulate_downtime(plugin, clock, catch_up=False)
    assert plugin._crons.run_due() == 0
    assert plugin.count("tick") == 0
    plugin.stop_cron(plugin.tick)


def test_no_catch_up_when_nothing_was_missed(plugin, clock):
    plugin.start_cron("0 10 * * *", plugin.tick, catch_up=True)
    plugin.stop_cron(plugin.tick)
    clock.advance(seconds=30)  # back before 10:00
    plugin.start_cron("0 10 * * *", plugin.tick, catch_up=True)
    assert plugin._crons.run_due() == 0
    assert plugin.count("tick") == 0
    plugin.stop_cron(plugin.tick)


def test_async_job_catch_up(plugin, clock):
    _simulate_async = plugin.async_tick
    plugin.start_cron("0 10 * * *", _simulate_async, catch_up=True)
    plugin.stop_cron(_simulate_async)
    clock.set(utc(2026, 1, 6, 12))
    plugin.start_cron("0 10 * * *", _simulate_async, catch_up=True)
    assert plugin.wait_calls("async_tick", 1) == 1
    plugin.stop_cron(_simulate_async)


# -- across restarts: two bots, one after the other, on the same durable storage ------------
STARTUP_DIR = os.path.join(os.path.dirname(__file__), "plugins", "cron_startup")


def _start_bot(tmp_path, clock):
    """A bot on SQLite storage in ``tmp_path`` whose cron jobs read ``clock``.

    The clock is set on the bot before it starts, because the plugin registers its job in
    activate(): that registration is what decides whether a missed run is caught up.
    """
    from errbot.backends.test import TestBot

    config = {"STORAGE": "SQLite", "STORAGE_CONFIG": {"basedir": str(tmp_path)}}
    testbot = TestBot(STARTUP_DIR, logging.WARNING, config)
    testbot.bot.cron_clock = clock
    testbot.bot.runtime.track_idle()
    testbot.start()
    return testbot, testbot.bot.plugin_manager.get_plugin_obj_by_name("CronStartup")


def _restart_and_count(tmp_path, clock):
    testbot, plugin = _start_bot(tmp_path, clock)
    try:
        # a catch-up is dispatched during activation; let it finish before counting
        assert testbot.bot.runtime.wait_idle(10)
        return plugin.runs
    finally:
        testbot.stop()


def test_a_run_missed_while_the_bot_was_down_runs_once_at_start_up(tmp_path):
    clock = FakeClock(utc(2026, 1, 5, 7))  # Monday 08:00 in Paris: before the 09:00 run
    assert _restart_and_count(tmp_path, clock) == 0
    clock.set(utc(2026, 1, 5, 7, 30))  # restarted before 09:00: nothing was missed
    assert _restart_and_count(tmp_path, clock) == 0
    clock.set(utc(2026, 1, 7, 12))  # down over two 09:00 runs (Mon, Tue) and Wed's: once
    assert _restart_and_count(tmp_path, clock) == 1
    # the catch-up counts as the run: another restart the same day does not repeat it
    clock.set(utc(2026, 1, 7, 13))
    assert _restart_and_count(tmp_path, clock) == 0


def test_the_bot_clock_drives_the_job_after_start_up(tmp_path):
    clock = FakeClock(utc(2026, 1, 5, 7, 59))  # 08:59 in Paris
    testbot, plugin = _start_bot(tmp_path, clock)
    try:
        assert plugin._crons.run_due() == 0
        clock.advance(minutes=1)
        assert plugin._crons.run_due() == 1
        assert plugin.wait_runs(1) == 1
    finally:
        testbot.stop()


def test_a_crashing_job_is_counted_in_the_metrics(testbot, plugin, clock):
    testbot.bot.runtime.track_idle()
    plugin.start_cron("* * * * *", plugin.crash)
    clock.advance(minutes=1)
    assert plugin._crons.run_due() == 1
    plugin.wait_calls("crash", 1)
    plugin.stop_cron(plugin.crash)
    assert testbot.bot.runtime.wait_idle(10)
    assert testbot.bot.metrics.plugin_errors[("CronJobs", "cron")] == 1
