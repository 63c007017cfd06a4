"""A person on XMPP for the tests: an ordinary slixmpp client on its own event-loop thread.

The test thread calls plain blocking methods (`say`, `join`, `expect`...); every call is run on
the client's loop and waited for with a deadline, so a test never hangs.
"""

from __future__ import annotations

import asyncio
import queue
import ssl
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import slixmpp
from slixmpp.jid import JID

DEADLINE = 15.0
ROOMCONFIG = "http://jabber.org/protocol/muc#roomconfig"


class Received:
    """One message as the human saw it."""

    def __init__(self, stanza: Any) -> None:
        self.kind = stanza["type"]
        self.frm = str(stanza["from"])
        self.body = stanza["body"]
        html = stanza.get_plugin("html", check=True)
        self.html = html["body"] if html is not None else ""
        self.subject = stanza["subject"]

    def __repr__(self) -> str:
        return f"<{self.kind} from {self.frm}: {self.body!r}>"


class Human:
    """``Human(jid, password, port, ca_file)``: connected and online once constructed."""

    def __init__(self, jid: str, password: str, port: int, ca_file: str) -> None:
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.presences: queue.Queue[Any] = queue.Queue()  # (from, type, show, status)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.client: slixmpp.ClientXMPP = self.run(self._make(jid, password, ca_file))
        self.run(self._connect(port))

    async def _make(self, jid: str, password: str, ca_file: str) -> slixmpp.ClientXMPP:
        client = slixmpp.ClientXMPP(jid, password)
        client.ssl_context = ssl.create_default_context(cafile=ca_file)
        client.enable_direct_tls = False
        for plugin in ("xep_0030", "xep_0004", "xep_0045", "xep_0071", "xep_0199"):
            client.register_plugin(plugin)
        client.add_event_handler("message", self._on_message)
        client.add_event_handler("groupchat_subject", self._on_message)
        client.add_event_handler("presence", self._on_presence)
        client.add_event_handler("groupchat_presence", self._on_presence)
        return client

    async def _connect(self, port: int) -> None:
        started: asyncio.Future[None] = self.loop.create_future()

        def on_start(_: Any) -> None:
            self.client.send_presence()
            if not started.done():
                started.set_result(None)

        self.client.add_event_handler("session_start", on_start)
        self.client.connect("127.0.0.1", port)
        await asyncio.wait_for(started, DEADLINE)

    def _on_presence(self, stanza: Any) -> None:
        self.presences.put(
            (str(stanza["from"]), stanza["type"], stanza["show"], stanza["status"])
        )

    def expect_presence(
        self, predicate: Callable[[tuple[str, str, str, str]], bool], timeout: float = DEADLINE
    ) -> tuple[str, str, str, str]:
        """The first presence (from, type, show, status) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        seen: list[tuple[str, str, str, str]] = []
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                presence = self.presences.get(timeout=remaining)
            except queue.Empty:
                break
            if predicate(presence):
                return presence
            seen.append(presence)
        raise AssertionError(f"no matching presence in {timeout} s; saw {seen}")

    def invite(self, room: str, jid: str) -> None:
        self.call(self.client.plugin["xep_0045"].invite, JID(room), JID(jid))

    def _on_message(self, stanza: Any) -> None:
        if stanza["type"] != "error":
            self.inbox.put(Received(stanza))

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = DEADLINE) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async def wrapped() -> Any:
            return fn(*args, **kwargs)

        return self.run(wrapped())

    # -- talking -------------------------------------------------------------------------
    def say(self, to: str, body: str) -> None:
        self.call(self.client.send_message, mto=JID(to), mbody=body, mtype="chat")

    def say_in_room(self, room: str, body: str) -> None:
        self.call(self.client.send_message, mto=JID(room), mbody=body, mtype="groupchat")

    def join(self, room: str, nick: str, password: str | None = None) -> None:
        self.run(
            self.client.plugin["xep_0045"].join_muc_wait(
                JID(room), nick, password=password, maxstanzas=0, timeout=DEADLINE
            )
        )

    def leave(self, room: str, nick: str) -> None:
        self.call(self.client.plugin["xep_0045"].leave_muc, JID(room), nick)

    def configure_room(self, room: str, **values: Any) -> None:
        async def configure() -> None:
            muc = self.client.plugin["xep_0045"]
            form = await muc.get_room_config(JID(room))
            submit = self.client.plugin["xep_0004"].make_form(ftype="submit")
            submit.add_field(var="FORM_TYPE", ftype="hidden", value=ROOMCONFIG)
            fields = form.get_fields()
            for name, value in values.items():
                var = f"muc#roomconfig_{name}"
                submit.add_field(var=var, ftype=fields[var]["type"])["value"] = value
            await muc.set_room_config(JID(room), submit)

        self.run(configure())

    def set_presence(self, show: str = "", status: str = "", to: str | None = None) -> None:
        self.call(
            self.client.send_presence,
            pshow=show or None,
            pstatus=status or None,
            pto=JID(to) if to else None,
        )

    def occupants(self, room: str) -> list[str]:
        return self.call(self.client.plugin["xep_0045"].get_roster, JID(room))

    # -- listening ---------------------------------------------------------------------------
    def expect(self, predicate: Callable[[Received], bool], timeout: float = DEADLINE) -> Received:
        """The first message matching ``predicate``; the others seen meanwhile are dropped."""
        deadline = time.monotonic() + timeout
        seen: list[Received] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching message in {timeout} s; saw {seen}")
            try:
                message = self.inbox.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(message):
                return message
            seen.append(message)

    def expect_body(self, text: str, timeout: float = DEADLINE, frm: str | None = None) -> Received:
        return self.expect(
            lambda m: text in (m.body or "") and (frm is None or m.frm.startswith(frm)), timeout
        )

    def drain(self) -> list[Received]:
        out = []
        while True:
            try:
                out.append(self.inbox.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        async def finish() -> None:
            await asyncio.wait_for(self.client.disconnect(1), 3)
            filters = self.client._run_out_filters  # slixmpp cancels it in __del__, too late
            if filters is not None:
                filters.cancel()
                await asyncio.sleep(0)

        try:
            self.run(finish(), timeout=5)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
