"""Files sent by plugins (`send_stream_request`), kept in memory for the page to download.

A development console needs no more: the newest few files are kept, each up to a size limit,
and a page downloads one by its random id.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from errbot.backends.base import Stream

log = logging.getLogger(__name__)

MAX_FILE_SIZE = 64 * 1024 * 1024
KEPT_FILES = 20


@dataclass(frozen=True)
class Download:
    name: str
    content: bytes
    media_type: str


class FileStore:
    """The last `KEPT_FILES` files sent, by id."""

    def __init__(self) -> None:
        self._files: OrderedDict[str, Download] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, download: Download) -> str:
        file_id = secrets.token_urlsafe(12)
        with self._lock:
            self._files[file_id] = download
            while len(self._files) > KEPT_FILES:
                self._files.popitem(last=False)
        return file_id

    def get(self, file_id: str) -> Download | None:
        with self._lock:
            return self._files.get(file_id)


def receive(stream: Stream, store: FileStore) -> str | None:
    """Read ``stream`` into ``store``, moving it through Errbot's transfer states.

    Returns the file id, or None when the transfer failed (the stream then says why).
    """
    try:
        stream.accept()
        content = stream.read(MAX_FILE_SIZE + 1)
        if len(content) > MAX_FILE_SIZE:
            stream.error(f"larger than {MAX_FILE_SIZE} bytes")
            return None
        stream.ack_data(len(content))
        name = stream.name or "download"
        file_id = store.add(Download(name, content, stream.stream_type or ""))
        stream.success()
        return file_id
    except Exception as exc:  # a plugin's file object may fail in any way
        log.exception("Receiving the file %s failed", stream.name)
        stream.error(str(exc) or type(exc).__name__)
        return None
