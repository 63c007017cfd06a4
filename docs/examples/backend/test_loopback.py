import os
import threading

import pytest

from errbot.bootstrap import setup_bot
from errbot.settings import config_from_dict

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def bot(tmp_path):
    config = config_from_dict(
        {
            "BACKEND": "Loopback",
            "BOT_EXTRA_BACKEND_DIR": HERE,  # the folder holding loopback/loopback.plug
            "BOT_DATA_DIR": str(tmp_path),
            "BOT_ADMINS": ("alice",),
            "BOT_IDENTITY": {"username": "bot"},
            "STORAGE": "Memory",
        }
    )
    bot = setup_bot("Loopback", config)  # what `errbot` does before serve_forever()
    thread = threading.Thread(target=bot.serve_forever, daemon=True)
    thread.start()
    yield bot
    bot.inbox.put(None)
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
    assert bot.namespace == "loopback_backend"
    bot["token"] = "abc"
    assert bot["token"] == "abc"


def test_loop_affine_backends_send_on_the_event_loop(tmp_path):
    """With loop_affine = True, send_message always runs on the bot's event loop thread."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "loopback_example", os.path.join(HERE, "loopback", "loopback.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class LoopAffineLoopback(module.LoopbackBackend):
        loop_affine = True

        def send_message(self, msg):
            super().send_message(msg)
            self.outbox.put(threading.current_thread().name)

    config = config_from_dict(
        {"BOT_DATA_DIR": str(tmp_path), "BOT_ADMINS": ("alice",), "BOT_IDENTITY": {}}
    )
    bot = LoopAffineLoopback(config)
    try:
        bot.send(bot.build_identifier("alice"), "hi")  # from the test's own thread
        assert bot.outbox.get(timeout=5) == ("alice", "hi")
        assert bot.outbox.get(timeout=5) == "errbot-loop"
    finally:
        bot.shutdown()
