"""Running conversation flows (section 10 of the contract).

The executor keeps the flow graphs (`FlowRoot`) registered by `BotFlow` objects and the flows
in flight. The core talks to it at two points:

- `attach_context(msg, cmd)` before a command runs: when a flow of the sender waits for this
  command, the message gets the flow's context (``msg.ctx``) and the flow (``msg.flow``);
- `trigger(cmd, requestor, ctx)` after a command succeeded: the flow moves to that step, or a
  flow whose auto-trigger it is starts.

Moving a flow on (automatic steps, hints) runs on the bot's runtime: plain code on the worker
pool, ``async def`` steps on the event loop. There is no thread pool of its own.

Beyond Errbot:

- the replies of automatic steps reach the chat (Errbot only logged them, issue #934);
- flows in flight are saved in the ``flow_executor`` storage namespace after every change, and
  come back when their flow is registered again (after a restart or a reconnection);
- a flow without activity for ``FLOW_IDLE_TIMEOUT`` seconds (default 3600, None: never)
  expires, and its requestor is told so.
"""

from __future__ import annotations

import inspect
import logging
import pickle
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from errbot.backends.base import Identifier, Message, Room, RoomOccupant
from errbot.core.runtime import is_async_callable
from errbot.flow import FLOW_END, Flow, FlowNode, FlowRoot, same_requestor

log = logging.getLogger(__name__)

NAMESPACE = "flow_executor"
DEFAULT_IDLE_TIMEOUT = 3600.0
# A loop of automatic steps whose predicates stay true would never give the thread back.
MAX_AUTOMATIC_STEPS = 1000
RECORD_VERSION = 1

HINTS_HEADER = "You are in the flow **{name}**, you can continue with:\n\n"
EXPIRED = "Your flow **{name}** expired after {duration} without activity."


def describe_duration(seconds: float) -> str:
    """ "1 minute", "90 minutes", "1.5 minutes", "30 seconds"."""
    if seconds >= 60:
        minutes = seconds / 60
        return "1 minute" if minutes == 1 else f"{minutes:g} minutes"
    return "1 second" if seconds == 1 else f"{seconds:g} seconds"


def _flow_methods(obj: Any) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The ``@botflow`` methods of ``obj``, by name (properties are never evaluated)."""
    cls = type(obj)
    for attr_name in dir(cls):
        raw = getattr(cls, attr_name, None)
        if raw is None or not getattr(raw, "_err_flow", False):
            continue
        bound = getattr(obj, attr_name, None)
        if callable(bound):
            yield attr_name, bound


class FlowExecutor:
    """The flows of one bot: their graphs, the flows in flight, and running them."""

    def __init__(self, bot: Any, clock: Callable[[], float] = time.time) -> None:
        self._bot = bot
        #: Seconds since the epoch; replace it in tests to move time forward.
        self.clock = clock
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        # Storage writes are ordered by this lock (taken before ``_lock``, never after).
        self._persist_lock = threading.Lock()
        self.flow_roots: dict[str, FlowRoot] = {}
        self._owners: dict[str, Any] = {}
        self.in_flight: list[Flow] = []
        self._store: Any = None
        self._closed = False
        self._runs = 0  # flows being moved on right now
        self._bad_timeout_reported = False

    @property
    def busy(self) -> bool:
        """Whether a flow is being moved on (automatic steps, hints) right now."""
        return self._runs > 0

    # -- settings -------------------------------------------------------------------------
    @property
    def idle_timeout(self) -> float | None:
        """FLOW_IDLE_TIMEOUT in seconds; None (or 0) means flows never expire."""
        value = getattr(self._bot.bot_config, "FLOW_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT)
        if value is None:
            return None
        try:
            if isinstance(value, bool):
                raise TypeError(value)
            seconds = float(value)
        except (TypeError, ValueError):
            # A typo in config.py must not break every command that touches a flow.
            if not self._bad_timeout_reported:
                self._bad_timeout_reported = True
                log.error(
                    "FLOW_IDLE_TIMEOUT must be a number of seconds or None, not %r; "
                    "using %g seconds.",
                    value,
                    DEFAULT_IDLE_TIMEOUT,
                )
            return DEFAULT_IDLE_TIMEOUT
        return seconds if seconds > 0 else None

    # -- registration ---------------------------------------------------------------------
    def add_flow(self, flow: FlowRoot, owner: Any = None) -> None:
        """Register a flow graph; flows of that name saved in storage come back to life."""
        with self._lock:
            if flow.name in self.flow_roots and self.flow_roots[flow.name] is not flow:
                log.warning("The flow %s is defined twice; the last definition wins.", flow.name)
                self._forget_root(flow.name)
            self.flow_roots[flow.name] = flow
            self._owners[flow.name] = owner
            self._changed.notify_all()
        self._restore(flow)

    def add_flows_from(self, botflow: Any) -> None:
        """Build and register every ``@botflow`` method of a `BotFlow` object."""
        for name, method in _flow_methods(botflow):
            root = FlowRoot(name, inspect.getdoc(method) or "")
            try:
                method(root)
            except Exception:
                log.exception("The flow %s of %s could not be built", name, botflow)
                continue
            log.debug("Registering the flow %s of %s", name, type(botflow).__name__)
            self.add_flow(root, botflow)

    def remove_flows_from(self, botflow: Any) -> None:
        """Withdraw the flows of a `BotFlow` object.

        Their flows in flight leave memory but stay in storage: they resume when the flows
        are registered again.
        """
        with self._lock:
            for name in [n for n, owner in self._owners.items() if owner is botflow]:
                self._forget_root(name)
            self._changed.notify_all()

    def remove_flow(self, name: str) -> None:
        with self._lock:
            self._forget_root(name)
            self._changed.notify_all()

    def _forget_root(self, name: str) -> None:
        self.flow_roots.pop(name, None)
        self._owners.pop(name, None)
        for flow in [f for f in self.in_flight if f.name == name]:
            self._drop(flow)

    # -- looking flows up -----------------------------------------------------------------
    def check_inflight_already_running(self, user: Identifier) -> bool:
        """Whether ``user`` (a person, or a room for room flows) already runs a flow."""
        with self._lock:
            return any(same_requestor(flow.requestor, user) for flow in self.in_flight)

    def check_inflight_flow_triggered(
        self, cmd: str, user: Identifier | None
    ) -> tuple[Flow | None, FlowNode | None]:
        """The flow of ``user`` waiting for ``cmd``, and the step ``cmd`` leads to."""
        with self._lock:
            for flow in self.in_flight:
                if not flow.check_identifier(user):
                    continue
                for step in flow.next_steps():
                    if step.command == cmd:
                        return flow, step
        return None, None

    def flows_of(self, identifier: Identifier | None) -> list[Flow]:
        """The flows in flight ``identifier`` may continue."""
        with self._lock:
            return [flow for flow in self.in_flight if flow.check_identifier(identifier)]

    @staticmethod
    def _requestor_for(root: FlowRoot, identifier: Identifier) -> Identifier:
        if root.room_flow and isinstance(identifier, RoomOccupant):
            return identifier.room
        return identifier

    # -- the two entry points of the core -------------------------------------------------
    def attach_context(self, msg: Message, cmd: str) -> bool:
        """Before ``cmd`` runs: if a flow of the sender waits for it, give the message the
        flow's context and return True (flow_only commands run only then)."""
        if not self.in_flight:
            return False
        flow, _ = self.check_inflight_flow_triggered(cmd, msg.frm)
        if flow is None:
            return False
        log.debug("Attaching the context of the flow %s to %s", flow.name, cmd)
        msg.ctx = flow.ctx
        msg.flow = flow
        return True

    def trigger(
        self,
        cmd: str,
        requestor: Identifier,
        extra_context: Mapping[str, Any] | None = None,
    ) -> Flow | None:
        """After ``cmd`` succeeded for ``requestor``: advance the flow waiting for it, or
        start the flow it auto-triggers. Returns that flow, or None."""
        # Runs after every successful command: answer "nothing to do" without the lock when
        # no flow is in flight and no flow starts with ``cmd`` (the usual case).
        if not self.in_flight and not any(
            cmd in root.auto_triggers for root in tuple(self.flow_roots.values())
        ):
            return None
        with self._lock:
            flow, step = self.check_inflight_flow_triggered(cmd, requestor)
            if flow is None:
                flow, step = self._auto_triggered(cmd, requestor)
                if flow is None or step is None:
                    return None
                self.in_flight.append(flow)
                log.debug("Flow %s auto-triggered by %s for %s", flow.name, cmd, requestor)
            assert step is not None
            flow.advance(step, enforce_predicate=False)  # the command just ran: no predicate
            if extra_context and extra_context is not flow.ctx:
                flow.ctx = dict(extra_context)
            self._touch(flow)
            # Scheduled under the lock: whoever sees the flow moved also sees it running.
            self._schedule(flow)
            self._changed.notify_all()
        return flow

    def _auto_triggered(self, cmd: str, user: Identifier) -> tuple[Flow | None, FlowNode | None]:
        for root in self.flow_roots.values():
            if cmd not in root.auto_triggers:
                continue
            requestor = self._requestor_for(root, user)
            if self.check_inflight_already_running(requestor):
                continue
            for _, step in root.children:
                if step.command == cmd:
                    return Flow(root, requestor, {}), step
        return None, None

    # -- starting and stopping ------------------------------------------------------------
    def start_flow(
        self,
        name: str,
        requestor: Identifier,
        initial_context: Mapping[str, Any] | None = None,
        *,
        run: bool = True,
    ) -> Flow:
        """Start the flow ``name`` for ``requestor`` (the room, for a room flow started by
        an occupant). ``run=False`` registers it without moving it yet: call `run` later."""
        with self._lock:
            root = self.flow_roots.get(name)
            if root is None:
                raise ValueError(f"Flow {name} doesn't exist")
            owner = self._requestor_for(root, requestor)
            if self.check_inflight_already_running(owner):
                raise ValueError(f"User {owner} is already running a flow.")
            flow = Flow(root, owner, dict(initial_context or {}))
            self.in_flight.append(flow)
            self._touch(flow)
            if run:
                self._schedule(flow)
            self._changed.notify_all()
        if not run:
            self._save(flow)
        return flow

    def run(self, flow: Flow) -> None:
        """Move ``flow`` on: automatic steps, then hints (see `start_flow(run=False)`)."""
        self._schedule(flow)

    def stop_flow(self, name: str, requestor: Identifier | None) -> Flow | None:
        """Stop the flow ``name`` of ``requestor``; returns it, or None when there is none."""
        with self._lock:
            for flow in self.in_flight:
                if flow.name == name and flow.check_identifier(requestor):
                    break
            else:
                return None
        return flow if self.stop(flow) else None

    def stop(self, flow: Flow) -> bool:
        """Stop this flow; False if it was not in flight."""
        with self._lock:
            if flow not in self.in_flight:
                return False
            log.debug("Stopping %s", flow)
            self._drop(flow)
            self._changed.notify_all()
        self._forget_record(flow)
        return True

    def _drop(self, flow: Flow) -> None:
        """Take ``flow`` out of memory (caller holds the lock)."""
        if flow in self.in_flight:
            self.in_flight.remove(flow)
        timer, flow._timer = flow._timer, None
        if timer is not None:
            timer.cancel()

    # -- running --------------------------------------------------------------------------
    def _schedule(self, flow: Flow, hints: bool = True) -> None:
        with self._lock:
            if self._closed:
                return
            if flow._driving:
                flow._pending = True  # the run in progress goes round once more
                return
            flow._driving = True
            self._runs += 1
            try:
                self._bot.runtime.submit_background(self._drive, flow, hints)
            except RuntimeError:  # the runtime is shutting down
                log.warning("Cannot run the flow %s: the bot is stopping", flow.name)
                flow._driving = False
                self._runs -= 1
                self._changed.notify_all()

    def _drive(self, flow: Flow, hints: bool = True) -> None:
        while True:
            try:
                self.execute(flow, hints)
            except Exception:
                log.exception("Error while running %s", flow)
            with self._lock:
                if flow._pending and flow in self.in_flight:
                    flow._pending = False
                    hints = True
                    continue
                flow._driving = False
                flow._pending = False
                self._runs -= 1
                self._changed.notify_all()
                return

    def execute(self, flow: Flow, hints: bool = True) -> None:
        """Run the automatic steps of ``flow`` until it waits for a user or ends.

        Runs on the calling thread (a worker); `trigger` and `start_flow` schedule it.
        """
        for _ in range(MAX_AUTOMATIC_STEPS):
            with self._lock:
                if flow not in self.in_flight:
                    return
                origin = flow.current_step
                steps = flow.next_steps()
                autosteps = flow.next_autosteps() if steps else []
                finished = not steps or (bool(autosteps) and autosteps[0] is FLOW_END)
                if finished:
                    log.debug("Flow %s ended.", flow.name)
                    self._drop(flow)
                    self._changed.notify_all()
            if finished:
                self._forget_record(flow)
                return
            if not autosteps:
                self._save(flow)
                if hints and origin.hints:
                    text = self.hints_text(flow, steps)
                    if text:
                        self._bot.send(flow.requestor, text)
                return
            step = autosteps[0]  # several true predicates: the first connected wins
            log.debug("Flow %s: automatic step %s", flow.name, step)
            self._run_step(flow, step)
            with self._lock:
                if flow not in self.in_flight or flow.current_step is not origin:
                    return  # stopped, or moved on by its user meanwhile (a new run is queued)
                flow.advance(step, enforce_predicate=False)
                self._changed.notify_all()
        log.error("Flow %s: too many automatic steps in a row, stopping it.", flow.name)
        self._bot.send(
            flow.requestor,
            f'{flow} errored at {flow.current_step} with "too many automatic steps in a row"',
        )
        self.stop(flow)

    def _run_step(self, flow: Flow, step: FlowNode) -> None:
        """Run the command of an automatic step; its replies go to the flow's requestor."""
        method = self._bot.all_commands.get(step.command)
        msg = Message(frm=flow.requestor, flow=flow)
        if not isinstance(flow.requestor, Room):
            msg.to = self._bot.bot_identifier
        try:
            if method is None:
                raise LookupError(f"the command {step.command} is not available")
            args: Any = "" if getattr(method, "_err_arg_command", False) else None
            if is_async_callable(method):
                self._bot.runtime.run_sync(self._call_async(flow, method, msg, args))
                return
            result = method(msg, args)
            if inspect.isgenerator(result):
                for item in result:
                    self._deliver(flow, method, item)
            elif inspect.isawaitable(result):
                self._deliver(flow, method, self._bot.runtime.run_sync(result))
            else:
                self._deliver(flow, method, result)
        except Exception as exc:
            log.exception("%s errored at %s", flow, step)
            self._bot.send(flow.requestor, f'{flow} errored at {step} with "{exc}"')

    async def _call_async(
        self, flow: Flow, method: Callable[..., Any], msg: Message, args: Any
    ) -> None:
        result = method(msg, args)
        if inspect.isasyncgen(result):
            async for item in result:
                self._deliver(flow, method, item)
        elif inspect.isawaitable(result):
            self._deliver(flow, method, await result)
        elif inspect.isgenerator(result):
            for item in result:
                self._deliver(flow, method, item)
        else:
            self._deliver(flow, method, result)

    def _deliver(self, flow: Flow, method: Any, value: Any) -> None:
        """Send one result of an automatic step (Errbot dropped them: issue #934)."""
        if not value:
            return
        template = getattr(method, "_err_command_template", None)
        if type(value) is str:
            text = value
        elif template and isinstance(value, Mapping):
            owner = getattr(method, "__self__", None)
            text = self._bot.render_template(template, value, getattr(owner, "name", None))
        else:
            text = str(value)
        self._bot.send(flow.requestor, text)

    # -- hints ------------------------------------------------------------------------------
    def step_syntax(self, command: str) -> str:
        """How a user types ``command``: prefix, name with spaces, then its syntax."""
        method = self._bot.all_commands.get(command)
        prefix = self._bot.prefix
        if method is None:
            return prefix + command.replace("_", " ")
        is_regex = getattr(method, "_err_re_command", False)
        prefixed = getattr(method, "_err_command_prefix_required", True) if is_regex else True
        text = prefix if prefixed else ""
        if not is_regex:
            text += command.replace("_", " ")
        syntax = getattr(method, "_err_command_syntax", None)
        if syntax:
            text += syntax
        return text

    def hints_text(self, flow: Flow, steps: list[FlowNode] | None = None) -> str | None:
        """The "You are in the flow ..." message, or None when no step can be typed."""
        lines = [
            f"- {self.step_syntax(step.command)}"
            for step in (flow.next_steps() if steps is None else steps)
            if step is not FLOW_END and step.command is not None
        ]
        if not lines:
            return None
        return HINTS_HEADER.format(name=flow.name) + "\n".join(lines)

    # -- idle expiry ----------------------------------------------------------------------
    def _touch(self, flow: Flow) -> None:
        """Record activity on ``flow`` and (re)arm its idle timer (caller holds the lock)."""
        flow.last_activity = self.clock()
        timeout = self.idle_timeout
        if timeout is not None:
            self._arm(flow, timeout)

    def _arm(self, flow: Flow, delay: float) -> None:
        timer, flow._timer = flow._timer, None
        if timer is not None:
            timer.cancel()
        if self._closed:
            return
        try:
            flow._timer = self._bot.runtime.call_later(delay, self._timer_fired, flow)
        except RuntimeError:  # the loop is closed: the bot is stopping
            log.debug("No idle timer for %s: the runtime is stopped", flow.name)

    def _timer_fired(self, flow: Flow) -> None:
        # On the event loop: storage and sending happen on a worker.
        try:
            self._bot.runtime.submit_background(self._check_idle, flow)
        except RuntimeError:
            log.debug("Idle check of %s skipped: the bot is stopping", flow.name)

    def _check_idle(self, flow: Flow) -> None:
        timeout = self.idle_timeout
        with self._lock:
            if flow not in self.in_flight or timeout is None:
                return
            idle = self.clock() - flow.last_activity
            if idle < timeout:
                self._arm(flow, timeout - idle)
                return
        self._expire(flow, timeout)

    def expire_idle_flows(self) -> list[Flow]:
        """Expire every flow idle for FLOW_IDLE_TIMEOUT or longer now; returns them.

        The idle timers call this logic on their own; it is public so that a test that
        moved `clock` forward need not wait for a timer.
        """
        timeout = self.idle_timeout
        if timeout is None:
            return []
        now = self.clock()
        with self._lock:
            idle = [f for f in self.in_flight if now - f.last_activity >= timeout]
        return [flow for flow in idle if self._expire(flow, timeout)]

    def _expire(self, flow: Flow, timeout: float) -> bool:
        if not self.stop(flow):
            return False
        log.info("Flow %s of %s expired.", flow.name, flow.requestor)
        self._tell_expired(flow.requestor, flow.name, timeout)
        return True

    def _tell_expired(self, requestor: Identifier, name: str, timeout: float) -> None:
        try:
            self._bot.send(
                requestor, EXPIRED.format(name=name, duration=describe_duration(timeout))
            )
        except Exception:
            log.exception("Cannot tell %s that the flow %s expired", requestor, name)

    # -- persistence ----------------------------------------------------------------------
    def _storage(self) -> Any:
        """The ``flow_executor`` namespace, opened on first use (None without storage)."""
        if self._store is None and not self._closed:
            plugin = getattr(self._bot, "storage_plugin", None)
            if plugin is None:
                return None
            try:
                self._store = plugin.open(NAMESPACE)
            except Exception:
                log.exception("Cannot open the storage of the flows; flows are not saved")
                return None
        return self._store

    def _record(self, flow: Flow) -> dict[str, Any] | None:
        path = flow.root.path_to(flow.current_step)
        if path is None:
            return None
        requestor = flow.requestor
        return {
            "version": RECORD_VERSION,
            "name": flow.name,
            "kind": "room" if isinstance(requestor, Room) else "person",
            "requestor": str(requestor),
            "path": path,
            "ctx": _portable(flow.ctx, flow.name),
            "last_activity": flow.last_activity,
        }

    def _save(self, flow: Flow) -> None:
        with self._persist_lock:
            with self._lock:
                if flow not in self.in_flight:
                    return
                record = self._record(flow)
            store = self._storage()
            if store is None or record is None:
                return
            try:
                store.set(flow.id, record)
            except Exception:
                log.exception("Cannot save the flow %s", flow.name)

    def _forget_record(self, flow: Flow) -> None:
        with self._persist_lock:
            store = self._storage()
            if store is None:
                return
            try:
                store.remove(flow.id)
            except KeyError:
                pass
            except Exception:
                log.exception("Cannot remove the saved flow %s", flow.name)

    def _restore(self, root: FlowRoot) -> None:
        """Bring back the saved flows of ``root``."""
        expired: list[tuple[Identifier, float]] = []
        resumed: list[Flow] = []
        with self._persist_lock:
            store = self._storage()
            if store is None:
                return
            try:
                keys = list(store.keys())
            except Exception:
                log.exception("Cannot read the saved flows")
                return
            for key in keys:
                try:
                    record = store.get(key)
                except KeyError:
                    continue
                if not isinstance(record, dict) or record.get("name") != root.name:
                    continue
                with self._lock:
                    if any(f.id == key for f in self.in_flight):
                        continue
                flow = self._rebuild(key, record, root)
                if flow is None:
                    store.remove(key)
                    continue
                timeout = self.idle_timeout
                idle = self.clock() - flow.last_activity
                if timeout is not None and idle >= timeout:
                    store.remove(key)
                    expired.append((flow.requestor, timeout))
                    continue
                with self._lock:
                    if self.check_inflight_already_running(flow.requestor):
                        log.warning("Not resuming %s: its requestor runs another flow", flow)
                        store.remove(key)
                        continue
                    self.in_flight.append(flow)
                    if timeout is not None:
                        self._arm(flow, timeout - idle)
                    self._changed.notify_all()
                log.info("Resumed %s", flow)
                resumed.append(flow)
        for requestor, timeout in expired:
            self._tell_expired(requestor, root.name, timeout)
        for flow in resumed:
            # Automatic steps the flow had not run yet; no hints: the user saw them already.
            self._schedule(flow, hints=False)

    def _rebuild(self, key: str, record: dict[str, Any], root: FlowRoot) -> Flow | None:
        step = root.node_at(record.get("path") or [])
        if step is None:
            log.warning("The saved flow %s no longer fits its definition, dropped.", root.name)
            return None
        text = str(record.get("requestor", ""))
        try:
            if record.get("kind") == "room":
                requestor = self._bot.query_room(text)
            else:
                requestor = self._bot.build_identifier(text)
        except Exception:
            log.exception("The requestor %r of a saved flow %s is unknown", text, root.name)
            return None
        ctx = record.get("ctx")
        flow = Flow(root, requestor, ctx if isinstance(ctx, dict) else {})
        flow.id = key
        flow.jump_to(step)
        flow.last_activity = float(record.get("last_activity") or self.clock())
        return flow

    # -- waiting and shutting down --------------------------------------------------------
    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Block until ``predicate()`` holds; it is re-checked whenever flows change.

        For tests and tools: e.g. ``wait_for(lambda: not executor.in_flight, 5)``.
        """
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def shutdown(self) -> None:
        """Cancel the idle timers and close the storage; saved flows stay saved."""
        with self._persist_lock:
            with self._lock:
                self._closed = True
                for flow in self.in_flight:
                    timer, flow._timer = flow._timer, None
                    if timer is not None:
                        timer.cancel()
            store, self._store = self._store, None
            if store is not None:
                try:
                    store.close()
                except Exception:
                    log.exception("Cannot close the storage of the flows")


def _portable(ctx: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A deep copy of ``ctx`` that can be stored: entries that cannot be pickled are left
    out (with a warning)."""
    try:
        return pickle.loads(pickle.dumps(dict(ctx)))
    except Exception:
        pass
    kept: dict[str, Any] = {}
    for key, value in ctx.items():
        try:
            kept[key] = pickle.loads(pickle.dumps(value))
        except Exception:
            log.warning("The context entry %r of the flow %s cannot be saved", key, name)
    return kept
