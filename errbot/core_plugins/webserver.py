"""Core plugin ``Webserver``: serves the bot's webhooks over HTTP or HTTPS.

Every active plugin's ``@webhook`` methods are routed on the bot's own table whether or not
this plugin runs; this plugin only listens. It stays inactive (status C) until configured
with ``!plugin config Webserver {...}``; a new configuration restarts it on the new address.

Beyond Errbot's template, optional keys are accepted: ``MAX_BODY_SIZE`` (bytes, default
1 MiB; larger requests get a 413), ``SIGNATURES`` (``{"/rule": {"type": "github" |
"slack", "secret": "..."}}``, HMAC verification added to any webhook), see docs/webhooks.md;
``METRICS`` (``True`` serves the bot's Prometheus metrics on ``/metrics``, default off) and
``METRICS_TOKEN`` (a bearer token ``/metrics`` then requires), see docs/metrics.md.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Coroutine, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from errbot import BotPlugin, ValidationException, botcmd, webhook
from errbot.backends.base import Message

__all__ = ["Webserver", "webhook"]

DEFAULT_SSL: dict[str, Any] = {
    "enabled": False,
    "host": "0.0.0.0",
    "port": 3142,
    "certificate": "",
    "key": "",
}
TEMPLATE: dict[str, Any] = {"HOST": "0.0.0.0", "PORT": 3141, "SSL": DEFAULT_SSL}
EXTRA_KEYS = ("MAX_BODY_SIZE", "SIGNATURES", "METRICS", "METRICS_TOKEN")

TEST_REPORT = (
    "*** Test Report\nURL: {url}\nContent: {content}\nDetected your post as: {kind}\n"
    "Status code: {status}"
)
KEY_FILE = "webserver_key.pem"
CERTIFICATE_FILE = "webserver_certificate.pem"


def guess_content_type(content: str) -> str:
    """What ``!webhook test`` posts its body as: JSON, a form, or plain text."""
    try:
        json.loads(content)
        return "application/json"
    except ValueError:
        pass
    try:
        if parse_qsl(content, keep_blank_values=True, strict_parsing=True):
            return "application/x-www-form-urlencoded"
    except ValueError:
        pass
    return "text/plain"


def normalize(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the configuration with ``SSL: None`` (or no SSL) replaced by the default."""
    result = copy.deepcopy(dict(configuration))
    if result.get("SSL") is None:
        result["SSL"] = copy.deepcopy(DEFAULT_SSL)
    return result


def _port(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValidationException(f"{name} must be a port number (0-65535), not {value!r}")


class Webserver(BotPlugin):
    """Serves the plugins' webhooks over HTTP or HTTPS."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server: Any = None

    # -- configuration -------------------------------------------------------------------
    def get_configuration_template(self) -> dict[str, Any]:
        return copy.deepcopy(TEMPLATE)

    def check_configuration(self, configuration: Any) -> None:
        if not isinstance(configuration, Mapping):
            raise ValidationException("the Webserver configuration must be a dict")
        config = normalize(configuration)
        extras = {key: config.pop(key) for key in EXTRA_KEYS if key in config}
        super().check_configuration(config)
        _port(config["PORT"], "PORT")
        ssl = config["SSL"]
        _port(ssl["port"], "SSL port")
        if ssl["enabled"] and not (ssl["certificate"] and ssl["key"]):
            raise ValidationException("SSL is enabled: give both its certificate and its key")
        limit = extras.get("MAX_BODY_SIZE")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0
        ):
            raise ValidationException("MAX_BODY_SIZE must be a positive number of bytes")
        from errbot.web.signatures import parse_signature_settings

        try:
            parse_signature_settings(extras.get("SIGNATURES"))
        except ValueError as exc:
            raise ValidationException(str(exc)) from None
        if not isinstance(extras.get("METRICS", False), bool):
            raise ValidationException("METRICS must be True or False")
        token = extras.get("METRICS_TOKEN")
        if token is not None and not (isinstance(token, str) and token.strip()):
            raise ValidationException("METRICS_TOKEN must be a non-empty string (or None)")

    def configure(self, configuration: Any) -> None:
        super().configure(None if configuration is None else normalize(configuration))

    # -- lifecycle -----------------------------------------------------------------------
    def _wait(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        runtime = self._bot.runtime
        if not runtime.loop.is_running():
            coroutine.close()
            raise RuntimeError("the bot's event loop is not running")
        if runtime.in_loop():  # cannot block the loop: let it run
            runtime.spawn(coroutine)
        else:
            runtime.run_sync(coroutine, timeout=60)

    def activate(self) -> None:
        if not self.config:
            self.log.info("Webserver is not configured. Forbid activation")
            return
        router = getattr(self._bot, "webhooks", None)
        if router is None:
            self.log.error("This bot has no webhook router: the Webserver cannot serve.")
            return
        from errbot.web.routing import DEFAULT_MAX_BODY_SIZE, WebOptions
        from errbot.web.server import Binding, WebServer
        from errbot.web.signatures import parse_signature_settings

        config = self.config
        ssl = config["SSL"]
        if ssl["enabled"]:
            # As in Errbot: with SSL only the SSL port listens, on HOST.
            binding = Binding(config["HOST"], ssl["port"], ssl["certificate"], ssl["key"])
        else:
            binding = Binding(config["HOST"], config["PORT"])
        router.options = WebOptions(
            max_body_size=config.get("MAX_BODY_SIZE") or DEFAULT_MAX_BODY_SIZE,
            signatures=parse_signature_settings(config.get("SIGNATURES")),
        )
        router.compile()
        server = WebServer(self._application(router), binding, self._bot.runtime.loop)
        try:
            self._wait(server.start())
        except Exception:
            router.reset_options()
            raise
        self.server = server
        try:
            super().activate()
        except Exception:
            self._stop_server()
            raise

    def _application(self, router: Any) -> Any:
        """The webhook application, behind the ``/metrics`` endpoint when it is enabled."""
        if not self.config.get("METRICS"):
            return router.app
        from errbot.web.metrics import METRICS_PATH, MetricsEndpoint

        shadowed = [rule for rule, _ in router.rules() if rule.rstrip("/") == METRICS_PATH]
        if shadowed:
            self.log.warning("METRICS is on: the webhook %s is not reachable.", METRICS_PATH)
        token = self.config.get("METRICS_TOKEN")
        if not token:
            self.log.info("Serving metrics on %s without a token.", METRICS_PATH)
        return MetricsEndpoint(router.app, self._bot.metrics.registry, token)

    def _stop_server(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            self.log.info("Shutting down the internal webserver.")
            if self._bot.runtime.loop.is_running():
                self._wait(server.stop())
            else:  # the loop is gone, and uvicorn with it: just free the port
                server.abandon()
        router = getattr(self._bot, "webhooks", None)
        if router is not None:
            router.reset_options()

    def deactivate(self) -> None:
        try:
            self._stop_server()
        finally:
            super().deactivate()

    # -- commands ------------------------------------------------------------------------
    @botcmd
    def webstatus(self, msg: Message, args: str) -> str:
        """Gives a quick status of what is mapped in the internal webserver"""
        from errbot.rendering import md_escape

        lines = ["Internal webserver URI mapping [URI Regexp -> endpoint]:"]
        for rule, endpoint in self._bot.webhooks.rules():
            lines.append(f"- {md_escape(rule)} -> {md_escape(endpoint)}")
        return "\n".join(lines)

    @botcmd(split_args_with=" ")
    async def webhook_test(self, msg: Message, args: list[str]) -> str:
        """Test your webhooks from within the bot.

        The syntax is: !webhook test [relative_url] [post content]
        It posts the content to the webhook and generates a little test report.
        """
        url = args[0] if args else ""
        if not url:
            return f"Usage: {self._bot.prefix}webhook test <relative url> [post content]"
        content = " ".join(args[1:])
        kind = guess_content_type(content)
        self.log.debug("Detected your post as: %s", kind)
        status, _, _ = await self._bot.webhooks.app.call(
            "POST", url, content.encode("utf-8"), [("Content-Type", kind)]
        )
        return TEST_REPORT.format(url=url, content=content, kind=kind, status=status)

    @botcmd(admin_only=True)
    def generate_certificate(self, msg: Message, args: str) -> Iterator[str]:
        """Generate a self-signed SSL certificate for the Webserver"""
        from errbot.web.certificates import make_self_signed_certificate

        yield (
            "Generating a new private key and certificate. This could take a while if your "
            "system is slow or low on entropy"
        )
        data_dir = self.bot_config.BOT_DATA_DIR
        key_path = os.path.join(data_dir, KEY_FILE)
        cert_path = os.path.join(data_dir, CERTIFICATE_FILE)
        make_self_signed_certificate(key_path, cert_path)
        yield f"Certificate successfully generated and saved in {data_dir}."
        suggested = normalize(self.config or TEMPLATE)
        suggested["SSL"].update(
            enabled=True,
            host=suggested["HOST"],
            port=suggested["PORT"] + 1,
            certificate=cert_path,
            key=key_path,
        )
        yield "To enable SSL with this certificate, the following config is recommended:"
        yield repr(suggested)

    # -- webhooks ------------------------------------------------------------------------
    @webhook
    def echo(self, incoming_request: Any) -> str:
        """A simple test webhook: answers with what it received."""
        self.log.debug("Your incoming request is: %s", incoming_request)
        return str(incoming_request)
