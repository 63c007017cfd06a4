"""Character tables for the text-like output formats, and the registry of named formats.

A format is a :class:`CharacterTable` (what to emit for colours, emphasis and code) plus
whether tables get borders. Formats are registered by name so that python-markdown
``Markdown(output_format=name)`` instances, including ones built by third-party backends,
find them. This module deliberately does not import ``markdown``: importing
``errbot.rendering`` must stay cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "ANSI_CHRS",
    "IMTEXT_CHRS",
    "IRC_CHRS",
    "NSC",
    "TEXT_CHRS",
    "CharacterTable",
    "Format",
    "add_listener",
    "enable_format",
    "get_format",
]


class NSC:
    """A marker string that takes no room on screen ("non spacing characters").

    Kept for backends written against Errbot's ``ansiext`` module, which wrap their
    control codes in it. Every code coming from a character table is treated as taking no
    room anyway (see ``tables``), so wrapping is optional here.
    """

    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s

    def __str__(self) -> str:
        return self.s

    def __repr__(self) -> str:
        return f"NSC({self.s!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NSC) and other.s == self.s

    def __hash__(self) -> int:
        return hash(self.s)


class CharacterTable(NamedTuple):
    """What a format emits around styled text. Field names are Errbot's (backends build these).

    Every field defaults to the empty string, so a backend only names what it supports.
    Values are strings or objects whose ``str()`` is the code to emit (e.g. :class:`NSC`).
    """

    fg_black: Any = ""
    fg_red: Any = ""
    fg_green: Any = ""
    fg_yellow: Any = ""
    fg_blue: Any = ""
    fg_magenta: Any = ""
    fg_cyan: Any = ""
    fg_white: Any = ""
    fg_default: Any = ""
    bg_black: Any = ""
    bg_red: Any = ""
    bg_green: Any = ""
    bg_yellow: Any = ""
    bg_blue: Any = ""
    bg_magenta: Any = ""
    bg_cyan: Any = ""
    bg_white: Any = ""
    bg_default: Any = ""
    fx_reset: Any = ""
    fx_bold: Any = ""
    fx_italic: Any = ""
    fx_underline: Any = ""
    fx_not_italic: Any = ""
    fx_not_underline: Any = ""
    fx_normal: Any = ""
    fixed_width: Any = ""
    end_fixed_width: Any = ""
    inline_code: Any = ""
    end_inline_code: Any = ""


COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


def _sgr(code: int) -> str:
    return f"\x1b[{code}m"


ANSI_CHRS = CharacterTable(
    **{f"fg_{name}": _sgr(30 + i) for i, name in enumerate(COLOURS)},
    fg_default=_sgr(39),
    **{f"bg_{name}": _sgr(40 + i) for i, name in enumerate(COLOURS)},
    bg_default=_sgr(49),
    fx_reset=_sgr(0),
    fx_bold=_sgr(1),
    fx_italic=_sgr(3),
    fx_underline=_sgr(4),
    fx_not_italic=_sgr(23),
    fx_not_underline=_sgr(24),
    fx_normal=_sgr(22),
)

TEXT_CHRS = CharacterTable()

# Chat clients read *bold*, _italic_ and backticks; tables and code blocks need a fixed-width
# font, hence the ``` fences.
IMTEXT_CHRS = CharacterTable(
    fx_bold="*",
    fx_normal="*",
    fx_underline="_",
    fx_not_underline="_",
    fixed_width="```\n",
    end_fixed_width="```\n",
    inline_code="`",
    end_inline_code="`",
)

# mIRC numbers for the eight base colours. 99 means "default colour" in modern clients;
# it lets us restore one of foreground/background without a bare \x03, which resets both.
_MIRC = {
    "black": 1,
    "red": 4,
    "green": 3,
    "yellow": 8,
    "blue": 2,
    "magenta": 6,
    "cyan": 10,
    "white": 0,
}
IRC_CHRS = CharacterTable(
    **{f"fg_{name}": f"\x03{num:02d}" for name, num in _MIRC.items()},
    fg_default="\x0399",
    **{f"bg_{name}": f"\x0399,{num:02d}" for name, num in _MIRC.items()},
    bg_default="\x0399,99",
    fx_reset="\x0f",
    # mIRC styles are toggles: the same byte switches them on and off.
    fx_bold="\x02",
    fx_normal="\x02",
    fx_italic="\x1d",
    fx_not_italic="\x1d",
    fx_underline="\x1f",
    fx_not_underline="\x1f",
)


@dataclass(frozen=True, slots=True)
class Format:
    """A registered output format: its characters and whether tables are drawn with borders."""

    name: str
    chars: CharacterTable
    borders: bool = True


_formats: dict[str, Format] = {}
_listeners: list[Callable[[Format], None]] = []
_lock = threading.Lock()


def _as_table(char_table: CharacterTable | Mapping[str, Any]) -> CharacterTable:
    if isinstance(char_table, CharacterTable):
        return char_table
    if isinstance(char_table, Mapping):
        unknown = sorted(set(char_table) - set(CharacterTable._fields))
        if unknown:
            raise ValueError(f"Unknown character table entries: {', '.join(unknown)}.")
        return CharacterTable(**char_table)
    # Errbot's own CharacterTable is a namedtuple with the same fields.
    fields = getattr(char_table, "_fields", None)
    if fields is not None and set(fields) <= set(CharacterTable._fields):
        return CharacterTable(**char_table._asdict())
    raise TypeError(
        f"char_table must be a CharacterTable or a mapping, not {type(char_table).__name__}."
    )


def enable_format(
    name: str, char_table: CharacterTable | Mapping[str, Any], borders: bool = True
) -> None:
    """Register (or replace) the output format ``name``.

    After this, ``Markdown(output_format=name, extensions=[ExtraExtension(), AnsiExtension()])``
    renders with ``char_table``, and cached converters of that name forget earlier results.
    """
    fmt = Format(name, _as_table(char_table), borders)
    with _lock:
        _formats[name] = fmt
        listeners = list(_listeners)
    for listener in listeners:
        listener(fmt)


def get_format(name: str) -> Format | None:
    """The format registered under ``name``, or None."""
    return _formats.get(name)


def registered() -> list[Format]:
    """Every registered format, in registration order."""
    with _lock:
        return list(_formats.values())


def add_listener(listener: Callable[[Format], None]) -> None:
    """Call ``listener(format)`` whenever a format is (re)registered."""
    with _lock:
        _listeners.append(listener)


for _name, _chars, _borders in (
    ("ansi", ANSI_CHRS, True),
    ("text", TEXT_CHRS, True),
    ("imtext", IMTEXT_CHRS, True),
    ("borderless", ANSI_CHRS, False),
    ("irc", IRC_CHRS, False),
    ("irc_bordered", IRC_CHRS, True),
):
    enable_format(_name, _chars, _borders)
