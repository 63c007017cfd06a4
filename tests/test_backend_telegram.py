"""The Telegram backend through python-telegram-bot against a fake Bot API: commands in
private chats and groups, /command syntax, mentions, threads and forum topics, long replies,
cards, files both ways, reactions, rooms and identifiers.

One fake server and one bot for the module; each test checks the calls it caused.
"""

from __future__ import annotations

import io
import pickle
import re
from collections.abc import Iterator
from typing import Any

import pytest
from servers.fake_telegram import BOT_USER, GROUP, HUMAN, OTHER, FakeTelegram
from servers.telegram_bot import RunningBot, start_bot, wait_for

from errbot import BotPlugin
from errbot.backends.base import Card, Message, RoomError
from errbot.backends.telegram import (
    TelegramBackend,
    TelegramMUCOccupant,
    TelegramPerson,
    TelegramRoom,
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def running(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    bot = start_bot(fake, tmp_path_factory.mktemp("telegram-bot"))
    yield bot
    bot.stop()


@pytest.fixture(scope="module")
def bot(running: RunningBot) -> TelegramBackend:
    return running.bot


class Recorder(BotPlugin):
    """Collects callbacks (attached to the running bot's plugin list by `recorder`)."""

    def __init__(self) -> None:  # noqa: D107 - not a plugin manager instantiation
        self.mentions: list[tuple[Message, list[Any]]] = []
        self.reactions: list[Any] = []
        self.streams: list[tuple[Any, bytes]] = []
        self.joined: list[tuple[Any, Any, Any]] = []
        self._name = "Recorder"

    def callback_mention(self, message: Message, mentioned_people: Any) -> None:
        self.mentions.append((message, list(mentioned_people)))

    def callback_reaction(self, reaction: Any) -> None:
        self.reactions.append(reaction)

    def callback_stream(self, stream: Any) -> None:
        stream.accept()
        self.streams.append((stream, stream.read()))

    def callback_room_joined(self, room: Any, identifier: Any, invited_by: Any) -> None:
        self.joined.append((room, identifier, invited_by))


@pytest.fixture
def recorder(bot: TelegramBackend, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    manager = bot.plugin_manager
    original = manager.get_all_active_plugins
    monkeypatch.setattr(manager, "get_all_active_plugins", lambda: [*original(), rec])
    bot.callbacks.invalidate()
    yield rec
    monkeypatch.undo()
    bot.callbacks.invalidate()


def in_group(text: str, user: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"text": text, "user": user or HUMAN, "chat": GROUP, **extra}


# -- commands -------------------------------------------------------------------------------
def test_a_private_command_is_answered_in_html(fake: FakeTelegram, running: RunningBot) -> None:
    fake.message("!echo **hi** <blink> & co")
    call = fake.wait_sent("hi")
    assert call.params == {"chat_id": "1001", "text": "<b>hi</b>  &amp; co", "parse_mode": "HTML"}


@pytest.mark.parametrize(
    "typed", ["/echo slash form", "/echo@ErrTestBot slash form", "@ErrTestBot echo slash form"]
)
def test_slash_commands_and_the_bot_mention_run_commands(
    fake: FakeTelegram, running: RunningBot, typed: str
) -> None:
    before = len(fake.calls_to("sendMessage"))
    fake.message(**in_group(typed))
    fake.wait_calls("sendMessage", before + 1)
    call = fake.calls_to("sendMessage")[before]
    assert call.params["chat_id"] == str(GROUP["id"])
    assert call.params["text"] == "slash form"


def test_a_command_for_another_bot_is_left_alone(fake: FakeTelegram, running: RunningBot) -> None:
    before = len(fake.calls_to("sendMessage"))
    fake.message(**in_group("/echo@OtherBot not for us"))
    fake.message(**in_group("!echo marker"))
    fake.wait_sent("marker")
    texts = [c.params["text"] for c in fake.calls_to("sendMessage")[before:]]
    assert texts == ["marker"]


def test_group_replies_threads_and_forum_topics(fake: FakeTelegram, bot: TelegramBackend) -> None:
    bot.bot_config.DIVERT_TO_THREAD = ("echo",)
    try:
        fake.message(**in_group("!echo in topic", message_thread_id=77, is_topic_message=True))
        call = fake.wait_sent("in topic")
    finally:
        bot.bot_config.DIVERT_TO_THREAD = ()
    assert call.params["message_thread_id"] == "77"
    assert call.params["reply_parameters"]["allow_sending_without_reply"] is True
    assert isinstance(call.params["reply_parameters"]["message_id"], int)


def test_nick_prefixed_group_replies(fake: FakeTelegram, bot: TelegramBackend) -> None:
    bot.bot_config.GROUPCHAT_NICK_PREFIXED = True
    try:
        fake.message(**in_group("!echo to ada"))
        fake.message(**in_group("!echo to bob", user=OTHER))
        ada, bob = fake.wait_sent("to ada"), fake.wait_sent("to bob")
    finally:
        bot.bot_config.GROUPCHAT_NICK_PREFIXED = False
    assert ada.params["text"] == "@ada: to ada"
    assert bob.params["text"] == '<a href="tg://user?id=1002">Bob</a>: to bob'


def test_a_long_code_block_is_split_under_4096(fake: FakeTelegram, bot: TelegramBackend) -> None:
    code = "\n".join(f"line {i:05d} <&> " + "x" * 40 for i in range(300))  # ~17 000 chars
    before = len(fake.calls_to("sendMessage"))
    bot.send(TelegramPerson(1001), f"Start\n\n```\n{code}\n```\n\nEnd")
    wait_for(lambda: "End" in str(fake.calls_to("sendMessage")[-1].params.get("text")), 10)
    texts = [c.params["text"] for c in fake.calls_to("sendMessage")[before:]]
    assert len(texts) >= 4
    lines: list[str] = []
    for text in texts:
        visible = re.sub(r"<[^>]+>", "", text).replace("&lt;", "<").replace("&gt;", ">")
        assert len(visible.replace("&amp;", "&")) <= 4096
        for block in re.findall(r"<pre><code>(.*?)</code></pre>", text, re.S):
            lines.extend(block.split("\n"))
        assert text.count("<pre>") == text.count("</pre>")
    assert lines == [
        line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for line in code.split("\n")
    ]
    assert texts[0].startswith("Start") and texts[-1].endswith("End")


def test_unknown_update_types_are_ignored(
    fake: FakeTelegram, running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="errbot.backends.telegram.events")
    fake.push(
        edited_message={
            "message_id": 1,
            "date": 1,
            "chat": GROUP,
            "from": HUMAN,
            "text": "!echo edited",
            "edit_date": 2,
        }
    )
    fake.push(callback_query={"id": "q1", "from": HUMAN, "chat_instance": "c1", "data": "x"})
    fake.message("!echo after")
    fake.wait_sent("after")
    assert "Ignoring a Telegram update of type edited_message" in caplog.text
    assert "Ignoring a Telegram update of type callback_query" in caplog.text
    assert not any("edited" in str(c.params.get("text")) for c in fake.calls_to("sendMessage"))


# -- mentions, reactions, files, membership -----------------------------------------------------
def test_mentions(fake: FakeTelegram, running: RunningBot, recorder: Recorder) -> None:
    text = "hey @ErrTestBot and Bob"
    entities = [
        {"type": "mention", "offset": 4, "length": 11},
        {"type": "text_mention", "offset": 20, "length": 3, "user": OTHER},
    ]
    fake.message(**in_group(text, entities=entities))
    wait_for(lambda: recorder.mentions, 5, "callback_mention")
    msg, people = recorder.mentions[0]
    assert msg.body == text and isinstance(msg.frm, TelegramMUCOccupant)
    assert [(p.number, p.room.number) for p in people] == [
        (123456, GROUP["id"]),
        (1002, GROUP["id"]),
    ]


def test_reactions(fake: FakeTelegram, running: RunningBot, recorder: Recorder) -> None:
    fake.push(
        message_reaction={
            "chat": GROUP,
            "message_id": 9,
            "user": HUMAN,
            "date": 1700000000,
            "old_reaction": [{"type": "emoji", "emoji": "👍"}],
            "new_reaction": [{"type": "emoji", "emoji": "🔥"}],
        }
    )
    wait_for(lambda: len(recorder.reactions) == 2, 5, "two reactions")
    added, removed = recorder.reactions
    assert (added.action, added.reaction_name) == ("added", "🔥")
    assert (removed.action, removed.reaction_name) == ("removed", "👍")
    assert added.reactor.number == HUMAN["id"] and added.reactor.room.number == GROUP["id"]
    assert added.reacted_to == {"chat_id": GROUP["id"], "message_id": 9}


def test_react_calls_set_message_reaction(fake: FakeTelegram, bot: TelegramBackend) -> None:
    msg = Message("x", extras={"chat_id": GROUP["id"], "message_id": 5})
    bot.react(msg, "👍")
    call = fake.wait_calls("setMessageReaction")[-1]
    assert call.params == {
        "chat_id": str(GROUP["id"]),
        "message_id": "5",
        "reaction": [{"type": "emoji", "emoji": "👍"}],
    }


def test_incoming_documents_become_streams(
    fake: FakeTelegram, running: RunningBot, recorder: Recorder
) -> None:
    fake.files["documents/F1.bin"] = b"file content"
    fake.message(
        "",
        document={
            "file_id": "F1",
            "file_unique_id": "uF1",
            "file_name": "a.txt",
            "mime_type": "text/plain",
            "file_size": 12,
        },
    )
    wait_for(lambda: recorder.streams, 5, "callback_stream")
    stream, data = recorder.streams[0]
    assert data == b"file content"
    assert (stream.name, stream.stream_type) == ("a.txt", "text/plain")
    assert stream.identifier.number == 1001
    assert fake.calls_to("getFile")[-1].params == {"file_id": "F1"}


def test_send_stream_request_uploads_a_document(fake: FakeTelegram, bot: TelegramBackend) -> None:
    stream = bot.send_stream_request(TelegramRoom(GROUP["id"]), io.BytesIO(b"report"), "r.csv")
    wait_for(lambda: stream.status == "success", 5, "the upload")
    call = fake.calls_to("sendDocument")[-1]
    assert call.params == {"chat_id": str(GROUP["id"])}
    assert call.files == {"document": ("r.csv", b"report")}


def test_errbot_6_stream_types_send_photos_and_locations(
    fake: FakeTelegram, bot: TelegramBackend
) -> None:
    # Plugins written for Errbot 6.2.1's Telegram backend name the kind of message.
    ada = bot.build_identifier(str(HUMAN["id"]))
    photo = bot.send_stream_request(ada, io.BytesIO(b"PNG"), "cat.png", stream_type="photo")
    wait_for(lambda: photo.status == "success", 5, "the photo")
    call = fake.calls_to("sendPhoto")[-1]
    assert call.params == {"chat_id": "1001"} and call.files == {"photo": ("cat.png", b"PNG")}

    options = {"content": "https://example.org/cat.png", "caption": "a cat"}
    by_url = bot.send_stream_request(ada, options, stream_type="photo")
    wait_for(lambda: by_url.status == "success", 5, "the photo by URL")
    assert fake.calls_to("sendPhoto")[-1].params == {
        "chat_id": "1001",
        "photo": "https://example.org/cat.png",
        "caption": "a cat",
    }

    place = {"latitude": 48.85, "longitude": 2.35}
    located = bot.send_stream_request(ada, place, stream_type="location")
    wait_for(lambda: located.status == "success", 5, "the location")
    assert fake.calls_to("sendLocation")[-1].params == {
        "chat_id": "1001",
        "latitude": "48.85",
        "longitude": "2.35",
    }

    # Bad input: one clear error on the stream, nothing sent, the bot carries on.
    nowhere = bot.send_stream_request(ada, {"latitude": "north"}, stream_type="location")
    assert nowhere.status == "error" and "latitude" in nowhere.reason
    assert len(fake.calls_to("sendLocation")) == 1


def test_the_bot_added_to_a_group(
    fake: FakeTelegram, bot: TelegramBackend, recorder: Recorder
) -> None:
    chat = {"id": -555, "type": "group", "title": "New"}
    fake.push(
        my_chat_member={
            "chat": chat,
            "from": HUMAN,
            "date": 1,
            "old_chat_member": {"status": "left", "user": BOT_USER},
            "new_chat_member": {"status": "member", "user": BOT_USER},
        }
    )
    wait_for(lambda: recorder.joined, 5, "callback_room_joined")
    room, who, by = recorder.joined[0]
    assert (room.number, room.title, who.number, by.number) == (-555, "New", 123456, 1001)
    assert room in bot.rooms()


# -- cards ---------------------------------------------------------------------------------
def test_cards_are_html(fake: FakeTelegram, bot: TelegramBackend) -> None:
    card = Card(
        body="Body *text*",
        to=TelegramPerson(1001),
        title="Build <42>",
        link="https://ci.example/42",
        image="https://ci.example/i.png",
        fields=(("Status", "ok"), ("Took", "3 s")),
        summary="sum",
    )
    bot.send_card(card)
    call = fake.wait_sent("Build")
    assert call.params["text"] == (
        '<b><a href="https://ci.example/42">Build &lt;42&gt;</a></b>\n\n<i>sum</i>\n\n'
        "Body <i>text</i>\n\n<b>Status:</b> ok\n<b>Took:</b> 3 s\n\n"
        '<a href="https://ci.example/i.png">Image</a>'
    )
    assert call.params["parse_mode"] == "HTML"


# -- rooms and identifiers -------------------------------------------------------------------------
def test_room_operations(fake: FakeTelegram, bot: TelegramBackend) -> None:
    room = bot.query_room(str(GROUP["id"]))
    assert room.exists and room.joined
    assert room.topic == "Ops talk"
    room.topic = "New topic"
    assert fake.calls_to("setChatDescription")[-1].params == {
        "chat_id": str(GROUP["id"]),
        "description": "New topic",
    }
    assert room.member_count == 42
    assert [o.number for o in room.occupants] == [1001, 123456]
    assert not bot.query_room("-42").exists
    for operation in (room.join, room.create, room.destroy, lambda: room.invite(HUMAN)):
        with pytest.raises(RoomError, match="Telegram"):
            operation()
    room.leave()
    assert fake.calls_to("leaveChat")[-1].params == {"chat_id": str(GROUP["id"])}


def test_identifiers(bot: TelegramBackend) -> None:
    person = bot.build_identifier("1001")
    assert person == bot.build_identifier(1001) == TelegramPerson(1001)
    assert (person.person, person.aclattr, str(person)) == ("1001", "1001", "1001")
    # As in Errbot 6.2.1, ``id`` is the number as text; ``number`` is the int.
    assert (person.id, person.number) == ("1001", 1001)
    room = bot.build_identifier(" -1001234 ")
    assert isinstance(room, TelegramRoom) and room.number == -1001234
    assert bot.build_identifier(str(room)) == room
    for bad in ("@ada", "ada", "", "12a"):
        with pytest.raises(ValueError, match="numeric"):
            bot.build_identifier(bad)
    ada = TelegramPerson(1001, "Ada", "Lovelace", "ada")
    assert (ada.nick, ada.fullname, ada.first_name, ada.username) == (
        "ada",
        "Ada Lovelace",
        "Ada",
        "ada",
    )
    occupant = TelegramMUCOccupant(1001, TelegramRoom(-5), "Ada", None, "ada")
    assert (occupant.person, occupant.aclattr, occupant.room.number) == ("1001", "1001", -5)
    assert pickle.loads(pickle.dumps(person)) == person
    assert pickle.loads(pickle.dumps(occupant)) == occupant
    assert occupant.id == "1001" and occupant.room.id == "-5"
    # str() of someone in a group is their user id (as in 6.2.1, so plugins keying data by
    # str(msg.frm) see one person everywhere): built back, it is that person, whom a reply
    # reaches privately. Pickling keeps the room.
    assert bot.build_identifier(str(occupant)) == TelegramPerson(1001)
    assert bot.bot_identifier.username == "ErrTestBot"
    assert bot.message_size_limit == 4096
