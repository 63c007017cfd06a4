"""One XMPP connection (a slixmpp client) and the MUC operations that need it.

A fresh `XMPPConnection` is made for every connection attempt, on the bot's event loop. The
backend, not slixmpp, decides when to reconnect: slixmpp's own retry loop and the
ping-timeout reconnection are turned into plain "the connection ended" outcomes, so there is
exactly one place with a back-off and one place that logs why a connection failed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import xml.etree.ElementTree as ET
from typing import Any

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout, PresenceError
from slixmpp.jid import JID

from errbot.backends.base import RoomError

log = logging.getLogger(__name__)

XHTML_NS = "http://www.w3.org/1999/xhtml"
ROOMCONFIG = "http://jabber.org/protocol/muc#roomconfig"

# Outcomes of a connection attempt.
CONNECTED = "connected"
AUTH_FAILED = "authentication failed"
NO_MECHANISM = "no usable authentication mechanism"
BAD_CERTIFICATE = "certificate not trusted"
UNREACHABLE = "server unreachable"
CLOSED = "connection closed"
TIMED_OUT = "timed out"

_TLS_VERSIONS = {
    "TLSV1": ssl.TLSVersion.TLSv1,
    "TLSV1_1": ssl.TLSVersion.TLSv1_1,
    "TLSV1_2": ssl.TLSVersion.TLSv1_2,
    "TLSV1_3": ssl.TLSVersion.TLSv1_3,
}


def tls_minimum_version(value: Any) -> ssl.TLSVersion | None:
    """XMPP_SSL_VERSION as the minimum TLS version: an `ssl.TLSVersion`, its name
    ("TLSv1_2"), or a legacy ``ssl.PROTOCOL_TLSv1_2`` constant; None keeps Python's default."""
    if value is None or value == "":
        return None
    if isinstance(value, ssl.TLSVersion):
        return value
    name = str(getattr(value, "name", value)).upper().replace("PROTOCOL_", "").replace(".", "_")
    name = name.replace("TLSVERSION_", "")
    if name in _TLS_VERSIONS:
        return _TLS_VERSIONS[name]
    raise ValueError(
        f"XMPP_SSL_VERSION {value!r} is not a TLS version: use ssl.TLSVersion.TLSv1_2, "
        '"TLSv1_2" or "TLSv1_3".'
    )


def make_ssl_context(ca_file: str | None, minimum: ssl.TLSVersion | None) -> ssl.SSLContext:
    """Certificate and host name verification always on; XMPP_CA_CERT_FILE replaces the
    system trust store (a private CA, or a self-signed server certificate)."""
    context = ssl.create_default_context(cafile=ca_file) if ca_file else (
        ssl.create_default_context()
    )
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if minimum is not None:
        context.minimum_version = minimum
    return context


def xhtml_body(html: str) -> str | None:
    """``html`` if it can be the content of an XHTML-IM ``<body>``, or None when it is not
    well-formed XML (raw HTML in a plugin's Markdown may not be): then only the plain body
    is sent, rather than slixmpp failing on it."""
    try:
        ET.fromstring(f'<body xmlns="{XHTML_NS}">{html}</body>')
    except ET.ParseError:
        return None
    return html


class XMPPConnection(slixmpp.ClientXMPP):
    """A slixmpp client whose lifetime is one connection."""

    def __init__(
        self,
        jid: str,
        password: str,
        *,
        ssl_context: ssl.SSLContext,
        direct_tls: bool,
        use_ipv6: bool,
        mechanisms: dict[str, Any],
        xhtml: bool,
        keepalive: float | None,
        request_timeout: float,
    ) -> None:
        super().__init__(jid, password, plugin_config={"feature_mechanisms": dict(mechanisms)})
        self.ssl_context = ssl_context
        self.enable_direct_tls = direct_tls
        self.enable_starttls = not direct_tls
        self.enable_plaintext = False
        self.use_ipv6 = use_ipv6
        self.request_timeout = request_timeout
        for plugin in ("xep_0030", "xep_0004", "xep_0045", "xep_0199", "xep_0203"):
            self.register_plugin(plugin)
        if xhtml:
            self.register_plugin("xep_0071")
        if keepalive:
            self.plugin["xep_0199"].enable_keepalive(float(keepalive), request_timeout)
        loop = asyncio.get_running_loop()
        self.outcome: asyncio.Future[str] = loop.create_future()
        self.ended: asyncio.Future[str] = loop.create_future()
        self.failure_detail = ""
        self.online = False
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("failed_all_auth", self._on_failed_all_auth)
        self.add_event_handler("no_auth", self._on_no_auth)
        self.add_event_handler("connection_failed", self._on_connection_failed)
        self.add_event_handler("ssl_invalid_chain", self._on_invalid_chain)
        self.add_event_handler("stream_error", self._on_stream_error)
        self.add_event_handler("disconnected", self._on_disconnected)

    # -- outcome of the attempt -------------------------------------------------------
    def _settle(self, outcome: str, detail: str = "") -> None:
        if not self.outcome.done():
            if detail:
                self.failure_detail = detail
            self.outcome.set_result(outcome)

    async def _on_session_start(self, _: Any) -> None:
        self.send_presence()
        try:
            await self.get_roster(timeout=self.request_timeout)
        except (IqError, IqTimeout) as exc:
            log.warning("Could not fetch the XMPP roster: %s", exc)
        self.online = True
        self._settle(CONNECTED)

    def _on_failed_auth(self, stanza: Any) -> None:
        self.failure_detail = str(stanza["condition"] or "not-authorized")

    def _on_failed_all_auth(self, _: Any) -> None:
        # slixmpp reports "no mechanism acceptable" (no_auth) right after this event; let
        # that more precise outcome win, or a bad XMPP_FEATURE_MECHANISMS would be logged
        # as a wrong password.
        asyncio.get_running_loop().call_soon(self._settle, AUTH_FAILED, self.failure_detail)

    def _on_no_auth(self, _: Any) -> None:
        self._settle(NO_MECHANISM)

    def _on_connection_failed(self, error: Any) -> None:
        # Stop slixmpp's own retry loop: the backend owns the back-off.
        self.cancel_connection_attempt()
        if isinstance(error, ssl.SSLCertVerificationError):
            self._settle(BAD_CERTIFICATE, str(error.verify_message or error))
        else:
            self._settle(UNREACHABLE, str(error))

    def _on_invalid_chain(self, error: Any) -> None:
        # STARTTLS handshake refused the certificate; slixmpp leaves the socket to us.
        self._settle(BAD_CERTIFICATE, str(error))
        self.abort()

    def _on_stream_error(self, error: Any) -> None:
        log.error("The XMPP server closed the stream: %s %s", error["condition"], error["text"])

    def _on_disconnected(self, reason: Any) -> None:
        self.online = False
        if isinstance(reason, ssl.SSLCertVerificationError):
            self._settle(BAD_CERTIFICATE, str(reason.verify_message or reason))
        elif isinstance(reason, ssl.SSLError):
            self._settle(BAD_CERTIFICATE, str(reason))
        else:
            # A refused STARTTLS certificate closes the socket before slixmpp reports it
            # (ssl_invalid_chain): give that report a moment to name the real cause.
            asyncio.get_running_loop().call_later(
                0.1, self._settle, CLOSED, str(reason or "")
            )
        if not self.ended.done():
            self.ended.set_result(str(reason or ""))

    def reconnect(self, wait: float = 2.0, reason: str = "Reconnecting") -> None:
        # slixmpp calls this on a ping timeout; end the connection and let the backend's
        # loop reconnect (with its back-off and room rejoining).
        log.warning("XMPP connection lost: %s", reason)
        self.disconnect(wait, reason)

    async def open(self, host: str | None, port: int | None, timeout: float) -> str:
        """Connect, authenticate and start the session; returns the outcome."""
        self.connect(host, port)
        try:
            return await asyncio.wait_for(asyncio.shield(self.outcome), timeout)
        except TimeoutError:
            self._settle(TIMED_OUT, f"no session after {timeout:.0f} s")
            return TIMED_OUT

    async def close(self, wait: float = 2.0) -> None:
        """End the stream cleanly (``</stream:stream>``), or drop the socket after ``wait``."""
        self.cancel_connection_attempt()
        if self.transport is not None:
            try:
                await asyncio.wait_for(self.disconnect(wait, "Errbot shutting down"), wait + 1)
            except Exception:  # closing must not raise, whatever state the stream is in
                self.abort()
        self._settle(CLOSED, "closed by the bot")
        # slixmpp cancels its output task only when the client is garbage collected, which
        # may be after the loop is closed (an "Event loop is closed" error at exit).
        filters = self._run_out_filters
        if filters is not None and not filters.done():
            filters.cancel()
            await asyncio.sleep(0)

    # -- MUC ----------------------------------------------------------------------------
    @property
    def muc(self) -> Any:
        return self.plugin["xep_0045"]

    async def join_room(self, room: str, nick: str, password: str | None) -> tuple[str, str]:
        """Join ``room``; returns (our nick, subject). Raises RoomError with the reason."""
        room_jid = JID(room)
        # slixmpp only recognises an error presence that echoes the MUC element, which
        # Prosody does not: watch every error presence from the room as well.
        refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_error(presence: Any) -> None:
            if presence["from"].bare == room_jid.bare and not refused.done():
                refused.set_result(presence)

        self.add_event_handler("presence_error", on_error)
        joining = asyncio.ensure_future(
            self.muc.join_muc_wait(
                room_jid,
                nick,
                password=password,
                maxstanzas=0,  # no history replay: old commands must not run again
                timeout=self.request_timeout,
            )
        )
        try:
            await asyncio.wait({joining, refused}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.del_event_handler("presence_error", on_error)
        if refused.done() and not joining.done():
            joining.cancel()
            error = refused.result()["error"]
            self._forget_room(room_jid)
            raise _join_failure(room, nick, password, error["condition"], error["text"])
        try:
            presence, subject, _, _ = joining.result()
        except PresenceError as exc:
            self._forget_room(room_jid)
            raise _join_failure(room, nick, password, exc.condition, exc.text) from None
        except TimeoutError:
            self._forget_room(room_jid)
            raise RoomError(f"The room {room} did not answer the join request.") from None
        if 201 in presence["muc"]["status_codes"]:
            # A new room the server keeps locked until its owner configures it: accept the
            # defaults (an "instant room", XEP-0045 10.1.2).
            await self.configure_room(room, {})
        return presence["from"].resource, subject["subject"] or ""

    def _forget_room(self, room: JID) -> None:
        self.muc.rooms[None].pop(room, None)
        self.muc.our_nicks[None].pop(room, None)

    def leave_room(self, room: str, nick: str, reason: str | None) -> None:
        try:
            self.muc.leave_muc(JID(room), nick, reason or "")
        except ValueError:
            pass  # slixmpp did not know the room (already gone): nothing to leave
        self._forget_room(JID(room))

    async def configure_room(self, room: str, fields: dict[str, Any]) -> None:
        try:
            form = await self.muc.get_room_config(JID(room), timeout=self.request_timeout)
            submit = self.plugin["xep_0004"].make_form(ftype="submit")
            if fields:  # servers check the form's type; an empty form means "defaults"
                submit.add_field(var="FORM_TYPE", ftype="hidden", value=ROOMCONFIG)
            known = form.get_fields()
            for name, value in fields.items():
                var = _config_var(name, known)
                if var is None:
                    raise RoomError(f"The room {room} has no configuration field {name!r}.")
                field = submit.add_field(var=var, ftype=known[var]["type"])
                field["value"] = value
            await self.muc.set_room_config(JID(room), submit, timeout=self.request_timeout)
        except IqError as exc:
            raise RoomError(f"Cannot configure the room {room}: {_iq_reason(exc)}.") from None
        except IqTimeout:
            raise RoomError(f"The room {room} did not answer.") from None

    async def destroy_room(self, room: str) -> None:
        try:
            await self.muc.destroy(JID(room), timeout=self.request_timeout)
        except IqError as exc:
            raise RoomError(f"Cannot destroy the room {room}: {_iq_reason(exc)}.") from None
        except IqTimeout:
            raise RoomError(f"The room {room} did not answer.") from None
        self._forget_room(JID(room))

    async def room_exists(self, room: str) -> bool:
        try:
            await self.plugin["xep_0030"].get_info(jid=JID(room), timeout=self.request_timeout)
        except IqError as exc:
            if exc.condition == "item-not-found":
                return False
            raise RoomError(f"Cannot look the room {room} up: {_iq_reason(exc)}.") from None
        except IqTimeout:
            raise RoomError(f"The room {room} did not answer.") from None
        return True

    async def muc_services(self) -> set[str]:
        """The server's MUC domains (disco#items, then each item's identity)."""
        disco = self.plugin["xep_0030"]
        found: set[str] = set()
        try:
            items = await disco.get_items(jid=JID(self.boundjid.domain), timeout=5)
        except (IqError, IqTimeout):
            return found
        for jid, _, _ in items["disco_items"]["items"]:
            try:
                info = await disco.get_info(jid=JID(jid), timeout=5)
            except (IqError, IqTimeout):
                continue
            if any(i[0] == "conference" for i in info["disco_info"]["identities"]):
                found.add(str(jid))
        return found


class NickTakenError(RoomError):
    """Someone else uses the nickname in the room (the bot may try another one)."""


def _join_failure(
    room: str, nick: str, password: str | None, condition: str, text: str
) -> RoomError:
    kind = NickTakenError if condition == "conflict" else RoomError
    return kind(_join_error(room, nick, password, condition, text))


def _join_error(room: str, nick: str, password: str | None, condition: str, text: str) -> str:
    why = f" ({text})" if text else ""
    if condition == "not-authorized":
        if password:
            return f"Wrong password for the room {room}{why}."
        return (
            f"The room {room} needs a password{why}: `!room join {room} <password>`, or "
            f"CHATROOM_PRESENCE = (('{room}', '<password>'),) in config.py."
        )
    if condition == "conflict":
        return f"The nickname {nick} is already used in the room {room} (CHATROOM_FN){why}."
    if condition == "registration-required":
        return f"The room {room} is members-only and the bot is not a member{why}."
    if condition == "forbidden":
        return f"The bot is banned from the room {room}{why}."
    if condition in ("item-not-found", "remote-server-not-found"):
        return f"The room {room} does not exist and cannot be created{why}."
    return f"Cannot join the room {room}: {condition}{why}."


def _config_var(name: str, known: dict[str, Any]) -> str | None:
    """The form field a short name means: "roomsecret" → "muc#roomconfig_roomsecret"."""
    for candidate in (name, name.replace("__", "#"), f"muc#roomconfig_{name}", f"muc#{name}"):
        if candidate in known:
            return candidate
    return None


def _iq_reason(exc: IqError) -> str:
    text = exc.text
    return f"{exc.condition} ({text})" if text else str(exc.condition)
