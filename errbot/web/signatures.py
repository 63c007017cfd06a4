"""HMAC signatures of incoming webhook requests (beyond Errbot).

A webhook opts in with ``@webhook("/gh", signature="github", secret_setting="GH_SECRET")``
or an admin adds a check to any webhook through the Webserver's ``SIGNATURES`` setting.
Two schemes are built in:

``github``
    ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the raw body.
``slack``
    ``X-Slack-Signature: v0=<hex>``, the HMAC-SHA256 of ``v0:<timestamp>:<body>`` where the
    timestamp comes from ``X-Slack-Request-Timestamp`` and must be fresh (default: within
    five minutes of the bot's clock), so a captured request cannot be replayed later.

This module only uses the standard library: the decorator imports it at decoration time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_MAX_AGE",
    "SCHEMES",
    "SignatureError",
    "SignatureSpec",
    "check_signature_options",
    "parse_signature_settings",
    "resolve_secret",
    "verify_signature",
]

DEFAULT_MAX_AGE = 300  # seconds a Slack-style timestamp stays acceptable


class SignatureError(Exception):
    """The request is not signed, or not signed with the expected secret (HTTP 401)."""


class MissingSecretError(Exception):
    """A webhook wants signed requests but its secret is set nowhere (HTTP 500)."""


@dataclass(frozen=True)
class SignatureSpec:
    """How the requests of one webhook must be signed.

    ``secret`` is the secret itself (from the Webserver configuration); otherwise
    ``secret_setting`` names where to find it (see `resolve_secret`).
    """

    scheme: str
    secret_setting: str | None = None
    secret: str | None = None
    max_age: int = DEFAULT_MAX_AGE


Headers = Mapping[str, str]


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), given.strip().encode("utf-8"))


def _verify_github(headers: Headers, body: bytes, secret: str, now: float, max_age: int) -> None:
    given = headers.get("X-Hub-Signature-256")
    if not given:
        raise SignatureError("missing X-Hub-Signature-256 header")
    if not _same("sha256=" + _hex_hmac(secret, body), given):
        raise SignatureError("X-Hub-Signature-256 does not match the body")


def _verify_slack(headers: Headers, body: bytes, secret: str, now: float, max_age: int) -> None:
    given = headers.get("X-Slack-Signature")
    stamp = headers.get("X-Slack-Request-Timestamp")
    if not given or not stamp:
        raise SignatureError("missing X-Slack-Signature or X-Slack-Request-Timestamp header")
    try:
        sent_at = int(stamp.strip())
    except ValueError:
        raise SignatureError("X-Slack-Request-Timestamp is not a number") from None
    if abs(now - sent_at) > max_age:
        raise SignatureError("X-Slack-Request-Timestamp is outside the freshness window")
    base = b"v0:" + str(sent_at).encode("ascii") + b":" + body
    if not _same("v0=" + _hex_hmac(secret, base), given):
        raise SignatureError("X-Slack-Signature does not match the body")


Verifier = Callable[[Headers, bytes, str, float, int], None]

SCHEMES: dict[str, Verifier] = {"github": _verify_github, "slack": _verify_slack}


def verify_signature(
    spec: SignatureSpec, headers: Headers, body: bytes, secret: str, now: float | None = None
) -> None:
    """Raise `SignatureError` unless ``body`` carries a valid signature under ``spec``."""
    verifier = SCHEMES[spec.scheme]
    verifier(headers, body, secret, time.time() if now is None else now, spec.max_age)


def check_signature_options(signature: str | None, secret_setting: str | None) -> None:
    """Validate the ``signature``/``secret_setting`` arguments of ``@webhook``."""
    if signature is None:
        raise ValueError("webhook: secret_setting is only meaningful with signature=.")
    if signature not in SCHEMES:
        known = ", ".join(sorted(SCHEMES))
        raise ValueError(f"webhook: unknown signature scheme {signature!r} (known: {known}).")
    if not secret_setting or not isinstance(secret_setting, str):
        raise ValueError(
            "webhook: signature= needs secret_setting=, the name of the setting holding the secret."
        )


def parse_signature_settings(value: Any) -> dict[str, SignatureSpec]:
    """Turn the Webserver's ``SIGNATURES`` setting into specs keyed by URL rule.

    Shape: ``{"/rule": {"type": "github", "secret": "..."} }``; instead of ``secret`` an entry
    may give ``secret_setting`` (looked up like the decorator's); ``max_age`` (seconds) is
    optional. Raises ValueError with a message meant for the admin.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("SIGNATURES must be a dict of URL rule -> {type, secret}")
    specs: dict[str, SignatureSpec] = {}
    for rule, entry in value.items():
        if not isinstance(rule, str) or not rule.startswith("/"):
            raise ValueError(f"SIGNATURES: {rule!r} is not a URL rule starting with /")
        if not isinstance(entry, Mapping):
            raise ValueError(f"SIGNATURES[{rule!r}] must be a dict")
        unknown = set(entry) - {"type", "secret", "secret_setting", "max_age"}
        if unknown:
            raise ValueError(f"SIGNATURES[{rule!r}]: unknown keys {sorted(unknown)}")
        scheme = entry.get("type")
        if scheme not in SCHEMES:
            raise ValueError(
                f"SIGNATURES[{rule!r}]: type must be one of {', '.join(sorted(SCHEMES))}"
            )
        secret = entry.get("secret")
        setting = entry.get("secret_setting")
        if (secret is None) == (setting is None):
            raise ValueError(f"SIGNATURES[{rule!r}]: give exactly one of secret, secret_setting")
        for key, field in (("secret", secret), ("secret_setting", setting)):
            if field is not None and (not isinstance(field, str) or not field):
                raise ValueError(f"SIGNATURES[{rule!r}]: {key} must be a non-empty string")
        max_age = entry.get("max_age", DEFAULT_MAX_AGE)
        if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age <= 0:
            raise ValueError(f"SIGNATURES[{rule!r}]: max_age must be a positive integer")
        normalized = rule.rstrip("/") or "/"
        specs[normalized] = SignatureSpec(scheme, setting, secret, max_age)
    return specs


def resolve_secret(spec: SignatureSpec, plugin: Any, bot_config: Any) -> str:
    """The secret for ``spec``: given directly, or looked up by ``spec.secret_setting``.

    The setting is searched, in order, in the plugin's configuration (when it is a dict),
    in the bot's ``config.py`` and in the environment. Raises `MissingSecretError`.
    """
    if spec.secret:
        return spec.secret
    name = spec.secret_setting or ""
    config = getattr(plugin, "config", None) if plugin is not None else None
    candidates = (
        config.get(name) if isinstance(config, Mapping) else None,
        getattr(bot_config, name, None) if bot_config is not None else None,
        os.environ.get(name),
    )
    for candidate in candidates:
        if isinstance(candidate, bytes):
            candidate = candidate.decode("utf-8")
        if isinstance(candidate, str) and candidate:
            return candidate
    raise MissingSecretError(
        f"the signature secret {name!r} is set neither in the plugin configuration, nor in "
        "config.py, nor in the environment"
    )
