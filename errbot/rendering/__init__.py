"""Markdown rendering for backends.

Plugins write Markdown Extra (python-markdown's ``extra``: tables, fenced code, attribute
lists such as ``{: color='red' bgcolor='blue'}``, footnotes, abbreviations, definition
lists). Each backend picks a converter in its constructor and calls ``convert`` on every
outgoing message::

    from errbot.rendering import text
    converter = text()            # shared and thread-safe; calling text() again is cheap
    plain = converter.convert("**hello**")   # -> "hello"

Importing this package does not import python-markdown; the first conversion that needs
it does.
"""

from __future__ import annotations

import re

from .converters import (
    ATTR_RE,
    AttrStripper,
    Converter,
    FormatConverter,
    XhtmlConverter,
    converter_for,
)
from .formats import CharacterTable, enable_format

__all__ = [
    "ATTR_RE",
    "CharacterTable",
    "Converter",
    "FormatConverter",
    "Mde2mdConverter",
    "ansi",
    "borderless_ansi",
    "converter_for",
    "enable_format",
    "imtext",
    "irc",
    "md",
    "md_escape",
    "text",
    "xhtml",
]

# Errbot's name for the attribute-stripping converter.
Mde2mdConverter = AttrStripper


def text() -> FormatConverter:
    """Markdown to plain Unicode text: no markup, box-drawn tables, entities unescaped.

    "# woot" gives "WOOT", "*woot*" gives "woot". The Test, XMPP and Telegram backends use it.
    """
    return converter_for("text")


def ansi() -> FormatConverter:
    """Markdown to terminal text with ANSI colours, bold and underline."""
    return converter_for("ansi")


def borderless_ansi() -> FormatConverter:
    """Like :func:`ansi` but tables have no borders (the Text backend's console)."""
    return converter_for("borderless")


def imtext() -> FormatConverter:
    """Markdown to IM style text: *bold*, _italic_, `code`, and ``` around blocks and tables."""
    return converter_for("imtext")


def irc(compact: bool = True) -> FormatConverter:
    """Markdown to IRC text with mIRC codes; compact output draws tables without borders."""
    return converter_for("irc" if compact else "irc_bordered")


_xhtml = XhtmlConverter()
_md = AttrStripper()


def xhtml() -> XhtmlConverter:
    """Markdown to XHTML (for XMPP's XHTML-IM)."""
    return _xhtml


def md() -> AttrStripper:
    """Markdown Extra to plain Markdown: only the ``{: ...}`` attribute lists are removed."""
    return _md


# Characters python-markdown (with the tables extension) un-escapes after a backslash.
_BACKSLASHED = "\\`*_{}[]()>#+-.!|"
_ESCAPE_RE = re.compile(
    "[" + re.escape(_BACKSLASHED) + "]"
    # "<" may open raw HTML or an autolink. "&" followed by a name or "#" may read as an
    # entity. A tab becomes spaces. None of these can be backslash-escaped, so they become
    # character references, which every converter turns back into the character.
    r"|<|&(?=[A-Za-z0-9#])|\t"
)
_REFERENCES = {"<": "&lt;", "&": "&amp;", "\t": "&#9;"}
# Block syntax that only exists at the start of a line following another one:
# definition lists (":") and setext underlines ("=").
_CONTINUATION_START = re.compile(r"(?<=\n)([:=])")
# "~~~" opens a fenced code block at the start of any line.
_TILDE_START = re.compile(r"^~", re.MULTILINE)
# Two spaces before a newline make a hard line break.
_TRAILING_SPACES = re.compile(r"(?<= ) (?=\n)")


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _REFERENCES.get(char) or "\\" + char


def md_escape(txt: str) -> str:
    """Escape ``txt`` so Markdown shows it as is: ``text().convert(md_escape(s)) == s``.

    That holds for text without leading or trailing whitespace, blank lines or control
    characters (which no Markdown text can carry through the text converter).
    """
    escaped = _ESCAPE_RE.sub(_escape_one, txt)
    if "\n" in escaped:
        escaped = _CONTINUATION_START.sub(lambda m: f"&#{ord(m.group(1))};", escaped)
        escaped = _TRAILING_SPACES.sub("&#32;", escaped)
    if "~" in escaped:
        escaped = _TILDE_START.sub("&#126;", escaped)
    return escaped
