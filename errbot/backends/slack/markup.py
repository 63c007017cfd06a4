"""Markdown (what plugins write) to Slack's mrkdwn, and Slack's markup back to plain text.

mrkdwn is not Markdown: bold is ``*x*``, italic ``_x_``, strike ``~x~``, links
``<url|text>``, there are no headings and no tables, and ``&``, ``<`` and ``>`` are control
characters that must be sent as ``&amp;``, ``&lt;`` and ``&gt;`` everywhere (even in code).

The converter works line by line rather than through a full Markdown parser because the
subset plugins use is small and the output must keep the source's line structure (the
core's splitter already cut the text at Markdown-safe places): fenced code stays fenced,
a table becomes an aligned block inside a fence (Slack has no table markup), headings
become bold lines, list bullets become "•".
"""

from __future__ import annotations

import re

__all__ = ["escape", "md_to_mrkdwn", "unescape"]

_FENCE = re.compile(r"^\s*(```+|~~~+)")
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_QUOTE = re.compile(r"^&gt;\s?(.*)$")

# Inline markup, applied to text already escaped for Slack. Private-use characters stand in
# for the pieces that later patterns must not touch (code spans, finished links, bold).
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*(\S+?)(?:\s+&quot;[^&]*&quot;|\s+\"[^\"]*\")?\s*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(\s*(\S+?)(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"&lt;((?:https?|mailto|ftp):[^\s]+?)&gt;")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_ITALIC_UNDER = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_BACKSLASH = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~])")
_SLOT = "\ue000{}\ue001"
_SLOT_RE = re.compile("\ue000(\\d+)\ue001")
_BOLD_OPEN, _BOLD_CLOSE = "\ue002", "\ue003"


# Slack's own references (<@U123>, <#C123|name>, <!here>) that plugins and the backend
# write on purpose: sent as they are.
_SLACK_REFERENCE = re.compile(r"(<[@#!][A-Za-z0-9^]+(?:\|[^<>]*)?>)")


def _escape_plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """Slack's three control characters as entities (nothing else is escaped), except in
    Slack references such as ``<@U123>``."""
    parts = _SLACK_REFERENCE.split(text)
    return "".join(p if i % 2 else _escape_plain(p) for i, p in enumerate(parts))


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _inline(line: str) -> str:
    """Inline Markdown of one escaped line to mrkdwn."""
    slots: list[str] = []

    def keep(value: str) -> str:
        slots.append(value)
        return _SLOT.format(len(slots) - 1)

    # Backslash escapes first, so "\*" is a literal star and never emphasis.
    line = _BACKSLASH.sub(lambda m: keep(m.group(1)), line)
    line = _SLACK_REFERENCE.sub(lambda m: keep(m.group(1)), line)
    line = _CODE_SPAN.sub(lambda m: keep(f"`{m.group(2).strip()}`"), line)
    line = _IMAGE.sub(lambda m: keep(f"<{m.group(2)}|{m.group(1) or m.group(2)}>"), line)
    line = _LINK.sub(lambda m: keep(f"<{m.group(2)}|{m.group(1)}>"), line)
    line = _AUTOLINK.sub(lambda m: keep(f"<{m.group(1)}>"), line)
    line = _BOLD.sub(lambda m: f"{_BOLD_OPEN}{m.group(2)}{_BOLD_CLOSE}", line)
    line = _ITALIC_STAR.sub(lambda m: f"_{m.group(1)}_", line)
    line = _ITALIC_UNDER.sub(lambda m: f"_{m.group(1)}_", line)
    line = _STRIKE.sub(lambda m: f"~{m.group(1)}~", line)
    line = line.replace(_BOLD_OPEN, "*").replace(_BOLD_CLOSE, "*")
    # Slots may nest (a link text holding a code span): restore until none is left.
    while _SLOT_RE.search(line):
        line = _SLOT_RE.sub(lambda m: slots[int(m.group(1))], line)
    return line


def _cells(row: str) -> list[str]:
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)]


def _table(rows: list[str]) -> list[str]:
    """A Markdown table as aligned plain text inside a fence (Slack draws no tables)."""
    header, body = _cells(rows[0]), [_cells(r) for r in rows[2:]]
    width = max(len(header), *(len(r) for r in body)) if body else len(header)
    grid = [r + [""] * (width - len(r)) for r in [header, *body]]
    plain = [[_BACKSLASH.sub(r"\1", c).replace("**", "").replace("`", "") for c in r] for r in grid]
    sizes = [max(len(unescape(r[i])) for r in plain) for i in range(width)]

    def line(cells: list[str]) -> str:
        padded = [c + " " * (sizes[i] - len(unescape(c))) for i, c in enumerate(cells)]
        return " | ".join(padded).rstrip()

    out = ["```", line(plain[0]), "-+-".join("-" * s for s in sizes)]
    out += [line(r) for r in plain[1:]]
    out.append("```")
    return out


def md_to_mrkdwn(source: str) -> str:
    """Render Markdown ``source`` as Slack mrkdwn."""
    lines = escape(source.replace("\r\n", "\n")).split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            # Code is sent verbatim (already escaped); the info string has no meaning in Slack.
            marker = fence.group(1)
            out.append("```")
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                out.append(lines[i])
                i += 1
            out.append("```")
            i += 1
            continue
        if (
            "|" in line
            and i + 1 < len(lines)
            and "|" in lines[i + 1]
            and _TABLE_DELIMITER.match(lines[i + 1])
        ):
            end = i + 2
            while end < len(lines) and "|" in lines[end] and lines[end].strip():
                end += 1
            out += _table(lines[i:end])
            i = end
            continue
        out.append(_block_line(line))
        i += 1
    return "\n".join(out).strip("\n")


def _block_line(line: str) -> str:
    heading = _HEADING.match(line)
    if heading:
        text = _inline(heading.group(2)).replace("*", "")
        return f"*{text}*" if text else ""
    if _RULE.match(line):
        return "──────────"
    bullet = _BULLET.match(line)
    if bullet:
        depth = len(bullet.group(1).expandtabs(4)) // 2
        return "    " * depth + "• " + _inline(bullet.group(2))
    quote = _QUOTE.match(line)
    if quote:
        return "> " + _inline(quote.group(1))
    return _inline(line)
