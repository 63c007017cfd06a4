"""errbot.rendering: Markdown Extra to text, ANSI, IM text, IRC, XHTML and back to Markdown."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from errbot.rendering import (
    CharacterTable,
    FormatConverter,
    ansi,
    borderless_ansi,
    converter_for,
    enable_format,
    imtext,
    irc,
    md,
    md_escape,
    text,
    xhtml,
)
from errbot.rendering._plain import plain_body
from errbot.rendering.formats import IRC_CHRS, TEXT_CHRS

HR = "─" * 80

STATUS_TABLE = """\
### Plugins

| Status | Name |
|--------|------|
| A | ChatRoom |
| B,D | Flows |
| C | Webserver |

A = Activated, D = Deactivated"""


@pytest.fixture
def restore_text_format() -> Iterator[None]:
    yield
    enable_format("text", TEXT_CHRS, borders=True)


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# woot", "WOOT"),
        ("*woot*", "woot"),
        ("**woot**", "woot"),
        ("`woot`", "woot"),
        ("_woot_", "woot"),
        ("hello", "hello"),
        ("", ""),
        ("   \n  ", ""),
        ("\n\nhello\n\n", "hello"),
        ("**bold *both* bold**", "bold both bold"),
        ("2*3*4", "234"),
        ("snake_case_name", "snake_case_name"),
        ("\\*not\\* em", "*not* em"),
        ("Warning: use `!plugin activate X` now.", "Warning: use !plugin activate X now."),
        ("``code with ` tick``", "code with ` tick"),
    ],
)
def test_text_inline(source: str, expected: str) -> None:
    assert text().convert(source) == expected


def test_text_paragraphs_after_the_first_start_with_a_space() -> None:
    assert text().convert("a\n\nb\n\nc") == "a\n b\n c"
    assert text().convert("para one\nstill one\n\npara two") == "para one\nstill one\n para two"


def test_text_headings() -> None:
    source = "# Title\n\nSome para\n\n## Sub\n\ntext"
    assert text().convert(source) == "TITLE\n\n Some para\n\n  Sub\n\n text"
    assert text().convert("a\n\n### Third\n\nb") == "a\n\n    Third\n\n b"
    assert text().convert("a\n\n#### Four\n\nb") == "a\n\n      Four\n b"
    # Only the heading's own text is upper-cased, not nested markup.
    assert text().convert("# Hello *World* again") == "HELLO World again"
    assert text().convert("a\n===") == "A"


def test_text_lists() -> None:
    assert text().convert("- a\n- b\n- c") == "• a\n• b\n• c"
    assert text().convert("1. one\n2. two") == "• one\n• two"
    assert text().convert("* star\n+ plus") == "• star\n• plus"
    # Errbot's layout for nested and loose lists, kept byte for byte.
    assert text().convert("- a\n    - nested\n    - n2\n- b") == "• a• nested\n• n2\n\n• b"
    assert text().convert("- a\n\n- b") == "•  a\n\n•  b"
    assert text().convert("- [link](u)\n- `code`") == "• link (u)\n• code"


def test_text_links_and_images() -> None:
    assert text().convert("[link](http://x.com)") == "link (http://x.com)"
    assert text().convert("para [a](u) more") == "para a (u) more"
    assert text().convert('[text](http://u "title")') == "text (http://u)"
    assert text().convert("![img](http://i.png)") == "http://i.png"
    assert text().convert("<http://auto.link>") == "http://auto.link (http://auto.link)"
    assert text().convert("mail <a@b.c>") == "mail a@b.c (mailto:a@b.c)"


def test_text_horizontal_rule() -> None:
    assert text().convert("---") == HR
    assert text().convert("a\n\n***\n\nb") == f"a\n{HR}\n b"


def test_text_code_blocks_are_raw() -> None:
    assert text().convert("```\ncode <x> & y\n  indented\n```") == "code <x> & y\n  indented"
    assert text().convert("```python\ndef f():\n    pass\n```") == "def f():\n    pass"
    assert text().convert("~~~\nfence\n~~~") == "fence"
    assert text().convert("text\n\n```\nblock\n```\n\nafter") == "text\n block\n\n after"
    assert text().convert("para\n\n    code\n    more\n\nafter") == "para\ncode\nmore\n after"
    # Entities inside code are code, not markup to unescape.
    assert text().convert("```\n&amp; literal &lt;\n```") == "&amp; literal &lt;"
    assert text().convert("```\n| not | table |\n```") == "| not | table |"


def test_text_unescapes_entities() -> None:
    # What Jinja's autoescape produces must come out as the real characters.
    assert text().convert("a &amp; b &lt;c&gt; &#39;q&#39; &quot;") == "a & b <c> 'q' \""
    assert text().convert("x & y < z") == "x & y < z"
    assert text().convert("&copy; &#8364; &#x27;") == "© € '"
    assert text().convert("&lt;script&gt;alert(1)&lt;/script&gt;") == "<script>alert(1)</script>"


def test_text_quotes_definitions_and_raw_html() -> None:
    assert text().convert("> quote\n> more") == "quote\nmore"
    assert text().convert("Term\n: Definition") == "TermDefinition"
    assert text().convert("<b>raw</b> html") == "<b>raw</b> html"
    assert text().convert("*[HTML]: Hyper\n\nThe HTML spec") == "The HTML spec"


def test_text_footnotes_do_not_leak_into_the_next_message() -> None:
    converter = text()
    rendered = converter.convert("Foot[^1]\n\n[^1]: note")
    assert rendered == f"Foot1 (#fn:1)\n{HR}\n•  note\xa0↩ (#fnref:1)"
    assert converter.convert("*[HTML]: Hyper\n\nThe HTML spec") == "The HTML spec"


# --- tables -------------------------------------------------------------------------------


def test_table_header_and_two_rows() -> None:
    source = "| a | b |\n|---|---|\n| long cell here | 2 |\n| x | yy |"
    assert text().convert(source) == (
        "┏━━━━━━━━━━━━━━━━┳━━━━┓\n"
        "┃ a              ┃ b  ┃\n"
        "┡━━━━━━━━━━━━━━━━╇━━━━┩\n"
        "│ long cell here │ 2  │\n"
        "├────────────────┼────┤\n"
        "│ x              │ yy │\n"
        "└────────────────┴────┘"
    )


def test_table_cells_padded_to_widest_cell_like_status_plugins() -> None:
    rendered = text().convert(STATUS_TABLE)
    assert "A      │ ChatRoom" in rendered
    assert "B,D    │ Flows" in rendered
    assert rendered == (
        "Plugins\n\n"
        "┏━━━━━━━━┳━━━━━━━━━━━┓\n"
        "┃ Status ┃ Name      ┃\n"
        "┡━━━━━━━━╇━━━━━━━━━━━┩\n"
        "│ A      │ ChatRoom  │\n"
        "├────────┼───────────┤\n"
        "│ B,D    │ Flows     │\n"
        "├────────┼───────────┤\n"
        "│ C      │ Webserver │\n"
        "└────────┴───────────┘\n"
        " A = Activated, D = Deactivated"
    )


def test_table_markup_in_cells_takes_no_room() -> None:
    source = "| key | value |\n|---|---|\n| **person** | `gbin@localhost` |"
    assert text().convert(source) == (
        "┏━━━━━━━━┳━━━━━━━━━━━━━━━━┓\n"
        "┃ key    ┃ value          ┃\n"
        "┡━━━━━━━━╇━━━━━━━━━━━━━━━━┩\n"
        "│ person │ gbin@localhost │\n"
        "└────────┴────────────────┘"
    )


def test_table_ragged_rows_unicode_and_entities() -> None:
    ragged = "| a | b | c |\n|---|---|---|\n| 1 | 2 |"
    assert text().convert(ragged) == (
        "┏━━━┳━━━┳━━━┓\n┃ a ┃ b ┃ c ┃\n┡━━━╇━━━╇━━━┩\n│ 1 │ 2 │   │\n└───┴───┴───┘"
    )
    # Widths count code points, as Errbot does.
    assert text().convert("| é | ü |\n|--|--|\n| ßß | 日本 |") == (
        "┏━━━━┳━━━━┓\n┃ é  ┃ ü  ┃\n┡━━━━╇━━━━┩\n│ ßß │ 日本 │\n└────┴────┘"
    )
    # Entities (Jinja's autoescape) are sized as the characters they stand for.
    assert text().convert("| a |\n|---|\n| it&#39;s &amp; &lt;b&gt; |") == (
        "┏━━━━━━━━━━━━┓\n┃ a          ┃\n┡━━━━━━━━━━━━┩\n│ it's & <b> │\n└────────────┘"
    )
    assert text().convert("| a | b |\n|---|---|\n| <a@b.c> | &amp;amp; |") == (
        "┏━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━┓\n"
        "┃ a                    ┃ b     ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━┩\n"
        "│ a@b.c (mailto:a@b.c) │ &amp; │\n"
        "└──────────────────────┴───────┘"
    )


def test_table_multiline_cells_and_surrounding_paragraphs() -> None:
    assert text().convert("| h |\n|---|\n| a<br/>b |") == (
        "┏━━━━┓\n┃ h  ┃\n┡━━━━┩\n│ a  │\n│ b  │\n└────┘"
    )
    source = "before\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nafter"
    assert text().convert(source) == (
        "before\n┏━━━┳━━━┓\n┃ a ┃ b ┃\n┡━━━╇━━━┩\n│ 1 │ 2 │\n└───┴───┘\n after"
    )
    assert text().convert("| only head |\n|---|") == (
        "┏━━━━━━━━━━━┓\n┃ only head ┃\n┡━━━━━━━━━━━┩\n│           │\n└───────────┘"
    )


def test_borderless_tables() -> None:
    rendered = borderless_ansi().convert("| a | bbb |\n|---|---|\n| ccc | d |\n\nafter")
    assert rendered == "a   bbb \nccc d   \n after\x1b[0m"


def test_text_format_can_be_switched_to_borderless(restore_text_format: None) -> None:
    source = "| a | bbb |\n|---|---|\n| ccc | d |"
    boxed = text().convert(source)
    enable_format("text", TEXT_CHRS, borders=False)
    assert text().convert(source) == "a   bbb \nccc d"
    enable_format("text", TEXT_CHRS, borders=True)
    assert text().convert(source) == boxed


# --- ANSI, IM text, IRC -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("*woot*", "\x1b[4mwoot\x1b[24m\x1b[0m"),
        ("**woot**", "\x1b[1mwoot\x1b[22m\x1b[0m"),
        ("`woot`", "woot\x1b[0m"),
        ("# woot", "\x1b[1mWOOT\x1b[22m\x1b[0m"),
        ("## Sub", "\x1b[1mSub\x1b[22m\x1b[0m"),
        ("### Third", "\x1b[4mThird\x1b[24m\x1b[0m"),
        ("hello", "hello\x1b[0m"),
        ("a\n\nb", "a\n b\x1b[0m"),
    ],
)
def test_ansi(source: str, expected: str) -> None:
    assert ansi().convert(source) == expected


def test_ansi_colours_from_attribute_lists() -> None:
    heading = ansi().convert("# Head {: color='blue' bgcolor='white'}")
    assert heading == "\x1b[34m\x1b[47m\x1b[1mHEAD\x1b[39m\x1b[49m\x1b[22m\x1b[0m"
    assert ansi().convert("para\n{: color='green'}") == "\x1b[32m para\x1b[39m\x1b[0m"
    # Colours mean nothing in plain text.
    assert text().convert("# Head {: color='blue' bgcolor='white'}") == "HEAD"


def test_unknown_colour_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="errbot.rendering"):
        assert ansi().convert("bad\n{: color='purple'}") == "bad\x1b[0m"
    assert "purple" in caplog.text


def test_ansi_table_codes_take_no_room() -> None:
    rendered = ansi().convert("| k | v |\n|---|---|\n| **bold** | x |")
    assert "│ \x1b[1mbold\x1b[22m │ x │" in rendered
    assert rendered.startswith("┏━━━━━━┳━━━┓\n┃ k    ┃ v ┃")


def test_imtext() -> None:
    assert imtext().convert("**woot**") == "*woot*"
    assert imtext().convert("*woot*") == "_woot_"
    assert imtext().convert("`woot`") == "`woot`"
    assert imtext().convert("# woot") == "*WOOT*"
    assert imtext().convert("[l](http://l)") == "l (http://l)"


def test_imtext_fences_code_blocks_and_tables() -> None:
    assert imtext().convert("```python\ndef f():\n    pass\n```") == "```\ndef f():\n    pass\n```"
    assert imtext().convert("text\n\n```\nblock\n```\n\nafter") == "text\n```\nblock\n```\n\n after"
    assert imtext().convert("    indented\n    code") == "```\nindented\ncode\n```"
    assert imtext().convert("| a | b |\n|---|---|\n| 1 | 2 |") == (
        "```\n┏━━━┳━━━┓\n┃ a ┃ b ┃\n┡━━━╇━━━┩\n│ 1 │ 2 │\n└───┴───┘\n```"
    )
    # Inside the fence markup shows literally, so it takes room.
    assert imtext().convert("| k |\n|---|\n| **b** |") == (
        "```\n┏━━━━━┓\n┃ k   ┃\n┡━━━━━┩\n│ *b* │\n└─────┘\n```"
    )


def test_irc() -> None:
    assert irc().convert("**b** *i* hello") == "\x02b\x02 \x1fi\x1f hello\x0f"
    assert irc().convert("# T {: color='red'}") == "\x0304\x02T\x0399\x02\x0f"
    assert irc().convert("| a | bbb |\n|---|---|\n| ccc | d |") == "a   bbb \nccc d   \x0f"
    assert irc(compact=False).convert("| a |\n|---|\n| b |").startswith("┏━━━┓")


def test_custom_format_from_a_mapping() -> None:
    enable_format("test-stars", {"fx_bold": "<<", "fx_normal": ">>"}, borders=False)
    converter = converter_for("test-stars")
    assert converter.convert("x **y** z") == "x <<y>> z"
    assert converter_for("test-stars") is converter


def test_enable_format_rejects_unknown_entries() -> None:
    with pytest.raises(ValueError, match="fx_blink"):
        enable_format("test-bad", {"fx_blink": "!"})
    with pytest.raises(ValueError, match="nonexistent"):
        converter_for("nonexistent")


def test_backend_style_markdown_objects() -> None:
    # What third-party backends (Slack, Hangouts Chat, ...) do with Errbot's ansiext module.
    from markdown import Markdown
    from markdown.extensions.extra import ExtraExtension

    from errbot.rendering.ansiext import IMTEXT_CHRS, NSC, AnsiExtension
    from errbot.rendering.ansiext import enable_format as ansiext_enable_format

    chars = IMTEXT_CHRS._replace(fx_bold=NSC("*"), fx_normal=NSC("*"))
    ansiext_enable_format("test-slack", chars, borders=True)
    converter = Markdown(output_format="test-slack", extensions=[ExtraExtension(), AnsiExtension()])
    converter.stripTopLevelTags = False
    assert converter.convert("**hi** `x`") == "*hi* `x`"
    # A re-registration reaches Markdown objects built before it.
    ansiext_enable_format("test-slack", CharacterTable(), borders=True)
    assert converter.convert("**hi**") == "hi"


def test_ansiext_translate_and_tables() -> None:
    from xml.etree.ElementTree import fromstring

    from errbot.rendering.ansiext import ANSI_CHRS, translate

    assert translate(fromstring("<div><p><em>x</em></p></div>")) == " \x1b[4mx\x1b[24m\x1b[0m"
    assert translate(fromstring("<div><p>x</p></div>"), IRC_CHRS) == " x\x0f"
    assert ANSI_CHRS.fg_red == "\x1b[31m"


# --- XHTML and Markdown -------------------------------------------------------------------


def test_xhtml() -> None:
    assert xhtml().convert("*woot*") == "<p><em>woot</em></p>"
    assert xhtml().convert("# woot") == "<h1>woot</h1>"
    assert xhtml().convert("![img](http://i.png)") == '<p><img alt="img" src="http://i.png" /></p>'
    assert xhtml().convert("line1  \nline2") == "<p>line1<br />\nline2</p>"
    assert xhtml().convert("# Head {: color='blue'}") == '<h1 color="blue">Head</h1>'
    assert xhtml().convert("| a |\n|---|\n| 1 |") == (
        "<table>\n<thead>\n<tr>\n<th>a</th>\n</tr>\n</thead>\n"
        "<tbody>\n<tr>\n<td>1</td>\n</tr>\n</tbody>\n</table>"
    )
    assert xhtml() is xhtml()


def test_xhtmlim_unescape_keeps_xml_markup_references() -> None:
    from errbot.rendering.xhtmlim import unescape

    assert unescape("<p>&eacute;&#233;&#xe9; &amp;&lt;&#60;&#39;&quot;</p>") == (
        "<p>ééé &amp;&lt;&#60;&#39;&quot;</p>"
    )
    assert unescape("&bogus; &#1;") == "&bogus; \ufffd"


def test_md_strips_attribute_lists_only() -> None:
    assert md().convert("# Head {: color='blue'}\n\n*x*") == "# Head \n\n*x*"
    assert md().convert("{{: a}: b}") == ""
    assert md().convert("| a |\n|---|") == "| a |\n|---|"


# --- md_escape ----------------------------------------------------------------------------

ESCAPE_CORPUS = [
    "a*b*c",
    "_x_",
    "`code`",
    "# head",
    "[l](u)",
    "![i](u)",
    "<b>x</b>",
    "a & b",
    "&amp;",
    "&copy;",
    "&copy",
    "&#39;",
    "x | y",
    "- item",
    "+ item",
    "* item",
    "1. one",
    "1986. A great year",
    "!bang",
    "{: color=red}",
    "a\\b",
    "tab\there",
    "<http://x.y>",
    "<a@b.c>",
    "<+a@b>",
    "---",
    "***",
    "___",
    "a  b",
    "x [^1]",
    "*[ABC]: x",
    "Term\n: def",
    "a\n===",
    "a\n---",
    "~~~\ncode\n~~~",
    "```\ncode\n```",
    "line  \nnext",
    "a\n    b",
    "a\n> b",
    "a\n# b",
    "a\n1. b",
    "<!-- c -->",
    "5 > 3 < 4",
    "x|y|z\n-|-|-\n1|2|3",
    "C:\\path\\to",
    "f(x) = [y]",
    "http://x.com/a_b_c",
    "**Plugin** `x` [y]: (z) {w} #1 +2 -3 .4 !5",
]


@pytest.mark.parametrize("source", ESCAPE_CORPUS)
def test_md_escape_round_trip(source: str) -> None:
    assert text().convert(md_escape(source)) == source


def test_md_escape_round_trip_on_combinations() -> None:
    pieces = [*"*_`#[]<>&|-+.!{}():=~\\\"'x ", "&amp;", "<b>", "1. ", "---", "\n", "\t", "[^1]"]
    failures = []
    for combo in itertools.product(pieces, repeat=3):
        source = "".join(combo)
        if source != source.strip() or "\n\n" in source:
            continue  # surrounding whitespace and blank lines cannot survive any rendering
        if text().convert(md_escape(source)) != source:
            failures.append(source)
    assert failures == []


def test_md_escape_output() -> None:
    assert md_escape("*a* _b_") == "\\*a\\* \\_b\\_"
    assert md_escape("plain words") == "plain words"
    assert md_escape("a < b & c &amp;") == "a &lt; b & c &amp;amp;"


# --- fast path, caching, threads ----------------------------------------------------------

PLAIN = [
    "hello",
    "Plugin Foo activated.",
    'Did you mean "echo" ?',
    'Command "ech" / "ech foo" not found.',
    "Multi word reply with numbers 42 and 3.14 and percent 50% ok?",
    "key: value",
    "a  b   c",
    "email me: user@example.com",
    "http://bare.url/path?a=b",
    "(parenthesised) text; with = signs ^ and ~ tildes",
    "line one\nline two\nline three",
    "trailing newline\n",
    "\nleading newline",
    "emoji 🎉 and 日本語 and é",
    "a # not a heading",
    "x - y + z",
    "3.14 is pi",
    "H2O",
]

NOT_PLAIN = [
    "*em*",
    "# head",
    "- item",
    "+ item",
    "1. item",
    "12) item",
    "> quote",
    "    code",
    " leading space",
    "trailing space ",
    "a\n\nb",
    "a\n===",
    "a\n---",
    "a\n: def",
    "~~~",
    "tab\there",
    "cr\r\nlf",
    "nbsp\xa0here",
    "a &amp; b",
    "<b>",
    "[x]",
    "a|b",
    "{: x}",
    "!x",
    "\\x",
    "`x`",
    "a_b",
    "",
    "   ",
]


@pytest.mark.parametrize("source", PLAIN)
def test_plain_text_takes_the_fast_path(source: str) -> None:
    assert plain_body(source) == source.strip("\n")


@pytest.mark.parametrize("source", NOT_PLAIN)
def test_markdown_never_takes_the_fast_path(source: str) -> None:
    assert plain_body(source) is None


@pytest.mark.parametrize("name", ["text", "ansi", "imtext", "borderless", "irc"])
def test_fast_path_matches_full_rendering(name: str) -> None:
    full = FormatConverter(name, fast_path=False)
    shortcut = converter_for(name)
    for source in PLAIN:
        assert shortcut.convert(source) == full.convert(source), source


def test_converters_are_cached_and_reusable() -> None:
    assert text() is text()
    assert ansi() is ansi()
    assert text() is not ansi()
    first = text().convert(STATUS_TABLE)
    assert text().convert(STATUS_TABLE) == first
    assert text().reset() is text()


def test_conversions_from_many_threads_agree() -> None:
    docs = [
        f"## Doc {i}\n\n| n | sq |\n|---|---|\n| {i} | {i * i} |\n\n*x* [l](u{i})"
        for i in range(40)
    ]
    docs += [f"Footnote{i}[^a]\n\n[^a]: note {i}" for i in range(20)]
    expected = [FormatConverter("text").convert(doc) for doc in docs]
    shared = FormatConverter("text")
    results: dict[int, list[str]] = {}
    barrier = threading.Barrier(8)

    def work(index: int) -> None:
        barrier.wait()
        results[index] = [shared.convert(doc) for doc in docs]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    for outputs in results.values():
        assert outputs == expected


def test_importing_the_package_does_not_import_markdown() -> None:
    probe = (
        "import sys, errbot\n"
        "if 'markdown' in sys.modules: print('skip'); raise SystemExit\n"
        "import errbot.rendering as r\n"
        "r.text().convert('hello'); r.ansi(); r.md().convert('x {: a}')\n"
        "print('markdown' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    if result.stdout.strip() == "skip":
        pytest.skip("another part of errbot imports markdown at import time")
    assert result.stdout.strip() == "False"
