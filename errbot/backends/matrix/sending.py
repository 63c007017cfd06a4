"""Sending for the Matrix backend (a mixin of `MatrixBackend`): messages, cards and files.

Everything sent goes through the backend's outbox (`outbox`), in order, and waits
there while the homeserver is unreachable. A message to a person goes to the direct chat the
bot already has with them (created on first use, see `room_ops`).
"""

from __future__ import annotations

import asyncio
import io
import logging
import mimetypes
from typing import TYPE_CHECKING, Any

from nio import UploadResponse

from errbot.backends.base import Card, Identifier, Message, Stream
from errbot.backends.matrix.client import Disconnected, MatrixConnection, MatrixRequestError
from errbot.backends.matrix.identifiers import MatrixPerson
from errbot.backends.matrix.markup import (
    card_html,
    card_text,
    file_content,
    message_contents,
    relate,
    text_content,
)
from errbot.backends.matrix.rooms import MatrixRoom

if TYPE_CHECKING:
    from errbot.backends.matrix.backend import MatrixBackend

log = logging.getLogger(__name__)

IDENTIFIER_HELP = (
    "A Matrix identifier is @user:server (a person), !id:server or #alias:server (a room), "
    "or <room>/@user:server (someone in a room)."
)


class Sending:
    """send_message, send_card and send_stream_request; mixed into `MatrixBackend`."""

    def send_message(self: MatrixBackend, msg: Message) -> None:
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_message, msg)
            return
        super().send_message(msg)
        contents = self._contents(msg.body, msg.extras.get("matrix_mentions", ()))
        self._post(msg, contents, f"the message to {msg.to}")

    def send_card(self: MatrixBackend, card: Card) -> None:
        """A card as HTML: linked title, body, a table of fields, image and thumbnail links."""
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_card, card)
            return
        body = card.body or ""
        content = text_content(
            card_text(card, self._text.convert(body) if body else ""),
            card_html(card, self._html.convert(body) if body else ""),
        )
        if card.color:
            content["org.errbot.card.color"] = card.color
        self._post(card, [content], f"the card to {card.to}")

    def _contents(self: MatrixBackend, markdown: str, mentions: Any = ()) -> list[dict[str, Any]]:
        plain = self._text.convert(markdown)
        return message_contents(plain, self._html.convert(markdown), mentions)

    def _post(self: MatrixBackend, msg: Message, contents: list[dict[str, Any]], what: str) -> None:
        target = msg.to
        room_hint = msg.extras.get("room_id")
        parent = msg.parent
        thread = bool(msg.extras.get("matrix_thread"))

        async def deliver() -> None:
            room_id = await self._room_for(target, room_hint)
            reply_to, root = self._relation(parent, thread, room_id)
            conn = self._live()
            for content in contents:
                relate(content, reply_to, root)
                await conn.send_event(room_id, content, "m.room.message")

        self._outbox.put(what, deliver)

    @staticmethod
    def _relation(parent: Message | None, thread: bool, room_id: str) -> tuple[Any, Any]:
        """(event replied to, thread root) for a reply to ``parent`` in ``room_id``."""
        if parent is None or parent.extras.get("room_id") != room_id:
            return None, None
        event_id = parent.extras.get("event_id")
        root = parent.extras.get("thread_root")
        if not event_id:
            return None, None
        if root:
            return event_id, root  # a message in a thread: the reply stays in it
        if thread:
            return event_id, event_id  # DIVERT_TO_THREAD: a thread on the command
        return event_id, None

    def _live(self: MatrixBackend) -> MatrixConnection:
        if self._conn is None or not self._conn.logged_in:
            raise Disconnected("not logged in")
        return self._conn

    async def _room_for(self: MatrixBackend, target: Any, hint: str | None) -> str:
        if isinstance(target, MatrixRoom):
            return await self.room_id_of(target)
        if hint:
            return str(hint)
        if isinstance(target, MatrixPerson):
            return await self.direct_room_for(target.user_id)
        if isinstance(target, str):
            return await self._room_for(self.build_identifier(target), None)
        raise MatrixRequestError("sending", f"cannot send to {target!r}: {IDENTIFIER_HELP}")

    def send_stream_request(
        self: MatrixBackend,
        user: Identifier,
        fsource: Any,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> Stream:
        """Upload ``fsource`` to the media repository and post it as an ``m.file``."""
        stream = Stream(user, fsource, name, size, stream_type)
        self.runtime.call_soon(self._queue_stream, stream)
        return stream

    def _queue_stream(self: MatrixBackend, stream: Stream) -> None:
        name = stream.name or "file"
        mimetype = stream.stream_type or mimetypes.guess_type(name)[0] or "application/octet-stream"

        async def transfer() -> None:
            stream.accept()
            try:
                data = await asyncio.get_running_loop().run_in_executor(None, stream.read)
                conn = self._live()
                room_id = await self._room_for(stream.identifier, None)
                upload = await conn.call(
                    f"uploading {name}",
                    conn.client.upload(
                        io.BytesIO(data), content_type=mimetype, filename=name,
                        filesize=len(data),
                    ),
                    UploadResponse,
                )
                content = file_content(name, str(upload.content_uri), len(data), mimetype)
                await conn.send_event(room_id, content, "m.room.message")
            except Exception as exc:
                stream.error(str(exc))
                if isinstance(exc, Disconnected):
                    log.warning("The file %s was not sent: disconnected (%s).", name, exc)
                    return
                raise
            stream.ack_data(len(data))
            stream.success()

        self._outbox.put(f"the file {name} to {stream.identifier}", transfer)
