import os

from errbot.templating import render_template

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_template_reply(testbot):
    assert testbot.exec_command("!forecast paris") == "Paris: cloudy, 14°C"


def test_markdown_table_is_drawn_as_a_box(testbot):
    reply = testbot.exec_command("!forecast oslo")
    assert reply.startswith("Oslo: snow, -3°C")
    assert "│ ice     │ orange │" in reply


def test_command_error_with_template(testbot):
    assert testbot.exec_command("!forecast Rome") == "I don't know Rome; try one of: oslo, paris."


def test_send_templated(testbot):
    assert testbot.exec_command("!forecast dm") == "Paris: cloudy, 14°C"


def test_strings_skip_the_template(testbot):
    assert testbot.exec_command("!forecast text") == "No forecast today."


def test_autoescape(testbot):
    # The Markdown source is escaped...
    source = render_template("unknown_city", {"city": "<b>x</b>", "known": []}, "Weather")
    assert source == "I don't know &lt;b&gt;x&lt;/b&gt;; try one of: ."
    # ...and the chat rendering shows the original characters.
    assert testbot.exec_command("!escaped") == "I don't know <b>Atlantis</b> & co; try one of: ."
