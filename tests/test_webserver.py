"""Webhooks answered over real HTTP on 127.0.0.1: routing, payloads, handlers, responses,
signatures and limits.

One bot serves the whole module (its Webserver listens on a free port of 127.0.0.1, with a
4 KiB body limit and a Slack signature required on /slack); the lifecycle, HTTPS and the
commands are in test_webserver_lifecycle.py.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from test_webserver_helpers import (
    GITHUB_SECRET,
    PLUGIN_DIR,
    SLACK_SECRET,
    Reply,
    base_url,
    configure_webserver,
    github_signature,
    http_request,
    slack_signature,
)

from errbot.backends.test import TestBot

BODY_LIMIT = 4096


@pytest.fixture(scope="module")
def served() -> Iterator[TestBot]:
    bot = TestBot(PLUGIN_DIR, logging.INFO, {"WEB_TEST_GITHUB_SECRET": GITHUB_SECRET})
    bot.start()
    try:
        configure_webserver(
            bot,
            {
                "HOST": "127.0.0.1",
                "PORT": 0,
                "SSL": None,
                "MAX_BODY_SIZE": BODY_LIMIT,
                "SIGNATURES": {"/slack": {"type": "slack", "secret": SLACK_SECRET}},
            },
        )
        yield bot
    finally:
        bot.stop()


@pytest.fixture
def url(served: TestBot) -> Any:
    root = base_url(served)
    return lambda path: root + path


def as_json(reply: Reply) -> Any:
    assert reply.headers["content-type"] == "application/json", reply
    return json.loads(reply.body)


# -- routing ----------------------------------------------------------------------------
OBJECT = ["foo", {"bar": ["baz", None, 1.0, 2]}]


def test_echo_decodes_json_with_and_without_trailing_slash(url):
    for path in ("/echo", "/echo/"):
        reply = http_request("POST", url(path), json.dumps(OBJECT))
        assert (reply.status, reply.text) == (200, repr(OBJECT))


def test_unknown_url_is_404(url):
    assert http_request("POST", url("/randomness_blah"), "{}").status == 404
    assert http_request("GET", url("/")).status == 404


def test_url_variables_become_keyword_arguments(url):
    reply = http_request("GET", url("/items/42/widget"))
    assert as_json(reply) == {"item_id": 42, "id_type": "int", "name": "widget"}
    assert as_json(http_request("PUT", url("/items/7/spanner/"), "{}"))["item_id"] == 7


def test_methods_and_converters_are_enforced(url):
    refused = http_request("POST", url("/items/42/widget"), "{}")
    assert refused.status == 405
    assert set(refused.headers["allow"].split(", ")) >= {"GET", "PUT"}
    assert http_request("GET", url("/items/forty-two/widget")).status == 404
    assert http_request("GET", url("/created")).status == 405


# -- payloads ---------------------------------------------------------------------------
def payload_of(url, body, content_type=None, method="POST"):
    headers = {"Content-Type": content_type} if content_type else {}
    reply = as_json(http_request(method, url("/payload_kind"), body, headers))
    return reply["type"], reply["payload"]


def test_json_body_is_decoded_with_or_without_a_json_content_type(url):
    body = json.dumps({"a": [1, 2]})
    assert payload_of(url, body, "application/json") == ("dict", {"a": [1, 2]})
    assert payload_of(url, body, "application/vnd.github+json") == ("dict", {"a": [1, 2]})
    assert payload_of(url, body) == ("dict", {"a": [1, 2]})
    # curl -d sends a form content type even for JSON: still decoded as JSON
    assert payload_of(url, body, "application/x-www-form-urlencoded") == ("dict", {"a": [1, 2]})


def test_form_posts_arrive_as_a_dict(url):
    urlencoded = payload_of(
        url, "name=errbot&lang=python&name=ignored", "application/x-www-form-urlencoded"
    )
    assert urlencoded == ("dict", {"name": "errbot", "lang": "python"})
    boundary = "XyZ"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n'
        f"--{boundary}--\r\n"
    )
    assert payload_of(url, multipart, f"multipart/form-data; boundary={boundary}") == (
        "dict",
        {"field": "value"},
    )


def test_other_bodies_arrive_as_text(url):
    assert payload_of(url, "hello there", "text/plain") == ("str", "hello there")
    assert payload_of(url, "héllo".encode("latin-1"), "text/plain; charset=latin-1") == (
        "str",
        "héllo",
    )
    assert payload_of(url, None, method="GET") == ("str", "")


def test_malformed_json_with_a_json_content_type_is_400(url):
    reply = http_request(
        "POST", url("/payload_kind"), '{"a": ', {"Content-Type": "application/json"}
    )
    assert reply.status == 400
    # without a JSON content type it is just text
    assert payload_of(url, '{"a": ', "text/plain") == ("str", '{"a": ')


def test_form_param_hands_over_one_field_json_decoded(url):
    form = "form=" + json.dumps(OBJECT).replace(" ", "+")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert http_request("POST", url("/form"), form, headers).text == repr(OBJECT)
    assert http_request("POST", url("/form/"), "form=just+text", headers).text == "'just text'"


def test_form_param_missing_is_a_server_error(url, caplog):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert http_request("POST", url("/form"), "other=1", headers).status == 500
    assert "expects the form field 'form'" in caplog.text


def test_raw_handlers_get_the_flask_request(url):
    reply = http_request(
        "POST",
        url("/raw?page=2&sort=asc"),
        json.dumps({"k": "v"}),
        {"Content-Type": "application/json", "X-Test": "yes"},
    )
    seen = as_json(reply)
    assert "LocalProxy" in seen["type"]
    assert seen["method"] == "POST"
    assert seen["path"] == "/raw"
    assert seen["args"] == {"page": "2", "sort": "asc"}
    assert seen["data"] == '{"k": "v"}'
    assert seen["json"] == seen["json_attr"] == {"k": "v"}
    assert seen["header"] == "yes"
    assert seen["remote_addr"] == "127.0.0.1"


def test_raw_handlers_see_forms_and_files(url):
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nreport\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; '
        f'filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile content\r\n'
        f"--{boundary}--\r\n"
    )
    reply = http_request(
        "POST", url("/raw"), body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    seen = as_json(reply)
    assert seen["form"] == {"title": "report"}
    assert seen["files"] == {"upload": "file content"}


# -- where handlers run ----------------------------------------------------------------------
def test_plain_handlers_run_on_the_worker_pool_async_ones_on_the_loop(url):
    plain = as_json(http_request("POST", url("/payload_kind"), "{}"))
    assert plain["thread"] != "errbot-loop"
    asynchronous = as_json(http_request("POST", url("/async"), '{"n": 1}'))
    assert asynchronous == {"thread": "errbot-loop", "payload": {"n": 1}}


def test_a_raising_handler_is_a_500_and_the_bot_keeps_serving(url, caplog):
    with caplog.at_level(logging.ERROR):
        assert http_request("POST", url("/boom")).status == 500
        assert http_request("POST", url("/async_boom")).status == 500
    assert "the webhook exploded" in caplog.text
    assert "the async webhook exploded" in caplog.text
    assert http_request("POST", url("/echo"), '"still here"').text == "still here"


def test_flask_abort_errbot_abort_and_werkzeug_exceptions_set_the_status(url):
    assert http_request("GET", url("/forbidden")).status == 403
    assert http_request("GET", url("/teapot")).status == 418
    conflict = http_request("GET", url("/conflict"))
    assert conflict.status == 409
    assert b"already there" in conflict.body


def test_a_handler_calling_send_reaches_the_backend(served, url):
    body = json.dumps({"to": "someone@localhost", "text": "hello from the web"})
    assert http_request("POST", url("/notify"), body).text == "sent"
    assert served.pop_message() == "hello from the web"


# -- return values ---------------------------------------------------------------------------
def test_tuples_set_status_and_headers(url):
    created = http_request("POST", url("/created"))
    assert (created.status, created.text) == (201, "created")
    assert created.headers["x-powered-by"] == "Errbot"
    with_headers = http_request("GET", url("/with_headers"))
    assert (with_headers.status, with_headers.text) == (200, "hello")
    assert with_headers.headers["x-powered-by"] == "Errbot"


def test_response_objects_are_sent_as_they_are(url):
    reply = http_request("GET", url("/response"))
    assert (reply.status, reply.text) == (202, "plain")
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.headers["x-kind"] == "wz"


def test_strings_bytes_dicts_and_nothing(url):
    text = http_request("POST", url("/echo"), '"hi"')
    assert text.headers["content-type"] == "text/html; charset=utf-8"
    assert http_request("GET", url("/bytes")).body == b"\x00\x01binary"
    empty = http_request("GET", url("/nothing"))
    assert (empty.status, empty.body) == (200, b"")
    assert as_json(http_request("GET", url("/items/1/x")))["name"] == "x"


def test_flask_helpers_work_inside_handlers(url):
    reply = http_request("GET", url("/flask_context"), headers={"X-Test": "ctx"})
    assert as_json(reply) == {"method": "GET", "header": "ctx"}
    assert reply.headers["x-after"] == "yes"


# -- limits and signatures ---------------------------------------------------------------------
def test_bodies_over_the_limit_are_413(url):
    assert http_request("POST", url("/echo"), "x" * (BODY_LIMIT + 1)).status == 413
    assert http_request("POST", url("/echo"), "x" * BODY_LIMIT).status == 200
    chunks = [b"y" * 1000 for _ in range(5)]
    assert http_request("POST", url("/echo"), iter(chunks), chunked=True).status == 413
    small = [b"z" * 100, b"z" * 100]
    reply = http_request("POST", url("/echo"), iter(small), chunked=True)
    assert (reply.status, reply.text) == (200, "z" * 200)


def test_github_signatures(url):
    body = json.dumps({"action": "opened"}).encode()
    good = {"X-Hub-Signature-256": github_signature(GITHUB_SECRET, body)}
    reply = http_request("POST", url("/github"), body, good)
    assert as_json(reply) == {"action": "opened"}
    bad = {"X-Hub-Signature-256": github_signature("another secret", body)}
    assert http_request("POST", url("/github"), body, bad).status == 401
    assert http_request("POST", url("/github"), body).status == 401
    tampered = body.replace(b"opened", b"closed")
    assert http_request("POST", url("/github"), tampered, good).status == 401


def test_slack_signatures_configured_in_the_webserver(url):
    body = b"token=x&text=hello"
    now = int(time.time())

    def signed(stamp: int, secret: str = SLACK_SECRET) -> dict[str, str]:
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": slack_signature(secret, stamp, body),
        }

    reply = http_request("POST", url("/slack"), body, signed(now))
    assert as_json(reply) == {"got": {"token": "x", "text": "hello"}}
    assert http_request("POST", url("/slack"), body, signed(now - 3600)).status == 401
    assert http_request("POST", url("/slack"), body, signed(now, "wrong")).status == 401
    assert http_request("POST", url("/slack"), body).status == 401


def test_a_signed_webhook_without_its_secret_fails_closed(served, url, caplog):
    from errbot.web.signatures import SignatureSpec

    router = served.bot.webhooks
    route = router.add(
        "/unconfigured_secret", lambda payload: "never", signature=SignatureSpec("github", "NOPE")
    )
    try:
        body = b"{}"
        headers = {"X-Hub-Signature-256": github_signature("", body)}
        assert http_request("POST", url("/unconfigured_secret"), body, headers).status == 500
        assert "NOPE" in caplog.text
    finally:
        router.remove(route)
    assert http_request("POST", url("/unconfigured_secret"), b"{}").status == 404
