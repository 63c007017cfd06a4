"""The webhook table of one bot.

Every bot built by the bootstrap owns a `WebhookRouter` (``bot.webhooks``); the plugin
manager routes a plugin's ``@webhook`` methods right after activating it and withdraws them
before deactivating it, whether or not the Webserver plugin serves HTTP at that moment.
Nothing here is process-wide, so several bots in one process each have their own table.

The table is compiled into a werkzeug ``Map`` (Flask's URL rules: ``/x/<int:id>``,
``<path:rest>``...) only when it is first needed, so a bot whose Webserver never starts does
not pay for importing werkzeug.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from errbot.web.signatures import SignatureSpec

if TYPE_CHECKING:
    from errbot.web.app import WebhookApp

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_BODY_SIZE", "WebOptions", "WebRoute", "WebhookRouter", "route", "webroute"]

DEFAULT_MAX_BODY_SIZE = 1024 * 1024  # bytes; a larger request body gets a 413
DEFAULT_METHODS = ("POST", "GET")


def normalize_rule(rule: str) -> str:
    """Incoming paths lose their trailing "/", so rules do too (except "/" itself)."""
    return rule.rstrip("/") or "/"


@dataclass
class WebOptions:
    """Request handling settings, set by the Webserver plugin from its configuration."""

    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    signatures: dict[str, SignatureSpec] = field(default_factory=dict)


@dataclass(eq=False)
class WebRoute:
    """One webhook: a URL rule, its methods and the bound handler answering it."""

    rule: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]
    endpoint: str
    owner: Any = None
    form_param: str | None = None
    raw: bool = False
    signature: SignatureSpec | None = None

    @property
    def key(self) -> tuple[str, frozenset[str]]:
        return self.rule, frozenset(self.methods)


def _webhook_members(obj: Any) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The bound ``@webhook`` methods of ``obj``; properties are never evaluated."""
    cls = type(obj)
    for name in dir(cls):
        raw = getattr(cls, name, None)
        if raw is None or not getattr(raw, "_err_webhook_uri_rule", None):
            continue
        bound = getattr(obj, name, None)
        if bound is not None and callable(bound):
            yield name, bound


def _methods(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if not value:
        return DEFAULT_METHODS
    if isinstance(value, str):
        value = (value,)
    methods: list[str] = []
    for method in value:
        upper = str(method).upper()
        if upper not in methods:
            methods.append(upper)
    return tuple(methods)


def endpoint_name(handler: Callable[..., Any], methods: Iterable[str]) -> str:
    """Errbot's endpoint naming: ``<function name>_<METHODS joined by _>``."""
    name = getattr(handler, "__name__", type(handler).__name__)
    return "_".join([name, *methods])


class WebhookRouter:
    """The URL rules of one bot and the ASGI application serving them."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.options = WebOptions()
        self._routes: list[WebRoute] = []
        self._lock = threading.RLock()
        self._compiled: tuple[Any, dict[str, WebRoute]] | None = None
        self._app: WebhookApp | None = None

    # -- the table ------------------------------------------------------------------
    @property
    def routes(self) -> tuple[WebRoute, ...]:
        return tuple(self._routes)

    def add(
        self,
        rule: str,
        handler: Callable[..., Any],
        methods: Iterable[str] | str | None = DEFAULT_METHODS,
        form_param: str | None = None,
        raw: bool = False,
        signature: SignatureSpec | None = None,
        owner: Any = None,
    ) -> WebRoute:
        """Route ``rule`` to ``handler``; an existing rule with the same methods is replaced."""
        if raw and form_param is not None:
            raise ValueError("webhook: raw and form_param cannot be used together.")
        wanted = _methods(methods)
        new = WebRoute(
            rule=normalize_rule(rule),
            methods=wanted,
            handler=handler,
            endpoint=endpoint_name(handler, wanted),
            owner=owner,
            form_param=form_param,
            raw=raw,
            signature=signature,
        )
        with self._lock:
            self._insert(new)
            self._changed()
        return new

    def _insert(self, new: WebRoute) -> None:
        kept = []
        for old in self._routes:
            if old.key == new.key:
                if old.owner is not new.owner:
                    log.warning(
                        "Webhook %s %s of %s replaces the one of %s.",
                        "/".join(new.methods),
                        new.rule,
                        _owner_name(new.owner),
                        _owner_name(old.owner),
                    )
                continue
            kept.append(old)
        self._routes = [*kept, new]
        log.debug("Webhook %s -> %s routed.", new.rule, new.endpoint)

    def remove(self, route: WebRoute) -> None:
        with self._lock:
            self._routes = [r for r in self._routes if r is not route]
            self._changed()

    def route_plugin(self, plugin: Any) -> list[WebRoute]:
        """Route every ``@webhook`` method of ``plugin`` (also any object with such methods)."""
        added: list[WebRoute] = []
        with self._lock:
            self._routes = [r for r in self._routes if r.owner is not plugin]
            for _, method in _webhook_members(plugin):
                function = getattr(method, "__func__", method)
                scheme = getattr(function, "_err_webhook_signature", None)
                setting = getattr(function, "_err_webhook_secret_setting", None)
                methods = _methods(getattr(function, "_err_webhook_methods", DEFAULT_METHODS))
                form_param = getattr(function, "_err_webhook_form_param", None)
                raw = bool(getattr(function, "_err_webhook_raw", False))
                if raw and form_param is not None:
                    log.error("Webhook %s: raw and form_param cannot be used together.", method)
                    continue
                new = WebRoute(
                    rule=normalize_rule(function._err_webhook_uri_rule),
                    methods=methods,
                    handler=method,
                    endpoint=endpoint_name(method, methods),
                    owner=plugin,
                    form_param=form_param,
                    raw=raw,
                    signature=SignatureSpec(scheme, setting) if scheme else None,
                )
                self._insert(new)
                added.append(new)
            self._changed()
        return added

    def unroute_plugin(self, plugin: Any) -> None:
        """Withdraw the webhooks of ``plugin``: its URLs answer 404 from now on."""
        with self._lock:
            before = len(self._routes)
            self._routes = [r for r in self._routes if r.owner is not plugin]
            if len(self._routes) != before:
                self._changed()

    def rules(self) -> list[tuple[str, str]]:
        """``(rule, endpoint)`` pairs in routing order, for ``!webstatus``."""
        return [(r.rule, r.endpoint) for r in self._routes]

    # -- matching -------------------------------------------------------------------
    def _changed(self) -> None:
        self._compiled = None
        if "werkzeug.routing" in sys.modules:
            # werkzeug is loaded (a server runs or ran): report bad rules right away.
            self.compile()

    def compile(self) -> tuple[Any, dict[str, WebRoute]]:
        """Build the werkzeug ``Map``; a rule werkzeug rejects is logged and left out."""
        with self._lock:
            if self._compiled is not None:
                return self._compiled
            from werkzeug.routing import Map, Rule

            url_map = Map(strict_slashes=False, merge_slashes=False, redirect_defaults=False)
            by_endpoint: dict[str, WebRoute] = {}
            for index, entry in enumerate(self._routes):
                endpoint = str(index)
                try:
                    url_map.add(Rule(entry.rule, endpoint=endpoint, methods=entry.methods))
                except Exception as exc:
                    log.error(
                        "Webhook rule %r of %s is invalid: %s", entry.rule, entry.endpoint, exc
                    )
                    continue
                by_endpoint[endpoint] = entry
            self._compiled = (url_map, by_endpoint)
            return self._compiled

    def match(self, path: str, method: str) -> tuple[WebRoute, dict[str, Any]]:
        """The route for ``path``; raises werkzeug's NotFound / MethodNotAllowed."""
        url_map, by_endpoint = self.compile()
        adapter = url_map.bind("localhost", url_scheme="http")
        endpoint, arguments = adapter.match(normalize_rule(path) or "/", method.upper())
        return by_endpoint[endpoint], arguments

    # -- serving ----------------------------------------------------------------------
    @property
    def app(self) -> WebhookApp:
        """The ASGI application answering this bot's webhooks (built on first use)."""
        if self._app is None:
            with self._lock:
                if self._app is None:
                    from errbot.web.app import WebhookApp

                    self._app = WebhookApp(self)
        return self._app

    def reset_options(self) -> None:
        self.options = WebOptions()


def _owner_name(owner: Any) -> str:
    if owner is None:
        return "nobody"
    return str(getattr(owner, "name", None) or type(owner).__name__)


def route(obj: Any) -> list[WebRoute]:
    """Route all the ``@webhook`` methods of ``obj`` on its bot (Errbot's ``webroute``).

    ``obj`` is usually a plugin; it needs ``_bot`` (a bot with a webhook router). Plugins do
    not need to call this: activation routes their webhooks.
    """
    bot = getattr(obj, "_bot", None)
    router = getattr(bot, "webhooks", None)
    if router is None:
        raise RuntimeError(f"{obj!r} has no bot with a webhook router (obj._bot.webhooks).")
    return router.route_plugin(obj)


webroute = route
