"""The Matrix backend against a real Synapse: direct chats, rooms, HTML, threads, mentions,
reactions, files, cards, presence, the rooms API and long replies.

One Synapse and one bot for the module; `Human` accounts play the people, through the plain
client-server API, so the tests see the exact events (type and content) the bot sent.
"""

from __future__ import annotations

import io
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from servers.matrix_bot import BOT, RunningBot, start_bot, wait_for
from servers.synapse import Human, SynapseServer, call, quote, synapse  # noqa: F401

from errbot.backends.base import AWAY, REACTION_ADDED, REACTION_REMOVED, Card, Message
from errbot.backends.matrix import MatrixBackend, MatrixPerson, MatrixRoom, MatrixRoomOccupant

ADMIN = "@admin:localhost"
OTHER = "@other:localhost"


@pytest.fixture(scope="module")
def admin(synapse: SynapseServer) -> Human:  # noqa: F811
    return Human(synapse, "admin", "adminpw")


@pytest.fixture(scope="module")
def other(synapse: SynapseServer) -> Human:  # noqa: F811
    return Human(synapse, "other", "otherpw")


@pytest.fixture(scope="module")
def running(
    synapse: SynapseServer,  # noqa: F811
    admin: Human,
    other: Human,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningBot]:
    synapse.register("bot", "botpw")
    bot = start_bot(
        synapse, tmp_path_factory.mktemp("matrix-bot"), DIVERT_TO_THREAD=("uptime",)
    )
    yield bot
    bot.stop()


@pytest.fixture(scope="module")
def bot(running: RunningBot) -> MatrixBackend:
    return running.bot


def joined_room(bot: MatrixBackend, room_id: str) -> None:
    wait_for(lambda: bot.query_room(room_id).joined, 10, f"the bot to join {room_id}")


@pytest.fixture(scope="module")
def dm(bot: MatrixBackend, admin: Human) -> str:
    """A direct chat the admin started with the bot (accepted: MATRIX_AUTO_JOIN_ON_INVITE)."""
    room_id = admin.create_room(invite=[BOT], is_direct=True, preset="trusted_private_chat")
    joined_room(bot, room_id)
    return room_id


@pytest.fixture(scope="module")
def room(bot: MatrixBackend, admin: Human, other: Human) -> str:
    """A group room with the admin, the other person and the bot."""
    room_id = admin.create_room(invite=[BOT, OTHER], name="Errbot tests")
    other.join(room_id)
    joined_room(bot, room_id)
    return room_id


class Recorder:
    """Replaces one of the bot's callbacks and records its arguments."""

    def __init__(self, bot: MatrixBackend, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[Any, ...]] = []
        original = getattr(bot, name)

        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(args)
            return original(*args, **kwargs)

        monkeypatch.setattr(bot, name, record)

    def wait(self, what: str, count: int = 1) -> list[tuple[Any, ...]]:
        wait_for(lambda: len(self.calls) >= count, 10, what)
        return self.calls


# -- direct chats ------------------------------------------------------------------------------


def test_echo_in_a_direct_chat_is_html_and_plain(admin: Human, dm: str) -> None:
    admin.say(dm, "!echo hello **world** and `code`")
    event = admin.expect_message(dm, "hello")
    assert event["sender"] == BOT
    assert event["content"] == {
        "msgtype": "m.text",
        "body": "hello world and code",
        "format": "org.matrix.custom.html",
        "formatted_body": "<p>hello <strong>world</strong> and <code>code</code></p>",
        "m.mentions": {},
    }


def test_whoami_shows_the_matrix_identity(admin: Human, dm: str) -> None:
    admin.say(dm, "!whoami")
    body = admin.expect_message(dm, "person")["content"]["body"]
    assert ADMIN in body and "MatrixPerson" in body


def test_the_admin_mxid_may_run_admin_commands(admin: Human, dm: str) -> None:
    admin.say(dm, "!backup")
    assert "backup file has been written" in admin.expect_message(dm, "backup")["content"]["body"]


def test_a_reply_to_a_message_body_drops_the_quoted_fallback(admin: Human, dm: str) -> None:
    first = admin.say(dm, "just chatting")
    admin.say(
        dm,
        "> <@bot:localhost> something\n\n!echo quoted reply",
        **{"m.relates_to": {"m.in_reply_to": {"event_id": first}}},
    )
    assert admin.expect_message(dm, "quoted reply")["content"]["body"] == "quoted reply"


def test_the_bot_starts_a_direct_chat_and_reuses_it(bot: MatrixBackend, other: Human) -> None:
    bot.send(bot.build_identifier(OTHER), "hello other")
    room_id = other.expect_invite()
    other.join(room_id)
    assert other.expect_message(room_id, "hello other")["content"]["body"] == "hello other"
    bot.send(bot.build_identifier(OTHER), "second message")
    assert other.expect_message(room_id, "second message")["room_id"] == room_id
    assert not other.invites  # the same chat, no new invitation
    assert bot._conn is not None
    direct = call(
        other.server.url,
        "GET",
        f"/_matrix/client/v3/user/{quote(BOT)}/account_data/m.direct",
        token=bot._conn.client.access_token,
    )
    assert direct[OTHER][0] == room_id  # recorded in m.direct, as clients do


def test_send_from_a_plain_thread_is_delivered(bot: MatrixBackend, admin: Human, dm: str) -> None:
    errors: list[BaseException] = []

    def from_thread() -> None:
        try:
            bot.send(bot.build_identifier(ADMIN), "from a thread")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=from_thread)
    worker.start()
    worker.join(5)
    assert not errors
    assert admin.expect_message(dm, "from a thread")["room_id"] == dm


# -- rooms --------------------------------------------------------------------------------------


def test_a_room_command_is_answered_in_the_room(admin: Human, room: str) -> None:
    admin.say(room, "!echo in the room")
    event = admin.expect_message(room, "in the room")
    assert event["content"]["body"] == "in the room"
    assert "m.relates_to" not in event["content"]


def test_admin_commands_are_refused_to_others(other: Human, room: str) -> None:
    other.say(room, "!backup")
    event = other.expect_message(room, "bot-admin")
    assert event["content"]["body"] == "This command requires bot-admin privileges"


def test_own_messages_are_not_commands(bot: MatrixBackend, admin: Human, room: str) -> None:
    bot.send(bot.query_room(room), "!echo self-loop")
    admin.expect_message(room, "!echo self-loop")
    admin.say(room, "!echo after the loop")
    admin.expect_message(room, "after the loop")
    assert not [e for e in admin.events if "self-loop" in e.get("content", {}).get("body", "")]


def test_a_command_in_a_thread_is_answered_in_the_thread(admin: Human, room: str) -> None:
    root = admin.say(room, "a thread root")
    command = admin.say(
        room, "!echo threaded", **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}}
    )
    relation = admin.expect_message(room, "threaded")["content"]["m.relates_to"]
    assert relation == {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": command},
    }


def test_divert_to_thread_starts_a_thread_on_the_command(admin: Human, room: str) -> None:
    command = admin.say(room, "!uptime")
    content = admin.expect_message(room, "been up for")["content"]
    relation = content.get("m.relates_to", content)
    assert relation["rel_type"] == "m.thread" and relation["event_id"] == command


def test_send_in_reply_to_makes_a_rich_reply(
    bot: MatrixBackend, admin: Human, room: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = Recorder(bot, "callback_message", monkeypatch)
    admin.say(room, "please answer this")
    msg = seen.wait("the message")[-1][0]
    bot.send(msg.to, "an answer", in_reply_to=msg)
    content = admin.expect_message(room, "an answer")["content"]
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": msg.extras["event_id"]}}


def test_mentions_reach_callback_mention(
    bot: MatrixBackend, admin: Human, room: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = Recorder(bot, "callback_mention", monkeypatch)
    admin.say(room, "hey bot, look", **{"m.mentions": {"user_ids": [BOT, OTHER]}})
    msg, people = seen.wait("the mention")[0]
    assert msg.body == "hey bot, look"
    assert [p.user_id for p in people] == [BOT, OTHER]
    assert all(isinstance(p, MatrixRoomOccupant) for p in people)


def test_the_bot_name_as_a_prefix_runs_a_command(admin: Human, room: str) -> None:
    admin.say(room, "bot: echo via the mention", **{"m.mentions": {"user_ids": [BOT]}})
    assert admin.expect_message(room, "via the mention")["content"]["body"] == "via the mention"


def test_groupchat_nick_prefix_is_a_mention(bot: MatrixBackend, admin: Human, room: str) -> None:
    bot.bot_config.GROUPCHAT_NICK_PREFIXED = True
    try:
        admin.say(room, "!echo prefixed")
        content = admin.expect_message(room, "prefixed")["content"]
    finally:
        bot.bot_config.GROUPCHAT_NICK_PREFIXED = False
    assert content["body"] == "admin: prefixed"
    assert content["m.mentions"] == {"user_ids": [ADMIN]}


def test_reactions_reach_callback_reaction(
    bot: MatrixBackend, admin: Human, room: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = Recorder(bot, "callback_reaction", monkeypatch)
    admin.say(room, "!echo react to me")
    target = admin.expect_message(room, "react to me")["event_id"]
    reaction = admin.react(room, target, "👍")
    added = seen.wait("the reaction")[0][0]
    assert added.reaction_name == "👍" and added.action == REACTION_ADDED
    assert added.reactor.user_id == ADMIN
    assert str(added.reacted_to_owner) == BOT
    assert added.reacted_to == {"room_id": room, "event_id": target}
    admin.api("PUT", f"/rooms/{quote(room)}/redact/{quote(reaction)}/{uuid.uuid4().hex}", {})
    removed = seen.wait("the removal", 2)[1][0]
    assert removed.action == REACTION_REMOVED and removed.reaction_name == "👍"


def test_unknown_events_are_ignored_with_a_debug_log(
    admin: Human, room: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG", logger="errbot.backends.matrix.events"):
        admin.send(room, {"anything": 1}, kind="org.example.custom")
        admin.say(room, "!echo still here")
        admin.expect_message(room, "still here")
    assert "Ignored a org.example.custom" in caplog.text


def test_a_long_reply_is_split_without_breaking_its_code_block(
    bot: MatrixBackend, admin: Human, room: str
) -> None:
    assert bot.message_size_limit == 16_000
    lines = [f"line {n:05d} <tag> & more" for n in range(1500)]  # ~39,000 characters
    bot.send(bot.query_room(room), "```\n" + "\n".join(lines) + "\n```")
    parts = []
    while not parts or "line 01499" not in parts[-1]["body"]:
        parts.append(admin.expect_message(room, "line ")["content"])
    assert len(parts) >= 3
    for content in parts:
        assert len(content["body"]) <= 16_000
        html = content["formatted_body"]
        assert html.startswith("<pre><code>") and html.endswith("</code></pre>")
    received = "\n".join(c["body"] for c in parts).split("\n")
    assert received == lines


# -- files, cards, presence ---------------------------------------------------------------------


def test_a_file_is_uploaded_and_posted(bot: MatrixBackend, admin: Human, room: str) -> None:
    data = b"hello file\x00\x01" * 100
    stream = bot.send_stream_request(
        bot.query_room(room), io.BytesIO(data), "report.bin", len(data), "application/pdf"
    )
    event = admin.expect(
        lambda e: e["type"] == "m.room.message"
        and e["room_id"] == room
        and e["content"].get("msgtype") == "m.file",
        "the file",
    )
    content = event["content"]
    assert content["body"] == content["filename"] == "report.bin"
    assert content["info"] == {"size": len(data), "mimetype": "application/pdf"}
    assert content["url"].startswith("mxc://localhost/")
    media = content["url"].removeprefix("mxc://")
    request = urllib.request.Request(
        f"{admin.server.url}/_matrix/client/v1/media/download/{media}",
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.read() == data
    wait_for(lambda: stream.status == "success", 5, "the stream to succeed")
    assert stream.transfered == len(data)


def test_a_card_is_html(bot: MatrixBackend, admin: Human, room: str) -> None:
    card = Card(
        body="Deploy **done**",
        to=bot.query_room(room),
        title="Build 42",
        link="https://ci.example.org/42",
        image="https://ci.example.org/42.png",
        fields=(("status", "green"), ("took", "3 min")),
        color="green",
    )
    bot.send_card(card)
    content = admin.expect_message(room, "Build 42")["content"]
    html = content["formatted_body"]
    assert '<h4><a href="https://ci.example.org/42">Build 42</a></h4>' in html
    assert "<p>Deploy <strong>done</strong></p>" in html
    assert "<tr><th>status</th><td>green</td></tr><tr><th>took</th><td>3 min</td></tr>" in html
    assert '<a href="https://ci.example.org/42.png">image</a>' in html
    assert content["body"].splitlines() == [
        "Build 42 (https://ci.example.org/42)",
        "Deploy done",
        "status: green",
        "took: 3 min",
        "image: https://ci.example.org/42.png",
    ]


def test_presence_both_ways(
    bot: MatrixBackend, admin: Human, room: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = Recorder(bot, "callback_presence", monkeypatch)
    admin.api(
        "PUT", f"/presence/{quote(ADMIN)}/status",
        {"presence": "unavailable", "status_msg": "lunch"},
    )
    wait_for(
        lambda: any(
            c[0].identifier.person == ADMIN and c[0].status == AWAY for c in seen.calls
        ),
        10,
        "the admin's presence",
    )
    bot.change_presence(AWAY, "busy")

    def bot_is_away() -> bool:
        status = admin.api("GET", f"/presence/{quote(BOT)}/status")
        return status.get("presence") == "unavailable" and status.get("status_msg") == "busy"

    wait_for(bot_is_away, 10, "the bot's presence")


# -- rooms API ----------------------------------------------------------------------------------


def test_rooms_api_create_topic_occupants_invite_leave(
    bot: MatrixBackend, admin: Human, other: Human, room: str
) -> None:
    alias = f"#ops-{uuid.uuid4().hex[:6]}:localhost"
    ops = bot.query_room(alias)
    assert isinstance(ops, MatrixRoom) and not ops.exists
    ops.join()  # an alias nobody has: created, with the alias
    assert ops.joined and ops.room_id and ops.room_id.startswith("!")
    assert bot.query_room(ops.room_id) is ops and bot.query_room(alias) is ops
    assert ops in bot.rooms() and bot.query_room(room) in bot.rooms()
    ops.invite(MatrixPerson(ADMIN))
    assert admin.expect_invite() == ops.room_id
    admin.join(alias)
    wait_for(lambda: ADMIN in [o.person for o in ops.occupants], 10, "the admin in the room")
    assert sorted(o.user_id for o in ops.occupants) == [ADMIN, BOT]
    ops.topic = "Operations"
    assert admin.state(ops.room_id, "m.room.topic") == {"topic": "Operations"}
    assert ops.topic == "Operations"
    admin.set_state(room, "m.room.topic", {"topic": "Changed by a human"})
    joined = bot.query_room(room)
    wait_for(lambda: joined.topic == "Changed by a human", 10, "the topic from the sync")
    ops.leave()
    assert not ops.joined
    assert admin.members(ops.room_id) == [ADMIN]


def test_identifiers_round_trip(bot: MatrixBackend, room: str) -> None:
    person = bot.build_identifier(ADMIN)
    assert isinstance(person, MatrixPerson)
    assert (person.person, person.nick, person.aclattr) == (ADMIN, "admin", ADMIN)
    joined = bot.build_identifier(room)
    assert joined is bot.query_room(room)
    occupant = bot.build_identifier(f"{room}/{ADMIN}")
    assert isinstance(occupant, MatrixRoomOccupant) and occupant.room is joined
    assert bot.build_identifier(str(occupant)) == occupant
    with pytest.raises(ValueError, match="@user:server"):
        bot.build_identifier("admin")


def test_messages_built_by_hand_are_routed(bot: MatrixBackend, admin: Human, room: str) -> None:
    msg = Message("**by hand**", to=bot.query_room(room), frm=bot.bot_identifier)
    bot.send_message(msg)
    assert admin.expect_message(room, "by hand")["content"]["formatted_body"] == (
        "<p><strong>by hand</strong></p>"
    )
