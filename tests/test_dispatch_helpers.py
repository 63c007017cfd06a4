"""Shared helpers for the command-processing tests (no tests in here).

Messages to a room are built by hand and handed to `callback_message` on the test thread;
direct messages either go through the backend (`push_message`) or the same way.
"""

from __future__ import annotations

import itertools
import os
import queue
from typing import Any

from errbot.backends.base import Message
from errbot.backends.test import TestOccupant, TestPerson

PLUGINS = os.path.join(os.path.dirname(__file__), "plugins")
CORE_DIR = os.path.join(PLUGINS, "pipeline_core")
FILTERS_DIR = os.path.join(PLUGINS, "pipeline_filters")
ACL_DIR = os.path.join(PLUGINS, "pipeline_acl")
CONCURRENCY_DIR = os.path.join(PLUGINS, "pipeline_concurrency")

_sentinels = itertools.count()


class NickedOccupant(TestOccupant):
    """A room occupant with a nickname (the harness' occupants have none)."""

    __test__ = False

    def __init__(self, person: str, room: Any, nick: str) -> None:
        super().__init__(person, room)
        self._given_nick = nick

    @property
    def nick(self) -> str:
        return self._given_nick


def room_message(testbot: Any, text: str, person: str = "someone", room: str = "testroom",
                 occupant: Any = None) -> Message:
    the_room = testbot.bot.query_room(room) if isinstance(room, str) else room
    frm = occupant if occupant is not None else TestOccupant(person, the_room)
    return Message(text, frm=frm, to=the_room)


def send_room(testbot: Any, text: str, **kwargs: Any) -> Message:
    """Deliver a group message (processed on the calling thread); returns it."""
    msg = room_message(testbot, text, **kwargs)
    testbot.bot.callback_message(msg)
    return msg


def send_direct(testbot: Any, text: str, person: str) -> Message:
    """Deliver a direct message from ``person`` on the calling thread; returns it."""
    msg = Message(text, frm=TestPerson(person), to=testbot.bot.bot_identifier)
    testbot.bot.callback_message(msg)
    return msg


def plugin(testbot: Any, name: str) -> Any:
    obj = testbot.bot.plugin_manager.get_plugin_obj_by_name(name)
    assert obj is not None, f"{name} is not loaded"
    return obj


def next_sent(testbot: Any, timeout: float = 5) -> Message:
    """The next message the bot sent, as seen by the PipeRecorder plugin's callback."""
    sent = plugin(testbot, "PipeRecorder").sent
    while True:
        msg = sent.get(timeout=timeout)
        if msg.body != "ready":  # the harness' start-up probe may be recorded late
            return msg


def pending_replies(testbot: Any) -> list[str]:
    """Whatever is in the outgoing queue right now (does not wait)."""
    replies = []
    while True:
        try:
            replies.append(testbot.pop_message(block=False))
        except queue.Empty:
            return replies


def wait_callbacks(testbot: Any, body: str, timeout: float = 5) -> None:
    """Wait until plugins' callback_message has seen ``body`` (needs PipeRecorder).

    Callbacks run one message after the other, so every earlier message's callbacks are done
    too (and whatever they sent is in the outgoing queue).
    """
    seen = plugin(testbot, "PipeRecorder").seen
    while seen.get(timeout=timeout) != body:
        pass


def assert_silent(testbot: Any) -> None:
    """Assert that everything pushed so far produced no reply.

    A sentinel command goes through the backend after the messages under test, so they have
    all been processed once its reply arrives; then the plugins' callbacks for it are awaited
    (when PipeRecorder is loaded) and the workers are allowed to finish.
    """
    token = f"sentinel-{next(_sentinels)}"
    command = f"{testbot.bot.prefix}echo {token}"
    testbot.push_message(command)
    assert testbot.pop_message() == token
    if testbot.bot.plugin_manager.get_plugin_obj_by_name("PipeRecorder") is not None:
        wait_callbacks(testbot, command)
    testbot.bot.runtime.wait_idle(5)
    assert pending_replies(testbot) == []
