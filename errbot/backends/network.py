"""What the network backends (XMPP, Slack, Telegram, Discord, Mattermost, Matrix) share.

Each of them runs its client on the bot's event loop while the thread that called
`serve_forever` supervises: it waits for connections, sleeps between attempts and activates
the plugins once. `NetworkBackendMixin` holds that supervision (the stop flag, waiting for a
coroutine from the supervising thread, the reconnection loop, the shutdown order) so a
backend only writes its platform's parts: open a connection, serve it, `_close()` it.
`BackOff` is the capped exponential delay with jitter used between attempts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import threading
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["BackOff", "NetworkBackendMixin"]


class BackOff:
    """Delays that grow by ``factor`` from ``initial`` up to ``cap``, each plus up to
    ``jitter`` seconds at random (so many bots cut off together do not return together)."""

    def __init__(self, initial: float, factor: float, cap: float, jitter: float = 0.0) -> None:
        self.initial = initial
        self.factor = factor
        self.cap = cap
        self.jitter = jitter
        self.delay = initial

    def next_delay(self) -> float:
        """The delay to wait now; the following one grows."""
        wait = self.delay + random.random() * self.jitter
        self.delay = min(self.delay * self.factor, self.cap)
        return wait

    def reset(self) -> None:
        """Start over from ``initial`` (after a connection that worked)."""
        self.delay = self.initial


class NetworkBackendMixin:
    """Mixed in just before `ErrBot`: ``class XBackend(XRoomsMixin, NetworkBackendMixin,
    ErrBot)``, so a platform's own mixins (Slack's `room_call`) win over these defaults.

    A backend overrides `_close()` (on the loop: send what is waiting, close the client) and
    sets `close_failure_text`; `close_timeout` bounds how long `shutdown` waits for it. With
    `_reconnect_forever` it names the outcomes that wait `refusal_retry_delay` at least; with
    rooms it writes ``_room_<operation>`` coroutines for `room_call`.
    """

    # The attributes and methods below come from ErrBot; declared for the type checker.
    runtime: Any
    callbacks: Any
    reconnect_initial_delay: float
    reconnect_factor: float
    reconnect_max_delay: float
    reconnect_jitter: float
    connect_callback: Callable[[], None]
    disconnect_callback: Callable[[], None]

    close_timeout: float = 10.0
    close_failure_text = "Closing the connection failed"
    # Outcomes of a connection attempt that retrying soon cannot fix (a refused password, an
    # untrusted certificate): the next attempt waits at least `refusal_retry_delay`, since
    # hammering a server with a wrong password changes nothing and may get the account locked.
    refusal_outcomes: tuple[str, ...] = ()
    refusal_retry_delay = 60.0
    # `_logged` (background operations): "<what> failed: <error>", with the network's name.
    operation_failure_text = "Operation %s failed: %s"

    def __init__(self, config: Any) -> None:
        super().__init__(config)  # type: ignore[call-arg]
        self._stop = threading.Event()
        self._closing = False
        self._closing_lock = threading.Lock()
        self._plugins_active = False
        self._backoff = self.reconnection_backoff()

    @property
    def _log(self) -> logging.Logger:
        # The backend's own logger, so its lines keep the name users filter on.
        return logging.getLogger(type(self).__module__)

    def reconnection_backoff(self) -> BackOff:
        """A fresh back-off from the ``reconnect_*`` settings (read now: tests tune them)."""
        return BackOff(
            self.reconnect_initial_delay,
            self.reconnect_factor,
            self.reconnect_max_delay,
            self.reconnect_jitter,
        )

    # -- serving ---------------------------------------------------------------------------
    def _next_delay(self, outcome: str | None) -> float:
        """The wait before reconnecting after a connection that ended with ``outcome``."""
        delay = self._backoff.next_delay()
        if outcome in self.refusal_outcomes:
            delay = max(delay, self.refusal_retry_delay)
        return delay

    def _reconnect_forever(
        self,
        serve: Callable[[], str | None],
        crash_text: str,
        retry_text: str,
        fatal: tuple[type[Exception], ...] = (),
    ) -> None:
        """Call ``serve`` (one connection) until the bot stops, waiting `_next_delay(outcome)`
        between calls; an exception in ``fatal`` ends serving, any other costs a reconnection.
        The bot is shut down on the way out."""
        self._backoff = self.reconnection_backoff()
        try:
            while not self._stop.is_set():
                try:
                    outcome = serve()
                except fatal:
                    break
                except Exception:  # a bug must cost a reconnection, not the bot
                    self._log.exception(crash_text)
                    outcome = None
                if self._stop.is_set():
                    break
                delay = self._next_delay(outcome)
                self._log.info(retry_text, delay)
                if self._stop.wait(delay):
                    break
        except KeyboardInterrupt:
            self._log.info("Interrupted, stopping the bot.")
        finally:
            self.shutdown()

    def reset_reconnection_count(self) -> None:
        """Connected: the next reconnection waits the shortest delay again."""
        super().reset_reconnection_count()  # type: ignore[misc]
        self._backoff.reset()

    def _activate_plugins(self) -> None:
        """After a connection: plugins are activated once (they outlive reconnections); later
        connections only tell them through ``callback_connect``."""
        if not self._plugins_active:
            self._plugins_active = True
            self.connect_callback()
        else:
            self.callbacks.dispatch("callback_connect")

    def _wait(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the loop and wait for it from this thread, giving up (and
        cancelling it) when the bot is stopping."""
        if self._stop.is_set() or not self.runtime.running:
            coro.close()
            return None
        future = asyncio.run_coroutine_threadsafe(coro, self.runtime.loop)
        while True:
            try:
                return future.result(timeout=0.2)
            except concurrent.futures.CancelledError:
                return None  # cancelled on the loop: the bot is stopping
            except concurrent.futures.TimeoutError:
                if self._stop.is_set():
                    future.cancel()
                    return None

    # -- room operations (called by the Room objects, from any thread) --------------------
    def room_call(self, room: Any, operation: str, *args: Any) -> Any:
        """Run the coroutine ``self._room_<operation>(room, *args)`` on the loop and return
        its result; from the loop itself, start it and return None (errors are logged)."""
        coro = getattr(self, f"_room_{operation}")(room, *args)
        if self.runtime.in_loop():
            # Called from async plugin code: the loop cannot wait for itself.
            self.runtime.spawn(self._logged(coro, f"{operation} {room}"))
            return None
        return self.runtime.run_sync(coro, timeout=self.room_call_timeout())

    def room_call_timeout(self) -> float:
        """How long a plugin thread waits for a room operation: two requests and a margin."""
        return 2 * float(getattr(self, "request_timeout", 15.0)) + 5

    async def _logged(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        """Await ``coro`` where nobody waits for it: a failure becomes one error line."""
        try:
            await coro
        except Exception as exc:
            self._log.error(self.operation_failure_text, what, exc)

    # -- stopping --------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop serving: plugins deactivated (they may still send goodbyes), `_close()` run
        on the loop, then storage and runtime. Safe from any thread, more than once."""
        with self._closing_lock:  # the serving thread and a signal handler may both get here
            if self._closing:
                return
            self._closing = True
        self._stop.set()
        try:
            if self._plugins_active:
                self._plugins_active = False
                self.disconnect_callback()
            if self.runtime.running and not self.runtime.in_loop():
                try:
                    self.runtime.run_sync(self._close(), timeout=self.close_timeout)
                except Exception:
                    self._log.exception(self.close_failure_text)
            elif self.runtime.running:
                # On the loop (a plugin's async command): it cannot wait for itself.
                self.runtime.spawn(self._close())
        finally:
            super().shutdown()  # type: ignore[misc]

    async def _close(self) -> None:
        """Close the platform's client; the default has nothing to close."""
