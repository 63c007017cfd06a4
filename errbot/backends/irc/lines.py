"""Text helpers of the IRC backend: fitting replies into IRC lines, finding mentions.

An IRC line is at most 512 bytes with its CR LF. The server relays the bot's PRIVMSG to the
other clients with the bot's full mask in front (``:nick!user@host PRIVMSG #chan :text``), so
the room left for text depends on that mask and on the target, not only on the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# 512 minus CR LF.
IRC_LINE_BYTES = 510
# Assumed when the server has not told us our own mask yet: a 10-character user name with
# the "~" ident marker, and a host name of 63 characters (the longest DNS label). Assuming
# too much only costs a few bytes per line; assuming too little would get lines truncated.
_UNKNOWN_USER = 11
_UNKNOWN_HOST = 63

# What the IRC protocol cannot carry inside a line.
_FORBIDDEN = str.maketrans("", "", "\x00\r")

# "nick:" or "nick," as a word, the way IRC users address each other.
_ADDRESSED = re.compile(r"(?:^|(?<=\s))([^\s:,]+)[:,](?=\s|$)")


def text_budget(command: str, target: str, nick: str, mask: str | None) -> int:
    """How many bytes of text fit in one ``command`` line to ``target``, as relayed."""
    if mask:
        prefix = f":{mask} "
    else:
        prefix = f":{nick}!" + "u" * _UNKNOWN_USER + "@" + "h" * _UNKNOWN_HOST + " "
    overhead = len(f"{prefix}{command} {target} :".encode())
    # Never below a usable minimum, even for absurdly long targets.
    return max(IRC_LINE_BYTES - overhead, 32)


def split_lines(text: str, budget: int) -> list[str]:
    """``text`` as IRC lines of at most ``budget`` UTF-8 bytes each.

    Line breaks become separate lines. A line that is too long is cut at the last space
    that fits (the space itself is dropped), or, for a word longer than a line, between two
    characters, never inside a character's UTF-8 encoding. Empty lines inside the text are
    sent as a single space, because IRC cannot send an empty message; empty lines at the
    start and the end are dropped.
    """
    lines: list[str] = []
    for raw in text.translate(_FORBIDDEN).split("\n"):
        if not raw.strip():
            lines.append(" ")
            continue
        lines.extend(_cut(raw, budget))
    while lines and lines[0] == " ":
        lines.pop(0)
    while lines and lines[-1] == " ":
        lines.pop()
    return lines


def _cut(line: str, budget: int) -> Iterable[str]:
    if len(line.encode()) <= budget:
        yield line
        return
    while line:
        size = 0
        end = 0  # characters of ``line`` that fit in the budget
        for char in line:
            width = len(char.encode())
            if size + width > budget:
                break
            size += width
            end += 1
        if end == len(line):
            yield line
            return
        space = line.rfind(" ", 0, end + 1)
        if space > 0:
            yield line[:space]
            line = line[space + 1 :]
        else:
            yield line[:end]
            line = line[end:]


def addressed_nicks(text: str) -> list[str]:
    """The words written as ``nick:`` or ``nick,`` in ``text``, in order, without repeats.

    These are candidates ("hi, bob" gives "hi" too): the backend keeps the channel's members.
    """
    found: list[str] = []
    for match in _ADDRESSED.finditer(text):
        nick = match.group(1)
        if nick not in found:
            found.append(nick)
    return found
