"""A network backend whose client library is missing names the pip extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from errbot.bootstrap import BACKEND_EXTRAS, BackendDependencyError, load_backend_class

REPO_ROOT = Path(__file__).resolve().parents[1]

# backend Name -> a top-level module its client library provides
LIBRARIES = {
    "IRC": "irc",
    "XMPP": "slixmpp",
    "SlackV3": "slack_sdk",
    "Slack": "slack_sdk",
    "Telegram": "telegram",
    "Discord": "discord",
    "Mattermost": "mattermostautodriver",
    "Matrix": "nio",
}


@pytest.fixture(autouse=True)
def same_modules_afterwards():
    # Backend modules imported half-way here must not be what later tests get.
    before = dict(sys.modules)
    yield
    sys.modules.clear()
    sys.modules.update(before)


def _forget(prefixes: tuple[str, ...]) -> None:
    for name in list(sys.modules):
        if name.startswith(prefixes) and not name.startswith("errbot.backends.base"):
            del sys.modules[name]


@pytest.mark.parametrize("backend", sorted(LIBRARIES))
def test_a_missing_library_names_the_extra(backend: str) -> None:
    library = LIBRARIES[backend]
    # Each network backend is the package errbot.backends.<name> (Slack's two Names share one).
    package = "slack" if backend.startswith("Slack") else backend.lower()
    _forget((f"errbot.backends.{package}", library))
    sys.modules[library] = None  # "not installed", for the import system
    config = types.SimpleNamespace(BOT_EXTRA_BACKEND_DIR=None)
    with pytest.raises(BackendDependencyError) as caught:
        load_backend_class(backend, config)
    message = str(caught.value)
    assert f"pip install 'errbot[{BACKEND_EXTRAS[backend]}]'" in message
    assert f"the {backend} backend needs packages that are not installed" in message


def test_the_command_line_says_it_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text(
        f'BACKEND = "IRC"\nBOT_DATA_DIR = {str(tmp_path)!r}\nBOT_ADMINS = ("@me",)\n'
    )
    # A sitecustomize-like start: hide the irc library, then run the real command line.
    code = textwrap.dedent(
        """
        import sys
        sys.modules["irc"] = None
        from errbot.cli import main
        sys.exit(main(["-c", sys.argv[1]]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "config.py")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "BACKEND = 'IRC': the IRC backend needs packages that are not installed" in (
        result.stderr
    )
    assert "pip install 'errbot[irc]'" in result.stderr
    assert "Traceback" not in result.stderr
