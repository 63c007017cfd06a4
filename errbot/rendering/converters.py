"""Converter objects: ``convert(markdown) -> str``, safe to share between threads.

python-markdown objects keep per-document state (footnotes, references, the HTML stash),
so one object must not convert two documents at once and must be reset between them. A
converter owns one Markdown object, built on first use, and serialises access with a lock.
Results are memoised in a small LRU cache, and plain text skips python-markdown entirely.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from . import formats
from ._plain import plain_body

if TYPE_CHECKING:
    from markdown import Markdown

__all__ = [
    "ATTR_RE",
    "AttrStripper",
    "Converter",
    "FormatConverter",
    "XhtmlConverter",
    "converter_for",
]

CACHE_SIZE = 512

# Markdown Extra attribute lists: {: color='red' }
ATTR_RE = re.compile(r"{:([^}]*)}")


@runtime_checkable
class Converter(Protocol):
    """Anything that turns Markdown into a backend's message format."""

    def convert(self, source: str) -> str: ...


class _MarkdownConverter:
    """A lazily built Markdown object behind a lock, with an LRU cache of results."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._lock = threading.Lock()
        self._md: Markdown | None = None
        self._cached = lru_cache(maxsize=cache_size)(self._convert_now)

    def _build(self) -> Markdown:
        raise NotImplementedError

    def _convert_now(self, source: str) -> str:
        with self._lock:
            if self._md is None:
                self._md = self._build()
            try:
                return self._md.convert(source)
            finally:
                # Footnotes and link references of one reply must not leak into the next.
                self._md.reset()

    def convert(self, source: str) -> str:
        """Render ``source`` (Markdown Extra)."""
        return self._cached(source)

    def forget(self) -> None:
        """Drop memoised results (the format they were rendered with has changed)."""
        self._cached.cache_clear()

    def reset(self) -> _MarkdownConverter:
        """Kept for code written against Markdown objects; every conversion starts afresh."""
        return self

    @property
    def markdown(self) -> Markdown:
        """The underlying python-markdown object, built on first access."""
        with self._lock:
            if self._md is None:
                self._md = self._build()
            return self._md


class FormatConverter(_MarkdownConverter):
    """Renders Markdown Extra to the text format registered as ``name``."""

    def __init__(self, name: str, cache_size: int = CACHE_SIZE, fast_path: bool = True) -> None:
        super().__init__(cache_size)
        self.name = name
        self.fast_path = fast_path

    def _build(self) -> Markdown:
        from ._extension import new_markdown

        return new_markdown(self.name)

    def convert(self, source: str) -> str:
        """Render ``source``; plain one-paragraph text takes a shortcut with the same result."""
        body = plain_body(source) if self.fast_path else None
        if body is not None:
            fmt = formats.get_format(self.name)
            reset = str(fmt.chars.fx_reset) if fmt is not None else ""
            # The full path unescapes entities at the very end, reset code included.
            if "&" not in reset:
                return (body + reset).strip()
        return self._cached(source)

    def __repr__(self) -> str:
        return f"FormatConverter({self.name!r})"


class XhtmlConverter(_MarkdownConverter):
    """Renders Markdown Extra to XHTML (for XMPP's XHTML-IM)."""

    def _build(self) -> Markdown:
        from markdown import Markdown
        from markdown.extensions.extra import ExtraExtension

        return Markdown(output_format="xhtml", extensions=[ExtraExtension()])

    def __repr__(self) -> str:
        return "XhtmlConverter()"


class AttrStripper:
    """Markdown Extra to plain Markdown: removes ``{: ...}`` attribute lists, nothing else."""

    def convert(self, source: str) -> str:
        # Removing one list can join braces into a new one, hence the loop.
        while True:
            stripped = ATTR_RE.sub("", source)
            if stripped == source:
                return stripped
            source = stripped

    def reset(self) -> AttrStripper:
        return self


_converters: dict[str, FormatConverter] = {}
_converters_lock = threading.Lock()


def converter_for(name: str) -> FormatConverter:
    """The shared converter for the registered format ``name`` (see ``enable_format``)."""
    conv = _converters.get(name)
    if conv is None:
        if formats.get_format(name) is None:
            raise ValueError(f"No output format named {name!r}; register it with enable_format.")
        with _converters_lock:
            conv = _converters.setdefault(name, FormatConverter(name))
    return conv


def _format_changed(fmt: formats.Format) -> None:
    conv = _converters.get(fmt.name)
    if conv is not None:
        conv.forget()


formats.add_listener(_format_changed)
