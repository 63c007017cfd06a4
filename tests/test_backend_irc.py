"""The IRC backend against a real ngircd: one server and one bot for the whole module, with
people played by raw-socket clients (tests/servers/ngircd.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers.ngircd import IrcUser, Ngircd
from test_backend_irc_helpers import PROBE_DIR, RunningBot, wait_until

sys.path.insert(0, PROBE_DIR)
from irc_probe import BIG_WORD, BIG_WORDS  # noqa: E402

HOME = "#bots"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ngircd]:
    server = Ngircd(tmp_path_factory.mktemp("ngircd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def running(server: Ngircd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    running = RunningBot(tmp_path_factory.mktemp("bot"), server.port, CHATROOM_PRESENCE=(HOME,))
    running.wait_online(HOME)
    yield running
    running.stop()


def person(server: Ngircd, nick: str) -> Iterator[IrcUser]:
    user = IrcUser(server.port, nick)
    user.join(HOME)
    yield user
    user.close()


@pytest.fixture
def boss(server: Ngircd, running: RunningBot) -> Iterator[IrcUser]:
    yield from person(server, "boss")


@pytest.fixture
def pleb(server: Ngircd, running: RunningBot) -> Iterator[IrcUser]:
    yield from person(server, "pleb")


def ask(user: IrcUser, text: str, where: str = HOME) -> str:
    """Send ``text`` to the bot in ``where`` (a channel, or "errbot": privately); the reply."""
    user.say(where, text)
    return user.message_from("errbot", where if where.startswith("#") else None)


def events(user: IrcUser, kind: str, expected: str) -> list[str]:
    """Ask the probe plugin for its recorded callbacks until ``expected`` is among them."""

    def found() -> list[str] | None:
        user.say("errbot", f"!events {kind}")
        first = user.message_from("errbot")
        lines = [first]
        while (more := user.quiet("errbot", 0.05)) != []:
            lines += more
        return lines if expected in lines else None

    return wait_until(found, 5, f"event {expected!r}")


def test_echo_in_a_channel_and_in_private(boss: IrcUser) -> None:
    assert ask(boss, "!echo hello") == "hello"
    assert ask(boss, "!echo hello in private", "errbot") == "hello in private"


def test_markdown_is_rendered_with_irc_codes(boss: IrcUser) -> None:
    assert ask(boss, "!echo **bold**", "errbot") == "\x02bold\x02"


def test_admin_commands_follow_the_nick_pattern(boss: IrcUser, pleb: IrcUser) -> None:
    # Admin commands are for direct messages only (Errbot's default ACL).
    assert ask(boss, "!secret", "errbot") == "the secret"
    assert ask(pleb, "!secret", "errbot") == "This command requires bot-admin privileges"


def test_aclattr_is_the_full_mask(boss: IrcUser) -> None:
    mask = ask(boss, "!whoami acl", "errbot")
    assert mask.startswith("boss!") and "@" in mask


def test_room_commands(boss: IrcUser) -> None:
    assert ask(boss, "!room join #side") == "Joined the room #side."
    boss.join("#side")
    boss.say(HOME, "!room occupants #side")
    lines = boss.messages_from("errbot", 3, HOME)
    assert lines[0] == "Occupants in #side:"
    assert sorted(line.strip(" \t.") for line in lines[1:]) == ["boss", "errbot"]
    assert ask(boss, "!room topic #side Release day") == "Topic for #side set."
    topic = boss.expect(lambda x: x.command == "TOPIC" and x.params[0] == "#side")
    assert topic.nick == "errbot" and topic.text == "Release day"
    assert ask(boss, "!room topic #side") == "Topic for #side: Release day."
    assert "topic #side Release day" in events(boss, "topic", "topic #side Release day")
    boss.say("errbot", "!room list")
    assert boss.message_from("errbot") == "I'm currently in these rooms:"
    wait_until(lambda: boss.message_from("errbot").strip() == "#side", 5, "#side in the list")
    assert ask(boss, "!room leave #side") == "Left the room #side."
    boss.expect(lambda x: x.command == "PART" and x.nick == "errbot")
    assert ask(boss, "!room topic #side").startswith("Cannot get the topic for #side")


def test_create_destroy_and_invite(boss: IrcUser, server: Ngircd) -> None:
    # IRC channels exist while someone is in them: create joins, destroy leaves.
    assert ask(boss, "!room create #made") == "Created the room #made."
    boss.join("#made")
    guest = IrcUser(server.port, "guest")
    assert ask(boss, "!room invite #made guest") == "Invited guest into the room #made."
    invite = guest.expect(lambda x: x.command == "INVITE")
    assert invite.nick == "errbot" and invite.params == ["guest", "#made"]
    guest.close()
    assert ask(boss, "!room destroy #made") == "Destroyed the room #made."
    boss.expect(lambda x: x.command == "PART" and x.nick == "errbot" and x.params[0] == "#made")


def test_mentions_reach_callback_mention(boss: IrcUser, pleb: IrcUser) -> None:
    boss.say(HOME, "errbot: look at this, pleb: you too, nobody: not you")
    assert "mention errbot,pleb" in events(boss, "mention", "mention errbot,pleb")


def test_a_multi_line_reply_arrives_line_by_line(boss: IrcUser) -> None:
    boss.say(HOME, "!lines 5")
    assert boss.messages_from("errbot", 5, HOME) == [f"line {i}" for i in range(5)]


def test_long_utf8_replies_arrive_intact_within_the_line_limit(boss: IrcUser) -> None:
    boss.say(HOME, "!big")
    lines = []
    while "".join(lines) != BIG_WORD:
        line = boss.expect(lambda x: x.command == "PRIVMSG" and x.nick == "errbot")
        assert line.size <= 512  # as relayed by the server, prefix and CR LF included
        lines.append(line.text)
        assert len("".join(lines)) <= len(BIG_WORD)
    assert len(lines) >= 2
    boss.say(HOME, "!big words")
    lines = []
    while len(" ".join(lines)) < len(BIG_WORDS):
        line = boss.expect(lambda x: x.command == "PRIVMSG" and x.nick == "errbot")
        assert line.size <= 512
        lines.append(line.text)
    assert " ".join(lines) == BIG_WORDS


def test_send_from_another_thread(boss: IrcUser) -> None:
    assert ask(boss, "!later", "errbot") == "sent from a thread"
    boss.say("errbot", f"!later {HOME}")
    assert boss.message_from("errbot", HOME) == "sent from a thread"


def test_joins_parts_and_quits_are_room_callbacks(boss: IrcUser, server: Ngircd) -> None:
    visitor = IrcUser(server.port, "visitor")
    visitor.join(HOME)
    events(boss, "visitor", f"joined {HOME} visitor")
    visitor.send(f"PART {HOME}")
    events(boss, "visitor", f"left {HOME} visitor")
    visitor.close()


def test_kicked_the_bot_joins_again(boss: IrcUser, running: RunningBot) -> None:
    boss.join("#kick")  # first in: boss is the channel operator
    assert ask(boss, "!room join #kick") == "Joined the room #kick."
    boss.expect(lambda x: x.command == "JOIN" and x.nick == "errbot")
    boss.send("KICK #kick errbot :out")
    events(boss, "#kick", "left #kick errbot by boss")
    # IRC_RECONNECT_ON_KICK = 0.2 s
    boss.expect(lambda x: x.command == "JOIN" and x.nick == "errbot" and x.params[0] == "#kick")
    wait_until(lambda: running.bot.client.book.is_joined("#kick"))


def test_an_invitation_is_followed(boss: IrcUser) -> None:
    boss.join("#invited")
    boss.send("INVITE errbot #invited")
    boss.expect(lambda x: x.command == "JOIN" and x.nick == "errbot" and x.params[0] == "#invited")
    events(boss, "invited", "joined #invited errbot by boss")


def test_notices_reach_plugins_but_are_never_answered(boss: IrcUser) -> None:
    boss.send("NOTICE errbot :!echo not a command")
    events(boss, "notice", "notice boss !echo not a command")
    assert boss.quiet("errbot", 0.3) == []


def test_identifiers_from_events_round_trip(running: RunningBot, boss: IrcUser) -> None:
    bot = running.bot
    room = bot.build_identifier(HOME)
    occupants = {o.nick: o for o in room.occupants}
    assert {"boss", "errbot"} <= set(occupants)
    assert room.joined and room.exists
    assert bot.query_room("#nobody-here").exists is False
    assert bot.build_identifier(str(occupants["boss"])) == occupants["boss"]
    assert bot.rooms() and room in bot.rooms()


def test_data_dir_is_used(running: RunningBot) -> None:
    assert Path(running.bot.bot_config.BOT_DATA_DIR).is_dir()
    assert running.bot.mode == "irc"
