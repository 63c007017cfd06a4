"""Helpers for XHTML-IM (XEP-0071) bodies built from :func:`errbot.rendering.xhtml`.

python-markdown writes non-ASCII and special characters as HTML character references, but
an XHTML-IM payload is XML, which only knows the five predefined entities. :func:`unescape`
turns every other reference into its character.
"""

from __future__ import annotations

import re
from html.entities import name2codepoint

__all__ = ["unescape"]

# The characters that XML markup itself uses stay references.
_MARKUP = frozenset("&<>\"'")

_REFERENCE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([A-Za-z][A-Za-z0-9]{0,31}));")


def _xml_char(codepoint: int) -> bool:
    """Whether XML 1.0 allows this character in a document."""
    return (
        codepoint in (0x9, 0xA, 0xD)
        or 0x20 <= codepoint <= 0xD7FF
        or 0xE000 <= codepoint <= 0xFFFD
        or 0x10000 <= codepoint <= 0x10FFFF
    )


def _replace(match: re.Match[str]) -> str:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        codepoint = name2codepoint.get(name)
        if codepoint is None:
            # Unknown names are left alone rather than guessed at.
            return match.group()
    else:
        codepoint = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if not _xml_char(codepoint):
        return "\ufffd"
    char = chr(codepoint)
    if char in _MARKUP:
        return match.group()
    return char


def unescape(xhtml: str) -> str:
    """Replace character references by characters, except where XML needs the reference."""
    return _REFERENCE.sub(_replace, xhtml)
