"""Markdown-aware splitting of long replies (`errbot.core.splitter`)."""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field

import pytest

from errbot.core.splitter import (
    Piece,
    is_grapheme_boundary,
    plan_split,
    split_message,
    split_message_bytes,
)


def rebuild(pieces: list[Piece]) -> str:
    return "".join(p.body + p.separator for p in pieces)


# -- basic contract -----------------------------------------------------------------------------


def test_text_that_fits_is_returned_unchanged() -> None:
    assert split_message("hello", 5) == ["hello"]
    assert split_message("", 10) == [""]
    assert split_message("  padded  \n\n", 100) == ["  padded  \n\n"]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_message("abc", 0)
    with pytest.raises(ValueError):
        split_message_bytes("abc", 0)


def test_prefers_a_blank_line_between_blocks() -> None:
    text = "First paragraph, short.\n\nSecond one goes on\nover two lines."
    assert split_message(text, 45) == [
        "First paragraph, short.",
        "Second one goes on\nover two lines.",
    ]


def test_prefers_a_line_end_over_a_space() -> None:
    text = "alpha beta gamma\ndelta epsilon zeta"
    assert split_message(text, 25) == ["alpha beta gamma", "delta epsilon zeta"]


def test_cuts_at_the_last_space_that_fits() -> None:
    assert split_message("one two three four five", 10) == ["one two", "three four", "five"]


def test_cuts_inside_a_word_only_when_nothing_else_fits() -> None:
    assert split_message("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]
    assert split_message("tiny " + "b" * 12, 10) == ["tiny", "b" * 10, "bb"]


def test_limit_of_one_character() -> None:
    assert split_message("abc", 1) == ["a", "b", "c"]
    assert split_message("a b", 1) == ["a", "b"]


def test_every_chunk_is_at_most_the_limit_exactly_at_the_edge() -> None:
    text = "abcd efgh ijkl"
    assert split_message(text, len(text)) == [text]
    assert split_message(text, len(text) - 1) == ["abcd efgh", "ijkl"]


def test_trailing_whitespace_is_dropped_only_when_splitting() -> None:
    pieces = plan_split("word " + " " * 30, 10)
    assert [p.text for p in pieces] == ["word"]
    assert rebuild(pieces) == "word " + " " * 30


def test_whitespace_only_text_that_does_not_fit_gives_no_chunk() -> None:
    assert split_message(" " * 20, 5) == []


def test_indentation_is_kept_at_the_start_of_a_chunk() -> None:
    text = "- item one\n  continued here\n- item two"
    chunks = split_message(text, 28)
    assert chunks == ["- item one\n  continued here", "- item two"]


def test_spaces_inside_links_and_inline_code_are_cut_last() -> None:
    text = "see [the manual page](http://x) and `a b c` now"
    chunks = split_message(text, 32)
    assert chunks[0] == "see [the manual page](http://x)"
    assert all(c.count("`") % 2 == 0 for c in chunks)


# -- code blocks --------------------------------------------------------------------------------


def test_code_block_that_fits_is_never_cut() -> None:
    code = "```\nline one\nline two\n```"
    text = "intro words here\n\n" + code + "\n\noutro"
    chunks = split_message(text, len(code) + 2)
    assert code in chunks


def test_long_code_block_is_cut_at_line_ends_and_fences_are_repeated() -> None:
    lines = [f"print({i})  # number {i}" for i in range(10)]
    text = "```python\n" + "\n".join(lines) + "\n```"
    chunks = split_message(text, 80)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk) <= 80
        assert chunk.startswith("```python\n")
        assert chunk.endswith("\n```")
    inner = [c[len("```python\n") : -len("\n```")] for c in chunks]
    assert "\n".join(inner).split("\n") == lines


def test_fence_length_and_char_are_reused() -> None:
    text = "~~~~ sh\n" + "\n".join(f"echo {i} {'x' * 10}" for i in range(8)) + "\n~~~~"
    chunks = split_message(text, 60)
    assert len(chunks) > 1
    assert all(c.startswith("~~~~ sh\n") and c.endswith("\n~~~~") for c in chunks)


def test_overlong_code_line_is_cut_inside_the_line_keeping_fences() -> None:
    text = "```\n" + "x" * 100 + "\n```"
    chunks = split_message(text, 40)
    assert all(len(c) <= 40 for c in chunks)
    assert all(c.startswith("```\n") and c.endswith("\n```") for c in chunks)
    assert "".join(c[4:-4] for c in chunks) == "x" * 100


def test_code_spaces_are_kept_when_cutting_inside_a_line() -> None:
    text = "```\n" + " ".join(["word"] * 30) + "\n```"
    pieces = plan_split(text, 50)
    assert all(p.separator == "" for p in pieces)
    assert rebuild(pieces) == text


def test_unclosed_code_block_is_still_reopened() -> None:
    text = "```js\n" + "\n".join(f"let v{i} = {i};" for i in range(10))
    chunks = split_message(text, 50)
    assert all(c.startswith("```js\n") for c in chunks)
    assert all(c.endswith("\n```") for c in chunks[:-1])


def test_tiny_limit_degrades_to_plain_cuts_inside_code() -> None:
    text = "```\n" + "y" * 30 + "\n```"
    pieces = plan_split(text, 10)
    assert all(len(p.text) <= 10 for p in pieces)
    assert rebuild(pieces) == text


# -- tables -------------------------------------------------------------------------------------


def test_table_that_fits_is_never_cut() -> None:
    table = "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |"
    text = "Some text before the table.\n\n" + table
    assert split_message(text, len(table) + 3) == ["Some text before the table.", table]


def test_long_table_repeats_header_and_delimiter() -> None:
    header = "| name | value |\n| :--- | ---: |\n"
    rows = [f"| row{i} | {i * 11} |" for i in range(12)]
    text = header + "\n".join(rows)
    chunks = split_message(text, 80)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk) <= 80
        assert chunk.startswith(header)
    body_rows = [line for c in chunks for line in c.split("\n")[2:]]
    assert body_rows == rows


# -- unicode ------------------------------------------------------------------------------------


def test_combining_marks_stay_with_their_base() -> None:
    text = "e\u0301" * 10
    chunks = split_message(text, 5)
    assert all(not unicodedata.combining(c[0]) for c in chunks)
    assert "".join(chunks) == text
    assert all(len(c) <= 5 for c in chunks)


def test_emoji_sequences_and_flags_stay_whole() -> None:
    family = "\U0001f469\u200d\U0001f4bb"  # woman technologist, joined by ZWJ
    flags = "\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea"  # FR DE
    assert split_message(family * 3, 4) == [family, family, family]
    assert split_message(flags, 3) == ["\U0001f1eb\U0001f1f7", "\U0001f1e9\U0001f1ea"]
    thumbs = "\U0001f44d\U0001f3fd"  # with a skin tone modifier
    assert split_message(thumbs * 2, 3) == [thumbs, thumbs]


def test_crlf_is_never_cut_in_two() -> None:
    assert not is_grapheme_boundary("a\r\nb", 2)
    pieces = plan_split("aaaa\r\nbbbb", 5)
    assert [p.text for p in pieces] == ["aaaa", "bbbb"]
    assert pieces[0].separator == "\r\n"


def test_hangul_jamo_stay_together() -> None:
    syllable = "\u1100\u1161\u11a8"  # L V T
    assert not is_grapheme_boundary(syllable, 1)
    assert not is_grapheme_boundary(syllable, 2)
    assert split_message(syllable * 2, 4) == [syllable, syllable]


def test_a_grapheme_longer_than_the_limit_is_cut_between_code_points() -> None:
    text = "a" + "\u0301" * 6
    chunks = split_message(text, 3)
    assert "".join(chunks) == text
    assert all(0 < len(c) <= 3 for c in chunks)


# -- bytes --------------------------------------------------------------------------------------


def test_byte_limit_counts_encoded_size() -> None:
    text = "héllo wörld ñandú"
    chunks = split_message_bytes(text, 8)
    assert chunks == ["héllo", "wörld", "ñandú"]
    assert all(len(c.encode()) <= 8 for c in chunks)


def test_byte_limit_never_cuts_a_multibyte_character() -> None:
    text = "€" * 10  # 3 bytes each
    chunks = split_message_bytes(text, 7)
    assert chunks == ["€€"] * 5


def test_byte_limit_that_fits_returns_the_text() -> None:
    assert split_message_bytes("€€", 6) == ["€€"]


def test_byte_limit_counts_a_byte_order_mark_once_per_chunk() -> None:
    text = "abcdefgh"
    chunks = split_message_bytes(text, 8, encoding="utf-16")
    assert all(len(c.encode("utf-16")) <= 8 for c in chunks)
    assert "".join(chunks) == text


def test_byte_limit_too_small_for_one_character_is_an_error() -> None:
    with pytest.raises(ValueError):
        split_message_bytes("€", 2)


# -- generated documents ------------------------------------------------------------------------

WORDS = [
    "the",
    "bot",
    "replies",
    "with",
    "a",
    "long",
    "answer",
    "café",
    "naïve",
    "e\u0301t\u00e9",
    "日本語",
    "\U0001f469\u200d\U0001f4bb",
    "\U0001f1eb\U0001f1f7",
    "**bold text**",
    "`a b`",
    "[a link](http://example.com/x)",
    "_it_",
    "\U0001f44d\U0001f3fd",
]


FENCES = [("```", ""), ("```", "python"), ("~~~", ""), ("````", "text")]


@dataclass
class Doc:
    """A generated Markdown document that remembers where its code blocks and tables are."""

    rng: random.Random
    text: str = ""
    code: list[tuple[int, int, str]] = field(default_factory=list)  # start, stop, opening line
    tables: list[tuple[int, int, str]] = field(default_factory=list)  # start, stop, header

    def add(self, part: str, kind: str = "", extra: str = "") -> None:
        if self.text:
            self.text += self.rng.choice(["\n\n", "\n\n", "\n\n\n", "\n  \n", "\r\n\r\n"])
        start = len(self.text)
        self.text += part
        if kind == "code":
            self.code.append((start, len(self.text), extra))
        elif kind == "table":
            self.tables.append((start, len(self.text), extra))


def words(rng: random.Random, count: int) -> str:
    picked = []
    for _ in range(count):
        if rng.random() < 0.03:
            picked.append("w" * rng.randint(30, 70))
        else:
            picked.append(rng.choice(WORDS))
    return " ".join(picked)


def generate(seed: int) -> Doc:
    rng = random.Random(seed)
    doc = Doc(rng)
    for _ in range(rng.randint(1, 12)):
        kind = rng.choice(["para", "para", "heading", "list", "code", "table"])
        if kind == "para":
            lines = [words(rng, rng.randint(1, 25)) for _ in range(rng.randint(1, 4))]
            doc.add("\n".join(lines))
        elif kind == "heading":
            doc.add("#" * rng.randint(1, 3) + " " + words(rng, rng.randint(1, 6)))
        elif kind == "list":
            items = ["- " + words(rng, rng.randint(1, 8)) for _ in range(rng.randint(1, 6))]
            doc.add("\n".join(items))
        elif kind == "code":
            fence, info = rng.choice(FENCES)
            opening = fence + info
            body = []
            for _ in range(rng.randint(1, 15)):
                if rng.random() < 0.1:
                    body.append("z" * rng.randint(40, 160))
                else:
                    body.append("    " * rng.randint(0, 2) + "x = f(1, 2)  # é")
            doc.add(opening + "\n" + "\n".join(body) + "\n" + fence, "code", opening)
        else:
            header = "| key | val |\n|-----|----:|"
            rows = [f"| k{i} | {rng.randint(0, 999)} |" for i in range(rng.randint(1, 12))]
            doc.add(header + "\n" + "\n".join(rows), "table", header)
    return doc


def cut_points(pieces: list[Piece]) -> list[tuple[int, int, int]]:
    """(index of the piece before, at, resume) in original coordinates."""
    points = []
    offset = 0
    for k, piece in enumerate(pieces[:-1]):
        at = offset + len(piece.body)
        resume = at + len(piece.separator)
        points.append((k, at, resume))
        offset = resume
    return points


@pytest.mark.parametrize("seed", range(150))
def test_generated_documents_keep_every_invariant(seed: int) -> None:
    doc = generate(seed)
    rng = random.Random(seed * 7919)
    for limit in (rng.randint(1, 30), rng.randint(31, 99), rng.randint(100, 400)):
        pieces = plan_split(doc.text, limit)
        assert rebuild(pieces) == doc.text
        for piece in pieces:
            assert piece.body
            assert len(piece.text) <= limit
        if len(doc.text) <= limit:
            assert split_message(doc.text, limit) == [doc.text]
        else:
            assert split_message(doc.text, limit) == [p.text for p in pieces]
        if limit < 100:
            continue
        # Large enough limits: no grapheme is cut, structures survive.
        for k, at, resume in cut_points(pieces):
            assert is_grapheme_boundary(doc.text, at), (k, at)
            assert is_grapheme_boundary(doc.text, resume), (k, resume)
            for start, stop, opening in doc.code:
                if start < at < stop:
                    assert stop - start > limit, "a code block that fits was cut"
                    assert pieces[k].suffix.startswith("\n") and pieces[k].suffix.strip() in opening
                    assert pieces[k + 1].prefix == opening + "\n"
            for start, stop, header in doc.tables:
                if start < at < stop:
                    assert stop - start > limit, "a table that fits was cut"
                    assert pieces[k + 1].prefix == header + "\n"
                    assert doc.text[resume : resume + 2] == "| "
        for piece in pieces:
            fences = [ln for ln in piece.text.splitlines() if re.match(r"(```|~~~)", ln)]
            assert len(fences) % 2 == 0, piece.text


@pytest.mark.parametrize("seed", range(60))
def test_generated_documents_by_bytes(seed: int) -> None:
    doc = generate(seed + 1000)
    rng = random.Random(seed)
    for limit in (rng.randint(4, 40), rng.randint(100, 500)):
        pieces = plan_split(doc.text, limit, "utf-8")
        assert rebuild(pieces) == doc.text
        for piece in pieces:
            assert piece.body
            assert len(piece.text.encode("utf-8")) <= limit
