"""Credentials in URLs (``https://user:TOKEN@host/...``) kept out of logs and chat replies."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["mask_credentials", "masked_url"]

# scheme://userinfo@ : the userinfo is what may hold a password or an access token.
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)([^/\s@]+)@")


def masked_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return re.sub(r":[^:@/]*@", ":***@", url)


def _mask_userinfo(match: re.Match[str]) -> str:
    scheme, userinfo = match.group(1), match.group(2)
    if ":" in userinfo:
        return f"{scheme}{userinfo.split(':', 1)[0]}:***@"
    # A lone user part is how forges take access tokens (https://TOKEN@github.com/...).
    return f"{scheme}***@"


def mask_credentials(text: str) -> str:
    """``text`` with the user part of every URL in it masked (passwords and tokens)."""
    return _USERINFO.sub(_mask_userinfo, text)
