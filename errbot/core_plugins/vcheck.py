"""Core plugin ``VersionChecker``: tell the bot admins when a newer version is published.

At activation, then every 24 hours, it reads a small JSON document from VERSION_CHECK_URL
(default https://errbot.io/versions.json), for instance ``{"python3": "7.1.0"}``. The key
``"errbot"`` is read first: this project publishes its own releases under it, while Errbot's
file lists its releases under ``"python3"`` (and ``"python2"``, ignored). When the published
version is newer than the running one, the admins are warned once per published version.

It stays inactive on the backends that only ever talk to a developer (null, test, Dummy, text,
graphic) and when VERSION_CHECK_URL is None or empty. Being offline, an HTTP error or a malformed
document are logged and otherwise ignored: a version check must never disturb the bot.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from errbot import BotPlugin
from errbot.version import VERSION

# Backends a developer runs by hand or in tests: no one to warn, and no network wanted.
# Errbot's list, plus this project's graphical console, which is the text console in a window.
QUIET_MODES = frozenset({"null", "test", "Dummy", "text", "graphic"})
CHECK_INTERVAL = 24 * 60 * 60  # seconds
FETCH_TIMEOUT = 10  # seconds, as for the plugin index
VERSION_KEYS = ("errbot", "python3")
RELEASE_PAGE = "https://pypi.org/project/errbot/{version}"
# Storage key of the last version the admins were told about, so a restart does not repeat it.
WARNED_KEY = "warned_version"

_VERSION_RE = re.compile(
    r"""
    ^v?(?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<pre>a|b|rc|alpha|beta|c)[-_.]?(?P<pre_n>\d*))?
    (?:[-_.]?post[-_.]?(?P<post>\d*))?
    (?:[-_.]?dev[-_.]?(?P<dev>\d*))?$
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PRE_RANKS = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2}

VersionKey = tuple[Any, ...]


def version_key(text: str) -> VersionKey:
    """A sort key ordering versions the way PEP 440 does for the usual forms.

    1.0.dev1 < 1.0a1 < 1.0b2 < 1.0rc1 < 1.0 == 1.0.0 < 1.0.post1 < 1.1. The ``packaging``
    library is not a dependency of the bot, hence this small parser. Raises ValueError for
    anything else (local versions, epochs, free text).
    """
    match = _VERSION_RE.match(text.strip())
    if match is None:
        raise ValueError(f"not a version: {text!r}")
    release = [int(part) for part in match["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()  # 1.0 and 1.0.0 are the same version
    pre, post, dev = match["pre"], match["post"], match["dev"]
    if pre is not None:
        pre_key: tuple[int, ...] = (0, _PRE_RANKS[pre.lower()], int(match["pre_n"] or 0))
    elif dev is not None and post is None:
        pre_key = (-1,)  # 1.0.dev1 comes before 1.0a1
    else:
        pre_key = (1,)  # a final release
    post_key = (1, int(post or 0)) if post is not None else (0,)
    dev_key = (0, int(dev or 0)) if dev is not None else (1,)
    return (tuple(release), pre_key, post_key, dev_key)


def is_newer(candidate: str, current: str) -> bool:
    return version_key(candidate) > version_key(current)


def published_version(document: Any) -> str | None:
    """The version announced by a versions document, or None when it announces none."""
    if not isinstance(document, dict):
        return None
    for key in VERSION_KEYS:
        value = document.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _newer_or_unknown(candidate: str, reference: str) -> bool:
    try:
        return is_newer(candidate, reference)
    except ValueError:
        return True


class VersionChecker(BotPlugin):
    """Tells the bot admins when a newer version of Errbot is available."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._warn_lock = threading.Lock()

    def activate(self) -> None:
        if self.mode in QUIET_MODES:
            self.log.debug("Version checks are off for the %s backend.", self.mode)
            return  # deliberately not activated, as Errbot does
        if not self._url():
            self.log.info("VERSION_CHECK_URL is empty: version checks are off.")
            return
        super().activate()
        # The first check must not hold up the start of the bot: it may wait for the network.
        threading.Thread(
            target=self.check_version, name="VersionChecker first check", daemon=True
        ).start()
        self.start_poller(CHECK_INTERVAL, self.check_version)

    def _url(self) -> str:
        return str(getattr(self.bot_config, "VERSION_CHECK_URL", None) or "")

    def fetch_document(self, url: str) -> Any:
        """The JSON document at ``url``; raises on network, HTTP and JSON errors."""
        import urllib.request  # only when checking: inactive in text/test mode

        request = urllib.request.Request(url, headers={"User-Agent": "Errbot"})
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
            return json.loads(response.read().decode("utf-8"))

    def check_version(self) -> str | None:
        """Fetch the published version and warn the admins if it is new; returns the warning
        sent, or None. Never raises: runs in a poller or a thread of its own."""
        url = self._url()
        if not url:
            return None
        try:
            document = self.fetch_document(url)
        except (OSError, ValueError) as exc:
            # URLError (HTTP errors too) and timeouts are OSErrors; bad JSON or UTF-8 ValueErrors.
            self.log.info("Could not check for a new version at %s: %s", url, exc)
            return None
        published = published_version(document)
        if published is None:
            self.log.info("No version found in the document at %s.", url)
            return None
        try:
            newer = is_newer(published, VERSION)
        except ValueError as exc:
            self.log.info("Ignoring the version published at %s: %s", url, exc)
            return None
        if not newer:
            self.log.debug("Version %s is up to date (published: %s).", VERSION, published)
            return None
        return self._warn_once(published)

    def _warn_once(self, published: str) -> str | None:
        # The first check's thread and the poller could meet: one warning per version.
        with self._warn_lock:
            if not self.is_activated:
                return None  # deactivated while the document was on its way
            try:
                warned = self.get(WARNED_KEY)
                # Told about this one or a later one already (a withdrawn release, say).
                if isinstance(warned, str) and not _newer_or_unknown(published, warned):
                    return None
                self[WARNED_KEY] = published
            except Exception:  # storage closed by a deactivation in between
                self.log.debug("Could not record the warned version", exc_info=True)
                return None
        prefix = self._bot.prefix
        warning = (
            f"Version {published} of Errbot is available. "
            f"{RELEASE_PAGE.format(version=published)}. "
            f"To disable this check do: {prefix}plugin blacklist VersionChecker"
        )
        self.warn_admins(warning)
        return warning
