"""What `send_stream_request` sends on Telegram: the Bot API call for a stream type.

Errbot 6.2.1's Telegram backend documented ``stream_type`` values naming the kind of Telegram
message ("document", "photo", "audio", "video", "sticker", "location"); plugins written for
it pass them, so they keep their meaning here ("voice" added). Anything else, including no
type or a MIME type, is sent as a document, which Telegram accepts for any file.

As in 6.2.1, ``fsource`` may also be a dict ``{"content": <file or URL>, **options}`` whose
options go to the call (``caption``, ``duration``, ``performer``, ``title``...; a location
is ``{"latitude": ..., "longitude": ...}``), or a URL string that Telegram downloads itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

# stream_type -> (Bot method, name of its file argument)
KINDS = {
    "document": ("send_document", "document"),
    "photo": ("send_photo", "photo"),
    "audio": ("send_audio", "audio"),
    "video": ("send_video", "video"),
    "voice": ("send_voice", "voice"),
    "sticker": ("send_sticker", "sticker"),
}
# Files sent by URL or as stickers have no file name of their own.
_NAMED = ("document", "photo", "audio", "video", "voice")

UploadCall = Callable[[Any, int], Awaitable[Any]]


def split_source(fsource: Any) -> tuple[Any, dict[str, Any]]:
    """(content, options) of ``fsource`` (see module doc); the dict is not modified."""
    if isinstance(fsource, dict):
        options = dict(fsource)
        return options.pop("content", None), options
    return fsource, {}


def is_url(content: Any) -> bool:
    return isinstance(content, str) and bool(urlparse(content).scheme)


def upload_call(
    stream_type: str | None, content: Any, filename: str, options: dict[str, Any]
) -> UploadCall:
    """The API call sending ``content`` as ``stream_type`` (see module doc).

    Raises ValueError for a location without coordinates or a string that is not a URL."""
    kind = (stream_type or "document").lower()
    if kind == "location":
        try:
            latitude = float(options.pop("latitude"))
            longitude = float(options.pop("longitude"))
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                'A Telegram location needs fsource={"latitude": ..., "longitude": ...}.'
            ) from None

        async def locate(bot: Any, chat: int) -> Any:
            return await bot.send_location(chat, latitude, longitude, **options)

        return locate
    if isinstance(content, str) and not is_url(content):
        raise ValueError(f"Not a file or a URL: {content!r}.")
    method, argument = KINDS.get(kind, KINDS["document"])
    if argument in _NAMED and not is_url(content):
        options.setdefault("filename", filename)

    async def send(bot: Any, chat: int) -> Any:
        return await getattr(bot, method)(chat, **{argument: content}, **options)

    return send
