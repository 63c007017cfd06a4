import os
import threading

import pytest

from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

HERE = os.path.dirname(os.path.abspath(__file__))


def start(backend, data_dir):
    config = config_from_dict(
        {
            "BACKEND": backend,
            "BOT_EXTRA_BACKEND_DIR": HERE,  # the folder holding loopback/loopback.plug
            "BOT_DATA_DIR": str(data_dir),
            "BOT_ADMINS": ("alice",),
            "BOT_IDENTITY": {"username": "bot"},
            "STORAGE": "Memory",
        }
    )
    bot = setup_bot(backend, config)  # what `errbot` does before serve_forever()
    thread = threading.Thread(target=bot.serve_forever, daemon=True)
    thread.start()
    return bot, thread


@pytest.fixture(params=["Loopback", "AsyncLoopback"])
def bot(request, tmp_path):
    bot, thread = start(request.param, tmp_path)
    yield bot
    bot.inbox.put(None)  # serve_once returns True: the bot shuts down
    thread.join(10)
    assert not thread.is_alive()


def test_round_trip(bot):
    bot.inbox.put("alice: !echo **hello**")
    assert bot.outbox.get(timeout=5) == ("alice", "hello")


def test_reconnects_after_a_drop(bot):
    bot.inbox.put("DISCONNECT")
    bot.inbox.put("bob: !echo back")
    assert bot.outbox.get(timeout=5) == ("bob", "back")
    assert bot.connections == 2


def test_backend_storage(bot):
    assert bot.namespace == f"{bot.mode}_backend"
    bot["token"] = "abc"
    assert bot["token"] == "abc"


def test_where_messages_are_sent(tmp_path):
    bot, thread = start("AsyncLoopback", tmp_path)
    sent_from = []
    original = bot.send_message

    def recording_send_message(msg):
        sent_from.append(threading.current_thread().name)
        original(msg)

    bot.send_message = recording_send_message
    bot.inbox.put("alice: !echo hi")  # a plain command: it runs on a worker thread...
    assert bot.outbox.get(timeout=5) == ("alice", "hi")
    assert sent_from == ["errbot-loop"]  # ...but its reply is sent from the event loop
    bot.inbox.put(None)
    thread.join(10)
