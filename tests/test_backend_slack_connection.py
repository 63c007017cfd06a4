"""The Slack backend's start-up and the Events API over HTTP, against the fake Slack: refused
tokens, settings errors, the backend names, signature checks and url_verification on the
bot's own webserver."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from servers.fake_slack import FakeSlack
from servers.slack_bot import start_bot, wait_for

from errbot.bootstrap import load_backend_class
from errbot.settings import config_from_dict

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.start()
    yield fake
    fake.stop()


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and "refused BOT_IDENTITY" in r.getMessage()
    ]


def test_an_invalid_bot_token_gives_one_clear_error(fake, tmp_path, caplog) -> None:
    running = start_bot(fake, tmp_path, wait=False, identity={"token": "xoxb-wrong"})
    running.thread.join(10)
    assert not running.thread.is_alive(), "the bot should stop: retrying cannot fix a token"
    assert refusals(caplog) == [
        "Slack refused BOT_IDENTITY['token'] (invalid_auth): set it to the app's Bot User "
        "OAuth Token (xoxb-...)."
    ]
    assert [m for m, _, _ in fake.calls] == ["auth.test"]
    running.stop()


def test_an_invalid_app_token_gives_one_clear_error(fake, tmp_path, caplog) -> None:
    running = start_bot(fake, tmp_path, wait=False, identity={"app_token": "xapp-wrong"})
    running.thread.join(10)
    assert not running.thread.is_alive()
    assert refusals(caplog) == [
        "Slack refused BOT_IDENTITY['app_token'] (invalid_auth): set it to the app's "
        "App-Level Token."
    ]
    assert [m for m, _, _ in fake.calls] == ["auth.test", "apps.connections.open"]
    running.stop()


def test_an_unreachable_slack_is_retried_until_it_answers(tmp_path, caplog) -> None:
    fake = FakeSlack()
    fake.start()
    api_url = fake.api_url
    fake.stop()  # nothing listens there for now
    late = FakeSlack()
    try:
        running = start_bot(late, tmp_path, wait=False, SLACK_API_URL=api_url)
        wait_for(lambda: "Cannot reach the Slack Web API" in caplog.text, 10, "a failure")
        assert not running.bot.started and running.thread.is_alive()
        running.stop()
    finally:
        late.stop()


@pytest.mark.parametrize(
    ("identity", "setting"),
    [
        ({}, "BOT_IDENTITY['token']"),
        ({"token": "xoxb-1"}, "BOT_IDENTITY['app_token']"),
    ],
)
def test_missing_settings_are_named(tmp_path, identity: dict[str, Any], setting: str) -> None:
    backend = load_backend_class("SlackV3", config_from_dict({}))
    config = config_from_dict(
        {"BOT_IDENTITY": identity, "BOT_DATA_DIR": str(tmp_path), "STORAGE": "Memory"}
    )
    with pytest.raises(ValueError, match=__import__("re").escape(setting)):
        backend(config)


def test_slack_is_an_alias_of_slackv3() -> None:
    config = config_from_dict({})
    assert load_backend_class("Slack", config) is load_backend_class("SlackV3", config)


# -- the Events API over HTTP ------------------------------------------------------------------
def signed(body: bytes, secret: str = SECRET, stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    base = b"v0:" + str(stamp).encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": signature,
        "Content-Type": "application/json",
    }


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_events_api_over_http(fake: FakeSlack, tmp_path) -> None:
    running = start_bot(fake, tmp_path, identity={"app_token": None, "signing_secret": SECRET})
    try:
        manager = running.bot.plugin_manager
        manager.set_plugin_configuration("Webserver", {"HOST": "127.0.0.1", "PORT": 0, "SSL": None})
        manager.deactivate_plugin("Webserver")
        manager.activate_plugin("Webserver")
        host, port = manager.get_plugin_obj_by_name("Webserver").server.addresses[0]
        url = f"http://{host}:{port}/slack/events"
        assert fake.socket_count == 0 and not fake.calls_to("apps.connections.open")

        challenge = json.dumps(
            {
                "token": "t",
                "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                "type": "url_verification",
            }
        ).encode()
        status, answer = post(url, challenge, signed(challenge))
        assert status == 200
        assert json.loads(answer) == {
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        }

        body = json.dumps(fake.envelope(fake.message_event("!echo over http"))).encode()
        assert post(url, body, signed(body, secret="not-the-secret"))[0] == 401
        assert post(url, body, signed(body, stamp=int(time.time()) - 3600))[0] == 401
        assert post(url, body, {"Content-Type": "application/json"})[0] == 401
        time.sleep(0.3)
        assert not fake.calls_to("chat.postMessage")

        status, _ = post(url, body, signed(body))
        assert status == 200
        posts = wait_for(lambda: fake.calls_to("chat.postMessage"), 10, "the answer")
        assert posts == [{"channel": "CGENERAL", "text": "over http"}]
    finally:
        running.stop()
