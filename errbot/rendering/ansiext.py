"""Errbot's ``errbot.rendering.ansiext`` names, for backends that build their own converters.

Backends in the wild do::

    from errbot.rendering.ansiext import AnsiExtension, enable_format, IMTEXT_CHRS
    enable_format("slack", IMTEXT_CHRS, borders=True)
    md = Markdown(output_format="slack", extensions=[ExtraExtension(), AnsiExtension()])

so this module imports python-markdown, unlike the package itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from ._extension import RenderingExtension, _FencedCode, _Unescape
from ._serializer import render
from .formats import (
    ANSI_CHRS,
    IMTEXT_CHRS,
    IRC_CHRS,
    NSC,
    TEXT_CHRS,
    CharacterTable,
    Format,
    enable_format,
)

__all__ = [
    "ANSI_CHRS",
    "IMTEXT_CHRS",
    "AnsiPostprocessor",
    "AnsiPreprocessor",
    "IRC_CHRS",
    "NSC",
    "TEXT_CHRS",
    "AnsiExtension",
    "CharacterTable",
    "enable_format",
    "translate",
]

AnsiExtension = RenderingExtension
# The processors the extension installs, under Errbot's names: plugin test suites patch them.
AnsiPreprocessor = _FencedCode
AnsiPostprocessor = _Unescape


def translate(
    element: Element,
    chr_table: CharacterTable | Mapping[str, Any] = ANSI_CHRS,
    borders: bool = True,
) -> str:
    """Serialize a python-markdown element tree with ``chr_table`` (no entity unescaping)."""
    chars = chr_table if isinstance(chr_table, CharacterTable) else CharacterTable(**chr_table)
    return render(element, Format("", chars, borders))
