"""`GraphicBackend`: the Text backend's conversation, shown in a local web page.

Identities and rooms work exactly as on the text console (``@name`` people, ``#room`` rooms,
the admin from ``BOT_ADMINS[0]``), so TextCmds' ``!inroom``, ``!asuser``, ``!asadmin`` apply
here too; the page offers the same switches as buttons. Instead of printing, replies, cards
and files become events for the page (`EventHub`), rendered to HTML on the bot's side.

The page is served on 127.0.0.1 only (GRAPHIC_PORT, 0 for any free port) and every request
must carry the random token printed at start-up.
"""

from __future__ import annotations

import inspect
import logging
import os
import secrets
import sys
import threading
from typing import Any

from errbot.backends.base import ONLINE, Card, Identifier, Message, Presence, Room, Stream
from errbot.backends.graphic.downloads import FileStore, receive
from errbot.backends.graphic.hub import EventHub, HubLogHandler
from errbot.backends.graphic.markup import safe_url, to_html
from errbot.backends.graphic.reloading import plugin_list, reload_plugin
from errbot.backends.text import DEFAULT_ROOM, TextBackend, TextPerson
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 3142
DEFAULT_USER = "@luser"  # as TextCmds' !asuser


def _browser_available() -> bool:
    """Whether a graphical browser can open: never start a terminal browser in our tty."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _port_setting(value: Any) -> int:
    """GRAPHIC_PORT as a port number; a wrong value is reported and the default used, so a
    typo in config.py costs a warning, not the start."""
    if value is None:
        return DEFAULT_PORT
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if isinstance(value, bool) or not 0 <= port <= 65535:
        log.warning("GRAPHIC_PORT = %r is not a port number (0 to 65535, 0 for any free "
                    "port); using %d.", value, DEFAULT_PORT)
        return DEFAULT_PORT
    return port


class GraphicBackend(TextBackend):
    """A chat page in the browser for developing plugins (`errbot -G`)."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.hub = EventHub(self.runtime.loop)
        self.files = FileStore()
        self.token = secrets.token_urlsafe(24)
        self.port = _port_setting(getattr(config, "GRAPHIC_PORT", DEFAULT_PORT))
        self.open_browser = bool(getattr(config, "GRAPHIC_OPEN_BROWSER", True))
        self.url: str | None = None
        self.ready = threading.Event()  # set once the page can be loaded and is announced
        self._stopping = threading.Event()
        self._server: Any = None

    @property
    def mode(self) -> str:
        return "graphic"

    # -- what the page shows -----------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Who speaks, where, and the rooms to choose from."""
        return {
            "user": str(self.user),
            "admin": self.is_admin(self.user),
            "room": str(self.room) if self.room is not None else None,
            "rooms": sorted(str(room) for room in self.rooms()),
            "prefix": self.prefix,
            "bot": str(self.bot_identifier),
        }

    def plugins(self) -> list[dict[str, Any]]:
        """Every plugin the reload button can reach, the ones that failed to load included."""
        manager = self.plugin_manager
        return [] if manager is None else plugin_list(manager)

    def command_catalogue(self) -> list[dict[str, str]]:
        """The commands as typed (prefix, spaces), their syntax and one line of help."""
        entries = []
        for _ in range(3):  # plugins may be (de)activated while the table is read
            try:
                table = sorted(self.commands.items())
                break
            except RuntimeError:
                continue
        else:
            table = []
        for name, command in table:
            if getattr(command, "_err_command_hidden", False):
                continue
            doc = inspect.getdoc(command) or ""
            if doc.startswith("usage:"):  # arg_botcmd: argparse's help, the syntax comes first
                doc = doc.partition("\n\n")[2]
            entries.append({
                "name": self.prefix + name.replace("_", " "),
                "syntax": str(getattr(command, "_err_command_syntax", None) or ""),
                "summary": self.with_prefix(doc.splitlines()[0]) if doc else "",
            })
        return entries

    def _publish_state(self) -> None:
        self.hub.publish("state", self.state())

    # -- who speaks, and where (the Text backend's, announced to the page) ---------------
    def talk_as(self, person: TextPerson) -> None:
        super().talk_as(person)
        self._publish_state()

    def talk_in_room(self, room: Any) -> Any:
        target = super().talk_in_room(room)
        self._publish_state()
        return target

    def talk_in_person(self) -> None:
        super().talk_in_person()
        self._publish_state()

    def switch(
        self, *, admin: bool | None = None, user: str | None = None, room: str | None = None,
        in_person: bool = False,
    ) -> dict[str, Any]:
        """The page's switches: speak as the admin or as ``user``, in ``room`` or in person.

        Raises ValueError for a name that is not an identifier.
        """
        if admin:
            self.talk_as(self.admin)
        elif admin is not None or user:
            name = (user or DEFAULT_USER).strip()
            person = self.build_identifier(name if name.startswith("@") else "@" + name)
            if not isinstance(person, TextPerson):
                raise ValueError(f"{name} is not a person.")
            self.talk_as(person)
        if in_person:
            self.talk_in_person()
        elif room is not None:
            name = room.strip() or DEFAULT_ROOM
            name = name if name.startswith("#") else "#" + name
            if len(name) < 2 or "/" in name:
                raise ValueError(f"{name} is not a room name.")
            self.talk_in_room(name)
        self._remember_identity()
        return self.state()

    def _remember_identity(self) -> None:
        """Let TextCmds store the switch, so the next start resumes it as after ``!inroom``."""
        manager = self.plugin_manager
        plugin = manager.get_plugin_obj_by_name("TextCmds") if manager is not None else None
        save = getattr(plugin, "_save", None)
        if plugin is not None and getattr(plugin, "is_activated", False) and callable(save):
            save()

    def reload_plugin(self, name: str) -> str | None:
        """Reload (or first load) the plugin ``name``; the error text when it fails."""
        if self.plugin_manager is None:
            return "This bot has no plugin manager."
        return reload_plugin(self.plugin_manager, name)

    # -- the conversation --------------------------------------------------------------
    def send_console_message(self, body: str) -> Message:
        frm, to = self.conversation()
        self.hub.publish("message", {"direction": "in", "text": body,
                                     "frm": str(frm), "to": str(to)})
        return super().send_console_message(body)

    def _addressing(self, msg: Message) -> dict[str, Any]:
        return {"frm": str(msg.frm), "to": str(msg.to),
                "private": msg.to is not None and not isinstance(msg.to, Room)}

    def send_message(self, msg: Message) -> None:
        ErrBot.send_message(self, msg)  # plugins' callback_botmessage; nothing printed
        self.hub.publish("message", {"direction": "out", "html": to_html(msg.body),
                                     **self._addressing(msg)})

    def send_card(self, card: Card) -> None:
        """A native card: title, summary, body, fields, link, picture, colour."""
        def url(value: str | None, image: bool = False) -> str | None:
            return value if value and safe_url(value, image=image) else None

        self.hub.publish("card", {
            "title": card.title or "",
            "summary": card.summary or "",
            "html": to_html(card.body or ""),
            "fields": [[str(key), str(value)] for key, value in card.fields or ()],
            "link": url(card.link),
            "image": url(card.image, image=True),
            "thumbnail": url(card.thumbnail, image=True),
            "color": card.color or "",
            **self._addressing(card),
        })

    def send_stream_request(
        self,
        user: Identifier,
        fsource: Any,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> Stream:
        """A file for ``user``: read in the background, then offered as a download."""
        stream = Stream(user, fsource, name, size, stream_type)

        def transfer() -> None:
            file_id = receive(stream, self.files)
            if file_id is not None:
                self.hub.publish("file", {"name": stream.name or "download",
                                          "size": stream.transfered, "id": file_id,
                                          "frm": str(self.bot_identifier), "to": str(user),
                                          "private": not isinstance(user, Room)})

        self.runtime.submit_background(transfer)
        return stream

    # -- serving -----------------------------------------------------------------------
    def start_console(self) -> str:
        """Start serving the page; returns its address (with the token)."""
        from errbot.backends.graphic.app import ConsoleApp
        from errbot.web.server import Binding, WebServer

        app = ConsoleApp(self)
        ports = (self.port, 0) if self.port else (0,)
        for port in ports:
            server = WebServer(app, Binding(HOST, port), self.runtime.loop)
            try:
                self.runtime.run_sync(server.start(), timeout=30)
                break
            except OSError as exc:
                if port == ports[-1]:
                    raise
                # A second bot in development is common: take any free port, still printed.
                log.warning("GRAPHIC_PORT %d is not available (%s); using a free port.",
                            port, exc.strerror or exc)
        self._server = server
        host, bound = server.addresses[0]
        self.url = f"http://{host}:{bound}/?token={self.token}"
        return self.url

    def stop_console(self) -> None:
        server, self._server = self._server, None
        self.hub.close()  # ends the open event streams first: nothing to wait for
        if server is None:
            return
        if self.runtime.loop.is_running():
            try:
                self.runtime.run_sync(server.stop(), timeout=15)
                return
            except Exception:
                log.exception("The graphic console did not stop cleanly")
        server.abandon()

    def stop(self) -> None:
        """Make `serve_forever` return (from any thread)."""
        self._stopping.set()

    def _announce(self, url: str) -> None:
        """Print the address (first line, alone: scripts read it), then what happens next."""
        print(f"Errbot's graphic console: {url}", flush=True)
        opened = False
        if self.open_browser and _browser_available():
            import webbrowser

            try:
                opened = webbrowser.open(url, new=2)
            except Exception as exc:  # no usable browser after all: the address is printed
                log.info("Could not open a browser: %s", exc)
        if opened:
            hint = "It is opening in your browser."
        else:
            hint = "Open this address in a browser on this machine."
        print(f"{hint} Press Ctrl-C here to stop the bot.", flush=True)

    def serve_forever(self) -> None:
        handler = HubLogHandler(self.hub)
        logging.getLogger().addHandler(handler)
        try:
            if not self.rooms():
                self.query_room(DEFAULT_ROOM).join()  # there is always a room to switch to
            url = self.start_console()
            self.connect_callback()
            self.callback_presence(Presence(identifier=self.user, status=ONLINE))
            self._publish_state()
            self._announce(url)
            self.ready.set()  # after the announcement: its lines never interleave with others
            while not self._stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            try:
                self.stop_console()
            finally:
                logging.getLogger().removeHandler(handler)
                self._finish(0)

    def shutdown(self) -> None:
        self._stopping.set()
        super().shutdown()
