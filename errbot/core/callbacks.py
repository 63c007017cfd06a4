"""Dispatching `callback_*` events to active plugins in PLUGINS_CALLBACK_ORDER.

Only plugins that override a callback receive it, so a bot whose plugins ignore messages does
no per-message fan-out at all. Each plugin's callback is isolated: an exception is logged and
the next plugin still runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from errbot.core.runtime import Runtime, is_async_callable
from errbot.core.workers import SerialLane

if TYPE_CHECKING:
    from errbot.botplugin import BotPlugin
    from errbot.core.metrics import Metrics

log = logging.getLogger(__name__)


def overrides(plugin: Any, name: str) -> bool:
    """Whether ``plugin`` implements the callback ``name`` and wants it now.

    A plugin may list callbacks it does not need at the moment in ``_err_ignored_callbacks``
    (ChatRoom does when no relay is configured), saving a hand-off per message.
    """
    from errbot.botplugin import BotPlugin

    if name in getattr(plugin, "_err_ignored_callbacks", ()):
        return False
    method = getattr(type(plugin), name, None)
    return method is not None and method is not getattr(BotPlugin, name, None)


class CallbackDispatcher:
    def __init__(
        self,
        runtime: Runtime,
        active_plugins: Callable[[], Sequence[BotPlugin]],
        order: Sequence[str | None],
        asynchronous: bool,
        metrics: Metrics | None = None,
    ) -> None:
        self._runtime = runtime
        self._active_plugins = active_plugins
        self._order = list(order) if None in order else [*order, None]
        self._asynchronous = asynchronous
        self._lane = SerialLane()
        self._cache: dict[str, list[Any]] = {}
        self._metrics = metrics

    def invalidate(self) -> None:
        """Forget cached receiver lists; called whenever a plugin is (de)activated."""
        self._cache = {}

    def ordered_plugins(self) -> list[BotPlugin]:
        plugins = list(self._active_plugins())
        named = {p.name: p for p in plugins}
        listed = {n for n in self._order if n is not None}
        result: list[BotPlugin] = []
        for entry in self._order:
            if entry is None:
                result.extend(p for p in plugins if p.name not in listed)
            elif entry in named:
                result.append(named[entry])
        return result

    def receivers(self, name: str) -> list[Any]:
        receivers = self._cache.get(name)
        if receivers is None:
            receivers = [getattr(p, name) for p in self.ordered_plugins() if overrides(p, name)]
            self._cache[name] = receivers
        return receivers

    def dispatch(self, name: str, *args: Any) -> None:
        """Queue the callback for every receiver, in order, off the caller's thread."""
        receivers = self.receivers(name)
        if not receivers:
            return
        if self._asynchronous:
            self._lane.submit(self._call_all, name, receivers, args)
        else:
            self._call_all(name, receivers, args)

    def dispatch_now(self, name: str, *args: Any) -> None:
        """Run the callback for every receiver before returning (used for connect)."""
        self._call_all(name, self.receivers(name), args)

    def _call_all(self, name: str, receivers: list[Any], args: tuple[Any, ...]) -> None:
        for callback in receivers:
            try:
                if is_async_callable(callback):
                    if not self._runtime.running:
                        log.debug("Runtime stopped, %s not delivered to %s", name, callback)
                        continue
                    coro = callback(*args)
                    if self._runtime.in_loop():
                        self._runtime.loop.create_task(coro)
                    else:
                        self._runtime.run_sync(coro)
                else:
                    callback(*args)
            except Exception:
                log.exception("%s raised an exception in %s", callback, name)
                if self._metrics is not None:
                    self._metrics.plugin_error(callback, "callback")

    def shutdown(self) -> None:
        self._lane.shutdown()
