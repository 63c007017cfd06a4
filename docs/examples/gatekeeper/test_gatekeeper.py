import os

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_blocking(testbot):
    assert testbot.exec_command("!maintenance on") == "Maintenance mode on."
    assert testbot.exec_command("!echo hi") == "Sorry, echo is disabled during maintenance."
    assert testbot.exec_command("!maintenance off") == "Maintenance mode off."
    assert testbot.exec_command("!echo hi") == "hi"


def test_rewriting(testbot):
    assert testbot.exec_command("!shout hello") == "HELLO"
