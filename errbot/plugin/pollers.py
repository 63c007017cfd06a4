"""Interval pollers (`start_poller` / `stop_poller`), scheduled on the bot's event loop.

Unlike Errbot's `threading.Timer` chain (bug #755), stopping a poller cancels its pending
timer, so a stopped poller never fires again, even one stopped from inside its own call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from errbot.core.runtime import TimerHandle, is_async_callable

if TYPE_CHECKING:
    from errbot.botplugin import BotPluginBase

log = logging.getLogger(__name__)


def _poller_key(
    method: Callable[..., Any], args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None
) -> tuple[Any, ...]:
    frozen_kwargs = tuple(sorted((k, repr(v)) for k, v in (kwargs or {}).items()))
    return (method, tuple(repr(a) for a in (args or ())), frozen_kwargs)


class Poller:
    """One registration: the callable, its arguments, and how many calls remain."""

    __slots__ = ("method", "args", "kwargs", "interval", "remaining", "timer", "stopped")

    def __init__(
        self,
        method: Callable[..., Any],
        interval: float,
        times: int | None,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> None:
        self.method = method
        self.interval = interval
        self.remaining = times
        self.args = list(args)
        self.kwargs = dict(kwargs)
        self.timer: TimerHandle | None = None
        self.stopped = False


class PollerSet:
    """The pollers of one plugin."""

    def __init__(self, plugin: BotPluginBase) -> None:
        self._plugin = plugin

    @property
    def _registry(self) -> dict[tuple[Any, ...], Any]:
        return self._plugin.current_pollers

    def start(
        self,
        interval: float,
        method: Callable[..., Any],
        times: int | None = None,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        # As with Errbot's threading.Timer, a zero (or negative) interval means "right away".
        interval = max(0.0, float(interval))
        if times is not None and times <= 0:
            # As in Errbot: zero remaining calls means nothing is ever scheduled.
            self._plugin.log.debug("Poller %r started with times=%s: never called.", method, times)
            return
        key = _poller_key(method, args, kwargs)
        if key in self._registry:
            self._plugin.log.warning("Poller %r is already running; not started twice.", method)
            return
        poller = Poller(method, interval, times, args or (), kwargs or {})
        self._registry[key] = poller
        self._plugin.log.debug("Programming the polling of %r every %s seconds", method, interval)
        self._schedule(key, poller)

    def stop(
        self,
        method: Callable[..., Any],
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        key = _poller_key(method, args, kwargs)
        poller = self._registry.pop(key, None)
        if poller is None:
            self._plugin.log.debug("No poller %r to stop.", method)
            return
        self._cancel(poller)

    def stop_all(self) -> None:
        for poller in list(self._registry.values()):
            self._cancel(poller)
        self._registry.clear()

    @staticmethod
    def _cancel(poller: Poller) -> None:
        poller.stopped = True
        if poller.timer is not None:
            poller.timer.cancel()

    def _schedule(self, key: tuple[Any, ...], poller: Poller) -> None:
        if poller.stopped:
            return
        runtime = self._plugin._bot.runtime
        poller.timer = runtime.call_later(poller.interval, self._fire, key, poller)

    def _fire(self, key: tuple[Any, ...], poller: Poller) -> None:
        """Runs on the event loop when the interval has elapsed."""
        if poller.stopped:
            return
        runtime = self._plugin._bot.runtime
        if is_async_callable(poller.method):
            runtime.spawn(self._call_async(key, poller))
        else:
            # Never on the loop thread itself, even when BOT_ASYNC is False.
            runtime.submit_background(self._call_sync, key, poller)

    def _call_sync(self, key: tuple[Any, ...], poller: Poller) -> None:
        # The call may have waited for a free worker; a poller stopped meanwhile must not run.
        if poller.stopped:
            return
        try:
            poller.method(*poller.args, **poller.kwargs)
        except Exception:
            self._plugin.log.exception("A poller crashed")
            self._count_crash()
        self._after_call(key, poller)

    async def _call_async(self, key: tuple[Any, ...], poller: Poller) -> None:
        if poller.stopped:
            return
        try:
            await poller.method(*poller.args, **poller.kwargs)
        except Exception:
            self._plugin.log.exception("A poller crashed")
            self._count_crash()
        self._after_call(key, poller)

    def _count_crash(self) -> None:
        metrics = getattr(self._plugin._bot, "metrics", None)
        if metrics is not None:
            metrics.plugin_error(self._plugin, "poller")

    def _after_call(self, key: tuple[Any, ...], poller: Poller) -> None:
        if poller.remaining is not None:
            poller.remaining -= 1
            if poller.remaining <= 0:
                poller.stopped = True
                if self._registry.get(key) is poller:
                    del self._registry[key]
                return
        self._schedule(key, poller)
