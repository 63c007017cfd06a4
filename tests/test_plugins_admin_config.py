"""`!plugin config`: template display, parsing, checks, secrets, and PLUGINS_CONFIG (config.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from pprint import pformat

import pytest
from test_plugins_admin_helpers import (
    ADMIN_CONFIG,
    ADMIN_SIMPLE,
    DENIED,
    active,
    as_user,
    bullets,
    started_bot,
)

from errbot.settings import ConfigError, config_from_dict, validate

extra_plugin_dir = [ADMIN_SIMPLE, ADMIN_CONFIG]

NAME = "AdminConfigurable"
TEMPLATE = {
    "HOST": "localhost",
    "PORT": 8080,
    "api_token": "",
    "pin": "",
    "nested": {"Password": "", "label": "plain"},
}
GOOD = {
    "HOST": "h.example",
    "PORT": 9000,
    "api_token": "tok-4f9a-very-secret",
    "pin": "7731",  # secret because the plugin declares it (secret_config_keys)
    "nested": {"Password": "pw-9d8c", "label": "main"},
}
MASKED = {
    "HOST": "h.example",
    "PORT": 9000,
    "api_token": "********",
    "pin": "********",
    "nested": {"Password": "********", "label": "main"},
}
SECRETS = ("tok-4f9a-very-secret", "7731", "pw-9d8c")
FILE_CONFIG = {
    "HOST": "file.example",
    "PORT": 7000,
    "api_token": "file-token-0c1d",
    "pin": "",
    "nested": {"Password": "", "label": "from file"},
}

DEFAULT_DISPLAY = (
    "Default configuration for this plugin (you can copy and paste this directly as a single "
    f"line command):\n\n```\n!plugin config {NAME} {pformat(TEMPLATE)}\n```"
)


def recorder(testbot):
    """AdminSimple records the Markdown of every message the bot sends."""
    return testbot.bot.plugin_manager.get_plugin_obj_by_name("AdminSimple")


def configure(testbot, value, separator=" "):
    return testbot.exec_command(f"!plugin config {NAME}{separator}{value!r}")


def plugin(testbot):
    return testbot.bot.plugin_manager.get_plugin_obj_by_name(NAME)


def assert_no_secret(text):
    for secret in SECRETS:
        assert secret not in text, secret


# -- showing the template -----------------------------------------------------------------------


def test_unconfigured_plugin_shows_its_template_exactly(testbot):
    reply = testbot.exec_command(f"!plugin config {NAME}")
    assert reply.startswith("Default configuration for this plugin")
    assert f"!plugin config {NAME} {{'HOST': 'localhost'," in reply
    raw = recorder(testbot).wait_sent(lambda body: body.startswith("Default configuration"))
    assert raw == DEFAULT_DISPLAY
    assert "Current configuration" not in raw


def test_the_display_uses_the_configured_prefix(testbot):
    testbot.bot.bot_config.BOT_PREFIX = "?"
    testbot.push_message(f"?plugin config {NAME}")
    testbot.pop_message()
    raw = recorder(testbot).wait_sent(lambda body: body.startswith("Default configuration"))
    assert f"```\n?plugin config {NAME} {{" in raw


def test_configured_plugin_shows_the_current_configuration_masked(testbot):
    assert configure(testbot, GOOD) == "Plugin configuration done."
    reply = testbot.exec_command(f"!plugin config {NAME}")
    assert_no_secret(reply)
    raw = recorder(testbot).wait_sent(lambda body: "Current configuration" in body)
    assert raw == (
        DEFAULT_DISPLAY
        + f"\n\nCurrent configuration:\n\n```\n!plugin config {NAME} {pformat(MASKED)}\n```"
    )


def test_other_replies(testbot):
    assert testbot.exec_command("!plugin config AdminSimple") == "This plugin is not configurable."
    assert testbot.exec_command("!plugin config Nope") == (
        "Unknown plugin or the plugin could not load Nope."
    )
    assert testbot.exec_command("!plugin config Nope {'a': 1}") == (
        "Unknown plugin or the plugin could not load Nope."
    )
    testbot.exec_command(f"!plugin blacklist {NAME}")
    assert testbot.exec_command(f"!plugin config {NAME}") == (
        f"Load this plugin first with ! load {NAME}."
    )


def test_without_a_name_the_configurable_plugins_are_listed(testbot):
    manager = testbot.bot.plugin_manager
    configurable = [
        name
        for name in manager.get_all_plugin_names()
        if manager.get_plugin_obj_by_name(name).get_configuration_template() is not None
    ]
    reply = testbot.exec_command("!plugin config")
    assert reply == (
        "Please tell me which of the following plugins to configure:\n" + bullets(configurable)
    )
    assert f"- {NAME}" in reply
    assert "- AdminSimple" not in reply


# -- setting a configuration --------------------------------------------------------------------


def test_configuration_on_the_same_line(testbot):
    # As in Errbot, a configurable plugin starts unconfigured (configure(None)).
    assert active(testbot, NAME)
    assert plugin(testbot).config is None
    assert testbot.exec_command("!cfg host") == "none"
    assert configure(testbot, GOOD) == "Plugin configuration done."
    assert active(testbot, NAME)
    assert plugin(testbot).config == GOOD
    assert testbot.exec_command("!cfg host") == "host is h.example:9000"
    assert "A      │ AdminConfigurable" in testbot.exec_command("!status plugins")
    manager = testbot.bot.plugin_manager
    assert manager.get_plugin_configuration_source(NAME) == "chat"
    assert manager.get_stored_plugin_configuration(NAME) == GOOD


def test_configuration_on_the_next_line(testbot):
    """Errbot #1298: the value pasted on the line after the plugin name."""
    assert configure(testbot, GOOD, separator="\n") == "Plugin configuration done."
    assert plugin(testbot).config == GOOD
    multiline = f"!plugin config {NAME}\n{pformat(dict(GOOD, PORT=9001))}"
    assert "\n" in pformat(GOOD)  # the value itself spans several lines too
    assert testbot.exec_command(multiline) == "Plugin configuration done."
    assert testbot.exec_command("!cfg host") == "host is h.example:9001"


def test_reconfiguring_restarts_the_plugin(testbot):
    configure(testbot, GOOD)
    first = plugin(testbot)
    assert configure(testbot, dict(GOOD, HOST="other.example")) == "Plugin configuration done."
    assert plugin(testbot) is first
    assert testbot.exec_command("!cfg host") == "host is other.example:9000"


def test_syntax_error(testbot):
    reply = testbot.exec_command(f"!plugin config {NAME} {{'HOST': 'h', 'api_token': 'tok-4f9a-")
    assert reply == "Syntax error in the given configuration"
    assert testbot.bot.plugin_manager.get_plugin_configuration(NAME) is None
    # names, calls and other non-literals are refused too: the value is never executed
    reply = testbot.exec_command(f"!plugin config {NAME} dict(HOST='h')")
    assert reply == "Syntax error in the given configuration"


def test_a_value_of_another_type_than_the_template_is_fishy(testbot):
    reply = testbot.exec_command(f"!plugin config {NAME} ['HOST', 'h']")
    assert reply == "It looks fishy, your config type is not the same as the template!"
    assert testbot.bot.plugin_manager.get_plugin_configuration(NAME) is None


def test_a_configuration_failing_the_structure_check_is_dropped(testbot):
    configure(testbot, GOOD)
    partial = {k: v for k, v in GOOD.items() if k != "HOST"}
    reply = configure(testbot, partial)
    assert reply.startswith("Incorrect plugin configuration: ")
    assert reply.endswith("doesn't contain the key HOST.")
    assert_no_secret(reply)
    assert not active(testbot, NAME)
    assert testbot.bot.plugin_manager.get_plugin_configuration(NAME) is None
    assert plugin(testbot).config is None
    assert "C      │ AdminConfigurable" in testbot.exec_command("!status plugins")


def test_a_failing_check_configuration_is_reported_with_secrets_masked(testbot):
    reply = configure(testbot, dict(GOOD, PORT=0))
    assert reply == (
        "Incorrect plugin configuration: port 0 is not allowed in "
        + str(dict(MASKED, PORT=0))
        + "."
    )


def test_pasting_back_the_masked_configuration_keeps_the_secrets(testbot):
    configure(testbot, GOOD)
    assert configure(testbot, dict(MASKED, HOST="new.example")) == "Plugin configuration done."
    assert plugin(testbot).config == dict(GOOD, HOST="new.example")


def test_the_configuration_command_stays_out_of_the_history(testbot):
    configure(testbot, GOOD)
    testbot.exec_command("!echo hello")
    history = testbot.exec_command("!history")
    assert "echo hello" in history
    assert "plugin config" not in history
    assert_no_secret(history)


def test_secrets_never_reach_the_logs(testbot, caplog):
    caplog.set_level(logging.DEBUG)
    assert configure(testbot, GOOD) == "Plugin configuration done."
    configure(testbot, dict(GOOD, PORT=0))  # the check quotes the configuration
    configure(testbot, {k: v for k, v in GOOD.items() if k != "HOST"})
    testbot.exec_command(f"!plugin config {NAME} {{'api_token': 'tok-4f9a-very-secret'")
    testbot.exec_command(f"!plugin config {NAME} [{GOOD!r}]")
    configure(testbot, GOOD)
    testbot.exec_command(f"!plugin config {NAME}")
    testbot.exec_command(f"!plugin info {NAME}")
    as_user(testbot)
    assert configure(testbot, GOOD) == DENIED

    log_file = Path(testbot.bot_config.BOT_LOG_FILE)
    for handler in logging.getLogger().handlers:
        handler.flush()
    written = log_file.read_text(encoding="utf-8")
    assert "Configuration of AdminConfigurable set from chat" in written  # the file is in use
    assert "AdminConfigurable activated" in written
    assert_no_secret(written)
    captured = "\n".join(record.getMessage() for record in caplog.records)
    assert "Configuration of AdminConfigurable set from chat" in captured
    assert_no_secret(captured)
    assert_no_secret(caplog.text)  # tracebacks included


def test_info_shows_the_masked_configuration_and_its_source(testbot):
    assert "configuration source: none (not configured yet)" in testbot.exec_command(
        f"!plugin info {NAME}"
    )
    configure(testbot, GOOD)
    reply = testbot.exec_command(f"!plugin info {NAME}")
    assert "configuration source: set from chat" in reply
    assert "'api_token': '********'" in reply
    assert "'label': 'main'" in reply
    assert_no_secret(reply)


# -- PLUGINS_CONFIG in config.py ------------------------------------------------------------------


class TestPluginsConfigSetting:
    extra_config = {"PLUGINS_CONFIG": {NAME: FILE_CONFIG}}

    def test_the_plugin_starts_with_the_configuration_of_config_py(self, testbot):
        assert active(testbot, NAME)
        assert testbot.exec_command("!cfg host") == "host is file.example:7000"
        assert "A      │ AdminConfigurable" in testbot.exec_command("!status plugins")
        manager = testbot.bot.plugin_manager
        assert manager.get_plugin_configuration_source(NAME) == "config.py"
        assert manager.get_stored_plugin_configuration(NAME) is None

    def test_the_plugin_gets_a_copy(self, testbot):
        plugin(testbot).config["HOST"] = "changed by the plugin"
        assert FILE_CONFIG["HOST"] == "file.example"
        assert testbot.bot_config.PLUGINS_CONFIG[NAME]["HOST"] == "file.example"

    def test_info_and_display_name_config_py(self, testbot):
        reply = testbot.exec_command(f"!plugin info {NAME}")
        assert "configuration source: config.py (PLUGINS_CONFIG)" in reply
        assert "file-token-0c1d" not in reply
        reply = testbot.exec_command(f"!plugin config {NAME}")
        assert "file-token-0c1d" not in reply
        assert reply.endswith(
            "This configuration comes from PLUGINS_CONFIG in config.py; a configuration set "
            "here overrides it."
        )
        raw = recorder(testbot).wait_sent(lambda body: "Current configuration" in body)
        shown = pformat(dict(FILE_CONFIG, api_token="********"))
        assert f"Current configuration:\n\n```\n!plugin config {NAME} {shown}\n```" in raw

    def test_a_configuration_from_chat_overrides_it(self, testbot):
        assert configure(testbot, GOOD) == "Plugin configuration done."
        assert testbot.exec_command("!cfg host") == "host is h.example:9000"
        reply = testbot.exec_command(f"!plugin info {NAME}")
        assert "configuration source: set from chat (overrides PLUGINS_CONFIG in config.py)" in (
            reply
        )
        reply = testbot.exec_command(f"!plugin config {NAME}")
        assert reply.endswith(
            "This configuration was set from chat and overrides PLUGINS_CONFIG in config.py."
        )

    def test_a_rejected_chat_configuration_falls_back_to_config_py(self, testbot):
        reply = configure(testbot, dict(GOOD, PORT=0))
        assert reply.startswith("Incorrect plugin configuration: port 0 is not allowed")
        assert not active(testbot, NAME)
        manager = testbot.bot.plugin_manager
        assert manager.get_plugin_configuration_source(NAME) == "config.py"
        assert testbot.exec_command(f"!plugin activate {NAME}") == f"Plugin {NAME} activated."
        assert testbot.exec_command("!cfg host") == "host is file.example:7000"


def test_the_chat_configuration_wins_after_a_restart(tmp_path):
    config = {
        "STORAGE": "SQLite",
        "STORAGE_CONFIG": {"basedir": str(tmp_path)},
        "PLUGINS_CONFIG": {NAME: FILE_CONFIG},
    }
    with started_bot(extra_plugin_dir, **config) as (testbot, _):
        assert testbot.exec_command("!cfg host") == "host is file.example:7000"
        assert configure(testbot, GOOD) == "Plugin configuration done."
    with started_bot(extra_plugin_dir, **config) as (testbot, _):
        assert testbot.exec_command("!cfg host") == "host is h.example:9000"
        assert plugin(testbot).config == GOOD


def test_a_rejected_config_py_configuration_is_reported_without_secrets(caplog):
    caplog.set_level(logging.DEBUG)
    bad = dict(FILE_CONFIG, PORT=0)
    with started_bot(extra_plugin_dir, PLUGINS_CONFIG={NAME: bad}) as (testbot, startup):
        assert not active(testbot, NAME)
        report = [m for m in startup if m.startswith("Some plugins failed to start")]
        assert len(report) == 1
        assert f"Error: {NAME} failed to activate: port 0 is not allowed in" in report[0]
        assert "file-token-0c1d" not in report[0]
    assert "port 0 is not allowed" in caplog.text
    assert "file-token-0c1d" not in caplog.text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([("Webserver", {})], "PLUGINS_CONFIG must be a dict of plugin names to configurations"),
        ({1: {}}, "PLUGINS_CONFIG keys must be plugin names"),
        ({"": {}}, "PLUGINS_CONFIG keys must be plugin names"),
    ],
)
def test_the_setting_is_validated(tmp_path, value, message):
    config = config_from_dict(
        {"BACKEND": "Test", "BOT_ADMINS": ("a",), "BOT_DATA_DIR": str(tmp_path)}
    )
    assert config.PLUGINS_CONFIG == {}
    validate(config)
    config.PLUGINS_CONFIG = value
    with pytest.raises(ConfigError, match=message):
        validate(config)
    config.PLUGINS_CONFIG = {"Webserver": {"PORT": 3141}}
    validate(config)


# -- which values are secrets ---------------------------------------------------------------------


def test_secret_keys_at_any_depth_any_case_and_declared():
    from errbot.plugin_config import mask_secrets, redact

    config = {
        "ApiKey": "k-1234",
        "servers": [{"name": "a", "github_token": "ghp_abcdef"}, {"name": "b", "PIN": "12"}],
        "db": {"Password": "", "user": "u", "client_secret": None},
        "Secrets": {"one": "s-one", "two": ["s-two"]},
        "monkey": "also masked: the name contains KEY",
        "plain": "visible",
    }
    masked = mask_secrets(config, declared=("pin",))
    assert masked == {
        "ApiKey": "********",
        "servers": [{"name": "a", "github_token": "********"}, {"name": "b", "PIN": "********"}],
        "db": {"Password": "", "user": "u", "client_secret": None},  # empty stays visible
        "Secrets": "********",
        "monkey": "********",
        "plain": "visible",
    }
    assert config["ApiKey"] == "k-1234"  # a copy was masked
    message = "bad: k-1234 / 'ghp_abcdef' / PIN '12' in 12 items / s-two"
    assert redact(message, config, ("pin",)) == (
        "bad: ******** / '********' / PIN '********' in 12 items / ********"
    )


LEAKY_PLUG = "[Core]\nName = Leaky\nModule = leaky\n\n[Documentation]\nDescription = leaky\n"
LEAKY_PY = '''\
from errbot import BotPlugin


class Leaky(BotPlugin):
    def get_configuration_template(self):
        return {"URL": "", "API_KEY": ""}

    def activate(self):
        super().activate()
        if self.config and self.config["API_KEY"] != "good-key-1234":
            # As an HTTP client does: the refused request's URL carries the key.
            raise RuntimeError(f"401 for {self.config['URL']}?key={self.config['API_KEY']}")
'''


def test_an_activation_error_quoting_a_secret_is_masked_in_chat_and_logs(tmp_path, caplog):
    """A plugin whose activate() fails with the key in its message (an HTTP client's error
    quoting the URL): neither the reply nor the log, traceback included, shows the key."""
    (tmp_path / "leaky.plug").write_text(LEAKY_PLUG)
    (tmp_path / "leaky.py").write_text(LEAKY_PY)
    caplog.set_level(logging.DEBUG)
    with started_bot([str(tmp_path)]) as (testbot, _):
        value = {"URL": "https://api.example/v1", "API_KEY": "leaked-key-5e6f"}
        reply = testbot.exec_command(f"!plugin config Leaky {value!r}")
        assert reply.startswith("Error activating plugin: RuntimeError: 401 for ")
        assert "leaked-key-5e6f" not in reply and "********" in reply
        good = {"URL": "https://api.example/v1", "API_KEY": "good-key-1234"}
        assert testbot.exec_command(f"!plugin config Leaky {good!r}") == (
            "Plugin configuration done.")
    assert "Plugin Leaky failed to activate" in caplog.text
    assert "Traceback" in caplog.text  # the traceback is still logged, masked
    assert "leaked-key-5e6f" not in caplog.text
