"""The Slack backend's sending queue when the Web API cannot be reached: the fake Slack stops
listening (connections refused, as in an outage), the bot keeps accepting messages, and they
are posted in order once Slack is back; beyond the queue's bound sends are refused."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from servers.fake_slack import FakeSlack
from servers.slack_bot import RunningBot, start_bot, wait_for


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def running(fake: FakeSlack, tmp_path) -> Iterator[RunningBot]:
    running = start_bot(fake, tmp_path)
    yield running
    running.stop()


def texts_posted(fake: FakeSlack, start: int) -> list[str]:
    return [a["text"] for m, a, _ in fake.calls[start:] if m == "chat.postMessage"]


def test_messages_sent_during_an_outage_are_posted_in_order_afterwards(
    fake: FakeSlack, running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = running.bot
    general = bot.build_identifier("#general")
    start = len(fake.calls)
    fake.go_down()
    for text in ("one", "two", "three"):
        bot.send(general, text)  # from this thread, as a poller or a webhook would
    wait_for(lambda: "Slack is unreachable" in caplog.text, 10, "the outage to be noticed")
    assert len(bot._outbox) == 3
    assert bot.started and running.thread.is_alive()
    fake.come_back()
    wait_for(lambda: len(texts_posted(fake, start)) >= 3, 15, "the queued messages")
    assert texts_posted(fake, start) == ["one", "two", "three"]
    posts = [a for m, a, _ in fake.calls[start:] if m == "chat.postMessage"]
    assert {p["channel"] for p in posts} == {"CGENERAL"}
    wait_for(lambda: not bot._outbox, 5, "an empty queue")


def test_beyond_the_bound_sends_are_refused_with_one_error_each(
    fake: FakeSlack, running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = running.bot
    bot.send_queue_limit = 2
    general = bot.build_identifier("#general")
    start = len(fake.calls)
    fake.go_down()
    for text in ("kept 1", "kept 2", "refused"):
        bot.send(general, text)
    refusals = wait_for(
        lambda: [
            r.getMessage()
            for r in caplog.records
            if r.levelno == logging.ERROR and "already waiting" in r.getMessage()
        ],
        10,
        "the refusal",
    )
    assert refusals == ["2 Slack messages are already waiting: the message to #general is refused."]
    fake.come_back()
    wait_for(lambda: len(texts_posted(fake, start)) >= 2 and not bot._outbox, 15, "the rest")
    assert texts_posted(fake, start) == ["kept 1", "kept 2"]
    fake.push(fake.message_event("!echo still answering"))
    wait_for(lambda: "still answering" in texts_posted(fake, start), 10, "an answer")
