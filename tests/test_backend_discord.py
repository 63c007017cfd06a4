"""The Discord backend through the real discord.py client against the local fake Discord.

One fake server and one bot for the module; tests assert on the exact REST calls and
payloads the bot makes, and on what it does with the gateway events the fake sends.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers.discord_bot import RunningBot, fake_discord_fixture, start_bot, wait_for
from servers.discord_payloads import (
    ALICE_ID,
    BOB_ID,
    BOT_ID,
    DM_ID,
    GENERAL_ID,
    GUILD_ID,
    RANDOM_ID,
    THREAD_ID,
)
from servers.fake_discord import FakeDiscord

from errbot.backends.base import REACTION_ADDED, REACTION_REMOVED, UserDoesNotExistError
from errbot.backends.discord import (
    DiscordBackend,
    DiscordPerson,
    DiscordRoom,
    DiscordRoomOccupant,
)

PROBE_DIR = str(Path(__file__).parent / "plugins" / "discord_probe")
GENERAL = f"/channels/{GENERAL_ID}/messages"
_ids = itertools.count(4000)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeDiscord]:
    with pytest.MonkeyPatch.context() as patch:
        yield from fake_discord_fixture(patch)


@pytest.fixture(scope="module", autouse=True)
def running(server: FakeDiscord, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    bot = start_bot(
        tmp_path_factory.mktemp("discord-bot"),
        BOT_EXTRA_PLUGIN_DIR=PROBE_DIR,
        DIVERT_TO_THREAD=("threadme",),
    )
    yield bot
    bot.stop()


@pytest.fixture(scope="module")
def bot(running: RunningBot) -> DiscordBackend:
    return running.bot


@pytest.fixture
def probe(bot: DiscordBackend) -> Any:
    plugin = bot.plugin_manager.get_plugin_obj_by_name("DiscordProbe")
    plugin.events.clear()
    return plugin


def ask(server: FakeDiscord, text: str, path: str = GENERAL, **kwargs: Any) -> list[Any]:
    """Say ``text`` and return the bot's new posts to ``path`` (waits for the first)."""
    before = len(server.posted(path))
    server.say(text, **kwargs)
    return server.wait_posted(path, before + 1)[before:]


def events(probe: Any, kind: str, count: int = 1) -> list[Any]:
    wait_for(lambda: len([e for e in probe.events if e[0] == kind]) >= count, what=kind)
    return [e for e in probe.events if e[0] == kind]


# -- messages ---------------------------------------------------------------------------------


def test_a_command_in_a_channel_is_answered_in_the_channel(server: FakeDiscord) -> None:
    call = ask(server, "!echo hello")[0]
    assert call.headers["Authorization"] == "Bot bot-token-for-tests"
    payload = call.json
    assert payload["content"] == "hello"
    # "@everyone" in plugin output must never ping a whole server.
    assert payload["allowed_mentions"] == {"parse": ["users"], "replied_user": True}
    assert "message_reference" not in payload


def test_a_direct_message_is_answered_in_the_dm(server: FakeDiscord) -> None:
    call = ask(server, "!echo private", f"/channels/{DM_ID}/messages", channel=DM_ID, guild=False)
    assert call[0].json["content"] == "private"
    opened = server.posted("/users/@me/channels")
    assert opened and opened[-1].json == {"recipient_id": ALICE_ID}


def test_the_bots_own_messages_are_ignored(server: FakeDiscord) -> None:
    before = len(server.posted(GENERAL))
    server.say("!echo me", author=BOT_ID)
    ask(server, "!echo marker")  # answered after the first one would have been
    assert [c.json["content"] for c in server.posted(GENERAL)[before:]] == ["marker"]


def test_a_bot_mention_is_an_alternative_prefix(server: FakeDiscord, probe: Any) -> None:
    call = ask(server, f"<@{BOT_ID}> echo via mention", mentions=(BOT_ID,))
    assert call[0].json["content"] == "via mention"
    mention = events(probe, "mention")[0]
    assert mention[1] == "@errbot echo via mention"
    assert mention[2] == [str(BOT_ID)]


def test_mentions_of_people_reach_callback_mention(server: FakeDiscord, probe: Any) -> None:
    server.say(f"hello <@{BOB_ID}>", mentions=(BOB_ID,))
    assert events(probe, "mention")[0][1:] == (f"hello <@{BOB_ID}>", [str(BOB_ID)])


def test_a_message_in_a_thread_is_answered_in_the_thread(server: FakeDiscord) -> None:
    call = ask(server, "!echo threaded", f"/channels/{THREAD_ID}/messages", channel=THREAD_ID)
    assert call[0].json["content"] == "threaded"


def test_divert_to_thread_starts_a_thread_from_the_message(server: FakeDiscord) -> None:
    mid = next(_ids)
    ask(server, "!threadme", f"/channels/{mid}/messages", message_id=mid)
    created = server.posted(f"/channels/{GENERAL_ID}/messages/{mid}/threads")
    assert [c.json for c in created] == [
        {"name": "!threadme", "auto_archive_duration": 1440, "rate_limit_per_user": None}
    ]
    assert server.posted(f"/channels/{mid}/messages")[0].json["content"] == "in a thread"


def test_divert_to_thread_reuses_an_existing_thread(server: FakeDiscord) -> None:
    mid = next(_ids)
    server.threads.add(str(mid))  # someone already started a thread from that message
    call = ask(server, "!threadme", f"/channels/{mid}/messages", message_id=mid)
    assert call[0].json["content"] == "in a thread"


def test_in_reply_to_is_a_native_reply(server: FakeDiscord) -> None:
    mid = next(_ids)
    call = ask(server, "!ask", message_id=mid)[0]
    assert call.json["content"] == "replying"
    reference = call.json["message_reference"]
    assert (reference["message_id"], reference["channel_id"]) == (mid, GENERAL_ID)
    assert reference["fail_if_not_exists"] is False


def test_a_long_reply_is_split_without_breaking_the_code_block(server: FakeDiscord) -> None:
    from discord_probe import LONG_CODE

    before = len(server.posted(GENERAL))
    server.say("!long")
    wait_for(lambda: "the end" in (server.posted(GENERAL)[-1].json or {}).get("content", ""))
    chunks = [c.json["content"] for c in server.posted(GENERAL)[before:]]
    assert len(chunks) >= 3
    assert all(len(chunk) <= 2000 for chunk in chunks)
    assert chunks[0].startswith("intro")
    for chunk in chunks:
        assert chunk.count("```") % 2 == 0, chunk  # every piece closes what it opens
    code = [line for chunk in chunks for line in chunk.splitlines() if line.startswith("print(")]
    assert code == LONG_CODE.splitlines()  # nothing lost, nothing reordered
    assert all("```python" in chunk for chunk in chunks[1:-1])  # reopened with its language


def test_markdown_tables_and_attributes_are_converted(server: FakeDiscord) -> None:
    content = ask(server, "!table")[0].json["content"]
    assert content.startswith("```\n┏━━━┳━━━┓")
    assert "**small heading**" in content
    assert "{:" not in content and "####" not in content


# -- cards, files, reactions --------------------------------------------------------------------


def test_a_card_is_sent_as_an_embed(server: FakeDiscord) -> None:
    payload = ask(server, "!card")[0].json
    assert payload["embeds"] == [
        {
            "type": "rich",
            "title": "Build 42",
            "url": "https://ci.example.invalid/42",
            "description": "**passed** in 3 min",
            "color": 0x2ECC71,
            "fields": [
                {"name": "branch", "value": "main", "inline": True},
                {"name": "tests", "value": "1200", "inline": True},
            ],
            "image": {"url": "https://ci.example.invalid/graph.png"},
            "thumbnail": {"url": "https://ci.example.invalid/logo.png"},
            "footer": {"text": "build summary"},
            "flags": 0,
        }
    ]


def test_a_file_is_uploaded_as_a_multipart_attachment(server: FakeDiscord, probe: Any) -> None:
    call = ask(server, "!upload")[0]
    assert call.files == {"files[0]": b"file content\n"}
    assert call.headers["filename:files[0]"] == "report.txt"
    assert call.json["attachments"] == [{"id": 0, "filename": "report.txt"}]
    wait_for(lambda: probe._stream.status == "success", what="the stream to succeed")
    assert probe._stream.transfered == 13


def _reaction(event: str, emoji: str, message_id: int) -> dict:
    data = {
        "user_id": str(ALICE_ID),
        "channel_id": str(GENERAL_ID),
        "message_id": str(message_id),
        "guild_id": str(GUILD_ID),
        "emoji": {"id": None, "name": emoji},
        "burst": False,
        "type": 0,
    }
    if event == "MESSAGE_REACTION_ADD":
        data["message_author_id"] = str(BOT_ID)
        data["member"] = {
            "user": {
                "id": str(ALICE_ID),
                "username": "alice",
                "discriminator": "0",
                "global_name": "Alice Liddell",
                "avatar": None,
            },
            "nick": "ally",
            "roles": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
    return data


def test_reactions_reach_callback_reaction(server: FakeDiscord, probe: Any) -> None:
    server.dispatch("MESSAGE_REACTION_ADD", _reaction("MESSAGE_REACTION_ADD", "👍", 77))
    server.dispatch("MESSAGE_REACTION_REMOVE", _reaction("MESSAGE_REACTION_REMOVE", "👍", 77))
    added, removed = (e[1] for e in events(probe, "reaction", 2))
    assert added.action == REACTION_ADDED and removed.action == REACTION_REMOVED
    assert added.reaction_name == "👍"
    assert isinstance(added.reactor, DiscordRoomOccupant)
    assert added.reactor.aclattr == str(ALICE_ID) and added.reactor.fullname == "ally"
    assert added.reactor.room == DiscordRoom(GENERAL_ID)
    assert added.reacted_to_owner == DiscordPerson(BOT_ID)
    assert added.reacted_to["message_id"] == 77
    assert added.reacted_to["channel_id"] == GENERAL_ID


def test_unknown_gateway_events_are_ignored_with_a_debug_log(
    server: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="errbot.backends.discord.client")
    server.dispatch("SOMETHING_NEW_2030", {"whatever": True})
    ask(server, "!echo still here")
    assert "Ignoring the Discord gateway event SOMETHING_NEW_2030." in caplog.text


# -- identifiers ----------------------------------------------------------------------------------


def test_identifiers_from_messages(server: FakeDiscord, bot: DiscordBackend) -> None:
    seen: list[Any] = []
    original = bot.callback_message
    bot.callback_message = lambda msg: (seen.append(msg), original(msg))  # type: ignore
    try:
        server.say("plain words", message_id=4999)
        wait_for(lambda: seen)
    finally:
        del bot.callback_message
    msg = seen[0]
    assert msg.is_group and msg.to == DiscordRoom(GENERAL_ID)
    assert msg.to.name == "general" and msg.to.guild_id == GUILD_ID
    frm = msg.frm
    assert isinstance(frm, DiscordRoomOccupant)
    assert (frm.person, frm.aclattr, frm.nick, frm.fullname) == (
        f"<@{ALICE_ID}>",
        str(ALICE_ID),
        "alice",
        "ally",
    )
    assert str(frm) == f"<@{ALICE_ID}>" and frm.room == msg.to
    assert msg.extras["id"] == 4999 and msg.extras["channel_id"] == GENERAL_ID
    assert bot.is_from_self(msg) is False


def test_build_identifier_forms(bot: DiscordBackend) -> None:
    alice = bot.build_identifier(f"<@{ALICE_ID}>")
    assert isinstance(alice, DiscordPerson) and not isinstance(alice, DiscordRoomOccupant)
    assert alice.nick == "alice" and alice.fullname == "Alice Liddell"
    for text in (f"<@!{ALICE_ID}>", str(ALICE_ID), "alice", "@alice", "Alice Liddell"):
        assert bot.build_identifier(text) == alice, text
    assert bot.build_identifier(str(alice)) == alice  # round trip
    general = bot.build_identifier(f"<#{GENERAL_ID}>")
    assert general == bot.build_identifier("#general") == DiscordRoom(GENERAL_ID)
    assert str(general) == f"<#{GENERAL_ID}>" and general.name == "general"
    thread = bot.build_identifier("#a thread")
    assert thread.id == THREAD_ID and thread.is_thread and thread.parent_id == GENERAL_ID
    with pytest.raises(UserDoesNotExistError):
        bot.build_identifier("nobody")
    assert pickle.loads(pickle.dumps(alice)) == alice
    assert pickle.loads(pickle.dumps(general)) == general
    assert bot.bot_identifier == DiscordPerson(BOT_ID) and bot.bot_identifier.nick == "errbot"


def test_whoami_shows_the_discord_identity(server: FakeDiscord) -> None:
    content = ask(server, "!whoami")[0].json["content"]
    assert str(ALICE_ID) in content and "alice" in content


def test_admins_are_matched_on_the_user_id(server: FakeDiscord) -> None:
    # BOT_ADMINS = ("2000",) in the test config: alice may run admin commands, bob may not.
    dm = {"path": f"/channels/{DM_ID}/messages", "channel": DM_ID, "guild": False}
    assert ask(server, "!secret", **dm)[0].json["content"] == "the secret"
    denied = ask(server, "!secret", author=BOB_ID, **dm)[0].json["content"]
    assert "admin" in denied.lower() and "the secret" not in denied


# -- rooms, presence ------------------------------------------------------------------------------


def test_rooms_lists_the_guild_text_channels(bot: DiscordBackend) -> None:
    rooms = bot.rooms()
    assert rooms == [DiscordRoom(GENERAL_ID), DiscordRoom(RANDOM_ID)]
    assert [r.name for r in rooms] == ["general", "random"]
    general = bot.query_room("#general")
    assert general.exists and general.joined
    general.join()  # nothing to join on Discord: a no-op for a visible channel


def test_topic_is_read_and_set(server: FakeDiscord, bot: DiscordBackend, probe: Any) -> None:
    general = bot.query_room(f"<#{GENERAL_ID}>")
    assert general.topic == "General chat"
    general.topic = "Release day"
    assert server.posted(f"/channels/{GENERAL_ID}", "PATCH")[-1].json == {"topic": "Release day"}
    assert events(probe, "topic")[0][1] == general  # the CHANNEL_UPDATE that followed
    wait_for(lambda: general.topic == "Release day")


def test_occupants_are_the_members_who_see_the_channel(bot: DiscordBackend) -> None:
    occupants = bot.query_room("#general").occupants
    assert sorted(o.aclattr for o in occupants) == [str(BOT_ID), str(ALICE_ID), str(BOB_ID)]
    assert all(isinstance(o, DiscordRoomOccupant) for o in occupants)


def test_change_presence_sends_a_presence_update(server: FakeDiscord, bot: DiscordBackend) -> None:
    bot.change_presence("away", "lunch")
    update = server.wait_gateway(3)[-1]["d"]
    assert update["status"] == "idle"
    assert update["activities"][0]["type"] == 4 and update["activities"][0]["state"] == "lunch"


def test_send_from_another_thread(server: FakeDiscord, bot: DiscordBackend) -> None:
    before = len(server.posted(f"/channels/{RANDOM_ID}/messages"))
    bot.send(bot.build_identifier("#random"), "from a worker thread")
    call = server.wait_posted(f"/channels/{RANDOM_ID}/messages", before + 1)[-1]
    assert call.json["content"] == "from a worker thread"
    assert re.fullmatch(r"\d+", call.json["nonce"])



def test_room_commands_discord_cannot_do_say_what_to_do_instead(server: FakeDiscord) -> None:
    # Alice is in BOT_ADMINS; the room commands are admin-only, so ask in a DM.
    dm = {"path": f"/channels/{DM_ID}/messages", "channel": DM_ID, "guild": False}

    def reply(command: str) -> str:
        return str(ask(server, command, **dm)[0].json["content"])

    assert reply("!room leave #general") == (
        "Cannot leave the room #general: a Discord bot is in every channel its roles let it "
        "see; to keep it out of this one, deny it View Channel in the channel's permissions "
        "(or remove the bot from the server)."
    )
    assert reply(f"!room invite #general <@{BOB_ID}>") == (
        f"Cannot invite <@{BOB_ID}> into the room #general: Discord has no invitations to a "
        "channel; give the person a role that can view it (or add them to the channel's "
        "permissions)."
    )
    assert reply("!room destroy #random") == (
        "Cannot destroy the room #random: the bot does not delete Discord channels; delete it "
        "in Discord."
    )
    # A channel the bot cannot see is refused by the backend itself: still one clear reply.
    assert reply("!room create #nowhere") == (
        "Cannot create the room #nowhere: No Discord channel named #nowhere is visible to the "
        "bot."
    )
    # No channel was touched.
    assert not server.posted(f"/channels/{GENERAL_ID}", "DELETE")
    assert not server.posted(f"/channels/{RANDOM_ID}", "DELETE")
