"""Errbot cards as Mattermost message attachments (``props.attachments`` of a post).

Mattermost renders the attachment format Slack introduced: a coloured side bar, a title
(linked), Markdown text, short fields side by side, an image and a thumbnail. Colours must
be hex values; Errbot's colour names are mapped here.
"""

from __future__ import annotations

import re
from typing import Any

from errbot.backends.base import Card

_NAMED = {
    "red": "#ff0000",
    "green": "#36a64f",
    "blue": "#0000ff",
    "yellow": "#ffcc00",
    "orange": "#ff9900",
    "purple": "#800080",
    "magenta": "#ff00ff",
    "cyan": "#00ffff",
    "black": "#000000",
    "white": "#ffffff",
    "grey": "#808080",
    "gray": "#808080",
}
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def color(value: str | None) -> str | None:
    """A colour name or hex value as the ``#rrggbb`` Mattermost wants; None if unknown."""
    if not value:
        return None
    named = _NAMED.get(value.strip().lower())
    if named:
        return named
    match = _HEX.fullmatch(value.strip())
    return f"#{match.group(1).lower()}" if match else None


def attachment(card: Card, render: Any) -> dict[str, Any]:
    """The attachment for ``card``; ``render`` turns the card's Markdown into Mattermost's."""
    body = render(card.body) if card.body else ""
    item: dict[str, Any] = {
        # Shown by clients that cannot draw attachments (notifications, old apps).
        "fallback": card.summary or card.title or body[:200] or "card",
    }
    hex_color = color(card.color)
    if hex_color:
        item["color"] = hex_color
    if card.title:
        item["title"] = card.title
    if card.link:
        item["title_link"] = card.link
    if body:
        item["text"] = body
    if card.fields:
        # Short fields sit two to a row: the usual look of key/value facts.
        item["fields"] = [
            {"title": str(key), "value": render(str(value)), "short": True}
            for key, value in card.fields
        ]
    if card.image:
        item["image_url"] = card.image
    if card.thumbnail:
        item["thumb_url"] = card.thumbnail
    return item
