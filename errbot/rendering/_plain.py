"""Recognise text that Markdown would leave untouched, so it can skip python-markdown.

Most bot replies are a line or two of plain words. For those, every text format renders
one paragraph whose content is the input itself, and parsing it costs far more than the
reply. The check is conservative: anything that could start Markdown syntax on any line,
or that python-markdown rewrites (tabs, carriage returns, control characters), goes the
slow way.
"""

from __future__ import annotations

import re

__all__ = ["plain_body"]

# Inline syntax: emphasis, code, links/images, raw HTML and autolinks, entities, escapes,
# tables, attribute lists.
_SYNTAX = re.compile(r"[*_`\[\]<>&\\!|{}]")

# Block syntax at the start of a line: indented code, headings, quotes, list items,
# definitions, setext underlines, tilde fences, ordered list numbers.
_BLOCK_START = re.compile(r"[ #>\-+:=~]|\d+[.)](?: |$)")


def plain_body(source: str) -> str | None:
    """The text every format would show for ``source`` before styling, or None if unsure.

    Returns the input without its leading and trailing newlines when it is one paragraph
    of plain text; None whenever Markdown could read it differently.
    """
    if _SYNTAX.search(source):
        return None
    body = source.strip("\n")
    if not body:
        return None
    for line in body.split("\n"):
        # isprintable() rejects tabs, carriage returns, control characters and every
        # whitespace but the ASCII space; an empty line would start a new paragraph.
        if not line or not line.isprintable() or line[-1] == " " or _BLOCK_START.match(line):
            return None
    return body
