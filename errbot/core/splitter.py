"""Markdown-aware splitting of replies longer than the backend's message size limit.

Errbot slices replies every MESSAGE_SIZE_LIMIT characters, cutting words, code blocks and
tables in half (issue #754). Here each chunk ends at the best place that fits:

1. between blocks (paragraphs, headings, code blocks, tables),
2. at a line end,
3. at a space (spaces inside inline code, links or emphasis come last),
4. only as a last resort inside a word, and then never inside a grapheme (a letter and its
   combining marks, an emoji sequence, a flag, a CRLF pair stay together).

A fenced code block or a table that fits in one chunk is never cut. A longer code block is
cut between its lines; each chunk closes the fence and the next reopens it with the same
info string, so every chunk renders as code. A longer table is cut between rows and the next
chunk repeats the header row and the delimiter row.

The separator removed at each cut (a blank line, a newline, a run of spaces, or nothing) is
recorded by `plan_split`, so the original text is the concatenation of every piece's body and
separator. Trailing whitespace of the whole text is dropped when it has to be split.
"""

from __future__ import annotations

import bisect
import codecs
import itertools
import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "Piece",
    "is_grapheme_boundary",
    "plan_split",
    "split_message",
    "split_message_bytes",
]


class Piece(NamedTuple):
    """One chunk of a split text, with what was added to it and removed after it."""

    prefix: str  # added before the body: a reopened fence or a repeated table header
    body: str  # a slice of the original text
    suffix: str  # added after the body: a closing fence
    separator: str  # removed from the original between this body and the next one

    @property
    def text(self) -> str:
        return self.prefix + self.body + self.suffix


def split_message(text: str, limit: int) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters (see the module doc).

    A text that fits is returned unchanged as the only chunk. Otherwise every chunk is
    non-empty; a text made only of whitespace yields no chunk at all.
    """
    if limit < 1:
        raise ValueError(f"the size limit must be at least 1, got {limit}")
    if len(text) <= limit:
        return [text]
    return [piece.text for piece in plan_split(text, limit)]


def split_message_bytes(text: str, limit_bytes: int, encoding: str = "utf-8") -> list[str]:
    """Like `split_message`, but each chunk encodes to at most ``limit_bytes`` bytes.

    Characters are never cut, so every chunk encodes and decodes on its own. Characters the
    encoding cannot represent are counted as their replacement.
    """
    if limit_bytes < 1:
        raise ValueError(f"the size limit must be at least 1, got {limit_bytes}")
    if len(text.encode(encoding, "replace")) <= limit_bytes:
        return [text]
    return [piece.text for piece in plan_split(text, limit_bytes, encoding)]


def plan_split(text: str, limit: int, encoding: str | None = None) -> list[Piece]:
    """The pieces `split_message` (or, with ``encoding``, `split_message_bytes`) produces.

    ``"".join(p.body + p.separator for p in pieces) == text`` holds (unless the text is only
    whitespace too long to fit: there is no piece then), and each ``p.text`` measures at most
    ``limit`` characters (or encoded bytes).
    """
    if limit < 1:
        raise ValueError(f"the size limit must be at least 1, got {limit}")
    meter = _Meter(text, encoding)
    if meter.overhead + meter.span(0, len(text)) <= limit:
        return [Piece("", text, "", "")]
    end = len(text.rstrip())
    work = text[:end]
    if not work:
        return []
    pieces = _Planner(work, limit, meter).run()  # work is a prefix: the sums still apply
    if end < len(text):
        last = pieces[-1]
        pieces[-1] = last._replace(separator=last.separator + text[end:])
    return pieces


# -- measuring ----------------------------------------------------------------------------------


class _Meter:
    """Sizes in the unit of the limit: characters, or bytes in a given encoding."""

    def __init__(self, text: str, encoding: str | None) -> None:
        self.encoding = codecs.lookup(encoding).name if encoding else None
        # Encodings with a byte-order mark pay it once per chunk.
        self.overhead = len("".encode(encoding)) if encoding else 0
        # Prefix sums of the character costs, so any slice is measured in O(1).
        self._cumulative: list[int] | None = None
        if encoding:
            self._cumulative = list(itertools.accumulate(map(self._char_cost, text), initial=0))

    def _char_cost(self, ch: str) -> int:
        if self.encoding == "utf-8":
            cp = ord(ch)
            if cp < 0x80 or 0xD800 <= cp <= 0xDFFF:  # lone surrogates become "?"
                return 1
            return 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
        return len(ch.encode(self.encoding or "utf-8", "replace")) - self.overhead

    def span(self, start: int, stop: int) -> int:
        if self._cumulative is None:
            return stop - start
        return self._cumulative[stop] - self._cumulative[start]

    def size(self, s: str) -> int:
        if not self.encoding:
            return len(s)
        return sum(self._char_cost(ch) for ch in s)


# -- graphemes ----------------------------------------------------------------------------------

_ZWJ = "\u200d"


def _is_extend(ch: str) -> bool:
    """Characters that never start a grapheme: marks, joiners, selectors, modifiers, tags."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch == _ZWJ
        or ch == "\u200c"
        or 0xFE00 <= cp <= 0xFE0F
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
    )


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _hangul_kind(ch: str) -> str:
    cp = ord(ch)
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return ""


_HANGUL_JOINS = {
    "L": {"L", "V", "LV", "LVT"},
    "LV": {"V", "T"},
    "V": {"V", "T"},
    "LVT": {"T"},
    "T": {"T"},
}


def is_grapheme_boundary(text: str, i: int) -> bool:
    """Whether cutting ``text`` before index ``i`` keeps every user-perceived character whole.

    A compact version of the Unicode extended grapheme cluster rules (UAX #29) without the
    rarely used "prepend" class.
    """
    if i <= 0 or i >= len(text):
        return True
    prev, cur = text[i - 1], text[i]
    if prev == "\r" and cur == "\n":
        return False
    if prev < "\x80" and cur < "\x80":
        return True  # the common case, and no ASCII pair other than CRLF joins
    if unicodedata.category(prev) == "Cc" or unicodedata.category(cur) == "Cc":
        return True
    if _is_extend(cur):
        return False
    if prev == _ZWJ and (ord(cur) >= 0x1F000 or unicodedata.category(cur) == "So"):
        return False
    if _is_regional(prev) and _is_regional(cur):
        run = 0
        j = i - 1
        while j >= 0 and _is_regional(text[j]):
            run += 1
            j -= 1
        return run % 2 == 0
    prev_kind = _hangul_kind(prev)
    return not (prev_kind and _hangul_kind(cur) in _HANGUL_JOINS[prev_kind])


# -- Markdown blocks ----------------------------------------------------------------------------

_FENCE = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")
_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_TABLE_DELIMITER = re.compile(r" {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")
_SPACES = re.compile(r"[ \t]+")
# Inline constructs a cut would break: code spans, links and images, emphasis.
# Each alternative stops at the next delimiter, which keeps matching linear on long lines.
_INLINE_SPANS = re.compile(
    r"(`+)(?:(?!\1).)+?\1"
    r"|!?\[[^\]\n]*\]\([^)\n]*\)"
    r"|(\*\*|__|~~)(?=\S)(?:(?!\2).)+?(?<=\S)\2"
    r"|(?<![*\w])\*(?=[^\s*])[^*\n]*?(?<=[^\s*])\*(?![*\w])"
    r"|(?<![_\w])_(?=[^\s_])[^_\n]*?(?<=[^\s_])_(?![_\w])"
)


class _Line(NamedTuple):
    start: int  # first character
    stop: int  # end of the content, before "\n" or "\r\n"


class _Block(NamedTuple):
    kind: str  # "text", "code" or "table"
    lines: list[_Line]
    fence: str = ""  # code: the closing fence ("```", "~~~~", with its indentation)
    closed: bool = False  # code: whether the fence is closed in the text

    @property
    def start(self) -> int:
        return self.lines[0].start

    @property
    def stop(self) -> int:
        return self.lines[-1].stop


def _opening_fence(line: str) -> re.Match[str] | None:
    fence = _FENCE.fullmatch(line)
    if fence and fence[2][0] == "`" and "`" in fence[3]:
        return None  # a backtick fence's info string cannot contain a backtick
    return fence


def _lines(text: str) -> list[_Line]:
    lines = []
    start = 0
    while start < len(text):
        newline = text.find("\n", start)
        nxt = len(text) if newline < 0 else newline + 1
        stop = len(text) if newline < 0 else newline
        if stop > start and text[stop - 1] == "\r":
            stop -= 1
        lines.append(_Line(start, stop))
        start = nxt
    return lines


def _blocks(text: str) -> list[_Block]:
    """Cut the text into code blocks, tables and runs of other lines (blank lines dropped)."""
    lines = _lines(text)

    def content(k: int) -> str:
        return text[lines[k].start : lines[k].stop]

    def is_table_start(k: int) -> bool:
        return (
            k + 1 < len(lines)
            and "|" in content(k)
            and "|" in content(k + 1)
            and _TABLE_DELIMITER.fullmatch(content(k + 1)) is not None
        )

    blocks: list[_Block] = []
    k = 0
    while k < len(lines):
        line = content(k)
        if not line.strip():
            k += 1
            continue
        fence = _opening_fence(line)
        if fence:
            indent, marker = fence[1], fence[2]
            closing = re.compile(rf" {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*")
            j = k + 1
            while j < len(lines) and not closing.fullmatch(content(j)):
                j += 1
            closed = j < len(lines)
            last = j if closed else len(lines) - 1
            blocks.append(_Block("code", lines[k : last + 1], indent + marker, closed))
            k = last + 1
        elif is_table_start(k):
            j = k + 2
            while j < len(lines) and content(j).strip() and not _opening_fence(content(j)):
                j += 1
            blocks.append(_Block("table", lines[k:j]))
            k = j
        elif _HEADING.match(line):
            blocks.append(_Block("text", [lines[k]]))
            k += 1
        else:
            j = k + 1
            while j < len(lines):
                nxt = content(j)
                if not nxt.strip() or _opening_fence(nxt) or _HEADING.match(nxt):
                    break
                if is_table_start(j):
                    break
                j += 1
            blocks.append(_Block("text", lines[k:j]))
            k = j
    return blocks


# -- cut candidates -----------------------------------------------------------------------------

# Ranks, best first.
BLOCK, LINE, SPACE, WEAK_SPACE, GRAPHEME = 4, 3, 2, 1, 0

# A code block or table keeps its structure across chunks only if reopening and closing it
# leaves at least this much room for content.
_MIN_ROOM = 16


class _Cut(NamedTuple):
    at: int  # the body ends here
    resume: int  # the next body starts here; text[at:resume] is the removed separator
    rank: int
    close: str = ""
    reopen: str = ""


class _Region(NamedTuple):
    """A long code block: a cut strictly inside its content closes and reopens the fence."""

    block_start: int
    start: int  # first content character
    stop: int  # end of the last content line
    block_stop: int
    close: str
    reopen: str

    def allows(self, at: int) -> bool:
        """Whether a cut at ``at`` keeps both chunks well fenced (fence lines stay whole)."""
        return not (self.block_start < at < self.block_stop) or self.start < at < self.stop


class _SpacedLine:
    """A line whose inner spaces are cut candidates.

    Spaces only matter when no line end fits in a chunk, so they are looked at lazily, line
    by line, when a chunk ends inside this line.
    """

    __slots__ = ("start", "stop", "rank", "keep", "close", "reopen", "cuts")

    def __init__(
        self, line: _Line, rank: int, keep: bool = False, close: str = "", reopen: str = ""
    ) -> None:
        self.start, self.stop = line
        self.rank = rank  # SPACE or WEAK_SPACE (for spaces outside inline spans)
        self.keep = keep  # code: cut after the spaces and keep them
        self.close = close
        self.reopen = reopen
        self.cuts: list[_Cut] | None = None


class _Planner:
    def __init__(self, text: str, limit: int, meter: _Meter) -> None:
        self.text = text
        self.limit = limit
        self.meter = meter
        self.cuts: list[_Cut] = []
        self.spaced: list[_SpacedLine] = []
        self.regions: list[_Region] = []
        self._collect()
        self.cuts.sort()
        self.ats = [cut.at for cut in self.cuts]
        self.spaced.sort(key=lambda line: line.start)
        self.spaced_starts = [line.start for line in self.spaced]
        self.region_starts = [region.block_start for region in self.regions]

    # -- collecting candidates ------------------------------------------------------------------
    def _collect(self) -> None:
        blocks = _blocks(self.text)
        for before, after in zip(blocks, blocks[1:], strict=False):
            self._add(before.stop, after.start, BLOCK)
        for block in blocks:
            fits = self.meter.span(block.start, block.stop) <= self.limit
            if block.kind == "code" and not fits:
                self._collect_code(block)
            elif block.kind == "table" and not fits:
                self._collect_table(block)
            elif block.kind == "text":
                self._collect_lines(block.lines, SPACE)

    def _add(self, at: int, resume: int, rank: int, close: str = "", reopen: str = "") -> None:
        if is_grapheme_boundary(self.text, at) and is_grapheme_boundary(self.text, resume):
            self.cuts.append(_Cut(at, resume, rank, close, reopen))

    def _roomy(self, close: str, reopen: str) -> bool:
        overhead = self.meter.size(close) + self.meter.size(reopen) + self.meter.overhead
        return overhead + _MIN_ROOM <= self.limit

    def _collect_lines(self, lines: list[_Line], space_rank: int, reopen: str = "") -> None:
        """Cuts between the lines (repeating ``reopen``) and at the spaces inside them."""
        for line, nxt in zip(lines, lines[1:], strict=False):
            self._add(line.stop, nxt.start, LINE, reopen=reopen)
        self.spaced.extend(_SpacedLine(line, space_rank) for line in lines)

    def _collect_code(self, block: _Block) -> None:
        opening = block.lines[0]
        close = "\n" + block.fence
        reopen = self.text[opening.start : opening.stop] + "\n"
        inner = block.lines[1:-1] if block.closed else block.lines[1:]
        if not inner or not self._roomy(close, reopen):
            close = reopen = ""  # too tight to keep the fences: cut it like plain lines
            inner = block.lines
        else:
            self.regions.append(
                _Region(block.start, inner[0].start, inner[-1].stop, block.stop, close, reopen)
            )
        for line, nxt in zip(inner, inner[1:], strict=False):
            self._add(line.stop, nxt.start, LINE, close, reopen)
        self.spaced.extend(_SpacedLine(line, SPACE, True, close, reopen) for line in inner)

    def _collect_table(self, block: _Block) -> None:
        header, delimiter = block.lines[0], block.lines[1]
        reopen = (
            self.text[header.start : header.stop]
            + "\n"
            + self.text[delimiter.start : delimiter.stop]
            + "\n"
        )
        if len(block.lines) > 3 and self._roomy("", reopen):
            # Only between body rows: a chunk never ends on a header alone.
            self._collect_lines(block.lines[2:], WEAK_SPACE, reopen)
            self.spaced.extend(_SpacedLine(line, WEAK_SPACE) for line in block.lines[:2])
        else:
            self._collect_lines(block.lines, WEAK_SPACE)

    def _space_cuts(self, line: _SpacedLine) -> list[_Cut]:
        if line.cuts is not None:
            return line.cuts
        cuts: list[_Cut] = []
        content = self.text[line.start : line.stop]
        # Spaces and protected spans both come sorted; the spans do not overlap.
        protected = [] if line.keep else [m.span() for m in _INLINE_SPANS.finditer(content)]
        k = 0
        for match in _SPACES.finditer(content):
            start, stop = match.span()
            if start == 0 or stop == len(content):
                continue  # indentation and trailing spaces belong to their line
            while k < len(protected) and protected[k][1] <= start:
                k += 1
            inside = k < len(protected) and protected[k][0] < start
            rank = WEAK_SPACE if inside else line.rank
            at, resume = line.start + start, line.start + stop
            if line.keep:
                at = resume  # inside code every character counts: keep the spaces
            if is_grapheme_boundary(self.text, at) and is_grapheme_boundary(self.text, resume):
                cuts.append(_Cut(at, resume, rank, line.close, line.reopen))
        line.cuts = cuts
        return cuts

    # -- choosing cuts --------------------------------------------------------------------------
    def run(self) -> list[Piece]:
        text, meter = self.text, self.meter
        pieces: list[Piece] = []
        pos, prefix = 0, ""
        while True:
            budget = self.limit - meter.overhead - meter.size(prefix)
            if meter.span(pos, len(text)) <= budget:
                pieces.append(Piece(prefix, text[pos:], "", ""))
                return pieces
            cut = self._best_cut(pos, budget) or self._forced_cut(pos, budget)
            pieces.append(Piece(prefix, text[pos : cut.at], cut.close, text[cut.at : cut.resume]))
            pos, prefix = cut.resume, cut.reopen

    def _best_cut(self, pos: int, budget: int) -> _Cut | None:
        """The best ranked candidate that fits, the latest among equals."""
        horizon = pos + budget  # a character measures at least 1
        first = bisect.bisect_right(self.ats, pos)
        last = bisect.bisect_right(self.ats, horizon)
        best = self._pick(reversed(self.cuts[first:last]), pos, budget)
        if best is not None:
            return best
        # No line end fits: look at the spaces of the lines this chunk reaches into.
        k = max(bisect.bisect_right(self.spaced_starts, pos) - 1, 0)
        in_window: list[_Cut] = []
        while k < len(self.spaced) and self.spaced[k].start <= horizon:
            in_window.extend(
                cut for cut in self._space_cuts(self.spaced[k]) if pos < cut.at <= horizon
            )
            k += 1
        return self._pick(reversed(in_window), pos, budget)

    def _pick(self, latest_first: Iterable[_Cut], pos: int, budget: int) -> _Cut | None:
        best: _Cut | None = None
        for cut in latest_first:
            if best is not None and cut.rank <= best.rank:
                continue
            if self.meter.span(pos, cut.at) + self.meter.size(cut.close) <= budget:
                best = cut
                if cut.rank == BLOCK:
                    break
        return best

    def _forced_cut(self, pos: int, budget: int) -> _Cut:
        """The longest fitting body ending on a grapheme boundary, else on any character."""
        text = self.text
        hi = min(len(text), pos + max(budget, 1))  # a character measures at least 1
        while hi > pos + 1 and self.meter.span(pos, hi) > budget:
            hi -= 1
        for strict in (True, False):
            for at in range(hi, pos, -1):
                region = self._region(at)
                if strict and not (
                    is_grapheme_boundary(text, at) and (region is None or region.allows(at))
                ):
                    continue
                inside = region is not None and region.start < at < region.stop
                close, reopen = (region.close, region.reopen) if inside else ("", "")
                if self.meter.span(pos, at) + self.meter.size(close) <= budget:
                    return _Cut(at, at, GRAPHEME, close, reopen)
        raise ValueError(f"the size limit {self.limit} cannot hold a single character of the text")

    def _region(self, at: int) -> _Region | None:
        """The long code block around ``at``, if any."""
        # Regions come from successive blocks, so they are sorted and disjoint.
        k = bisect.bisect_left(self.region_starts, at) - 1
        if k >= 0 and at < self.regions[k].block_stop:
            return self.regions[k]
        return None
