"""Counters the core keeps about itself, for `!status` and the Prometheus endpoint.

The message and command paths only bump plain ints and dict entries here: no lock, no
prometheus_client object. Prometheus metric families are built from these figures when
``/metrics`` is scraped (`BotCollector`), so a bot that never serves metrics pays nothing more
than the increments, and prometheus_client is imported only when a registry is asked for.

The increments are not locked. CPython 3.10+ only switches threads at calls and backward jumps,
so ``x += 1`` on an int or a dict entry with a str key is not interrupted in practice; were an
increment ever lost, only a monitoring figure would be off by one.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from errbot.core.workers import WorkerPool

__all__ = ["LATENCY_BUCKETS", "OUTCOMES", "CommandStats", "Metrics", "plugin_name_of"]

# Upper bounds (seconds) of the command latency histogram. Chat commands range from a dict
# look-up to a slow API call, so the buckets span milliseconds to a minute.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip

# What can become of a command that was found in the command table.
SUCCESS = "success"
ERROR = "error"  # raised an unexpected exception ("Computer says nooo.")
COMMAND_ERROR = "command_error"  # raised CommandError: a failure the plugin reported
REFUSED = "refused"  # a command filter (the ACLs, ...) blocked it
BAD_ARGUMENTS = "bad_arguments"  # its split_args_with could not parse the arguments
OUTCOMES = (SUCCESS, ERROR, COMMAND_ERROR, REFUSED, BAD_ARGUMENTS)


_REGISTRY_LOCK = threading.Lock()


def plugin_name_of(obj: Any) -> str:
    """The plugin behind a plugin object or one of its bound methods ("?" when unknown)."""
    owner = getattr(obj, "__self__", obj)
    name = getattr(owner, "name", None)
    return name if isinstance(name, str) and name else "?"


class CommandStats:
    """What became of one command: a count per outcome, and its latency histogram as a count
    per bucket (not cumulative; the last bucket is +Inf) and the sum of the observations."""

    __slots__ = ("outcomes", "buckets", "total")

    def __init__(self) -> None:
        # Every outcome present from the start: no missing-key path when counting, and every
        # series exists (at 0) as soon as the command has been used, which rate() needs.
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    @property
    def count(self) -> int:
        return sum(self.buckets)


class Metrics:
    __slots__ = (
        "started",
        "received",
        "sent",
        "commands",
        "per_plugin",
        "per_command",
        "unknown_commands",
        "plugin_errors",
        "pool",
        "_registry",
    )

    def __init__(self, pool: WorkerPool | None = None) -> None:
        self.started = time.time()
        # Indexed by ``msg.is_direct``: [0] group (rooms), [1] direct.
        self.received = [0, 0]
        self.sent = [0, 0]
        self.commands = 0  # handed over for execution (after the filters)
        self.per_plugin: Counter[str] = Counter()
        self.per_command: dict[str, CommandStats] = {}
        self.unknown_commands = 0
        self.plugin_errors: Counter[tuple[str, str]] = Counter()  # (plugin, where)
        self.pool = pool  # read at scrape time for the queue gauges
        self._registry: CollectorRegistry | None = None

    # -- the hot path ---------------------------------------------------------------
    def count_dispatched(self, plugin_name: str) -> None:
        """A command of ``plugin_name`` was handed over to run."""
        self.commands += 1
        self.per_plugin[plugin_name] += 1

    def command_finished(self, cmd: str, outcome: str, seconds: float) -> None:
        """A command ran: count its outcome and record how long it took."""
        stats = self.per_command.get(cmd)
        if stats is None:
            stats = self.per_command.setdefault(cmd, CommandStats())
        stats.outcomes[outcome] += 1
        # bisect_left: an observation equal to a bound belongs to that bound ("le").
        stats.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        stats.total += seconds

    # -- rarer events ---------------------------------------------------------------
    def command_not_run(self, cmd: str, outcome: str) -> None:
        """A command found in the table never ran (REFUSED, BAD_ARGUMENTS)."""
        stats = self.per_command.get(cmd)
        if stats is None:
            stats = self.per_command.setdefault(cmd, CommandStats())
        stats.outcomes[outcome] += 1

    def unknown_command(self) -> None:
        # No command label: the text is whatever a user typed, an unbounded set of values.
        self.unknown_commands += 1

    def plugin_error(self, plugin: Any, where: str) -> None:
        """Plugin code raised and the core caught it; ``where``: command, callback, ..."""
        self.plugin_errors[(plugin_name_of(plugin), where)] += 1

    # -- reading --------------------------------------------------------------------
    @property
    def messages(self) -> int:
        return self.received[0] + self.received[1]

    @property
    def replies(self) -> int:
        return self.sent[0] + self.sent[1]

    def snapshot(self) -> dict[str, Any]:
        return {
            "uptime_s": time.time() - self.started,
            "messages": self.messages,
            "commands": self.commands,
            "replies": self.replies,
            "per_plugin": dict(self.per_plugin),
        }

    @property
    def registry(self) -> CollectorRegistry:
        """This bot's own Prometheus registry (never the process-wide default one).

        Plugins may register their own metrics on it; they are served on ``/metrics`` too.
        """
        if self._registry is None:
            with _REGISTRY_LOCK:  # plugins may ask from several threads at start-up
                if self._registry is None:
                    from prometheus_client import CollectorRegistry

                    from errbot.core.prometheus import BotCollector

                    registry = CollectorRegistry(auto_describe=True)
                    registry.register(BotCollector(self))
                    self._registry = registry
        return self._registry
