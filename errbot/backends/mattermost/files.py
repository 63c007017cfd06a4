"""File uploads of the Mattermost backend (`send_stream_request`): files.upload_file into
the channel, then a post carrying the file ids, both through the outbox (so an upload made
while disconnected waits for the connection)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from errbot.backends.base import Identifier, Message, Stream
from errbot.backends.mattermost.client import MattermostConnection

__all__ = ["MattermostFilesMixin"]


class MattermostFilesMixin:
    """Mixed into `MattermostBackend`; expects ``runtime`` and the outbox mixin's
    ``_enqueue``, ``_post`` and ``channel_for``."""

    runtime: Any
    _enqueue: Any
    _post: Any
    channel_for: Any

    def send_stream_request(
        self,
        user: Identifier,
        fsource: Any,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> Stream:
        """Upload a file to a person's direct channel or to a channel, then post it. The
        returned stream moves to "success" once posted, or "error" (see `Stream.reason`)."""
        stream = Stream(user, fsource, name or "file", size, stream_type)

        async def upload(conn: MattermostConnection) -> None:
            if stream.status == "pending":
                stream.accept()
            try:
                data = await asyncio.to_thread(stream.read)
                channel_id = await self.channel_for(user)
                info = await conn.call(
                    "upload file",
                    conn.driver.files.upload_file,
                    files=(stream.name, data, stream_type or "application/octet-stream"),
                    channel_id=channel_id,
                )
                ids = [f["id"] for f in info.get("file_infos", [])]
                carrier = Message("", to=user)
                await self._post(conn, carrier, file_ids=ids, text="")
            except (httpx.TransportError, ConnectionError, OSError):
                if stream.seekable():
                    stream.seek(0)
                raise  # the outbox retries once reconnected
            except Exception as exc:
                stream.error(str(exc) or type(exc).__name__)
                raise
            stream.ack_data(len(data))
            stream.success()

        self.runtime.call_soon(self._enqueue, f"the file {stream.name} to {user}", upload)
        return stream
