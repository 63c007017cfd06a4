"""The Mattermost backend through mattermostautodriver against an in-repo fake server that
speaks REST API v4 and the websocket API: direct and channel messages, the @bot prefix,
threads, mentions, reactions, presence, cards, files, long posts, channels, identifiers.

One fake server and one bot for the module; the assertions are on the exact API calls the
bot makes (`FakeMattermost.calls`) and on what it does with the events the server sends.
"""

from __future__ import annotations

import io
import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from servers.fake_mattermost import TOKEN, FakeMattermost
from servers.mattermost_bot import RunningBot, start_bot, wait_for

from errbot.backends.base import (
    AWAY,
    REACTION_ADDED,
    REACTION_REMOVED,
    Card,
    Message,
    RoomNotJoinedError,
)
from errbot.backends.mattermost import (
    MattermostBackend,
    MattermostPerson,
    MattermostRoom,
    MattermostRoomOccupant,
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeMattermost]:
    fake = FakeMattermost().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def running(
    server: FakeMattermost, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    bot = start_bot(server, tmp_path_factory.mktemp("mattermost-bot"))
    yield bot
    bot.stop()


@pytest.fixture(scope="module")
def bot(running: RunningBot) -> MattermostBackend:
    return running.bot


@pytest.fixture(autouse=True)
def _bot_is_running(running: RunningBot) -> None:
    """Every test talks to the running bot, through the server or directly."""


@pytest.fixture
def seen(bot: MattermostBackend) -> Iterator[dict[str, list[Any]]]:
    """Records what the backend hands to the bot's callbacks (and still calls them)."""
    names = [
        "callback_mention",
        "callback_reaction",
        "callback_presence",
        "callback_room_joined",
        "callback_room_left",
        "callback_room_topic",
    ]
    record: dict[str, list[Any]] = {name: [] for name in names}
    for name in names:
        original = getattr(bot, name)

        def recorder(*args: Any, _name: str = name, _orig: Any = original, **kw: Any) -> None:
            record[_name].append(args)
            _orig(*args, **kw)

        setattr(bot, name, recorder)
    yield record
    for name in names:
        delattr(bot, name)


def reply_to(server: FakeMattermost, text: str, after: int) -> dict[str, Any]:
    """The first post of the bot, made after the ``after``-th, containing ``text``."""

    def find() -> dict[str, Any] | None:
        for post in server.bot_posts()[after:]:
            if text in post["message"]:
                return post
        return None

    return wait_for(find, 10, f"a post containing {text!r}")


# -- messages ------------------------------------------------------------------------------


def test_direct_message_is_answered_in_the_direct_channel(server: FakeMattermost) -> None:
    before = len(server.bot_posts())
    sent = server.say_direct(server.alice, "!echo hello there")
    post = reply_to(server, "hello there", before)
    assert post["channel_id"] == sent["channel_id"]
    assert post["root_id"] == ""  # a plain reply is not threaded
    call = [
        c for c in server.api_calls("POST", "/api/v4/posts") if c.body["message"] == "hello there"
    ]
    assert call[0].body == {"channel_id": sent["channel_id"], "message": "hello there"}
    assert call[0].auth == f"Bearer {TOKEN}"


def test_channel_message_is_answered_in_the_channel(server: FakeMattermost) -> None:
    before = len(server.bot_posts())
    server.say(server.alice, server.town, "!echo in the channel")
    assert reply_to(server, "in the channel", before)["channel_id"] == server.town


@pytest.mark.parametrize("text", ["@errbot echo by mention", "@errbot: echo by mention"])
def test_the_bots_mention_is_a_prefix(server: FakeMattermost, text: str) -> None:
    before = len(server.bot_posts())
    server.say(server.bob, server.town, text)
    assert reply_to(server, "by mention", before)["message"] == "by mention"


def test_markdown_is_posted_as_markdown(server: FakeMattermost) -> None:
    before = len(server.bot_posts())
    server.say_direct(server.alice, "!echo **bold** and `code`")
    assert reply_to(server, "bold", before)["message"] == "**bold** and `code`"


def test_whoami_shows_the_mattermost_identity(server: FakeMattermost) -> None:
    before = len(server.bot_posts())
    server.say_direct(server.alice, "!whoami")
    post = reply_to(server, "alice", before)
    assert "@alice" in post["message"]


def test_the_bot_ignores_its_own_posts_and_system_posts(
    server: FakeMattermost, bot: MattermostBackend
) -> None:
    before = len(server.bot_posts())
    bot.send(bot.query_room("~town-square"), "!echo must not loop")
    reply_to(server, "!echo must not loop", before)
    server.say(server.alice, server.town, "!echo after")
    reply_to(server, "after", before)
    assert [p["message"] for p in server.bot_posts()[before:]] == ["!echo must not loop", "after"]


def test_unknown_events_are_ignored_with_a_debug_log(
    server: FakeMattermost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="errbot.backends.mattermost.events")
    server.push("brand_new_event", {"x": 1})
    server.push_raw("not json at all")
    before = len(server.bot_posts())
    server.say_direct(server.alice, "!echo still here")
    reply_to(server, "still here", before)
    assert "Ignoring the Mattermost event 'brand_new_event'." in caplog.text


# -- threads -------------------------------------------------------------------------------


def test_a_message_in_a_thread_is_answered_in_the_thread(server: FakeMattermost) -> None:
    root = server.say(server.alice, server.town, "a thread starts here")
    before = len(server.bot_posts())
    server.say(server.alice, server.town, "!echo threaded", root_id=root["id"])
    assert reply_to(server, "threaded", before)["root_id"] == root["id"]


def test_divert_to_thread_starts_a_thread_on_the_command(
    server: FakeMattermost, bot: MattermostBackend
) -> None:
    bot.bot_config.DIVERT_TO_THREAD = ("echo",)
    try:
        before = len(server.bot_posts())
        asked = server.say(server.alice, server.town, "!echo diverted")
        assert reply_to(server, "diverted", before)["root_id"] == asked["id"]
    finally:
        bot.bot_config.DIVERT_TO_THREAD = ()


def test_send_in_reply_to_posts_in_the_thread(
    server: FakeMattermost, bot: MattermostBackend
) -> None:
    asked = server.say(server.alice, server.town, "something to answer")
    room = bot.query_room("~town-square")
    parent = Message(
        "something", frm=None, to=room, extras={"id": asked["id"], "channel_id": server.town}
    )
    before = len(server.bot_posts())
    bot.send(room, "the answer", in_reply_to=parent)
    assert reply_to(server, "the answer", before)["root_id"] == asked["id"]


# -- mentions, reactions, presence ---------------------------------------------------------


def test_mentions_reach_callback_mention(
    server: FakeMattermost, seen: dict[str, list[Any]]
) -> None:
    server.say(server.alice, server.town, "hey @bob and @errbot, @nobody is here")
    msg, people = wait_for(lambda: seen["callback_mention"], 5, "a mention")[0]
    assert msg.body == "hey @bob and @errbot, @nobody is here"
    assert sorted(p.username for p in people) == ["bob", "errbot"]
    assert all(isinstance(p, MattermostRoomOccupant) for p in people)
    assert people[0].room.name == "town-square"


def test_reactions_reach_callback_reaction(
    server: FakeMattermost, seen: dict[str, list[Any]]
) -> None:
    post = server.say(server.alice, server.town, "react to me")
    server.react(server.bob, post["id"], "thumbsup")
    server.react(server.bob, post["id"], "thumbsup", removed=True)
    wait_for(lambda: len(seen["callback_reaction"]) == 2, 5, "two reactions")
    added, removed = (args[0] for args in seen["callback_reaction"])
    assert added.action == REACTION_ADDED and removed.action == REACTION_REMOVED
    assert added.reaction_name == "thumbsup"
    assert added.reactor.username == "bob"
    assert added.reacted_to_owner.username == "alice"
    assert added.reacted_to["id"] == post["id"]


def test_status_changes_reach_callback_presence(
    server: FakeMattermost, seen: dict[str, list[Any]]
) -> None:
    server.set_status(server.bob, "away")
    presence = wait_for(lambda: seen["callback_presence"], 5, "a presence")[0][0]
    assert presence.status == AWAY
    assert presence.identifier.username == "bob"


def test_change_presence_sets_the_bots_status(
    server: FakeMattermost, bot: MattermostBackend
) -> None:
    bot.change_presence("dnd")
    path = f"/api/v4/users/{server.bot}/status"
    call = wait_for(lambda: server.api_calls("PUT", path), 5, "the status call")[0]
    assert call.body == {"user_id": server.bot, "status": "dnd"}


# -- cards, files, long posts --------------------------------------------------------------


def test_cards_are_message_attachments(server: FakeMattermost, bot: MattermostBackend) -> None:
    before = len(server.bot_posts())
    room = bot.query_room("~town-square")
    bot.send_card(
        Card(
            body="Deploy **done**",
            to=room,
            summary="deploy summary",
            title="Deploy",
            link="https://ci.example.org/1",
            image="https://ci.example.org/i.png",
            thumbnail="https://ci.example.org/t.png",
            color="red",
            fields=(("env", "prod"), ("took", "3 min")),
        )
    )
    post = wait_for(lambda: server.bot_posts()[before:], 5, "the card")[0]
    assert post["channel_id"] == server.town and post["message"] == ""
    assert post["props"] == {
        "attachments": [
            {
                "fallback": "deploy summary",
                "color": "#ff0000",
                "title": "Deploy",
                "title_link": "https://ci.example.org/1",
                "text": "Deploy **done**",
                "fields": [
                    {"title": "env", "value": "prod", "short": True},
                    {"title": "took", "value": "3 min", "short": True},
                ],
                "image_url": "https://ci.example.org/i.png",
                "thumb_url": "https://ci.example.org/t.png",
            }
        ]
    }


def test_send_stream_request_uploads_then_posts_the_file(
    server: FakeMattermost, bot: MattermostBackend
) -> None:
    before = len(server.bot_posts())
    alice = bot.build_identifier("@alice")
    stream = bot.send_stream_request(
        alice, io.BytesIO(b"hello file"), "report.txt", 10, "text/plain"
    )
    post = wait_for(lambda: server.bot_posts()[before:], 5, "the file post")[0]
    upload = server.api_calls("POST", "/api/v4/files")[-1]
    assert upload.body["files"] == {
        "filename": "report.txt",
        "data": b"hello file",
        "content_type": "text/plain",
    }
    dm = server.direct_channel(server.alice, server.bot)
    assert upload.body["channel_id"] == dm
    (file_id,) = post["file_ids"]
    assert server.files[file_id]["data"] == b"hello file"
    assert post["channel_id"] == dm
    wait_for(lambda: stream.status == "success", 5, "the stream to succeed")
    assert stream.transfered == 10


def test_a_long_reply_is_split_under_the_post_limit_without_breaking_code(
    server: FakeMattermost, bot: MattermostBackend
) -> None:
    assert bot.message_size_limit == 16383
    code = "\n".join(f"line {i:05d} = compute({i})" for i in range(900))  # ~25 000 chars
    text = "Result:\n\n```python\n" + code + "\n```\n\nThe end."
    before = len(server.bot_posts())
    bot.send(bot.query_room("~town-square"), text)
    wait_for(lambda: any("The end." in p["message"] for p in server.bot_posts()[before:]), 10)
    posts = [p["message"] for p in server.bot_posts()[before:]]
    assert len(posts) >= 2
    for body in posts:
        assert len(body) <= 16383
        assert body.count("```") % 2 == 0  # every chunk opens and closes its fence
    code_posts = [p for p in posts if "compute(" in p]
    assert len(code_posts) == 2  # the code block is cut once, between two of its lines
    assert all(p.startswith("```python\n") for p in code_posts)
    joined = "".join(posts)
    assert all(f"line {i:05d} = compute({i})" in joined for i in range(900))


# -- channels ------------------------------------------------------------------------------


def test_rooms_lists_the_channels_the_bot_is_in(bot: MattermostBackend) -> None:
    assert [str(r) for r in bot.rooms()] == ["~town-square"]


def test_join_topic_occupants_invite_and_leave(
    server: FakeMattermost, bot: MattermostBackend, seen: dict[str, list[Any]]
) -> None:
    room = bot.query_room("~off-topic")
    assert room.exists and not room.joined
    with pytest.raises(RoomNotJoinedError):
        room.topic  # noqa: B018
    room.join()
    call = server.api_calls("POST", f"/api/v4/channels/{server.off_topic}/members")[-1]
    assert call.body == {"user_id": server.bot}
    assert room.joined and room in bot.rooms()
    assert seen["callback_room_joined"][0][0] is room

    room.topic = "Anything goes"
    patch = server.api_calls("PUT", f"/api/v4/channels/{server.off_topic}/patch")[-1]
    assert patch.body == {"header": "Anything goes"}
    assert room.topic == "Anything goes"
    assert seen["callback_room_topic"][0][0] is room

    bob = bot.build_identifier("@bob")
    room.invite(bob)
    calls = server.api_calls("POST", f"/api/v4/channels/{server.off_topic}/members")
    assert calls[-1].body == {"user_id": server.bob}
    names = sorted(o.username for o in room.occupants)
    assert names == ["alice", "bob", "errbot"]

    room.leave()
    path = f"/api/v4/channels/{server.off_topic}/members/{server.bot}"
    assert server.api_calls("DELETE", path)
    assert not room.joined
    assert seen["callback_room_left"][0][0] is room


def test_create_and_destroy_a_channel(server: FakeMattermost, bot: MattermostBackend) -> None:
    room = bot.query_room("~release-42")
    assert not room.exists
    room.create()
    body = server.api_calls("POST", "/api/v4/channels")[-1].body
    assert body == {
        "team_id": server.team["id"],
        "name": "release-42",
        "display_name": "release-42",
        "type": "O",
    }
    assert room.joined and room.channelid
    room.destroy()
    assert server.api_calls("DELETE", f"/api/v4/channels/{room.channelid}")
    assert not room.joined


def test_a_private_channel_cannot_be_joined_by_the_bot(bot: MattermostBackend) -> None:
    from errbot.backends.base import RoomError

    with pytest.raises(RoomError, match="private channel"):
        bot.query_room("~secret").join()


# -- identifiers ---------------------------------------------------------------------------


def test_build_identifier_forms(server: FakeMattermost, bot: MattermostBackend) -> None:
    alice = bot.build_identifier("@alice")
    assert isinstance(alice, MattermostPerson)
    assert (alice.userid, alice.username, alice.fullname) == (
        server.alice,
        "alice",
        "Alice Liddell",
    )
    assert (alice.person, alice.nick, alice.aclattr, str(alice)) == (
        "@alice",
        "alice",
        "@alice",
        "@alice",
    )
    assert alice.email == "alice@example.org"
    assert bot.build_identifier(server.alice) == alice
    room = bot.build_identifier("~town-square")
    assert isinstance(room, MattermostRoom) and room.channelid == server.town
    assert bot.build_identifier("~acme/town-square") is room
    assert bot.build_identifier(server.town) is room
    occupant = bot.build_identifier("~town-square/@alice")
    assert isinstance(occupant, MattermostRoomOccupant)
    assert occupant.room is room and occupant.aclattr == "@alice"
    assert str(occupant) == "~town-square/@alice"
    for identifier in (alice, room, occupant):
        assert bot.build_identifier(str(identifier)) == identifier
        assert pickle.loads(pickle.dumps(identifier)) == identifier
    with pytest.raises(ValueError, match="@username"):
        bot.build_identifier("alice")


def test_the_bot_identity_is_learnt_at_login(
    server: FakeMattermost, bot: MattermostBackend
) -> None:
    assert bot.bot_identifier.userid == server.bot
    assert str(bot.bot_identifier) == "@errbot"
    assert "@errbot" in bot.bot_config.BOT_ALT_PREFIXES


def test_posts_of_incoming_webhooks_are_not_answered(server: FakeMattermost) -> None:
    before = len(server.bot_posts())
    hook = {"from_webhook": "true", "override_username": "ci"}
    server._run(server._add_post(server.alice, server.town, "!echo from a hook", props=hook))
    server.say(server.alice, server.town, "!echo from a person")
    reply_to(server, "from a person", before)
    assert [p["message"] for p in server.bot_posts()[before:]] == ["from a person"]
