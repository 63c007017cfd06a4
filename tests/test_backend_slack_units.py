"""Slack backend pieces without any network: Markdown to mrkdwn, identifier parsing, cards."""

from __future__ import annotations

import pytest

from errbot.backends.base import Card
from errbot.backends.slack.cards import card_attachment, card_color
from errbot.backends.slack.identifiers import SlackPerson, parse_identifier
from errbot.backends.slack.markup import escape, md_to_mrkdwn, unescape


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold** and __bold__", "*bold* and *bold*"),
        ("*italic* and _italic_", "_italic_ and _italic_"),
        ("~~gone~~", "~gone~"),
        ("`a < b && c`", "`a &lt; b &amp;&amp; c`"),
        ("[the docs](https://x.org/a?b=1&c=2)", "<https://x.org/a?b=1&amp;c=2|the docs>"),
        ("<https://x.org>", "<https://x.org>"),
        ("![logo](https://x.org/l.png)", "<https://x.org/l.png|logo>"),
        ("# Title", "*Title*"),
        ("### **Sub** title", "*Sub title*"),
        ("- one\n- two\n  - nested", "• one\n• two\n    • nested"),
        ("1. first\n2. second", "1. first\n2. second"),
        ("> quoted *words*", "> quoted _words_"),
        ("a snake_case_name stays", "a snake_case_name stays"),
        ("2 * 3 * 4", "2 * 3 * 4"),
        (r"\*not italic\*", "*not italic*"),
        ("ping <@U123> in <#C42|general> <!here>", "ping <@U123> in <#C42|general> <!here>"),
        ("x < y > z & w", "x &lt; y &gt; z &amp; w"),
        ("---", "──────────"),
    ],
)
def test_markdown_to_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert md_to_mrkdwn(markdown) == mrkdwn


def test_code_blocks_are_fenced_verbatim_and_escaped() -> None:
    source = "Look:\n\n```python\nif a < b and **c**:\n    print('<&>')\n```\nafter"
    assert md_to_mrkdwn(source) == (
        "Look:\n\n```\nif a &lt; b and **c**:\n    print('&lt;&amp;&gt;')\n```\nafter"
    )


def test_tables_become_aligned_code_blocks() -> None:
    source = "| name | score |\n|------|------:|\n| **alice** | 10 |\n| bob | 7 |\n\nend"
    assert md_to_mrkdwn(source) == (
        "```\nname  | score\n------+------\nalice | 10\nbob   | 7\n```\n\nend"
    )


def test_escaping_round_trips() -> None:
    text = "a & b < c > d"
    assert unescape(escape(text)) == text


@pytest.mark.parametrize(
    ("text", "kind", "parts"),
    [
        ("@alice", "person", {"userid": None, "username": "alice"}),
        ("<@U123ABC>", "person", {"userid": "U123ABC", "username": None}),
        ("<@W42|bob>", "person", {"userid": "W42", "username": "bob"}),
        ("U123ABC", "person", {"userid": "U123ABC", "username": None}),
        ("#general", "room", {"channelid": None, "channelname": "general"}),
        ("<#C024BE7LR|general>", "room", {"channelid": "C024BE7LR", "channelname": "general"}),
        ("C024BE7LR", "room", {"channelid": "C024BE7LR", "channelname": None}),
        ("G024BE7LR", "room", {"channelid": "G024BE7LR", "channelname": None}),
        (
            "#general/alice",
            "occupant",
            {"channelid": None, "channelname": "general", "userid": None, "username": "alice"},
        ),
        (
            "#general/<@U1AB>",
            "occupant",
            {"channelid": None, "channelname": "general", "userid": "U1AB", "username": None},
        ),
    ],
)
def test_identifier_forms(text: str, kind: str, parts: dict) -> None:
    assert parse_identifier(text) == (kind, parts)


def test_people_compare_by_id_and_print_as_at_name() -> None:
    alice = SlackPerson("UALICE", username="alice", fullname="Alice")
    assert str(alice) == alice.person == alice.aclattr == "@alice"
    assert alice == SlackPerson("UALICE", "D1") and hash(alice) == hash(SlackPerson("UALICE"))
    assert alice != SlackPerson("UBOB", username="alice")
    assert str(SlackPerson("UX")) == "UX"
    with pytest.raises(ValueError):
        SlackPerson(None)


def test_card_colors() -> None:
    assert card_color("red") == "#ff0000"
    assert card_color("#123456") == "#123456"
    assert card_color("danger") == "danger"
    assert card_color("no such colour") is None


def test_a_minimal_card() -> None:
    assert card_attachment(Card(body="just *text*")) == {
        "fallback": "just *text*",
        "mrkdwn_in": ["text", "pretext", "fields"],
        "text": "just _text_",
    }
