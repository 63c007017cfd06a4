"""Prometheus metrics: counted by the core, served on the Webserver's ``/metrics``, per bot.

Real bots, a real server on 127.0.0.1 (a free port), real HTTP scrapes parsed with
prometheus_client's own parser.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from test_webserver_helpers import (
    NETWORK_TIMEOUT,
    base_url,
    configure_webserver,
    http_request,
)

from errbot import ValidationException
from errbot.backends.test import TestBot, TestPerson
from errbot.core.metrics import LATENCY_BUCKETS, Metrics
from errbot.core.workers import WorkerPool

extra_plugin_dir = str(Path(__file__).parent / "plugins" / "metered")

SERVED = {"HOST": "127.0.0.1", "PORT": 0, "SSL": None, "METRICS": True}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by (sample name, labels)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(url: str, headers: dict[str, str] | None = None) -> Samples:
    reply = http_request("GET", url + "/metrics", headers=headers)
    assert reply.status == 200, reply.text
    assert reply.headers["content-type"] == CONTENT_TYPE_LATEST
    return parse(reply.text)


def scrape_until(url: str, done: Any) -> Samples:
    """Scrape until ``done(samples)``: commands count their outcome after their last reply,
    and callbacks run on their own thread, so a figure may land just after the reply does.
    The deadline is a safety net against a hang, not a timing assertion."""
    deadline = time.monotonic() + NETWORK_TIMEOUT
    samples = scrape(url)
    while not done(samples) and time.monotonic() < deadline:
        time.sleep(0.02)
        samples = scrape(url)
    return samples


def plugin(testbot: Any, name: str = "Metered") -> Any:
    return testbot.bot.plugin_manager.get_plugin_obj_by_name(name)


@pytest.fixture
def served(testbot: Any) -> str:
    configure_webserver(testbot, SERVED)
    return base_url(testbot)


# -- the endpoint ------------------------------------------------------------------------------
def test_every_outcome_is_counted_exactly(testbot, served):
    before = scrape(served)
    assert testbot.exec_command("!fine") == "fine indeed"
    assert testbot.exec_command("!fine") == "fine indeed"
    assert testbot.exec_command("!broken").startswith("Computer says nooo.")
    assert testbot.exec_command("!refusing") == "not today"
    assert testbot.exec_command("!later a b") == "later 2"
    assert 'Command "nosuchcommand" not found.' in testbot.exec_command("!nosuchcommand")
    testbot.bot.sender = TestPerson("stranger")
    assert "requires bot-admin privileges" in testbot.exec_command("!secret")
    testbot.bot.sender = testbot.bot.build_identifier(testbot.bot_config.BOT_ADMINS[0])
    testbot.bot.send(testbot.bot.query_room("testroom"), "to the room")
    assert testbot.pop_message() == "to the room"
    plugin(testbot).fail_next_message = True
    assert testbot.exec_command("!fine") == "fine indeed"
    assert http_request("POST", served + "/metered_hook", '"boom"').status == 500

    def settled(samples: Samples) -> bool:
        return (
            value(samples, "errbot_commands_total", command="fine", outcome="success") == 3
            and value(samples, "errbot_commands_total", command="broken", outcome="error") == 1
            and value(samples, "errbot_commands_total", command="later", outcome="success") == 1
            and value(samples, "errbot_plugin_errors_total", plugin="Metered", where="callback")
            == 1
        )

    after = scrape_until(served, settled)

    def commands(command: str, outcome: str) -> float:
        return value(after, "errbot_commands_total", command=command, outcome=outcome)

    assert commands("fine", "success") == 3
    assert commands("fine", "error") == 0
    assert commands("broken", "error") == 1
    assert commands("refusing", "command_error") == 1
    assert commands("later", "success") == 1
    assert commands("secret", "refused") == 1
    assert commands("secret", "success") == 0
    unknown = "errbot_unknown_commands_total"
    assert value(after, unknown) - value(before, unknown) == 1

    errors = {
        (dict(labels)["plugin"], dict(labels)["where"]): count
        for (name, labels), count in after.items()
        if name == "errbot_plugin_errors_total"
    }
    assert errors == {
        ("Metered", "command"): 1,
        ("Metered", "callback"): 1,
        ("Metered", "webhook"): 1,
    }

    # 8 commands typed, all direct (the Test backend has no rooms for incoming messages)
    received = "errbot_messages_received_total"
    assert value(after, received, kind="direct") - value(before, received, kind="direct") == 8
    assert value(after, received, kind="group") == 0
    sent = "errbot_messages_sent_total"
    assert value(after, sent, kind="direct") - value(before, sent, kind="direct") == 8
    assert value(after, sent, kind="group") - value(before, sent, kind="group") == 1


def test_latency_histogram_by_command(testbot, served):
    for _ in range(3):
        assert testbot.exec_command("!fine") == "fine indeed"
    assert testbot.exec_command("!broken").startswith("Computer says nooo.")

    def settled(samples: Samples) -> bool:
        return (
            value(samples, "errbot_command_duration_seconds_count", command="fine") == 3
            and value(samples, "errbot_command_duration_seconds_count", command="broken") == 1
        )

    samples = scrape_until(served, settled)
    bucket = "errbot_command_duration_seconds_bucket"
    assert value(samples, bucket, command="fine", le="+Inf") == 3
    counts = [value(samples, bucket, command="fine", le=str(b)) for b in LATENCY_BUCKETS]
    assert counts == sorted(counts)  # cumulative
    assert value(samples, "errbot_command_duration_seconds_sum", command="fine") > 0
    # failures are timed too; commands that never ran are not
    assert value(samples, bucket, command="broken", le="+Inf") == 1
    assert (
        "errbot_command_duration_seconds_count",
        frozenset({("command", "secret")}),
    ) not in samples


def test_worker_gauges_and_start_time_are_served(testbot, served):
    samples = scrape(served)
    assert value(samples, "errbot_worker_threads") >= 1  # the "ready" echo started one
    assert ("errbot_worker_queue_depth", frozenset()) in samples
    assert ("errbot_workers_busy", frozenset()) in samples
    assert value(samples, "errbot_start_time_seconds") == pytest.approx(testbot.bot.metrics.started)


def test_status_still_reports_the_counters(testbot):
    assert testbot.exec_command("!fine") == "fine indeed"
    snapshot = testbot.bot.metrics.snapshot()
    assert snapshot["per_plugin"]["Metered"] == 1
    # "!echo ready" at start-up, then "!fine" and "!status" (counted before it runs)
    assert (snapshot["messages"], snapshot["commands"], snapshot["replies"]) == (2, 2, 2)
    status = testbot.exec_command("!status")
    assert "Traffic: 3 messages received, 3 commands dispatched, 2 replies sent" in status


def test_head_and_trailing_slash_and_methods(testbot, served):
    head = http_request("HEAD", served + "/metrics")
    assert head.status == 200 and head.body == b""
    assert http_request("GET", served + "/metrics/").status == 200
    post = http_request("POST", served + "/metrics", "x")
    assert post.status == 405 and post.headers["allow"] == "GET, HEAD"
    # webhooks are still served next to it
    assert http_request("POST", served + "/metered_hook", '"fine"').text == "ok"


def test_disabled_by_default_and_when_false(testbot):
    configure_webserver(testbot, {"HOST": "127.0.0.1", "PORT": 0, "SSL": None})
    assert http_request("GET", base_url(testbot) + "/metrics").status == 404
    configure_webserver(testbot, {**SERVED, "METRICS": False})
    assert http_request("GET", base_url(testbot) + "/metrics").status == 404
    # nor is it reachable through the in-process test command
    assert "Status code: 404" in testbot.exec_command("!webhook test /metrics")


def test_bearer_token(testbot):
    configure_webserver(testbot, {**SERVED, "METRICS_TOKEN": "s3cret token"})
    url = base_url(testbot) + "/metrics"
    missing = http_request("GET", url)
    assert missing.status == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    wrong = http_request("GET", url, headers={"Authorization": "Bearer guess"})
    assert wrong.status == 401
    basic = http_request("GET", url, headers={"Authorization": "Basic s3cret token"})
    assert basic.status == 401
    good = http_request("GET", url, headers={"Authorization": "Bearer s3cret token"})
    assert good.status == 200 and "errbot_commands_total" in good.text
    # the token is a secret of the configuration: masked in chat
    assert "s3cret" not in testbot.exec_command("!plugin config Webserver")


@pytest.mark.parametrize(
    "extra",
    [
        {"METRICS": "yes"},
        {"METRICS": 1},
        {"METRICS": True, "METRICS_TOKEN": ""},
        {"METRICS": True, "METRICS_TOKEN": 42},
    ],
)
def test_invalid_metrics_settings_are_refused(testbot, extra):
    with pytest.raises(ValidationException):
        plugin(testbot, "Webserver").check_configuration({**SERVED, **extra})


def test_the_contract_template_still_validates(testbot):
    webserver = plugin(testbot, "Webserver")
    webserver.check_configuration(webserver.get_configuration_template())
    webserver.check_configuration({**SERVED, "METRICS_TOKEN": None})


# -- one registry per bot ----------------------------------------------------------------------
def test_two_bots_have_separate_registries(testbot):
    other = TestBot(extra_plugin_dir, logging.WARNING, {})
    other.start()
    try:
        assert testbot.bot.metrics.registry is not other.bot.metrics.registry
        for _ in range(2):
            assert testbot.exec_command("!fine") == "fine indeed"
        assert other.exec_command("!broken").startswith("Computer says nooo.")

        def counts(bot: TestBot) -> Samples:
            return parse(generate_latest(bot.bot.metrics.registry).decode("utf-8"))

        first, second = counts(testbot), counts(other)
        fine = ("errbot_commands_total", frozenset({("command", "fine"), ("outcome", "success")}))
        broken = ("errbot_commands_total", frozenset({("command", "broken"), ("outcome", "error")}))
        assert first.get(fine) == 2 and second.get(fine) is None
        assert second.get(broken) == 1 and first.get(broken) is None
    finally:
        other.stop()
    # never the process-wide default registry
    assert "errbot_commands_total" not in generate_latest(REGISTRY).decode("utf-8")


# -- the queue gauge, read from a real pool ----------------------------------------------------
def test_queue_depth_is_read_from_the_pool_at_scrape_time():
    pool = WorkerPool(1, name="metrics-test")
    metrics = Metrics(pool)
    release = threading.Event()
    started = threading.Event()

    def blocker() -> None:
        started.set()
        release.wait(NETWORK_TIMEOUT)

    try:
        pool.submit(blocker)
        assert started.wait(NETWORK_TIMEOUT)
        pool.submit(blocker)
        pool.submit(blocker)
        samples = parse(generate_latest(metrics.registry).decode("utf-8"))
        assert value(samples, "errbot_worker_queue_depth") == 2
        assert value(samples, "errbot_workers_busy") == 1
        assert value(samples, "errbot_worker_threads") == 1
    finally:
        release.set()
        pool.shutdown()
    # Never the process-wide default registry: two bots would share their counters.
    assert "errbot_worker_threads" not in generate_latest(REGISTRY).decode()
