import os

from errbot.backends.base import AWAY, Presence

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_callback_message(testbot):
    assert testbot.exec_command("I want coffee") == "Did someone say coffee?"


def test_commands_reach_callbacks_too(testbot):
    testbot.push_message("!echo coffee")
    # The command runs on a worker, the callback on the callback lane: either may answer first.
    assert {testbot.pop_message(), testbot.pop_message()} == {"coffee", "Did someone say coffee?"}


def test_callback_mention(testbot):
    assert testbot.exec_command("hello @alice and @bob") == "You mentioned alice, bob"


def test_callback_presence(testbot):
    testbot.push_presence(Presence(testbot.bot.build_identifier("alice"), AWAY))
    assert testbot.pop_message() == "alice is now away"


def test_callback_room_joined(testbot):
    testbot.push_message("!room join lounge")
    replies = {testbot.pop_message(), testbot.pop_message()}
    assert replies == {"Joined the room lounge.", "Hello lounge!"}


def test_callback_order_default(testbot):
    # Default order: activation order (Auditor is discovered before Watcher).
    testbot.push_message("please audit this")
    assert [testbot.pop_message(), testbot.pop_message()] == ["Auditor saw it", "Watcher saw it"]


class TestCallbackOrder:
    extra_config = {"PLUGINS_CALLBACK_ORDER": ("Watcher", None)}

    def test_watcher_first(self, testbot):
        testbot.push_message("please audit this")
        assert [testbot.pop_message(), testbot.pop_message()] == [
            "Watcher saw it",
            "Auditor saw it",
        ]


def test_send_to_a_person(testbot):
    testbot.push_message("!tell alice hi there")
    assert testbot.pop_message() == "hi there"  # sent before the command returned
    assert testbot.pop_message() == "told alice"


def test_send_to_rooms(testbot):
    # The Test backend joins "testroom" at start-up.
    assert [str(room) for room in testbot.bot.rooms()] == ["testroom"]
    assert testbot.exec_command("!announce hello room") == "hello room"


def test_card(testbot):
    reply = testbot.exec_command("!status card")
    assert reply.startswith("Build #42\n All tests passed.")
    assert "│ branch   │ main  │" in reply
