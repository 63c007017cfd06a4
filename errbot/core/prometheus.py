"""Prometheus metric families built from a bot's `Metrics` when ``/metrics`` is scraped.

A custom collector instead of prometheus_client Counter objects: the bot counts with plain ints
(no lock per increment on the message path) and the families are assembled only on a scrape.
Imported only when a registry is first asked for. Every name is documented in docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from errbot.core.metrics import LATENCY_BUCKETS

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from errbot.core.metrics import Metrics

__all__ = ["BotCollector"]

KINDS = ("group", "direct")  # index = msg.is_direct, as in Metrics.received / Metrics.sent
_BOUNDS = [*(repr(b) for b in LATENCY_BUCKETS), "+Inf"]


class BotCollector(Collector):
    """Reads one bot's counters; registered on that bot's own registry only."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self.metrics
        yield from self._messages(metrics)
        yield from self._commands(metrics)
        yield from self._workers(metrics)
        errors = CounterMetricFamily(
            "errbot_plugin_errors",
            "Exceptions raised by plugin code and caught by the bot, by plugin and where "
            "(command, callback, poller, cron, webhook, stream).",
            labels=["plugin", "where"],
        )
        for (plugin, where), count in sorted(metrics.plugin_errors.copy().items()):
            errors.add_metric([plugin, where], count)
        yield errors
        yield GaugeMetricFamily(
            "errbot_start_time_seconds",
            "When the bot started, in seconds since the Unix epoch.",
            value=metrics.started,
        )

    @staticmethod
    def _messages(metrics: Metrics) -> Iterator[Metric]:
        received = CounterMetricFamily(
            "errbot_messages_received",
            "Messages handed to the bot by its backend, direct or in a room (group).",
            labels=["kind"],
        )
        sent = CounterMetricFamily(
            "errbot_messages_sent",
            "Messages the bot sent (each chunk of a split reply counts), direct or group.",
            labels=["kind"],
        )
        for index, kind in enumerate(KINDS):
            received.add_metric([kind], metrics.received[index])
            sent.add_metric([kind], metrics.sent[index])
        yield received
        yield sent

    @staticmethod
    def _commands(metrics: Metrics) -> Iterator[Metric]:
        commands = CounterMetricFamily(
            "errbot_commands",
            "Commands found in the command table, by command and outcome (success, error, "
            "command_error, refused, bad_arguments).",
            labels=["command", "outcome"],
        )
        # Copies: commands finishing on worker threads may add entries during the scrape.
        per_command = sorted(metrics.per_command.copy().items())
        for command, stats in per_command:
            for outcome, count in stats.outcomes.copy().items():
                commands.add_metric([command, outcome], count)
        yield commands
        yield CounterMetricFamily(
            "errbot_unknown_commands",
            'Messages addressed to the bot that matched no command ("Command not found").',
            value=metrics.unknown_commands,
        )
        latency = HistogramMetricFamily(
            "errbot_command_duration_seconds",
            "Time from handing a command over for execution to its last reply, by command.",
            labels=["command"],
        )
        for command, stats in per_command:
            counts = list(stats.buckets)
            if not any(counts):  # refused or unparsable every time: it never ran
                continue
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip(_BOUNDS, counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric([command], buckets, stats.total)
        yield latency

    @staticmethod
    def _workers(metrics: Metrics) -> Iterator[Metric]:
        pool = metrics.pool
        yield GaugeMetricFamily(
            "errbot_worker_queue_depth",
            "Plugin calls waiting for a free worker thread (0 when BOT_ASYNC is False).",
            value=pool.pending if pool is not None else 0,
        )
        yield GaugeMetricFamily(
            "errbot_workers_busy",
            "Worker threads running plugin code right now.",
            value=pool.busy if pool is not None else 0,
        )
        yield GaugeMetricFamily(
            "errbot_worker_threads",
            "Worker threads started so far (BOT_ASYNC_POOLSIZE at most, unless commands hang).",
            value=pool.threads if pool is not None else 0,
        )
