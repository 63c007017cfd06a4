"""The Webserver core plugin: configuration, start/restart/stop, HTTPS, its commands, and the
per-bot webhook tables (several bots in one process).

The Webserver is configured the standard way (stored configuration, then the plugin is
deactivated and activated again), exactly what ``!plugin config Webserver {...}`` does.
"""

from __future__ import annotations

import ast
import datetime
import json
import logging
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from test_webserver_helpers import (
    PLUGIN_DIR,
    base_url,
    client_context,
    configure_webserver,
    free_port,
    http_request,
    make_certificate,
    refuses_connections,
)

from errbot import webhook
from errbot.backends.test import TestBot
from errbot.plugin_manager import PluginActivationException

extra_plugin_dir = PLUGIN_DIR

LOCAL = {"HOST": "127.0.0.1", "PORT": 0, "SSL": None}


def webserver(testbot: Any) -> Any:
    return testbot.bot.plugin_manager.get_plugin_obj_by_name("Webserver")


def two_free_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


# -- configuration and lifecycle ---------------------------------------------------------------
def test_unconfigured_webserver_stays_inactive_but_webhooks_are_routed(testbot):
    assert not webserver(testbot).is_activated
    assert "C      │ Webserver" in testbot.exec_command("!status plugins")
    assert "not found" in testbot.exec_command("!webstatus")
    rules = dict(testbot.bot.webhooks.rules())
    assert rules["/payload_kind"] == "payload_kind_POST_GET"
    assert rules["/items/<int:item_id>/<name>"] == "item_GET_PUT"
    assert "/echo" not in rules  # the Webserver's own webhook comes with it
    status, _, body = testbot.bot.runtime.run_sync(
        testbot.bot.webhooks.app.call("POST", "/payload_kind", b'{"a": 1}'), timeout=20
    )
    assert status == 200 and json.loads(body)["payload"] == {"a": 1}

    # configuring it serves the webhooks routed before, without touching their plugin
    configure_webserver(testbot, LOCAL)
    assert webserver(testbot).is_activated
    reply = http_request("POST", base_url(testbot) + "/payload_kind", "[1]")
    assert json.loads(reply.body)["payload"] == [1]
    assert "/echo" in dict(testbot.bot.webhooks.rules())


def test_reconfiguring_restarts_on_the_new_port_and_deactivating_closes_it(testbot):
    first, second = two_free_ports()
    configure_webserver(testbot, {"HOST": "127.0.0.1", "PORT": first, "SSL": None})
    assert http_request("POST", f"http://127.0.0.1:{first}/echo", '"one"').text == "one"

    configure_webserver(testbot, {"HOST": "127.0.0.1", "PORT": second, "SSL": None})
    assert refuses_connections(first)
    assert http_request("POST", f"http://127.0.0.1:{second}/echo", '"two"').text == "two"

    testbot.bot.plugin_manager.deactivate_plugin("Webserver")
    assert refuses_connections(second)
    assert not webserver(testbot).is_activated


def test_the_plugin_config_command_restarts_the_server_on_the_new_port(testbot):
    """What an admin types in the chat, end to end: the command stores the configuration
    and restarts the Webserver; the old port closes, the new one answers."""
    first, second = two_free_ports()
    for port in (first, second):
        reply = testbot.exec_command(
            f"!plugin config Webserver {{'HOST': '127.0.0.1', 'PORT': {port}, 'SSL': None}}"
        )
        assert reply == "Plugin configuration done."
        assert http_request("POST", f"http://127.0.0.1:{port}/echo", '"hi"').text == "hi"
    assert refuses_connections(first)
    # a configuration that cannot be served is reported, and nothing is left listening
    assert "Incorrect plugin configuration" in testbot.exec_command(
        "!plugin config Webserver {'HOST': '127.0.0.1', 'PORT': 70000, 'SSL': None}"
    )
    assert refuses_connections(second)


def test_https_listens_only_on_the_ssl_port(testbot, tmp_path):
    certificate, key = make_certificate(tmp_path)
    http_port, https_port = two_free_ports()
    ssl_config = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": https_port,
        "certificate": certificate,
        "key": key,
    }
    configure_webserver(testbot, {"HOST": "127.0.0.1", "PORT": http_port, "SSL": ssl_config})
    reply = http_request(
        "POST",
        f"https://127.0.0.1:{https_port}/echo",
        json.dumps({"secure": True}),
        context=client_context(certificate),
    )
    assert (reply.status, reply.text) == (200, repr({"secure": True}))
    assert refuses_connections(http_port)
    raw = http_request(
        "GET", f"https://127.0.0.1:{https_port}/raw", context=client_context(certificate)
    )
    assert raw.status == 200


def test_invalid_configurations_are_refused(testbot, tmp_path):
    with pytest.raises(PluginActivationException, match="certificate"):
        configure_webserver(
            testbot,
            {
                **LOCAL,
                "SSL": {"enabled": True, "host": "", "port": 1, "certificate": "", "key": ""},
            },
        )
    with pytest.raises(PluginActivationException, match="MAX_BODY_SIZE"):
        configure_webserver(testbot, {**LOCAL, "MAX_BODY_SIZE": "big"})
    with pytest.raises(PluginActivationException, match="type must be one of"):
        configure_webserver(
            testbot, {**LOCAL, "SIGNATURES": {"/x": {"type": "md5", "secret": "s"}}}
        )
    with pytest.raises(PluginActivationException):
        configure_webserver(testbot, {**LOCAL, "UNKNOWN": 1})
    missing = str(tmp_path / "missing.pem")
    port = free_port()
    with pytest.raises(PluginActivationException):
        configure_webserver(
            testbot,
            {
                **LOCAL,
                "SSL": {
                    "enabled": True,
                    "host": "127.0.0.1",
                    "port": port,
                    "certificate": missing,
                    "key": missing,
                },
            },
        )
    assert refuses_connections(port)
    assert not webserver(testbot).is_activated


def test_a_busy_port_is_an_activation_error(testbot):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(PluginActivationException, match="in use"):
            configure_webserver(testbot, {"HOST": "127.0.0.1", "PORT": port, "SSL": None})
    assert not webserver(testbot).is_activated


def test_deactivating_a_plugin_withdraws_its_webhooks(testbot):
    configure_webserver(testbot, LOCAL)
    root = base_url(testbot)
    manager = testbot.bot.plugin_manager
    assert http_request("GET", root + "/items/1/x").status == 200
    manager.deactivate_plugin("WebHooks")
    assert http_request("GET", root + "/items/1/x").status == 404
    assert "/payload_kind" not in dict(testbot.bot.webhooks.rules())
    manager.activate_plugin("WebHooks")
    assert http_request("GET", root + "/items/1/x").status == 200


def test_two_bots_in_one_process_have_their_own_webhooks(testbot):
    other = TestBot(PLUGIN_DIR, logging.INFO)
    other.start()
    try:
        configure_webserver(testbot, LOCAL)
        configure_webserver(other, LOCAL)
        assert testbot.bot.webhooks is not other.bot.webhooks
        mine, theirs = base_url(testbot), base_url(other)
        assert mine != theirs
        other.bot.plugin_manager.deactivate_plugin("WebHooks")
        assert http_request("GET", theirs + "/items/1/x").status == 404
        assert http_request("GET", mine + "/items/1/x").status == 200
        body = json.dumps({"to": "someone@localhost", "text": "to the first bot only"})
        assert http_request("POST", mine + "/notify", body).text == "sent"
        assert testbot.pop_message() == "to the first bot only"
        assert other.bot.outgoing_message_queue.empty()
    finally:
        other.stop()


# -- commands ----------------------------------------------------------------------------------
def test_webstatus_lists_every_rule(testbot):
    configure_webserver(testbot, LOCAL)
    reply = testbot.exec_command("!webstatus")
    lines = reply.splitlines()
    assert lines[0] == "Internal webserver URI mapping [URI Regexp -> endpoint]:"
    assert "- /echo -> echo_POST_GET" in lines
    assert "- /items/<int:item_id>/<name> -> item_GET_PUT" in lines
    assert "- /created -> created_POST" in lines


def report(url: str, content: str, kind: str, status: int) -> str:
    return (
        f"*** Test Report\nURL: {url}\nContent: {content}\nDetected your post as: {kind}\n"
        f"Status code: {status}"
    )


def test_webhook_test_posts_in_process_and_reports(testbot):
    configure_webserver(testbot, LOCAL)
    cases = [
        ('/echo {"x": 1}', report("/echo", '{"x": 1}', "application/json", 200)),
        (
            "/form form=hello",
            report("/form", "form=hello", "application/x-www-form-urlencoded", 200),
        ),
        ("/echo just some words", report("/echo", "just some words", "text/plain", 200)),
        ("/created", report("/created", "", "text/plain", 201)),
        ("/nowhere {}", report("/nowhere", "{}", "application/json", 404)),
        ("/boom", report("/boom", "", "text/plain", 500)),
    ]
    for arguments, expected in cases:
        assert testbot.exec_command("!webhook test " + arguments) == expected
    assert "Usage" in testbot.exec_command("!webhook test")


def test_webhook_test_reaches_the_handler(testbot):
    configure_webserver(testbot, LOCAL)
    body = json.dumps({"to": "someone@localhost", "text": "posted in process"})
    replies = {testbot.exec_command("!webhook test /notify " + body), testbot.pop_message()}
    assert "posted in process" in replies
    assert report("/notify", body, "application/json", 200) in replies


def test_generate_certificate_and_serve_https_with_it(testbot):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    port = free_port()
    configure_webserver(testbot, {"HOST": "127.0.0.1", "PORT": port, "SSL": None})
    data_dir = testbot.bot_config.BOT_DATA_DIR
    first = testbot.exec_command("!generate_certificate", timeout=60)
    assert first == (
        "Generating a new private key and certificate. This could take a while if your system "
        "is slow or low on entropy"
    )
    assert testbot.pop_message(timeout=60) == (
        f"Certificate successfully generated and saved in {data_dir}."
    )
    assert testbot.pop_message() == (
        "To enable SSL with this certificate, the following config is recommended:"
    )
    suggested = ast.literal_eval(testbot.pop_message())
    key_path = os.path.join(data_dir, "webserver_key.pem")
    cert_path = os.path.join(data_dir, "webserver_certificate.pem")
    assert suggested == {
        "HOST": "127.0.0.1",
        "PORT": port,
        "SSL": {
            "enabled": True,
            "host": "127.0.0.1",
            "port": port + 1,
            "certificate": cert_path,
            "key": key_path,
        },
    }
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == 4096
    validity = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert validity >= datetime.timedelta(days=365)
    assert certificate.issuer == certificate.subject

    https_port = free_port()
    suggested["SSL"]["port"] = https_port
    configure_webserver(testbot, suggested)
    reply = http_request(
        "POST", f"https://127.0.0.1:{https_port}/echo", '"tls"', context=client_context(cert_path)
    )
    assert (reply.status, reply.text) == (200, "tls")


def test_generate_certificate_is_for_admins(testbot):
    configure_webserver(testbot, LOCAL)
    testbot.bot.sender = testbot.bot.build_identifier("stranger@localhost")
    assert "admin" in testbot.exec_command("!generate_certificate").lower()
    assert not os.path.exists(os.path.join(testbot.bot_config.BOT_DATA_DIR, "webserver_key.pem"))


# -- public names and the decorator ------------------------------------------------------------
class Standalone:
    """Not a plugin: any object with a bot and @webhook methods can be routed with webroute."""

    def __init__(self, bot: Any) -> None:
        self._bot = bot

    @webhook("/standalone/<word>")
    def standalone(self, payload: Any, word: str) -> str:
        return f"{word}: {payload}"


def test_webroute_routes_any_object_on_its_bot(testbot):
    from errbot import webroute
    from errbot.core_plugins.webserver import webhook as reexported

    assert reexported is webhook
    obj = Standalone(testbot.bot)
    webroute(obj)
    try:
        status, _, body = testbot.bot.runtime.run_sync(
            testbot.bot.webhooks.app.call("POST", "/standalone/hi", b'"there"'), timeout=20
        )
        assert (status, body) == (200, b"hi: there")
    finally:
        testbot.bot.webhooks.unroute_plugin(obj)
    assert "/standalone/<word>" not in dict(testbot.bot.webhooks.rules())


def test_webhook_signature_options():
    @webhook("/gh", signature="github", secret_setting="GH_SECRET")
    def gh(self: Any, payload: Any) -> None:
        pass

    assert (gh._err_webhook_signature, gh._err_webhook_secret_setting) == ("github", "GH_SECRET")
    assert gh._err_webhook_uri_rule == "/gh"

    @webhook
    def plain(self: Any, payload: Any) -> None:
        pass

    assert plain._err_webhook_signature is None

    with pytest.raises(ValueError, match="unknown signature scheme"):
        webhook("/x", signature="md5", secret_setting="S")
    with pytest.raises(ValueError, match="secret_setting"):
        webhook("/x", signature="github")
    with pytest.raises(ValueError, match="only meaningful"):
        webhook("/x", secret_setting="S")
