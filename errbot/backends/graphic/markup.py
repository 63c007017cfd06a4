"""Markdown to HTML for the graphic console, safe to put into the page.

The console renders what plugins reply, and replies often echo what someone typed, so the
HTML is built defensively: raw HTML in the Markdown is shown as text, ``on*`` attributes
(reachable through attribute lists, ``{: onclick=...}``) are dropped and only web, mail and
relative links survive. Code blocks are highlighted by Pygments when it is installed.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from xml.etree.ElementTree import Element

from markdown import Markdown
from markdown.treeprocessors import Treeprocessor

_SAFE_SCHEMES = ("http:", "https:", "mailto:", "ftp:")
# A whole message that is only the address of a picture is shown as that picture.
_IMAGE_URL = re.compile(r"^\s*(https?://\S+\.(?:png|jpe?g|gif|webp|svg))\s*$", re.IGNORECASE)

_local = threading.local()  # python-markdown instances are not thread-safe


def safe_url(url: str, *, image: bool = False) -> bool:
    """Whether ``url`` may be a link (``image``: a picture) in the page: no script URLs."""
    lowered = re.sub(r"[\s\x00-\x1f]", "", url).lower()
    if ":" not in lowered.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]:
        return True  # relative: no scheme before the first / ? or #
    if image and lowered.startswith("data:image/") and not lowered.startswith("data:image/svg"):
        return True
    return lowered.startswith(_SAFE_SCHEMES)


class _Sanitizer(Treeprocessor):
    """Drops event handlers and unsafe URLs; links open in a new tab without the referrer."""

    def run(self, root: Element) -> None:
        for element in root.iter():
            for name in list(element.attrib):
                if name.lower().startswith("on") or name.lower() == "srcdoc":
                    del element.attrib[name]
            for name in ("href", "src"):
                url = element.get(name)
                if url is not None and not safe_url(url, image=element.tag == "img"):
                    del element.attrib[name]
            if element.tag == "a":
                element.set("target", "_blank")
                element.set("rel", "noopener noreferrer")


def _highlighting_available() -> bool:
    try:
        import pygments  # noqa: F401
    except ImportError:
        return False
    return True


def _build() -> Markdown:
    extensions: list[Any] = ["extra", "sane_lists", "nl2br"]
    configs: dict[str, dict[str, Any]] = {}
    if _highlighting_available():
        extensions.append("codehilite")
        configs["codehilite"] = {"guess_lang": False, "css_class": "codehilite"}
    md = Markdown(extensions=extensions, extension_configs=configs, output_format="html")
    # Without these two, "<script>" in a reply would reach the page as markup.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_Sanitizer(md), "errbot_sanitizer", 0)
    return md


def to_html(body: str) -> str:
    """The HTML of the Markdown ``body`` (a picture's address alone becomes the picture)."""
    image = _IMAGE_URL.match(body)
    if image:
        body = f"![]({image.group(1)})"
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _build()
    md.reset()
    return md.convert(body)


def highlight_css() -> str:
    """The stylesheet of the highlighted code (empty without Pygments)."""
    if not _highlighting_available():
        return ""
    from pygments.formatters import HtmlFormatter

    return str(HtmlFormatter(style="default").get_style_defs(".codehilite"))
