"""Turn the ElementTree that python-markdown builds into text for one :class:`Format`.

The layout copies Errbot's text renderer, because plugin test suites assert on it byte for
byte: a paragraph is written as " " + content + "\\n" (so every paragraph but the first
keeps a leading space once the output is stripped), list items as "• " + content + "\\n",
headings indented by level, links as "text (url)", images as their URL, tables drawn by
:mod:`errbot.rendering.tables`. HTML entities are left for the caller to unescape.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from xml.etree.ElementTree import Element

from markdown.util import HTML_PLACEHOLDER_RE

from .formats import CharacterTable, Format
from .tables import Table

__all__ = ["HR", "render"]

log = logging.getLogger(__name__)

HR = "─" * 80

# Element types whose own text is layout whitespace, never content.
_NO_TEXT = frozenset({"ul", "table", "thead", "tbody", "tr"})


class _Writer:
    """Collects output, routing it into the current table cell while inside a table."""

    __slots__ = ("chars", "borders", "codes_take_room", "out", "table")

    def __init__(self, fmt: Format) -> None:
        self.chars: CharacterTable = fmt.chars
        self.borders = fmt.borders
        # Tables sit in a fixed-width block when the format has one: markup shows there as
        # literal characters, so it takes room. Elsewhere codes are invisible (ANSI, mIRC).
        self.codes_take_room = bool(str(fmt.chars.fixed_width))
        self.out: list[str] = []
        self.table: Table | None = None

    def text(self, text: str) -> None:
        if self.table is not None:
            # Cell text is already final apart from "&" written as "&amp;" (see the
            # extension's cell settling), so its width is that of the unescaped text.
            width = len(html.unescape(text)) if "&" in text else len(text)
            self.table.write(text, width)
        else:
            self.out.append(text)

    def code(self, name: str) -> None:
        """Write the character table entry ``name`` (a colour or style switch)."""
        self.code_value(str(getattr(self.chars, name)))

    def code_value(self, value: str) -> None:
        if not value:
            return
        if self.table is not None:
            self.table.write(value, len(value) if self.codes_take_room else 0)
        else:
            self.out.append(value)


# A closing action runs after the element's children, in the order they were queued.
_Close = Callable[[_Writer], None]


def _colour_codes(element: Element, w: _Writer, closing: list[_Close]) -> None:
    for key, value in element.items():
        if key == "color":
            prefix, what = "fg_", "color"
        elif key == "bgcolor":
            prefix, what = "bg_", "bgcolor"
        else:
            continue
        name = prefix + value
        if name not in CharacterTable._fields:
            log.warning("There is no '%s' %s in this output format.", value, what)
            continue
        w.code(name)
        closing.append(lambda w, default=prefix + "default": w.code(default))


def _write_code_block(text: str, w: _Writer) -> None:
    start, end = str(w.chars.fixed_width), str(w.chars.end_fixed_width)
    if start or end:
        w.code_value(start)
        w.text(text.rstrip("\n") + "\n")
        w.code_value(end)
    else:
        w.text(text)


def _only_placeholder(element: Element) -> bool:
    return len(element) == 0 and HTML_PLACEHOLDER_RE.fullmatch(element.text or "") is not None


def _walk(element: Element, w: _Writer, parent_tag: str) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    text: str | None = None if tag in _NO_TEXT else (element.text or "")
    closing: list[_Close] = []
    _colour_codes(element, w, closing)
    table = w.table

    if tag == "p":
        # A paragraph holding only stashed content is a fenced code block or raw HTML. A
        # format that fences blocks wants the fence at the start of its line.
        if not (w.codes_take_room and _only_placeholder(element)):
            w.text(" ")
        closing.append(lambda w: w.text("\n"))
    elif tag == "strong":
        w.code("fx_bold")
        closing.append(lambda w: w.code("fx_normal"))
    elif tag == "em":
        w.code("fx_underline")
        closing.append(lambda w: w.code("fx_not_underline"))
    elif tag == "code":
        if parent_tag == "pre":
            _write_code_block(text or "", w)
            text = None
        else:
            w.code("inline_code")
            closing.append(lambda w: w.code("end_inline_code"))
    elif tag == "img":
        text = element.get("src", "")
    elif tag == "a":
        href = element.get("href")
        if href is not None:
            closing.append(lambda w: w.text(f" ({href})"))
    elif tag == "li":
        w.text("• ")
        closing.append(lambda w: w.text("\n"))
    elif tag == "hr":
        w.text(HR + "\n")
    elif tag == "br":
        if table is not None:
            table.break_line()
    elif tag in _HEADINGS:
        _HEADINGS[tag](w, closing)
        if tag == "h1" and text:
            text = text.upper()
    elif tag == "table":
        w.table = Table()
    elif tag == "thead" and table is not None:
        table.begin_head()
        closing.append(lambda w: table.end_head())
    elif tag == "tr" and table is not None:
        table.new_row()
    elif tag in ("td", "th") and table is not None:
        table.new_cell()

    if text:
        w.text(text)
    for child in element:
        _walk(child, w, tag)
    if tag == "table" and w.table is not None:
        drawn, w.table = w.table.draw(w.borders), table
        w.code_value(str(w.chars.fixed_width))
        w.text(drawn)
        w.code_value(str(w.chars.end_fixed_width))
    for close in closing:
        close(w)
    tail = element.tail.rstrip("\n") if element.tail else ""
    if tail:
        w.text(tail)


def _h1(w: _Writer, closing: list[_Close]) -> None:
    w.code("fx_bold")
    closing.extend((lambda w: w.code("fx_normal"), lambda w: w.text("\n\n")))


def _h2(w: _Writer, closing: list[_Close]) -> None:
    w.text("\n  ")
    w.code("fx_bold")
    closing.extend((lambda w: w.code("fx_normal"), lambda w: w.text("\n\n")))


def _h3(w: _Writer, closing: list[_Close]) -> None:
    w.text("\n    ")
    w.code("fx_underline")
    closing.extend((lambda w: w.code("fx_not_underline"), lambda w: w.text("\n\n")))


def _h4(w: _Writer, closing: list[_Close]) -> None:
    w.text("\n      ")
    closing.append(lambda w: w.text("\n"))


_HEADINGS: dict[str, Callable[[_Writer, list[_Close]], None]] = {
    "h1": _h1,
    "h2": _h2,
    "h3": _h3,
    "h4": _h4,
    "h5": _h4,
    "h6": _h4,
}


def render(root: Element, fmt: Format) -> str:
    """Serialize the document ``root`` in ``fmt``; the trailing reset code ends the text."""
    w = _Writer(fmt)
    _walk(root, w, "")
    return "".join(w.out).rstrip("\n") + str(fmt.chars.fx_reset)
