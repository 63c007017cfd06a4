import os

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_prefixed_pattern(testbot):
    assert testbot.exec_command("!cookie") == "Here's a cookie for you."
    assert testbot.exec_command("!Give me a cookie") == "Here's a cookie for you."


def test_prefix_less_patterns(testbot):
    assert testbot.exec_command("thanks a lot") == "You're welcome (you said 'thanks')."
    assert testbot.exec_command("it is 50 °F") == "50°F is 10.0°C"


def test_matchall(testbot):
    assert testbot.exec_command("#a and #b") == "tags: a, b"


def test_every_matching_pattern_runs(testbot):
    testbot.push_message("!cookie, thank you")
    replies = {testbot.pop_message(), testbot.pop_message()}
    assert replies == {"Here's a cookie for you.", "You're welcome (you said 'thank you')."}


def test_regular_command_wins(testbot):
    # "!cookies" also matches the cookie pattern, but a regular command was found first.
    assert testbot.exec_command("!cookies thank you") == "The cookie jar is full."


def test_prefixed_pattern_ignores_unprefixed_messages(testbot):
    testbot.push_message("cookie")  # no prefix: the cookie pattern is not tried
    testbot.push_message("!cookies")
    assert testbot.pop_message() == "The cookie jar is full."
