"""The Slack backend in Socket Mode, through slack-sdk/slack-bolt against the fake Slack
(tests/servers/fake_slack.py): one fake and one bot for the module; each test pushes events
on the websocket and asserts on the Web API calls the bot makes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from servers.fake_slack import FakeSlack
from servers.slack_bot import RunningBot, start_bot, wait_for


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def running(fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    running = start_bot(fake, tmp_path_factory.mktemp("slack"), DIVERT_TO_THREAD=("ask_thread",))
    yield running
    running.stop()


def posts_after(fake: FakeSlack, start: int, count: int = 1) -> list[dict]:
    """Wait for ``count`` chat.postMessage calls made after call number ``start``."""

    def found() -> list[dict] | None:
        posts = [a for m, a, _ in fake.calls[start:] if m == "chat.postMessage"]
        return posts if len(posts) >= count else None

    return wait_for(found, 10, f"{count} chat.postMessage")


def say(fake: FakeSlack, text: str, count: int = 1, **event) -> list[dict]:
    start = len(fake.calls)
    fake.push(fake.message_event(text, **event))
    return posts_after(fake, start, count)


def test_command_in_a_channel_is_answered_there(fake: FakeSlack, running: RunningBot) -> None:
    (post,) = say(fake, "!echo hello & <world>")
    assert post == {"channel": "CGENERAL", "text": "hello &amp; &lt;world&gt;"}


def test_direct_message_is_answered_in_the_conversation(fake: FakeSlack, running: RunningBot):
    (post,) = say(fake, "!slack_whoami", channel="DALICE")
    assert post == {"channel": "DALICE", "text": "@alice @alice Alice Liddell in @errbot"}


def test_markdown_is_sent_as_mrkdwn(fake: FakeSlack, running: RunningBot) -> None:
    (post,) = say(fake, "!echo **bold** and *it* `a<b` [docs](https://x.org/?a=1&b=2)")
    assert post["text"] == "*bold* and _it_ `a&lt;b` <https://x.org/?a=1&amp;b=2|docs>"


def test_the_bot_mention_is_a_prefix_and_mentions_reach_plugins(fake, running) -> None:
    (post,) = say(fake, "<@UBOT> echo hi there")
    assert post == {"channel": "CGENERAL", "text": "hi there"}
    (post,) = say(fake, "<@UBOT>: echo with a colon")
    assert post["text"] == "with a colon"
    fake.push(fake.message_event("thanks <@UALICE> and <@UBOB>, see <#CRANDOM|random>"))
    mention = wait_for(lambda: [e for e in running.events("mention") if "thanks" in e[1]])
    assert mention == [("mention", "thanks @alice and @bob, see #random", ["@alice", "@bob"])]


def test_replies_stay_in_threads_and_divert_to_thread(fake, running) -> None:
    (post,) = say(fake, "!echo in thread", thread_ts="1700000000.000001")
    assert post == {"channel": "CGENERAL", "text": "in thread", "thread_ts": "1700000000.000001"}
    event = fake.message_event("!ask_thread")
    start = len(fake.calls)
    fake.push(event)
    (post,) = posts_after(fake, start)
    assert post == {"channel": "CGENERAL", "text": "in the thread", "thread_ts": event["ts"]}


def test_reactions_reach_callback_reaction(fake: FakeSlack, running: RunningBot) -> None:
    item = {"type": "message", "channel": "CGENERAL", "ts": "1700000000.000042"}
    event = {
        "type": "reaction_added",
        "user": "UBOB",
        "reaction": "thumbsup",
        "item_user": "UALICE",
        "item": item,
        "event_ts": "1700000001.000100",
    }
    envelope = fake.push(event)
    got = wait_for(lambda: running.events("reaction"))
    assert got == [("reaction", "added", "thumbsup", "@bob", "#general/bob", "@alice", item)]
    wait_for(lambda: any(a["envelope_id"] == envelope for a in fake.acks), 5, "the ack")


def test_presence_changes_reach_callback_presence(fake: FakeSlack, running: RunningBot) -> None:
    fake.push({"type": "presence_change", "users": ["UALICE", "UBOB"], "presence": "away"})
    got = wait_for(lambda: len(running.events("presence")) >= 2 and running.events("presence"))
    assert got == [("presence", "@alice", "away"), ("presence", "@bob", "away")]


def test_cards_are_attachments(fake: FakeSlack, running: RunningBot) -> None:
    (post,) = say(fake, "!card")
    assert post == {
        "channel": "CGENERAL",
        "text": "Build _42_",
        "attachments": [
            {
                "fallback": "Build *42*",
                "mrkdwn_in": ["text", "pretext", "fields"],
                "color": "#008000",
                "title": "Build passed",
                "title_link": "https://ci.example.org/42",
                "text": "All *green* &amp; &lt;fine&gt;",
                "fields": [
                    {"title": "Branch", "value": "main", "short": True},
                    {
                        "title": "Duration",
                        "value": "3 minutes and 12 seconds, a long value",
                        "short": False,
                    },
                ],
                "image_url": "https://ci.example.org/42.png",
                "thumb_url": "https://ci.example.org/thumb.png",
            }
        ],
    }


def test_files_are_uploaded_with_the_external_upload_api(fake, running) -> None:
    start = len(fake.calls)
    (post,) = say(fake, "!upload", channel="DALICE")
    assert post["text"] == "uploading"
    stream = running.probe().uploaded
    wait_for(lambda: stream.status == "success", 10, "the upload")
    methods = [m for m, _, _ in fake.calls[start:] if m.startswith("files.")]
    assert methods == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    (url_call,) = fake.calls_to("files.getUploadURLExternal")[-1:]
    assert url_call == {"filename": "report.txt", "length": "130"}
    complete = fake.calls_to("files.completeUploadExternal")[-1]
    file_id = url_call and complete["files"]
    assert complete["channel_id"] == "DALICE"
    assert fake.uploads[json_id(file_id)] == b"file content\n" * 10


def json_id(files: str) -> str:
    import json

    return json.loads(files)[0]["id"]


def test_long_replies_are_split_without_breaking_code(fake: FakeSlack, running) -> None:
    from slack_probe import LONG_REPLY

    start = len(fake.calls)
    fake.push(fake.message_event("!long"))
    def all_sent() -> list[dict] | None:
        sent = [a for m, a, _ in fake.calls[start:] if m == "chat.postMessage"]
        return sent if sent and sent[-1]["text"].rstrip().endswith("The end.") else None

    posts = wait_for(all_sent, 10, "the last chunk of the long reply")
    texts = [p["text"] for p in posts]
    assert len(texts) >= 3 and all(len(t) <= 5000 for t in texts)
    assert all(t.count("```") % 2 == 0 for t in texts)  # every chunk's code is closed
    code = "".join(texts)
    assert "    value_149 = compute(149) &amp; check(149) &lt; limit" in code
    assert texts[0].startswith("*Report*") and texts[-1].endswith("The end.")
    assert len(LONG_REPLY) > 8000


def test_rate_limited_calls_wait_for_retry_after(fake: FakeSlack, running: RunningBot) -> None:
    fake.rate_limit("chat.postMessage", times=1, retry_after=1)
    start = len(fake.calls)
    began = time.monotonic()
    fake.push(fake.message_event("!echo patience"))
    (post,) = posts_after(fake, start, 2)[1:]
    assert post == {"channel": "CGENERAL", "text": "patience"}
    assert time.monotonic() - began >= 1.0
    first, second = [a for m, a, _ in fake.calls[start:] if m == "chat.postMessage"]
    assert first == second  # the same call, retried after Retry-After


def test_rooms_api(fake: FakeSlack, running: RunningBot) -> None:
    bot = running.bot
    assert [str(r) for r in bot.rooms()] == ["#general"]
    random = bot.query_room("#random")
    assert random.exists and not random.joined
    random.join()
    assert fake.calls_to("conversations.join")[-1] == {"channel": "CRANDOM"}
    assert random.joined
    random.topic = "Anything goes"
    assert fake.calls_to("conversations.setTopic")[-1] == {
        "channel": "CRANDOM",
        "topic": "Anything goes",
    }
    assert random.topic == "Anything goes"
    random.invite(bot.build_identifier("@bob"))
    assert fake.calls_to("conversations.invite")[-1] == {"channel": "CRANDOM", "users": "UBOB"}
    assert sorted(o.aclattr for o in random.occupants) == ["@alice", "@bob", "@errbot"]
    random.leave()
    assert fake.calls_to("conversations.leave")[-1] == {"channel": "CRANDOM"}
    fresh = bot.query_room("#fresh")
    assert not fresh.exists
    fresh.join()  # Errbot's join creates a missing room
    assert fake.calls_to("conversations.create")[-1] == {"name": "fresh", "is_private": "0"}
    fresh.destroy()
    assert fake.calls_to("conversations.archive")[-1]["channel"] == fresh.channelid


def test_identifiers(running: RunningBot) -> None:
    bot = running.bot
    alice = bot.build_identifier("@alice")
    assert (alice.userid, alice.person, alice.aclattr, alice.nick) == (
        "UALICE",
        "@alice",
        "@alice",
        "alice",
    )
    assert alice.fullname == "Alice Liddell" and alice.email == "alice@example.org"
    assert bot.build_identifier("<@UALICE>") == alice == bot.build_identifier("UALICE")
    assert bot.build_identifier(str(alice)) == alice
    room = bot.build_identifier("<#CGENERAL|general>")
    assert room == bot.build_identifier("#general") == bot.build_identifier("CGENERAL")
    occupant = bot.build_identifier("#general/alice")
    assert str(occupant) == "#general/alice" and occupant.room == room
    assert bot.build_identifier(str(occupant)) == occupant
    assert bot.bot_identifier.userid == "UBOT"
    with pytest.raises(ValueError, match="not a Slack identifier"):
        bot.build_identifier("two words")


def test_unknown_events_are_ignored_with_a_debug_log(fake, running, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="errbot.backends.slack.events")
    fake.push({"type": "emoji_changed", "subtype": "add", "name": "party"})
    wait_for(lambda: "'emoji_changed' ignored" in caplog.text, 5, "the debug line")
    (post,) = say(fake, "!echo still here")
    assert post["text"] == "still here"


def test_an_event_delivered_twice_is_handled_once(fake: FakeSlack, running) -> None:
    event = fake.message_event("<@UBOT> echo once")
    body = fake.envelope(event)
    start = len(fake.calls)
    fake.push(event, body)
    fake.push(event, body)  # the same event id
    fake.push(dict(event, type="app_mention"))  # the same message as an app_mention
    posts_after(fake, start)
    time.sleep(0.5)
    assert [a["text"] for m, a, _ in fake.calls[start:] if m == "chat.postMessage"] == ["once"]


def test_dropped_websocket_is_replaced_and_the_bot_answers(fake, running) -> None:
    opened = len(fake.calls_to("apps.connections.open"))
    sockets = fake.socket_count
    fake.drop()
    wait_for(lambda: fake.socket_count > sockets and fake.connected(), 10, "a new websocket")
    assert len(fake.calls_to("apps.connections.open")) > opened
    (post,) = say(fake, "!echo back again")
    assert post["text"] == "back again"


def test_bot_presence_and_reactions_use_the_web_api(fake: FakeSlack, running) -> None:
    from errbot.backends.base import Message

    running.bot.change_presence("away")
    assert wait_for(lambda: fake.calls_to("users.setPresence")) == [{"presence": "away"}]
    msg = Message("hi", extras={"channel": "CGENERAL", "ts": "1700000000.000007"})
    running.bot.add_reaction(msg, ":tada:")
    assert wait_for(lambda: fake.calls_to("reactions.add")) == [
        {"channel": "CGENERAL", "timestamp": "1700000000.000007", "name": "tada"}
    ]
