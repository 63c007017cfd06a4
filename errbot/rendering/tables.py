"""Lay out Markdown tables as text: box-drawn (heavy header, light body) or borderless.

The serializer feeds a :class:`Table` cell by cell while it walks the document, then asks
for the drawing. Widths are counted in code points, and a cell split by ``<br/>`` counts
the widths of all its lines added up: that is how Errbot sizes columns, and plugin test
suites compare rendered tables character for character.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["Cell", "Table"]


class _Line:
    __slots__ = ("pieces", "width")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.width = 0


class Cell:
    """One table cell: lines of text, each knowing how wide it shows on screen."""

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: list[_Line] = [_Line()]

    def write(self, text: str, width: int) -> None:
        line = self.lines[-1]
        line.pieces.append(text)
        line.width += width

    def break_line(self) -> None:
        self.lines.append(_Line())

    @property
    def width(self) -> int:
        return sum(line.width for line in self.lines)

    def line(self, index: int) -> tuple[str, int]:
        """The text and width of line ``index``; an empty line past the last one."""
        if index >= len(self.lines):
            return "", 0
        line = self.lines[index]
        return "".join(line.pieces), line.width


_EMPTY = Cell()


class Table:
    """Accumulates header and body rows, then draws them."""

    __slots__ = ("head", "body", "_in_head")

    def __init__(self) -> None:
        self.head: list[list[Cell]] = []
        self.body: list[list[Cell]] = []
        self._in_head = False

    def begin_head(self) -> None:
        self._in_head = True

    def end_head(self) -> None:
        self._in_head = False

    def new_row(self) -> None:
        (self.head if self._in_head else self.body).append([])

    def new_cell(self) -> None:
        rows = self.head if self._in_head else self.body
        if not rows:
            rows.append([])
        rows[-1].append(Cell())

    def write(self, text: str, width: int) -> None:
        """Append to the current cell; text outside any cell has nowhere to go and is dropped."""
        rows = self.head if self._in_head else self.body
        if rows and rows[-1]:
            rows[-1][-1].write(text, width)

    def break_line(self) -> None:
        rows = self.head if self._in_head else self.body
        if rows and rows[-1]:
            rows[-1][-1].break_line()

    def column_widths(self) -> list[int]:
        rows = [*self.head, *self.body]
        count = max((len(row) for row in rows), default=0)
        widths = [0] * count
        for row in rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], cell.width)
        return widths

    def draw(self, borders: bool = True) -> str:
        """The table as text, every line (the last one too) ending with a newline."""
        widths = self.column_widths()
        if not widths:
            return ""
        if borders:
            return "".join(self._boxed(widths))
        return "".join(self._borderless(widths))

    def _boxed(self, widths: Sequence[int]) -> Iterable[str]:
        def rule(left: str, fill: str, join: str, right: str) -> str:
            return left + join.join(fill * (w + 2) for w in widths) + right + "\n"

        if self.head:
            yield rule("┏", "━", "┳", "┓")
            for i, row in enumerate(self.head):
                if i:
                    yield rule("┣", "━", "╋", "┫")
                yield from _row_lines(row, widths, "┃ ", " ┃ ", " ┃\n")
            yield rule("┡", "━", "╇", "┩")
        else:
            yield rule("┌", "─", "┬", "┐")
        for i, row in enumerate(self.body):
            if i:
                yield rule("├", "─", "┼", "┤")
            yield from _row_lines(row, widths, "│ ", " │ ", " │\n")
        yield rule("└", "─", "┴", "┘")

    def _borderless(self, widths: Sequence[int]) -> Iterable[str]:
        for row in (*self.head, *self.body):
            yield from _row_lines(row, widths, "", " ", " \n")


def _row_lines(
    row: Sequence[Cell], widths: Sequence[int], left: str, between: str, right: str
) -> Iterable[str]:
    """Each screen line of one row, cells padded to their column width."""
    cells = [row[i] if i < len(row) else _EMPTY for i in range(len(widths))]
    height = max(len(cell.lines) for cell in cells)
    for index in range(height):
        padded = []
        for cell, width in zip(cells, widths, strict=True):
            text, used = cell.line(index)
            padded.append(text + " " * (width - used))
        yield left + between.join(padded) + right
