"""Cron jobs (`start_cron` / `stop_cron`): standard 5-field expressions in a time zone.

Each job keeps one timer on the bot's event loop (`Runtime.call_later`) armed for its next
wall-clock run; the next run is always recomputed in the job's zone, so DST changes are
handled (a time skipped by a spring-forward gap runs at the shifted instant, a time repeated
by a fall-back runs once). The last run of each job is kept in the plugin's storage under
``_cron_last_run`` so that ``catch_up=True`` runs a job once at start-up when a scheduled run
was missed while the bot was down.

Time comes from `CronScheduler.now` (default: the real UTC clock), so tests can inject a
fake clock and call `CronScheduler.run_due` instead of waiting.
"""

from __future__ import annotations

import calendar
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from errbot.core.runtime import TimerHandle, is_async_callable

if TYPE_CHECKING:
    from errbot.botplugin import BotPluginBase

LAST_RUN_KEY = "_cron_last_run"
# Timers are re-checked at least this often, so a long sleep of the host or a clock change
# never delays a job by more than this.
MAX_TIMER_DELAY = 3600.0
_SEARCH_DAYS = 366 * 9  # the rarest day a valid expression can ask for is Feb 29 (8 years)

_MONTH_NAMES = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
# The longest each month can be (2000 was a leap year).
_DAYS_IN_MONTH = {month: calendar.monthrange(2000, month)[1] for month in range(1, 13)}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _parse_field(text: str, low: int, high: int, names: Mapping[str, int] | None) -> frozenset[int]:
    def value(token: str) -> int:
        upper = token.upper()
        if names is not None and upper in names:
            return names[upper]
        if not token.isdigit():
            raise ValueError(f"bad value {token!r}")
        number = int(token)
        # Day-of-week accepts 7 as Sunday, like Vixie cron.
        if names is _DAY_NAMES and number == 7:
            return 0
        if not low <= number <= high:
            raise ValueError(f"{number} is out of range {low}-{high}")
        return number

    result: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ValueError("empty list element")
        step = 1
        has_step = "/" in part
        if has_step:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"bad step {step_text!r}")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = value(first), value(last)
            if names is _DAY_NAMES and last.strip() == "7":
                end = 7  # MON-7 / 1-7 reach Sunday
            if start > end:
                raise ValueError(f"bad range {part!r}")
        else:
            start = value(part)
            end = high if has_step else start
        result.update(v % 7 if names is _DAY_NAMES else v for v in range(start, end + 1, step))
    return frozenset(result)


class CronExpression:
    """A parsed 5-field expression: minute hour day-of-month month day-of-week.

    Supports ``*``, ranges ``a-b``, steps ``*/n`` and ``a-b/n``, lists ``a,b``, and names
    (``JAN``-``DEC``, ``SUN``-``SAT``). As in Vixie cron, when both day fields are
    restricted a day matches if either matches.
    """

    def __init__(self, expression: str) -> None:
        self.expression = expression
        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(f"Invalid cron expression {expression!r}: expected 5 fields")
        specs = (
            (0, 59, None),
            (0, 23, None),
            (1, 31, None),
            (1, 12, _MONTH_NAMES),
            (0, 6, _DAY_NAMES),
        )
        parsed: list[frozenset[int]] = []
        for text, (low, high, names) in zip(fields, specs, strict=True):
            try:
                parsed.append(_parse_field(text, low, high, names))
            except ValueError as exc:
                raise ValueError(
                    f"Invalid cron expression {expression!r}: field {text!r}: {exc}"
                ) from None
        self.minutes, self.hours, self.days, self.months, self.weekdays = parsed
        self.days_restricted = fields[2] != "*"
        self.weekdays_restricted = fields[4] != "*"
        self.sorted_hours = sorted(self.hours)
        self.sorted_minutes = sorted(self.minutes)
        if not self.weekdays_restricted and not any(
            day <= _DAYS_IN_MONTH[month] for month in self.months for day in self.days
        ):
            raise ValueError(f"Invalid cron expression {expression!r}: no such date")

    def __repr__(self) -> str:
        return f"CronExpression({self.expression!r})"

    def matches_day(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def next_after(self, after: datetime, tz: tzinfo = UTC) -> datetime:
        """The first run strictly after ``after`` (aware), as an aware UTC datetime."""
        if after.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        local = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
        start = local + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(_SEARCH_DAYS):
            if self.matches_day(day):
                for hour in self.sorted_hours:
                    for minute in self.sorted_minutes:
                        wall = day.replace(hour=hour, minute=minute)
                        if wall < start:
                            continue
                        found = self._resolve(wall, tz, after)
                        if found is not None:
                            return found
            day += timedelta(days=1)
        raise ValueError(f"Cron expression {self.expression!r} never fires")

    @staticmethod
    def _resolve(wall: datetime, tz: tzinfo, after: datetime) -> datetime | None:
        """The instant of a naive wall-clock time: the first of a repeated time that is
        still to come; a time inside a gap maps to the instant after the gap (fold=0)."""
        for fold in (0, 1):
            instant = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
            if instant > after:
                return instant
        return None


def parse_timezone(tz: str | tzinfo | None) -> tzinfo:
    """``None`` means UTC; strings are IANA zone names ("Europe/Paris")."""
    if tz is None:
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"Unknown time zone {tz!r}") from exc


def _job_key(
    method: Callable[..., Any], args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None
) -> tuple[Any, ...]:
    frozen_kwargs = tuple(sorted((k, repr(v)) for k, v in (kwargs or {}).items()))
    return (method, tuple(repr(a) for a in (args or ())), frozen_kwargs)


def _job_id(key: tuple[Any, ...]) -> str:
    """A stable name for storage: the method name plus its arguments."""
    method = key[0]
    name = getattr(method, "__qualname__", None) or repr(method)
    return f"{name}|{list(key[1])!r}|{list(key[2])!r}"


class CronJob:
    """One registration and its pending timer."""

    def __init__(
        self,
        expression: CronExpression,
        tz: tzinfo,
        method: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        job_id: str,
    ) -> None:
        self.expression = expression
        self.tz = tz
        self.method = method
        self.args = list(args)
        self.kwargs = dict(kwargs)
        self.job_id = job_id
        self.next_run: datetime | None = None
        self.timer: TimerHandle | None = None
        self.stopped = False


class CronScheduler:
    """The cron jobs of one plugin."""

    def __init__(self, plugin: BotPluginBase, now: Callable[[], datetime] | None = None) -> None:
        self._plugin = plugin
        self._now = now
        self.jobs: dict[tuple[Any, ...], CronJob] = {}
        self._lock = threading.RLock()

    @property
    def now(self) -> Callable[[], datetime]:
        """The clock (aware datetimes): this scheduler's own if one was set, else the bot's
        ``cron_clock`` attribute, else the real UTC clock.

        The bot-wide hook exists because plugins start their jobs in ``activate()``, before a
        test could reach the plugin: a test sets ``bot.cron_clock`` before the bot starts to
        check what happens across a restart.
        """
        if self._now is not None:
            return self._now
        return getattr(getattr(self._plugin, "_bot", None), "cron_clock", None) or utc_now

    @now.setter
    def now(self, clock: Callable[[], datetime] | None) -> None:
        self._now = clock

    # -- public -------------------------------------------------------------------
    def start(
        self,
        expression: str,
        method: Callable[..., Any],
        tz: str | tzinfo | None = None,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        catch_up: bool = False,
    ) -> CronJob | None:
        parsed = CronExpression(expression)
        zone = parse_timezone(tz)
        key = _job_key(method, args, kwargs)
        with self._lock:
            if key in self.jobs:
                self._plugin.log.warning(
                    "Cron job %r is already running; not started twice.", method
                )
                return None
            job = CronJob(parsed, zone, method, args or (), kwargs or {}, _job_id(key))
            self.jobs[key] = job
            now = self.now()
            last_run = self._last_run(job)
            if last_run is None:
                # The baseline a later catch-up is measured from.
                self._store_last_run(job, now)
            elif catch_up and parsed.next_after(last_run, zone) <= now:
                self._plugin.log.info("Catching up the missed cron job %r", method)
                self._dispatch(key, job, now)
            job.next_run = parsed.next_after(now, zone)
            self._arm(key, job)
        return job

    def stop(
        self,
        method: Callable[..., Any],
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        with self._lock:
            job = self.jobs.pop(_job_key(method, args, kwargs), None)
        if job is None:
            self._plugin.log.debug("No cron job %r to stop.", method)
            return
        self._cancel(job)

    def stop_all(self) -> None:
        with self._lock:
            jobs = list(self.jobs.values())
            self.jobs.clear()
        for job in jobs:
            self._cancel(job)

    def run_due(self) -> int:
        """Dispatch every job whose next run is due by `now()`; returns how many ran.

        The timers call this too; tests call it after moving a fake clock forward.
        """
        count = 0
        with self._lock:
            now = self.now()
            for key, job in list(self.jobs.items()):
                if job.stopped or job.next_run is None or job.next_run > now:
                    continue
                self._dispatch(key, job, job.next_run)
                # Runs missed while the process was busy or asleep are skipped, not queued.
                job.next_run = job.expression.next_after(max(job.next_run, now), job.tz)
                self._arm(key, job)
                count += 1
        return count

    # -- internals ----------------------------------------------------------------
    @staticmethod
    def _cancel(job: CronJob) -> None:
        job.stopped = True
        if job.timer is not None:
            job.timer.cancel()

    def _arm(self, key: tuple[Any, ...], job: CronJob) -> None:
        if job.stopped or job.next_run is None:
            return
        if job.timer is not None:
            job.timer.cancel()
        delay = (job.next_run - self.now()).total_seconds()
        delay = min(max(0.0, delay), MAX_TIMER_DELAY)
        job.timer = self._plugin._bot.runtime.call_later(delay, self._on_timer, key, job)

    def _on_timer(self, key: tuple[Any, ...], job: CronJob) -> None:
        """Runs on the event loop; fires the job if due, else re-arms (early wake-up)."""
        with self._lock:
            if job.stopped or self.jobs.get(key) is not job:
                return
            if job.next_run is not None and job.next_run <= self.now():
                self.run_due()
            else:
                self._arm(key, job)

    def _dispatch(self, key: tuple[Any, ...], job: CronJob, scheduled: datetime) -> None:
        runtime = self._plugin._bot.runtime
        if is_async_callable(job.method):
            runtime.spawn(self._call_async(job, scheduled))
        else:
            runtime.submit_background(self._call_sync, job, scheduled)

    def _call_sync(self, job: CronJob, scheduled: datetime) -> None:
        if job.stopped:  # stopped while waiting for a free worker
            return
        self._store_last_run(job, scheduled)
        try:
            job.method(*job.args, **job.kwargs)
        except Exception:
            self._plugin.log.exception("A cron job crashed")
            self._count_crash()

    async def _call_async(self, job: CronJob, scheduled: datetime) -> None:
        if job.stopped:
            return
        self._store_last_run(job, scheduled)
        try:
            await job.method(*job.args, **job.kwargs)
        except Exception:
            self._plugin.log.exception("A cron job crashed")
            self._count_crash()

    def _count_crash(self) -> None:
        metrics = getattr(self._plugin._bot, "metrics", None)
        if metrics is not None:
            metrics.plugin_error(self._plugin, "cron")

    def _last_run(self, job: CronJob) -> datetime | None:
        if not self._plugin.is_open_storage():
            return None
        try:
            stamp = (self._plugin.get(LAST_RUN_KEY) or {}).get(job.job_id)
            return datetime.fromisoformat(stamp) if stamp else None
        except Exception:
            self._plugin.log.exception("Could not read the last run of cron job %s", job.job_id)
            return None

    def _store_last_run(self, job: CronJob, when: datetime) -> None:
        if not self._plugin.is_open_storage():
            return
        try:
            with self._lock:
                runs = dict(self._plugin.get(LAST_RUN_KEY) or {})
                runs[job.job_id] = when.astimezone(UTC).isoformat()
                self._plugin[LAST_RUN_KEY] = runs
        except Exception:
            self._plugin.log.exception("Could not store the last run of cron job %s", job.job_id)
