"""File uploads of the Slack backend (`send_stream_request`).

slack-sdk's ``files_upload_v2`` does Slack's three-step external upload:
files.getUploadURLExternal, the bytes POSTed to the URL it gives, then
files.completeUploadExternal sharing the file in the conversation.
"""

from __future__ import annotations

import logging
from typing import Any

from errbot.backends.base import Identifier, Stream

log = logging.getLogger(__name__)

__all__ = ["SlackFilesMixin"]


class SlackFilesMixin:
    """Mixed into `SlackBackend`; expects ``runtime``, ``client`` and ``channel_of``."""

    runtime: Any
    client: Any

    def send_stream_request(
        self,
        user: Identifier,
        fsource: Any,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> Stream:
        """Upload a file to a person or a channel; the returned Stream tells how it went."""
        stream = Stream(user, fsource, name, size, stream_type)
        data = stream.read()  # here, on the caller's thread: reading may block
        self.runtime.spawn(self._upload(stream, data))
        return stream

    async def _upload(self, stream: Stream, data: bytes) -> None:
        stream.accept()
        name = stream.name or "file"
        try:
            channel = await self.channel_of(stream.identifier)  # type: ignore[attr-defined]
            await self.client.files_upload_v2(channel=channel, file=data, filename=name, title=name)
        except Exception as exc:
            log.error("Uploading %s to %s failed: %s", name, stream.identifier, exc)
            stream.error(str(exc))
            return
        stream.ack_data(len(data))
        stream.success()
