import os

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_hello(testbot):
    testbot.push_message("!hello")
    assert testbot.pop_message() == "Hello, gbin@localhost!"
    assert testbot.exec_command("!hello Ada") == "Hello, Ada!"


def test_multi_word_command(testbot):
    assert testbot.exec_command("!greet loudly ada") == "HELLO, ADA!"
    # The underscore form works too.
    assert testbot.exec_command("!greet_loudly ada") == "HELLO, ADA!"


def test_split_args_and_yield(testbot):
    testbot.push_message("!greet all alice bob")
    assert testbot.pop_message() == "Hello, alice!"
    assert testbot.pop_message() == "Hello, bob!"


def test_command_error(testbot):
    reply = testbot.exec_command("!greet all")
    assert reply == "Whom should I greet? Try: !greet all alice bob"


def test_shlex_splitting(testbot):
    reply = testbot.exec_command('!greet quoted "Ada Lovelace" Alan')
    assert reply == "Ada Lovelace / Alan"
    reply = testbot.exec_command('!greet quoted "unbalanced')
    assert reply == "Sorry, I couldn't parse your arguments. No closing quotation"


def test_renamed_command(testbot):
    assert testbot.exec_command("!hi") == "hi!"


def test_none_sends_nothing(testbot):
    testbot.push_message("!greet nothing")
    testbot.push_message("!hi")
    # The first reply to arrive is the one to !hi.
    assert testbot.pop_message() == "hi!"


def test_exception(testbot):
    reply = testbot.exec_command("!greet broken")
    assert reply.startswith("Computer says nooo. See logs for details:")
    assert "division by zero" in reply


def test_unknown_command(testbot):
    reply = testbot.exec_command("!helo")
    assert 'Command "helo" not found.' in reply
    assert 'Did you mean "!hello"' in reply


def test_docstrings_are_the_help(testbot):
    reply = testbot.exec_command("!help Greetings")
    assert reply.startswith("Greetings\n Say hello in several ways")
    assert "• !greet loudly - Two words for users: !greet loudly <name>" in reply
    assert "greet nothing" not in reply  # hidden=True
    reply = testbot.exec_command("!help hi")
    assert reply == "• !hi - The command is !hi, whatever the method is called."
