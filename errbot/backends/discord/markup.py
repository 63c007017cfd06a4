"""Plugin Markdown → Discord's Markdown, the 2000-character limit, and cards as embeds.

Discord renders most of Markdown itself (bold, italics, strike-through, inline code, fenced
code with syntax colouring, quotes, lists, ``#``-``###`` headings, ``[text](url)`` links in
bot messages), so the body is passed through, except for what Discord would show raw:

* ``{: color='red'}`` attribute lists (Markdown Extra) are dropped;
* tables become a fenced block with the table drawn in box characters;
* ``####``-``######`` headings become bold lines;
* images ``![alt](url)`` become their URL, which Discord unfurls into a preview.

The core splits a long reply at MESSAGE_SIZE_LIMIT (2000 here) *before* rendering; drawing
a table can make a chunk longer, so `render_chunks` splits the rendered text again with the
same Markdown-aware splitter (code blocks closed and reopened, never cut mid-line).
"""

from __future__ import annotations

import re
from typing import Any

from errbot.core.splitter import split_message

DISCORD_LIMIT = 2000
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_TITLE_LIMIT = 256
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FIELDS_MAX = 25

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_DEEP_HEADING = re.compile(r"^\s{0,3}#{4,6}\s+(.*?)\s*#*\s*$")
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")

# Colour names a plugin may give a card (the ones Errbot's templates know, and a few more).
COLORS = {
    "red": 0xE74C3C,
    "green": 0x2ECC71,
    "blue": 0x3498DB,
    "yellow": 0xF1C40F,
    "orange": 0xE67E22,
    "purple": 0x9B59B6,
    "magenta": 0xE91E63,
    "cyan": 0x1ABC9C,
    "white": 0xFFFFFF,
    "black": 0x000000,
    "grey": 0x95A5A6,
    "gray": 0x95A5A6,
}


class DiscordMarkup:
    """Converts plugin Markdown for Discord; one per backend (the converters are cached)."""

    def __init__(self) -> None:
        from errbot.rendering import md, text

        self._md = md()
        self._text = text()

    def render(self, body: str) -> str:
        body = self._md.convert(body)
        out: list[str] = []
        lines = body.split("\n")
        i = 0
        fence: str | None = None
        while i < len(lines):
            line = lines[i]
            opening = _FENCE.match(line)
            if fence is not None:
                if opening and opening.group(1) == fence:
                    fence = None
                out.append(line)
                i += 1
                continue
            if opening:
                fence = opening.group(1)
                out.append(line)
                i += 1
                continue
            if "|" in line and i + 1 < len(lines) and _TABLE_DELIMITER.match(lines[i + 1]):
                end = i + 2
                while end < len(lines) and "|" in lines[end] and lines[end].strip():
                    end += 1
                table = self._text.convert("\n".join(lines[i:end]))
                out.extend(["```", table, "```"])
                i = end
                continue
            heading = _DEEP_HEADING.match(line)
            if heading:
                line = f"**{heading.group(1)}**"
            out.append(_IMAGE.sub(r"\1", line))
            i += 1
        return "\n".join(out).strip("\n")

    def render_chunks(self, body: str, limit: int = DISCORD_LIMIT) -> list[str]:
        """The rendered body in pieces Discord accepts (empty list for a blank body)."""
        rendered = self.render(body)
        if not rendered.strip():
            return []
        return split_message(rendered, limit)

    def embed(self, card: Any) -> dict[str, Any]:
        """A Discord embed object (API form) for an errbot Card."""
        embed: dict[str, Any] = {"type": "rich"}
        if card.title:
            embed["title"] = _cut(card.title, EMBED_TITLE_LIMIT)
        if card.link:
            embed["url"] = card.link
        description = self.render(card.body) if card.body else ""
        if description:
            embed["description"] = _cut(description, EMBED_DESCRIPTION_LIMIT)
        color = parse_color(card.color)
        if color is not None:
            embed["color"] = color
        fields = [
            {
                "name": _cut(str(key), EMBED_FIELD_NAME_LIMIT) or "\u200b",
                "value": _cut(self.render(str(value)), EMBED_FIELD_VALUE_LIMIT) or "\u200b",
                "inline": True,
            }
            for key, value in list(card.fields)[:EMBED_FIELDS_MAX]
        ]
        if fields:
            embed["fields"] = fields
        if card.image:
            embed["image"] = {"url": card.image}
        if card.thumbnail:
            embed["thumbnail"] = {"url": card.thumbnail}
        if card.summary:
            embed["footer"] = {"text": _cut(card.summary, 2048)}
        return embed


def parse_color(color: Any) -> int | None:
    """A colour name, ``#rrggbb``/``rrggbb`` or an int → Discord's integer colour."""
    if color is None or color == "":
        return None
    if isinstance(color, int) and not isinstance(color, bool):
        return color & 0xFFFFFF
    text = str(color).strip().lower()
    if text in COLORS:
        return COLORS[text]
    text = text.removeprefix("#").removeprefix("0x")
    if re.fullmatch(r"[0-9a-f]{6}", text):
        return int(text, 16)
    if re.fullmatch(r"[0-9a-f]{3}", text):
        return int("".join(c * 2 for c in text), 16)
    return None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
