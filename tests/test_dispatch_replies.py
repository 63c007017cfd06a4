"""What a command's result becomes (contract 1.7): return values, generators, templates,
errors, and the splitting of long replies (MESSAGE_SIZE_LIMIT)."""

import logging
import sys

import pytest
from test_dispatch_helpers import CORE_DIR, assert_silent, next_sent, plugin

extra_plugin_dir = CORE_DIR
loglevel = logging.WARNING


@pytest.mark.parametrize("kind", ["none", "empty", "dict", "list", "zero"])
def test_falsy_return_sends_nothing(testbot, kind):
    testbot.push_message(f"!falsy {kind}")
    assert_silent(testbot)
    assert plugin(testbot, "PipeCore").called("falsy") == [kind]


def test_generator_items_are_sent_in_order_and_falsy_ones_skipped(testbot):
    testbot.push_message("!gen mixed")
    assert testbot.pop_message() == "first"
    assert testbot.pop_message() == "last"
    assert_silent(testbot)


def test_generator_failing_keeps_what_it_already_sent(testbot):
    testbot.push_message("!gen then fail")
    assert testbot.pop_message() == "partial"
    assert testbot.pop_message() == "Computer says nooo. See logs for details:\nbroke mid-way"


def test_exception_text(testbot):
    # The text-rendered reply; the Markdown sent is checked in the next test.
    reply = testbot.exec_command("!falsy unknown-key")
    assert reply == "Computer says nooo. See logs for details:\n'unknown-key'"


def test_exception_markdown_body(testbot):
    testbot.push_message("!gen then fail")
    testbot.pop_message()
    testbot.pop_message()
    bodies = [next_sent(testbot).body, next_sent(testbot).body]
    assert bodies == ["partial", "Computer says nooo. See logs for details:\nbroke mid-way"]


def test_template_reply(testbot):
    assert testbot.exec_command("!tpl Ann") == "core says Ann"


def test_template_lookup_is_namespaced_by_plugin(testbot):
    # Both plugins have templates/pipe_shared.md; each command gets its own plugin's.
    assert testbot.exec_command("!tpl other Bob") == "other says Bob"
    assert testbot.exec_command("!tpl Bob") == "core says Bob"


def test_template_values_are_html_escaped(testbot):
    testbot.push_message("!tpl <b>&")
    testbot.pop_message()
    assert next_sent(testbot).body == "core says &lt;b&gt;&amp;"


def test_template_is_only_used_for_mappings(testbot):
    assert testbot.exec_command("!tpl text x") == "plain x"


def test_command_error_with_template(testbot):
    assert testbot.exec_command("!cmderror tpl 42") == "failure code 42"


def test_command_error_ignores_the_command_template(testbot):
    assert testbot.exec_command("!cmderror in templated x") == "{'who': 'x'}"


def test_command_error_with_a_missing_template_is_reported(testbot):
    reply = testbot.exec_command("!cmderror missing tpl 7")
    assert reply.startswith("Computer says nooo. See logs for details:\n")
    assert "pipe_no_such_template" in reply


def test_dict_without_template_sends_its_repr(testbot):
    assert testbot.exec_command("!dict plain") == "{'a': 1}"


def test_reply_to_direct_message_goes_to_the_sender(testbot):
    testbot.exec_command("!cmd hi")
    sent = next_sent(testbot)
    assert sent.to == testbot.bot.sender
    assert sent.frm == testbot.bot.bot_identifier
    assert sent.body == "cmd:[hi]"
    assert sent.parent is None


def test_single_chunk_is_marked_partial(testbot):
    testbot.exec_command("!cmd short")
    assert next_sent(testbot).partial is True


def plugin_module(testbot, name):
    return sys.modules[type(plugin(testbot, name)).__module__]


class TestMessageSizeLimit:
    extra_config = {"MESSAGE_SIZE_LIMIT": 120}

    def test_long_reply_is_split_on_word_boundaries(self, testbot):
        words = plugin_module(testbot, "PipeCore").LONG_WORDS.split()
        testbot.push_message("!long words")
        chunks = []
        received = []
        while len(received) < len(words):
            chunks.append(testbot.pop_message())
            received.extend(chunks[-1].split())
        assert received == words  # in order, none lost, none cut
        assert len(chunks) > 1
        assert all(len(chunk) <= 120 for chunk in chunks)
        sent = [next_sent(testbot) for _ in chunks]
        assert all(msg.partial for msg in sent)
        assert all(len(msg.body) <= 120 for msg in sent)
        assert " ".join(msg.body for msg in sent) == " ".join(words)
        assert_silent(testbot)

    def test_code_block_is_not_cut(self, testbot):
        text = plugin_module(testbot, "PipeCore").LONG_CODE
        start = text.index("```")
        block = text[start : text.index("```", start + 3) + 3]
        assert start < 120 < start + len(block)  # a cut at the limit would fall in the block
        testbot.push_message("!long code")
        sent = [next_sent(testbot)]
        while not sent[-1].body.endswith("ends the reply."):
            sent.append(next_sent(testbot))
        bodies = [msg.body for msg in sent]
        assert len(sent) > 1
        assert all(msg.partial for msg in sent)
        assert all(len(body) <= 120 for body in bodies)
        assert any(block in body for body in bodies), bodies
        assert all(body.count("```") % 2 == 0 for body in bodies), bodies
        for _ in sent:  # the rendered copies
            testbot.pop_message()
        assert_silent(testbot)
