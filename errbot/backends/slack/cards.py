"""Errbot cards as Slack message attachments.

An attachment is the only Slack structure with a coloured side bar, which is what a card's
``color`` means, so a card becomes one attachment (title and title link, mrkdwn body, short
fields side by side, image, thumbnail) and the card's summary is the message text above it.
Colour names become hex values; ``good``, ``warning`` and ``danger`` (Slack's own) and
``#rrggbb`` pass through.
"""

from __future__ import annotations

from typing import Any

from errbot.backends.base import Card
from errbot.backends.slack.markup import md_to_mrkdwn

__all__ = ["COLORS", "card_attachment", "card_color"]

COLORS = {
    "black": "#000000",
    "white": "#ffffff",
    "red": "#ff0000",
    "green": "#008000",
    "yellow": "#ffa500",
    "blue": "#0000ff",
    "magenta": "#ff00ff",
    "cyan": "#00ffff",
    "grey": "#808080",
    "gray": "#808080",
}
SLACK_COLORS = frozenset({"good", "warning", "danger"})
# A field value this short sits next to another one.
SHORT_FIELD = 20


def card_color(color: str | None) -> str | None:
    if not color:
        return None
    value = str(color).strip()
    if value.lower() in SLACK_COLORS:
        return value.lower()
    if value.startswith("#"):
        return value
    return COLORS.get(value.lower(), None)


def card_attachment(card: Card) -> dict[str, Any]:
    """The attachment showing ``card``."""
    attachment: dict[str, Any] = {
        "fallback": card.summary or card.title or card.body or "card",
        "mrkdwn_in": ["text", "pretext", "fields"],
    }
    color = card_color(card.color)
    if color:
        attachment["color"] = color
    if card.title:
        attachment["title"] = card.title
    if card.link:
        attachment["title_link"] = card.link
    if card.body:
        attachment["text"] = md_to_mrkdwn(card.body)
    if card.fields:
        attachment["fields"] = [
            {
                "title": str(key),
                "value": md_to_mrkdwn(str(value)),
                "short": len(str(value)) <= SHORT_FIELD,
            }
            for key, value in card.fields
        ]
    if card.image:
        attachment["image_url"] = card.image
    if card.thumbnail:
        attachment["thumb_url"] = card.thumbnail
    return attachment
