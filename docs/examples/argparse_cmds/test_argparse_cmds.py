import os

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_parsed_arguments(testbot):
    assert testbot.exec_command("!repeat hey") == "hey hey"
    assert testbot.exec_command("!repeat hey --times 3") == "hey hey hey"
    # Chat clients turn "--" into an em dash; it is turned back before parsing.
    assert testbot.exec_command("!repeat —times 3 ho") == "ho ho ho"


def test_generator_handler(testbot):
    testbot.push_message("!listing --numbered a b")
    assert testbot.pop_message() == "a (1)"
    assert testbot.pop_message() == "b (2)"


def test_namespace_handler(testbot):
    assert testbot.exec_command("!raw namespace bob") == "name=bob"


def test_missing_argument(testbot):
    testbot.push_message("!repeat")
    assert testbot.pop_message() == (
        "I couldn't parse the arguments; the following arguments are required: word"
    )
    assert testbot.pop_message() == "usage: repeat [-h] [--times TIMES] word"


def test_help(testbot):
    reply = testbot.exec_command("!repeat -h")
    assert reply.startswith("usage: repeat [-h] [--times TIMES] word")
    assert "what to repeat" in reply


def test_unbalanced_quote(testbot):
    testbot.push_message("!repeat 'oops")
    assert testbot.pop_message() == "I couldn't parse this command; No closing quotation"
    assert testbot.pop_message().startswith("usage: repeat")


def test_syntax_attribute(testbot):
    plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("Repeater")
    assert plugin.repeat._err_command_syntax == "[-h] [--times TIMES] word"
