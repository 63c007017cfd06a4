"""Webhooks and the embedded webserver.

- `routing`: each bot's webhook table (``bot.webhooks``, a `WebhookRouter`) and ``route``
  (exported by ``errbot`` as ``webroute``).
- `app`: the ASGI application turning requests into handler calls and responses.
- `server`: uvicorn serving that application on the bot's event loop.
- `signatures`: HMAC verification (GitHub and Slack styles).
- `certificates`: self-signed certificates for ``!generate_certificate``.

Handlers may stop a request with an HTTP status through `abort` (or ``flask.abort``, or by
raising any ``werkzeug.exceptions.HTTPException``); `request` is the request being answered
(``flask.request``). Names are imported on first use: building a bot does not import werkzeug.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, NoReturn

__all__ = [
    "HTTPException",
    "WebOptions",
    "WebRoute",
    "WebhookRouter",
    "abort",
    "request",
    "route",
    "webroute",
]

_ORIGINS = {
    "WebOptions": ("errbot.web.routing", "WebOptions"),
    "WebRoute": ("errbot.web.routing", "WebRoute"),
    "WebhookRouter": ("errbot.web.routing", "WebhookRouter"),
    "route": ("errbot.web.routing", "route"),
    "webroute": ("errbot.web.routing", "webroute"),
    "HTTPException": ("werkzeug.exceptions", "HTTPException"),
    "request": ("flask", "request"),
}


def abort(status: Any, *args: Any, **kwargs: Any) -> NoReturn:
    """Stop the current webhook with an HTTP error: ``abort(403)``, ``abort(404, "why")``.

    ``status`` may also be a response object, sent as is. Same as ``flask.abort``.
    """
    from werkzeug.exceptions import abort as werkzeug_abort

    werkzeug_abort(status, *args, **kwargs)


def __getattr__(name: str) -> Any:
    origin = _ORIGINS.get(name)
    if origin is None:
        raise AttributeError(f"module 'errbot.web' has no attribute {name!r}")
    value = getattr(import_module(origin[0]), origin[1])
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from flask import request
    from werkzeug.exceptions import HTTPException

    from errbot.web.routing import WebhookRouter, WebOptions, WebRoute, route, webroute
