import os

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_coroutine_command(testbot):
    assert testbot.exec_command("!wait 0.01") == "waited 0.01s"


def test_async_generator(testbot):
    testbot.push_message("!countdown 2")
    assert [testbot.pop_message() for _ in range(3)] == ["2", "1", "liftoff"]


def test_async_arg_botcmd(testbot):
    assert testbot.exec_command("!fetch https://example.org") == "would fetch https://example.org"


def test_where_code_runs(testbot):
    assert testbot.exec_command("!where") == "errbot-loop"
    assert testbot.exec_command("!where sync").startswith("errbot-worker-")


def test_slow_coroutines_do_not_block_each_other(testbot):
    testbot.push_message("!wait 0.5")
    testbot.push_message("!wait 0.01")
    assert testbot.pop_message() == "waited 0.01s"
    assert testbot.pop_message() == "waited 0.5s"
