"""Sentry reporting through sentry-sdk, against a local HTTP endpoint standing in for the DSN."""

import gzip
import json
import logging
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("sentry_sdk")


class Collector(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_endpoint():
    Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://public@127.0.0.1:{server.server_address[1]}/42", Collector.received
    server.shutdown()
    server.server_close()


def test_errors_logged_by_the_bot_reach_sentry(sentry_endpoint, tmp_path):
    dsn, received = sentry_endpoint
    # A child process: sentry-sdk installs process-wide hooks we do not want in the test runner.
    script = textwrap.dedent(
        f"""
        import logging, sentry_sdk
        from errbot.settings import config_from_dict
        from errbot.logs import setup_logging
        config = config_from_dict({{
            "BOT_ADMINS": ("@admin",), "BOT_DATA_DIR": {str(tmp_path)!r},
            "BOT_LOG_SENTRY": True, "SENTRY_DSN": {dsn!r},
            "SENTRY_LOGLEVEL": logging.INFO, "SENTRY_EVENTLEVEL": logging.ERROR,
        }})
        setup_logging(config, console=False)
        logging.getLogger("errbot.plugins.Demo").info("a breadcrumb")
        logging.getLogger("errbot.plugins.Demo").error("the plugin exploded")
        sentry_sdk.flush(10)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    payload = b"\n".join(received).decode("utf-8", "replace")
    assert "the plugin exploded" in payload
    assert "a breadcrumb" in payload
    events = [json.loads(line) for line in payload.splitlines() if line.startswith("{")]
    assert any(e.get("level") == "error" for e in events)


def test_missing_sentry_sdk_is_a_clear_error(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["sentry_sdk"] = None  # as if the package were not installed
        from errbot.settings import config_from_dict, ConfigError
        from errbot.logs import setup_logging
        config = config_from_dict({{"BOT_ADMINS": ("@a",), "BOT_DATA_DIR": {str(tmp_path)!r},
                                    "BOT_LOG_SENTRY": True, "SENTRY_DSN": "http://k@127.0.0.1:1/1"}})
        try:
            setup_logging(config, console=False)
        except ConfigError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert "pip install sentry-sdk" in result.stdout, result.stderr


def test_logging_level_and_file(tmp_path):
    from errbot.logs import setup_logging
    from errbot.settings import config_from_dict

    log_file = tmp_path / "bot.log"
    config = config_from_dict(
        {
            "BOT_ADMINS": ("@a",),
            "BOT_DATA_DIR": str(tmp_path),
            "BOT_LOG_FILE": str(log_file),
            "BOT_LOG_LEVEL": logging.WARNING,
        }
    )
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        setup_logging(config, console=False)
        logging.getLogger("errbot.test").info("quiet")
        logging.getLogger("errbot.test").warning("loud")
        for handler in root.handlers:
            handler.flush()
        content = log_file.read_text()
        assert "loud" in content and "quiet" not in content
    finally:
        for handler in list(root.handlers):
            if handler not in saved[1]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(saved[0])
