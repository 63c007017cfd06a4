"""Markdown to Telegram's HTML parse mode, and splitting for Telegram's 4096-character limit.

Telegram understands a small set of HTML tags (b, i, u, s, code, pre, a, blockquote,
tg-spoiler) and rejects a whole message when it sees any other tag or an unescaped ``<`` or
``&``. So the Markdown is rendered to XHTML by python-markdown (the same parser and
extensions as every other backend), then that HTML is rewritten into the allowed subset:
headings become bold lines, lists become lines with bullets or numbers, tables become
aligned text in a ``<pre>`` block, images become links, and any other tag (including raw
HTML a plugin wrote) is dropped while its text is kept, escaped. The result is always well
nested: tags left open by malformed raw HTML are closed.

Telegram counts the 4096 characters on the text *after* the tags are parsed, in UTF-16 code
units. The core already splits a long reply's Markdown at the backend's size limit without
breaking code blocks or tables (errbot.core.splitter); `render_chunks` checks each rendered
chunk and, in the rare case one is still too long (aligned tables grow, emoji count twice),
splits that chunk's Markdown again, smaller.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from errbot.core.splitter import split_message

MAX_MESSAGE_LENGTH = 4096  # characters after entity parsing (Bot API sendMessage)
MAX_CAPTION_LENGTH = 1024

# Markdown tags → the Telegram tag that shows them.
_INLINE = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "del": "s",
    "strike": "s",
    "tg-spoiler": "tg-spoiler",
    "blockquote": "blockquote",
}
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "hr", "blockquote", "div"}
# Elements whose whitespace-only text is layout from python-markdown, not content.
_CONTAINERS = {"ul", "ol", "table", "thead", "tbody", "tr", "blockquote", "div", "dl", None}
_SAFE_URL = re.compile(r"^(https?|tg)://", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_LANGUAGE = re.compile(r"language-([\w+#.-]+)")


def escape(text: str) -> str:
    """Escape text for Telegram HTML (``&``, ``<``, ``>``; quotes only matter in attributes)."""
    return html.escape(text, quote=False)


def visible_length(rendered: str) -> int:
    """How long Telegram considers ``rendered`` (HTML): its text, in UTF-16 code units."""
    text = html.unescape(_TAG.sub("", rendered))
    return len(text.encode("utf-16-le")) // 2


class _TelegramHTML(HTMLParser):
    """Rewrites python-markdown's XHTML into Telegram's HTML subset (see the module doc)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str | None] = []  # every open source element
        self.emitted: list[str] = []  # open Telegram tags, innermost last
        self.lists: list[list[Any]] = []  # [kind, counter] per open ul/ol
        self.pending_break = ""
        self.pre = 0  # inside <pre>: text only, no other tags
        self.table: list[list[str]] | None = None
        self.cell: list[str] | None = None
        self.link_closes: list[bool] = []

    # -- output helpers ---------------------------------------------------------------
    def _text_started(self) -> bool:
        return any(part for part in self.out)

    def _block_break(self, newlines: str = "\n\n") -> None:
        last = self.out[-1] if self.out else ""
        if last.startswith("<") and not last.startswith("</"):
            return  # right after an opening tag: "<blockquote>text", not "<blockquote>\n\n"
        if self._text_started() and len(newlines) > len(self.pending_break):
            self.pending_break = newlines

    def _write(self, text: str) -> None:
        if self.cell is not None:
            self.cell.append(text)
            return
        if self.pending_break and text:
            self._flush_break()
            self.pending_break = ""
        self.out.append(text)

    def _flush_break(self) -> None:
        if self.out and not self.out[-1].endswith(">"):
            self.out[-1] = self.out[-1].rstrip(" ")
        self.out.append(self.pending_break)
        self.pending_break = ""

    def _open(self, tag: str, attrs: str = "") -> None:
        if self.pending_break:  # the break goes before the tag, not inside it
            self._flush_break()
        self.out.append(f"<{tag}{attrs}>")
        self.emitted.append(tag)

    def _close(self, tag: str) -> None:
        if tag not in self.emitted:
            return  # never opened (malformed raw HTML): nothing to close
        if self.pre and self.out and self.out[-1].endswith("\n"):
            self.out[-1] = self.out[-1][:-1]  # the newline python-markdown ends code with
        while self.emitted:
            last = self.emitted.pop()
            self.out.append(f"</{last}>")
            if last == tag:
                break

    # -- parser callbacks --------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if self.pre:
            if tag == "code" and self.out and self.out[-1] == "<pre>":
                # A fenced block's language, which Telegram uses for highlighting.
                language = _LANGUAGE.search(attr.get("class") or "")
                self._open("code", f' class="language-{language.group(1)}"' if language else "")
            return
        if tag in _BLOCKS and not (tag == "p" and self.lists):
            self._block_break()
        if tag in ("br",):
            self._write("\n")
            return
        if tag == "hr":
            self._write("——————————")
            self._block_break()
            return
        if tag == "img":
            src = attr.get("src") or ""
            label = attr.get("alt") or src
            if _SAFE_URL.match(src):
                self._open("a", f' href="{html.escape(src)}"')
                self._write(escape(label))
                self._close("a")
            else:
                self._write(escape(label))
            return
        self.stack.append(tag)
        if self.table is not None:
            if tag == "tr":
                self.table.append([])
            elif tag in ("td", "th"):
                self.cell = []
            return
        if tag == "table":
            self.table = []
        elif tag == "pre":
            self.pre += 1
            self._open("pre")
        elif tag == "code":
            self._open("code")
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6", "dt"):
            self._open("b")
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 0])
        elif tag == "li":
            self._list_item()
        elif tag == "a":
            href = attr.get("href") or ""
            safe = bool(_SAFE_URL.match(href)) and "a" not in self.emitted
            if safe:
                self._open("a", f' href="{html.escape(href)}"')
            self.link_closes.append(safe)
        elif tag == "span" and "tg-spoiler" in (attr.get("class") or ""):
            self._open("tg-spoiler")
        elif tag in _INLINE:
            self._open(_INLINE[tag])

    def _list_item(self) -> None:
        if not self.lists:
            self._block_break("\n")
            self._write("• ")
            return
        kind = self.lists[-1]
        kind[1] += 1
        if self._text_started():
            self.pending_break = self.pending_break or "\n"
        indent = "   " * (len(self.lists) - 1)
        self._write(f"{indent}{kind[1]}. " if kind[0] == "ol" else f"{indent}• ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.pre and tag == "code":
            self._close("code")
            return
        if self.pre and tag != "pre":
            return
        if tag not in self.stack:
            return  # a stray end tag in raw HTML
        while self.stack and self.stack.pop() != tag:
            pass
        if self.table is not None:
            if tag in ("td", "th") and self.cell is not None and self.table:
                self.table[-1].append(" ".join("".join(self.cell).split()))
                self.cell = None
            elif tag == "table":
                rows, self.table = self.table, None
                self._open("pre")
                self._write(escape(_layout_table(rows)))
                self._close("pre")
                self._block_break()
            return
        if tag == "pre":
            self.pre -= 1
            self._close("pre")
        elif tag == "code":
            self._close("code")
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6", "dt"):
            self._close("b")
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
        elif tag == "a":
            if self.link_closes and self.link_closes.pop():
                self._close("a")
        elif tag == "span":
            self._close("tg-spoiler")
        elif tag in _INLINE:
            self._close(_INLINE[tag])
        if tag in _BLOCKS and not (tag == "p" and self.lists):
            self._block_break()
        elif tag in ("dt", "dd"):
            self._block_break("\n")

    def handle_data(self, data: str) -> None:
        if self.pre:
            if not self._pre_has_text():
                data = data.lstrip("\n")
            self._write(escape(data))
            return
        parent = self.stack[-1] if self.stack else None
        if not data.strip() and parent in _CONTAINERS:
            return
        if parent in ("li",) or (self.lists and parent in ("p", None)):
            data = data.strip("\n") if not data.strip() else data.rstrip("\n")
        self._write(escape(data))

    def _pre_has_text(self) -> bool:
        return not (self.out and self.out[-1].startswith(("<pre", "<code")))

    def result(self) -> str:
        self.close()
        while self.emitted:
            self.out.append(f"</{self.emitted.pop()}>")
        return "".join(self.out).strip()


def _layout_table(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, a rule under the header row."""
    rows = [row for row in rows if row]
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    rows = [row + [""] * (columns - len(row)) for row in rows]
    widths = [max(len(row[c]) for row in rows) for c in range(columns)]
    lines = [
        " │ ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    rule = "─┼─".join("─" * w for w in widths)
    return "\n".join([lines[0], rule, *lines[1:]])


class TelegramHTMLConverter:
    """``convert(markdown) -> Telegram HTML``; thread-safe (one parser per conversion)."""

    def __init__(self) -> None:
        from errbot.rendering import xhtml

        self._xhtml = xhtml()

    def convert(self, markdown: str) -> str:
        source = self._xhtml.convert(markdown)
        parser = _TelegramHTML()
        parser.feed(source)
        return parser.result()


def render_chunks(
    converter: TelegramHTMLConverter, markdown: str, limit: int = MAX_MESSAGE_LENGTH
) -> list[str]:
    """``markdown`` rendered as one or more messages, each at most ``limit`` long for
    Telegram. Empty renderings (only whitespace) are dropped: Telegram refuses them."""
    rendered = converter.convert(markdown)
    length = visible_length(rendered)
    if length <= limit:
        return [rendered] if rendered.strip() else []
    if len(markdown) <= 1:
        return [rendered]  # cannot split further (never reached with limit ≥ 2)
    # Aim below the limit by the ratio the rendering grew, and at least halve.
    target = max(1, min(len(markdown) // 2, int(len(markdown) * limit / length * 0.9)))
    chunks: list[str] = []
    for piece in split_message(markdown, target):
        chunks.extend(render_chunks(converter, piece, limit))
    return chunks


def render_card(converter: TelegramHTMLConverter, card: Any) -> str:
    """A Card as HTML: bold title (a link when the card has one), summary, body, fields as
    bold-key lines, and links to the image and thumbnail (Telegram shows a preview of the
    first link)."""
    parts: list[str] = []
    title = escape(card.title or "")
    link = card.link or ""
    if title and _SAFE_URL.match(link):
        parts.append(f'<b><a href="{html.escape(link)}">{title}</a></b>')
    elif title:
        parts.append(f"<b>{title}</b>")
    elif _SAFE_URL.match(link):
        parts.append(f'<a href="{html.escape(link)}">{escape(link)}</a>')
    if card.summary:
        parts.append(f"<i>{escape(card.summary)}</i>")
    if card.body:
        parts.append(converter.convert(card.body))
    if card.fields:
        parts.append(
            "\n".join(f"<b>{escape(str(k))}:</b> {escape(str(v))}" for k, v in card.fields)
        )
    for label, url in (("Image", card.image), ("Thumbnail", card.thumbnail)):
        if url and _SAFE_URL.match(url):
            parts.append(f'<a href="{html.escape(url)}">{label}</a>')
    return "\n\n".join(part for part in parts if part)
