"""One bot for the whole module, built with TestBot directly (faster, but tests share state)."""

import logging
import os

import pytest

from errbot.backends.test import TestBot

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def sharedbot():
    bot = TestBot(extra_plugin_dir=HERE, loglevel=logging.WARNING)
    bot.start()
    yield bot
    bot.stop()


def test_first(sharedbot):
    assert sharedbot.exec_command("!lines a") == "1 lines"


def test_second(sharedbot):
    assert sharedbot.exec_command("!where") == "direct message from gbin@localhost"
