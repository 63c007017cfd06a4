import os

pytest_plugins = ["errbot.backends.test"]
extra_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def test_dynamic_commands(testbot):
    assert testbot.exec_command("!canned add lunch Lunch is at noon.") == "!lunch is ready."
    assert testbot.exec_command("!lunch") == "Lunch is at noon."
    assert testbot.exec_command("!canned greet Ada") == "hello Ada"
    assert testbot.exec_command("!canned add tea Tea is at five.") == "!tea is ready."
    assert testbot.exec_command("!tea") == "Tea is at five."
    assert testbot.exec_command("!canned drop") == "All canned replies dropped."
    assert 'Command "lunch" not found.' in testbot.exec_command("!lunch")


def test_dynamic_plugin_object(testbot):
    testbot.exec_command("!canned add x y")
    dynamic = testbot.bot.plugin_manager.get_plugin_obj_by_name("Canned")
    assert dynamic.name == "Canned"
    assert dynamic.__errdoc__ == "Canned replies."
