"""Event contents the Matrix backend sends: formatted messages, replies, threads, cards, files.

Every message carries two renderings of the plugin's Markdown: ``body``, plain text for
clients without HTML (`errbot.rendering.text`), and ``formatted_body`` in
``org.matrix.custom.html`` (python-markdown with the ``extra`` extension). Clients keep only
the HTML subset the spec allows, so nothing here needs sanitising for safety.

Homeservers refuse events over 65,536 bytes (the whole event as JSON: the content plus the
envelope the server adds, a few hundred bytes). `fits` measures a content against a margin
under that; the backend sends the plain body alone, or splits further, when the HTML does
not fit.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from errbot.backends.base import Card

HTML_FORMAT = "org.matrix.custom.html"
# 65,536 bytes for the whole event; the envelope (IDs, hashes, signatures, timestamps) takes
# well under 2 KB on Synapse, so the content may use the rest.
MAX_CONTENT_BYTES = 63_000
# The characters a split chunk may hold (the core splits replies at MESSAGE_SIZE_LIMIT):
# plain body and HTML together stay under the byte limit for ordinary text; the byte check
# at sending covers the rest (entities, emoji), see MatrixBackend._contents.
MESSAGE_SIZE_LIMIT = 16_000


def content_size(content: dict[str, Any]) -> int:
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())


def fits(content: dict[str, Any]) -> bool:
    return content_size(content) <= MAX_CONTENT_BYTES


def text_content(
    body: str, formatted: str | None, msgtype: str = "m.text", mentions: Sequence[str] = ()
) -> dict[str, Any]:
    """An ``m.room.message``; ``m.mentions`` is always present, so clients ping only the
    people listed, never someone whose name merely appears in a quoted text."""
    content: dict[str, Any] = {"msgtype": msgtype, "body": body}
    if formatted is not None:
        content["format"] = HTML_FORMAT
        content["formatted_body"] = formatted
    content["m.mentions"] = {"user_ids": sorted(set(mentions))} if mentions else {}
    return content


def message_contents(
    plain: str, formatted: str, mentions: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The contents for one (already split) message: with HTML when the event fits, else
    the plain text alone, cut further by bytes when even that is too large (text heavy in
    escaped characters or emoji can triple in size as JSON and HTML)."""
    content = text_content(plain, formatted, mentions=mentions)
    if fits(content):
        return [content]
    content = text_content(plain, None, mentions=mentions)
    if fits(content):
        return [content]
    from errbot.core.splitter import split_message_bytes

    # JSON escapes (\uXXXX for control characters) may take 6 bytes per byte of text.
    return [
        text_content(chunk, None, mentions=mentions)
        for chunk in split_message_bytes(plain, MAX_CONTENT_BYTES // 6)
    ]


def relate(content: dict[str, Any], reply_to: str | None, thread_root: str | None) -> None:
    """Make ``content`` a reply to the event ``reply_to`` and, with ``thread_root``, part of
    that thread. In a thread the reply is marked as a fallback (``is_falling_back``): clients
    without threads show it as a reply to the latest message, threaded clients only in the
    thread."""
    if thread_root:
        relation: dict[str, Any] = {"rel_type": "m.thread", "event_id": thread_root}
        relation["is_falling_back"] = True
        relation["m.in_reply_to"] = {"event_id": reply_to or thread_root}
        content["m.relates_to"] = relation
    elif reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}


def pill(user_id: str, name: str | None) -> str:
    """The HTML mention clients show as a "pill"."""
    label = html.escape(name or user_id)
    return f'<a href="https://matrix.to/#/{html.escape(user_id, quote=True)}">{label}</a>'


def card_html(card: Card, body_html: str) -> str:
    """A card as HTML: a linked title, the body, a table of fields, the image as a link."""
    parts = []
    title = html.escape(card.title or "")
    if title:
        if card.link:
            title = f'<a href="{html.escape(card.link, quote=True)}">{title}</a>'
        parts.append(f"<h4>{title}</h4>")
    if card.summary:
        parts.append(f"<p><em>{html.escape(card.summary)}</em></p>")
    if body_html:
        parts.append(body_html)
    if card.fields:
        rows = "".join(
            f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(str(value))}</td></tr>"
            for key, value in card.fields
        )
        parts.append(f"<table>{rows}</table>")
    for label, url in (("image", card.image), ("thumbnail", card.thumbnail)):
        if url:
            parts.append(f'<p><a href="{html.escape(url, quote=True)}">{label}</a></p>')
    return "\n".join(parts)


def card_text(card: Card, body_text: str) -> str:
    """The plain body of a card, for clients without HTML."""
    lines = []
    if card.title:
        lines.append(f"{card.title} ({card.link})" if card.link else card.title)
    if card.summary:
        lines.append(card.summary)
    if body_text:
        lines.append(body_text)
    lines.extend(f"{key}: {value}" for key, value in card.fields)
    if card.image:
        lines.append(f"image: {card.image}")
    if card.thumbnail:
        lines.append(f"thumbnail: {card.thumbnail}")
    return "\n".join(lines)


def file_content(name: str, url: str, size: int, mimetype: str | None) -> dict[str, Any]:
    """An ``m.file`` (or ``m.image`` for images) pointing at uploaded media."""
    info: dict[str, Any] = {"size": size}
    if mimetype:
        info["mimetype"] = mimetype
    msgtype = "m.image" if (mimetype or "").startswith("image/") else "m.file"
    return {"msgtype": msgtype, "body": name, "filename": name, "url": url, "info": info}
