"""Markdown → Telegram HTML, splitting for the 4096-character limit, /command rewriting."""

from __future__ import annotations

import pytest

from errbot.backends.telegram.events import rewrite_command
from errbot.backends.telegram.markup import (
    TelegramHTMLConverter,
    render_chunks,
    visible_length,
)

html = TelegramHTMLConverter()


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("**b** *i* `c<1>` ~~no~~ & x", "<b>b</b> <i>i</i> <code>c&lt;1&gt;</code> ~~no~~ &amp; x"),
        ("# Title\n\ntext", "<b>Title</b>\n\ntext"),
        ("- a\n- b\n    - c", "• a\n• b\n   • c"),
        ("1. one\n2. two", "1. one\n2. two"),
        (
            "```python\nif a < b:\n    pass\n```",
            '<pre><code class="language-python">if a &lt; b:\n    pass</code></pre>',
        ),
        ("| h | hh |\n|---|---|\n| 1 | 2 |", "<pre>h │ hh\n──┼───\n1 │ 2</pre>"),
        ("[x](https://e.org/?a=1&b=2) [rel](/x)", '<a href="https://e.org/?a=1&amp;b=2">x</a> rel'),
        ("![pic](https://e.org/p.png)", '<a href="https://e.org/p.png">pic</a>'),
        ("> quoted", "<blockquote>quoted</blockquote>"),
        ("<div>raw <script>x</script></div> <b>open", "raw x\n\n<b>open</b>"),
    ],
)
def test_markdown_to_telegram_html(markdown: str, expected: str) -> None:
    assert html.convert(markdown) == expected


def test_chunks_fit_after_rendering_grows_the_text() -> None:
    rows = "\n".join(f"| {i} | {'y' * (i % 50)} |" for i in range(400))
    table = "| n | value |\n|---|---|\n" + rows
    chunks = render_chunks(html, table, 4096)
    assert len(chunks) > 1
    assert all(visible_length(c) <= 4096 and c.startswith("<pre>") for c in chunks)
    emoji = "😀" * 3000  # 3000 characters, 6000 UTF-16 units for Telegram
    assert [visible_length(c) <= 4096 for c in render_chunks(html, emoji)] == [True, True]
    assert render_chunks(html, "   ") == []


@pytest.mark.parametrize(
    ("typed", "body"),
    [
        ("/echo hi", "!echo hi"),
        ("/echo@ErrTestBot hi", "!echo hi"),
        ("/echo@errtestbot", "!echo"),
        ("/echo@OtherBot hi", "/echo@OtherBot hi"),
        ("@ErrTestBot echo hi", "!echo hi"),
        ("@ErrTestBot: /echo hi", "!echo hi"),
        ("@ErrTestBot !echo hi", "!echo hi"),
        ("@ErrTestBotty hi", "@ErrTestBotty hi"),
        ("a /echo", "a /echo"),
        ("/path/to/file", "/path/to/file"),
    ],
)
def test_command_syntax(typed: str, body: str) -> None:
    assert rewrite_command(typed, "!", "ErrTestBot") == body
