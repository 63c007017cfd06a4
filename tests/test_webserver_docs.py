"""The signature-verification example of docs/webhooks.md, run as written.

The plugin class and the two shell snippets are read out of the document (not copied here),
so the documentation cannot drift from what works. The snippets need ``curl`` and
``openssl``: without them the test is skipped on a developer's machine and fails when
``CI=true``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_webserver_helpers import NETWORK_TIMEOUT, base_url, configure_webserver

from errbot.backends.test import TestBot

DOC = Path(__file__).parent.parent / "docs" / "webhooks.md"
DOC_URL = "http://localhost:3141"
PLUG = """[Core]
Name = GitHubEvents
Module = docexample

[Documentation]
Description = the example plugin of docs/webhooks.md
"""


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def tools_or_skip() -> None:
    missing = [tool for tool in ("curl", "openssl") if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"the documentation example needs {reason} when CI=true", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def doc_bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (plugin,) = [block for block in code_blocks("python") if "class GitHubEvents" in block]
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / "docexample.py").write_text(plugin, encoding="utf-8")
    (plugin_dir / "docexample.plug").write_text(PLUG, encoding="utf-8")
    # The docs say the secrets may come from the environment; the bot reads them per request.
    monkeypatch.setenv("GITHUB_SECRET", "gh-doc-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "slack-doc-secret")
    testbot = TestBot(str(plugin_dir), logging.INFO, {})
    testbot.start()
    try:
        configure_webserver(testbot, {"HOST": "127.0.0.1", "PORT": 0, "SSL": None})
        yield testbot
    finally:
        testbot.stop()


def run_snippet(snippet: str, url: str, **secrets: str) -> str:
    assert DOC_URL in snippet, "the snippet no longer posts to the documented address"
    env = {**os.environ, **secrets}
    done = subprocess.run(
        ["bash", "-e", "-c", snippet.replace(DOC_URL, url)],
        env=env,
        capture_output=True,
        text=True,
        timeout=NETWORK_TIMEOUT,
        check=True,
    )
    return done.stdout.strip()


def test_the_documented_signature_example_works(doc_bot):
    tools_or_skip()
    url = base_url(doc_bot)
    github, slack = [block for block in code_blocks("sh") if "openssl dgst" in block]
    good = {"GITHUB_SECRET": "gh-doc-secret", "SLACK_SIGNING_SECRET": "slack-doc-secret"}
    bad = {"GITHUB_SECRET": "gh-doc-secreT", "SLACK_SIGNING_SECRET": "slack-doc-secreT"}

    assert run_snippet(github, url, **good) == "200"
    # the handler ran: it announced the pull request
    assert doc_bot.pop_message() == "New PR: t u"
    assert run_snippet(slack, url, **good) == "200"

    assert run_snippet(github, url, **bad) == "401"
    assert run_snippet(slack, url, **bad) == "401"
