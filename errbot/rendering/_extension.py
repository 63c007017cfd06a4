"""The python-markdown side: an extension that makes Markdown objects emit our text formats.

Importing this module imports ``markdown`` (slow), so the package only does it on the first
conversion that needs it. On import, every registered format is installed into
``Markdown.output_formats``, and formats registered later are installed as they come.
"""

from __future__ import annotations

import html
import re
from typing import Any
from xml.etree.ElementTree import Element

from markdown import Markdown
from markdown.extensions import Extension
from markdown.extensions.extra import ExtraExtension
from markdown.extensions.fenced_code import FencedBlockPreprocessor
from markdown.inlinepatterns import SubstituteTagPattern
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE, HTML_PLACEHOLDER_RE

from . import formats
from ._serializer import render

__all__ = ["RenderingExtension", "Serializer", "new_markdown"]


class Serializer:
    """The ``output_formats`` entry for one format name.

    It looks the format up on every call, so re-registering a name (Telegram and IRC
    switch table borders at start-up) also changes Markdown objects built before.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, root: Element) -> str:
        fmt = formats.get_format(self.name)
        if fmt is None:
            raise KeyError(f"The output format {self.name!r} is not registered.")
        return render(root, fmt)


def _output_key(name: str) -> str:
    # Markdown.set_output_format normalises the name it is given this way.
    return name.lower().rstrip("145")


def _install(fmt: formats.Format) -> None:
    Markdown.output_formats[_output_key(fmt.name)] = Serializer(fmt.name)  # type: ignore[assignment]


def _format_of(md: Markdown) -> formats.Format | None:
    serializer = getattr(md, "serializer", None)
    if isinstance(serializer, Serializer):
        return formats.get_format(serializer.name)
    return None


class _FencedCode(Preprocessor):
    """Keep fenced code verbatim: it goes to the HTML stash instead of becoming <pre><code>.

    The stashed text comes back in place of its placeholder after serialization, wrapped in
    the format's fixed-width markers (``` for IM text).

    ``errbot.rendering.ansiext.AnsiPreprocessor`` is this class. Plugin test suites written
    for Errbot monkeypatch its ``run`` with their own loop over ``self.FENCED_BLOCK_RE``,
    ``self._escape`` and ``self.markdown.htmlStash``, so those three names exist too.
    """

    FENCED_BLOCK_RE = FencedBlockPreprocessor.FENCED_BLOCK_RE

    @property
    def markdown(self) -> Markdown:
        # python-markdown 2.x called the processor's Markdown object ``markdown``.
        return self.md

    @staticmethod
    def _escape(code: str) -> str:
        # Replacement ``run`` methods stash escaped code; _Unescape restores it at the end.
        return html.escape(code, quote=True)

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        pattern = self.FENCED_BLOCK_RE
        match = pattern.search(text)
        while match is not None:
            # Everything is HTML-unescaped at the end; escaping "&" keeps code such as
            # "&amp;" literal through that.
            code = match.group("code").replace("&", "&amp;")
            fmt = _format_of(self.md)
            if fmt is not None:
                code = f"{fmt.chars.fixed_width}{code}{fmt.chars.end_fixed_width}"
            placeholder = self.md.htmlStash.store(code)
            text = f"{text[: match.start()]}\n{placeholder}\n{text[match.end() :]}"
            match = pattern.search(text)
        return text.split("\n")


class _SettleTableCells(Treeprocessor):
    """Give table cell text its final characters before the serializer measures it.

    Entities and inline HTML normally stay stashed placeholders until after serialization,
    which would size columns by the placeholders. Here they are resolved and unescaped,
    with "&" written back as "&amp;" so that the final unescape leaves the text as it is.
    """

    def run(self, root: Element) -> None:
        for cell in root.iter():
            if cell.tag not in ("td", "th"):
                continue
            for element in cell.iter():
                element.text = self._settle(element.text)
                if element is not cell:
                    element.tail = self._settle(element.tail)
                for attribute in ("href", "src"):
                    value = element.get(attribute)
                    if value:
                        element.set(attribute, self._settle(value) or "")

    def _settle(self, text: str | None) -> str | None:
        if not text:
            return text
        if "\x02" in text:
            text = HTML_PLACEHOLDER_RE.sub(self._stashed, text).replace(AMP_SUBSTITUTE, "&")
        if "&" in text:
            text = html.unescape(text).replace("&", "&amp;")
        return text

    def _stashed(self, match: re.Match[str]) -> str:
        stashed = self.md.htmlStash.rawHtmlBlocks[int(match.group(1))]
        return stashed if isinstance(stashed, str) else match.group()


class _Unescape(Postprocessor):
    """Markdown and Jinja's autoescape leave HTML entities; plain text wants the characters."""

    def run(self, text: str) -> str:
        return html.unescape(text)


class RenderingExtension(Extension):
    """Adapts a Markdown object to the text formats (Errbot calls it ``AnsiExtension``).

    Use it with ``ExtraExtension`` and an ``output_format`` registered by ``enable_format``.
    """

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (python-markdown's name)
        md.registerExtension(self)
        # Serializers here return text, not a <div>-wrapped document to unwrap.
        md.stripTopLevelTags = False
        md.preprocessors.register(_FencedCode(md), "ansi_fenced_codeblock", 20)
        if "fenced_code_block" in md.preprocessors:
            md.preprocessors.deregister("fenced_code_block")
        # A <br/> inside a table cell starts a new line of that cell, so it must reach the
        # serializer as an element rather than as stashed raw HTML.
        md.inlinePatterns.register(SubstituteTagPattern(r"<br/>", "br"), "br", 95)
        # Last of all tree processors, after the backslash-escape "unescape" one.
        md.treeprocessors.register(_SettleTableCells(md), "settle_table_cells", -1)
        md.postprocessors.register(_Unescape(), "unescape_html", 15)
        # prettify adds newlines for HTML readability; they would end up in the text.
        if "prettify" in md.treeprocessors:
            md.treeprocessors.deregister("prettify")


def new_markdown(output_format: str, **options: Any) -> Markdown:
    """A Markdown object rendering Markdown Extra to the registered format ``output_format``."""
    extensions = [ExtraExtension(), RenderingExtension()]
    return Markdown(output_format=output_format, extensions=extensions, **options)


# Listen first: a format registered meanwhile is then installed twice, never missed.
formats.add_listener(_install)
for _fmt in formats.registered():
    _install(_fmt)
