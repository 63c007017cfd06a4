"""Cards (``send_card``) and file transfers (``send_stream_request``, ``callback_stream``)
through a real test bot.

The Test backend shows what a backend without native cards sends: the Markdown of card.md,
rendered as plain text on its outgoing queue. Plugins record the Message objects the bot sent
(``callback_botmessage``) so that recipients and threading can be checked too.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest

from errbot.backends.base import (
    STREAM_ERROR,
    STREAM_REJECTED,
    STREAM_SUCCESSFULLY_TRANSFERED,
    STREAM_TRANSFER_IN_PROGRESS,
    STREAM_WAITING_TO_START,
    Message,
    Stream,
)
from errbot.backends.test import TestPerson

PLUGINS = Path(__file__).parent / "plugins"
extra_plugin_dir = str(PLUGINS / "streams")

# A safety net against a hang, never an assertion on timing.
WAIT = 20


def plugin(testbot: Any, name: str) -> Any:
    return testbot.bot.plugin_manager.get_plugin_obj_by_name(name)


def sent_message(testbot: Any, predicate: Any) -> Message:
    """The first message the bot sent (as recorded by the Cards plugin) matching ``predicate``."""
    record = plugin(testbot, "Cards").sent
    while True:
        message = record.get(timeout=WAIT)
        if predicate(message):
            return message


def lines(text: str) -> list[str]:
    # The text renderer indents paragraphs after the first by one space: compare the words.
    return [line.strip() for line in text.splitlines()]


# -- cards -------------------------------------------------------------------------------------
FULL_CARD = {
    "body": "Deploy **finished**.",
    "summary": "all green",
    "title": "Build 42",
    "link": "https://ci.example/42",
    "image": "https://ci.example/badge.png",
    "thumbnail": "https://ci.example/icon.png",
    "color": "red",
    "fields": (("branch", "main"), ("took", "3 min")),
}


def test_every_field_of_a_card_is_rendered(testbot):
    cards = plugin(testbot, "Cards")
    alice = cards.build_identifier("alice")
    cards.send_card(to=alice, **FULL_CARD)
    assert lines(testbot.pop_message()) == [
        "Build 42 (https://ci.example/42)",
        "all green",
        "Deploy finished.",
        "• branch: main",
        "• took: 3 min",
        "https://ci.example/badge.png",
        "https://ci.example/icon.png",
    ]
    message = sent_message(testbot, lambda m: "Build 42" in m.body)
    assert message.to == alice and message.frm == testbot.bot.bot_identifier
    assert message.parent is None
    # Markdown for the backend: the colour is an attribute of the title, never a word.
    assert message.body.split("\n\n") == [
        "**[Build 42](https://ci.example/42)**\n{: color='red'}",
        "_all green_",
        "Deploy **finished**.",
        "- **branch**: main\n- **took**: 3 min",
        "![Build 42](https://ci.example/badge.png)",
        "![thumbnail](https://ci.example/icon.png)",
    ]


@pytest.mark.parametrize("color", ["#ff0000", "chartreuse", None])
def test_colours_no_format_can_show_are_left_out(testbot, color):
    cards = plugin(testbot, "Cards")
    cards.send_card(body="b", to=cards.build_identifier("alice"), title="T", color=color)
    assert lines(testbot.pop_message()) == ["T", "b"]
    message = sent_message(testbot, lambda m: m.body.startswith("**T**"))
    assert message.body == "**T**\n\nb"


def test_a_card_without_title_shows_its_link_and_no_colour(testbot):
    cards = plugin(testbot, "Cards")
    cards.send_card(body="see there", to=cards.build_identifier("alice"), link="https://x.example")
    assert lines(testbot.pop_message()) == ["see there", "https://x.example"]


def test_a_card_in_reply_goes_to_the_sender_in_its_thread(testbot):
    assert lines(testbot.exec_command("!cardreply 42 it is")) == ["Reply", "42 it is"]
    message = sent_message(testbot, lambda m: "42 it is" in m.body)
    admin = testbot.bot.build_identifier(testbot.bot_config.BOT_ADMINS[0])
    assert message.to == admin
    assert message.parent is not None and message.parent.body == "!cardreply 42 it is"
    assert message.is_threaded
    assert message.frm == message.parent.to  # from whom the request was addressed to


def test_a_card_to_a_room(testbot):
    cards = plugin(testbot, "Cards")
    room = testbot.bot.query_room("testroom")
    question = Message("status?", frm=TestPerson("bob"), to=testbot.bot.bot_identifier)
    cards.send_card(body="room card", to=room, in_reply_to=question, title="Status")
    assert lines(testbot.pop_message()) == ["Status", "room card"]
    message = sent_message(testbot, lambda m: "room card" in m.body)
    assert message.to == room and message.is_group
    assert message.parent is question


def test_a_card_needs_a_recipient(testbot):
    with pytest.raises(ValueError, match="Either to or in_reply_to needs to be set."):
        plugin(testbot, "Cards").send_card(body="nowhere")


# -- outgoing files ------------------------------------------------------------------------------
def test_the_test_backend_puts_the_file_on_its_queue_and_returns_its_stream(testbot):
    testbot.push_message("!sendfile hello file")
    assert testbot.pop_message() == b"hello file"
    admin = testbot.bot_config.BOT_ADMINS[0]
    assert testbot.pop_message() == f"success 10/10 notes.txt text/plain to {admin}"


def test_send_stream_request_keeps_a_given_size(testbot):
    cards = plugin(testbot, "Cards")
    stream = cards.send_stream_request(cards.build_identifier("carol"), io.BytesIO(b"abc"), size=99)
    assert testbot.pop_message() == b"abc"
    assert (stream.size, stream.transfered, stream.name, stream.stream_type) == (99, 3, None, None)
    assert stream.identifier == TestPerson("carol")
    assert stream.status == STREAM_SUCCESSFULLY_TRANSFERED


# -- incoming files ------------------------------------------------------------------------------
def final_status(stream: Stream) -> str:
    """The status once the bot has settled the plugin's copy (after its callback returned)."""
    deadline = time.monotonic() + WAIT
    while stream.status in (STREAM_WAITING_TO_START, STREAM_TRANSFER_IN_PROGRESS):
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    return stream.status


def test_each_plugin_gets_its_own_copy_and_its_own_outcome(testbot):
    alice = TestPerson("alice")
    incoming = Stream(alice, io.BytesIO(b"hello file"), "f.txt", 10, "text/plain")
    testbot.bot.callback_stream(incoming)

    outcomes = {}
    for name in ("StreamTaker", "StreamRejecter", "StreamIgnorer", "StreamBreaker", "StreamAsync"):
        copy, data = plugin(testbot, name).received.get(timeout=WAIT)
        assert copy is not incoming
        assert (copy.identifier, copy.name, copy.size, copy.stream_type) == (
            alice,
            "f.txt",
            10,
            "text/plain",
        )
        outcomes[name] = (final_status(copy), data)
    assert outcomes == {
        "StreamTaker": (STREAM_SUCCESSFULLY_TRANSFERED, b"hello file"),
        "StreamRejecter": (STREAM_REJECTED, b""),
        "StreamIgnorer": (STREAM_REJECTED, b""),
        "StreamBreaker": (STREAM_ERROR, b"hel"),  # its failure did not stop the others
        "StreamAsync": (STREAM_SUCCESSFULLY_TRANSFERED, b"hello file"),
    }
    assert plugin(testbot, "StreamAsync").loops == [testbot.bot.runtime.loop]
    errors = testbot.bot.metrics.plugin_errors
    assert errors[("StreamBreaker", "stream")] == 1
    assert sum(errors.values()) == 1


def test_the_breaking_plugin_s_copy_carries_the_reason(testbot):
    testbot.bot.callback_stream(Stream(TestPerson("bob"), io.BytesIO(b"xyz")))
    copy, _ = plugin(testbot, "StreamBreaker").received.get(timeout=WAIT)
    assert final_status(copy) == STREAM_ERROR
    assert copy.reason == "disk full on purpose"
    taken, data = plugin(testbot, "StreamTaker").received.get(timeout=WAIT)
    assert data == b"xyz" and taken.transfered == 3


class TestWithoutFileHandlers:
    extra_plugin_dir = str(PLUGINS / "metered")

    def test_a_file_nobody_handles_is_rejected(self, testbot):
        incoming = Stream(TestPerson("alice"), io.BytesIO(b"unwanted"))
        testbot.bot.callback_stream(incoming)
        assert incoming.status == STREAM_REJECTED


# -- the Stream object -------------------------------------------------------------------------
def test_stream_states():
    stream = Stream(TestPerson("a"), io.BytesIO(b"0123456789"), "n", 10, "application/x")
    assert stream.status == STREAM_WAITING_TO_START and stream.transfered == 0
    with pytest.raises(ValueError):
        stream.success()  # only from in progress
    stream.accept()
    assert stream.status == STREAM_TRANSFER_IN_PROGRESS
    with pytest.raises(ValueError):
        stream.accept()
    with pytest.raises(ValueError):
        stream.reject()  # only from pending
    assert stream.read(4) == b"0123"
    stream.ack_data(4)
    assert stream.transfered == 4
    stream.success()
    assert stream.status == STREAM_SUCCESSFULLY_TRANSFERED
    stream.error("late failure")  # from any state
    assert (stream.status, stream.reason) == (STREAM_ERROR, "late failure")

    clone = stream.clone(io.BytesIO(b"other"))
    assert clone.status == STREAM_WAITING_TO_START and clone.transfered == 0
    assert (clone.identifier, clone.name, clone.size, clone.stream_type) == (
        TestPerson("a"),
        "n",
        10,
        "application/x",
    )
    assert clone.read() == b"other"
    rejected = Stream(TestPerson("a"), io.BytesIO(b""))
    rejected.reject()
    assert rejected.status == STREAM_REJECTED
    with pytest.raises(ValueError):
        rejected.accept()
