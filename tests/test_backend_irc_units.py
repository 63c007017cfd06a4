"""The IRC backend's pure parts: line fitting, mentions, identifiers, settings. No server."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing library must fail
    pytest.importorskip("irc")

from errbot.backends.irc.backend import IRCBackend, settings_from_config  # noqa: E402
from errbot.backends.irc.identifiers import IRCPerson, IRCRoom, IRCRoomOccupant  # noqa: E402
from errbot.backends.irc.lines import addressed_nicks, split_lines, text_budget  # noqa: E402
from errbot.bootstrap import setup_bot  # noqa: E402
from errbot.settings import config_from_dict  # noqa: E402


def test_short_lines_pass_and_line_breaks_split() -> None:
    assert split_lines("one\ntwo\r\n\nthree\n", 100) == ["one", "two", " ", "three"]
    assert split_lines("\n\nonly\n\n", 100) == ["only"]
    assert split_lines("a\x00b", 100) == ["ab"]


def test_long_lines_are_cut_at_spaces_then_between_characters() -> None:
    words = " ".join(["word"] * 30)
    lines = split_lines(words, 20)
    assert all(len(line.encode()) <= 20 for line in lines)
    assert " ".join(lines) == words
    euros = "€" * 25  # 3 bytes each
    lines = split_lines(euros, 10)
    assert lines[0] == "€€€" and "".join(lines) == euros
    assert all(len(line.encode()) <= 10 for line in lines)


def test_the_budget_counts_the_relayed_prefix() -> None:
    mask = "errbot!~errbot@127.0.0.1"
    overhead = len(f":{mask} PRIVMSG #chan :".encode())
    assert text_budget("PRIVMSG", "#chan", "errbot", mask) == 510 - overhead
    # Unknown mask: assume a long one rather than overflow.
    assert text_budget("PRIVMSG", "#chan", "errbot", None) < 510 - overhead


def test_addressed_nicks() -> None:
    # Candidates only: the backend keeps those who are in the channel.
    assert addressed_nicks("errbot: hi, bob, and carol: x") == ["errbot", "hi", "bob", "carol"]
    assert addressed_nicks("time is 10:30 http://x") == []
    assert addressed_nicks("alice: alice: twice") == ["alice"]


def test_person_parts_and_aclattr() -> None:
    person = IRCPerson("Boss!~boss@example.org", "{nick}@{host}")
    assert (person.nick, person.user, person.host) == ("Boss", "~boss", "example.org")
    assert person.person == "Boss" and person.client == "~boss@example.org"
    assert person.aclattr == "Boss@example.org"
    assert str(person) == "Boss!~boss@example.org"
    assert person == IRCPerson("boss")  # IRC nicks are case-insensitive
    assert IRCPerson("a[b]") == IRCPerson("A{B}")  # RFC 1459 case mapping
    assert IRCPerson("bare").aclattr == "bare!@"


def test_rooms_need_a_channel_name() -> None:
    with pytest.raises(ValueError):
        IRCRoom("nochannel", None)
    assert IRCRoom("#Ops", None) == IRCRoom("#ops", None)


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[IRCBackend]:
    config = config_from_dict(
        {
            "BOT_DATA_DIR": str(tmp_path),
            "STORAGE": "Memory",
            "BOT_ADMINS": ("boss!*@*",),
            "BOT_IDENTITY": {"nickname": "errbot", "server": "irc.example.org"},
            "CORE_PLUGINS": (),
        }
    )
    bot = setup_bot("IRC", config)
    yield bot
    bot.shutdown()


def test_build_identifier_round_trips(bot: IRCBackend) -> None:
    room = bot.build_identifier("#ops")
    person = bot.build_identifier("alice!~a@host")
    occupant = bot.build_identifier("alice!~a@host\n#ops")
    assert isinstance(room, IRCRoom) and isinstance(person, IRCPerson)
    assert isinstance(occupant, IRCRoomOccupant) and occupant.room == room
    for identifier in (room, person, occupant, bot.build_identifier("bob")):
        assert bot.build_identifier(str(identifier)) == identifier
    assert pickle.loads(pickle.dumps(occupant)) == occupant
    with pytest.raises(ValueError):
        bot.build_identifier("two words")


def test_offline_room_state(bot: IRCBackend) -> None:
    room = bot.query_room("ops")
    assert str(room) == "#ops" and not room.joined and bot.rooms() == []
    from errbot.backends.base import RoomNotJoinedError

    with pytest.raises(RoomNotJoinedError):
        room.topic  # noqa: B018
    with pytest.raises(RoomNotJoinedError):
        room.occupants  # noqa: B018


def test_replies_and_limits(bot: IRCBackend) -> None:
    room = bot.build_identifier("#ops")
    frm = IRCRoomOccupant("alice!~a@h", room)
    msg = bot.build_message("hi")
    msg.frm, msg.to = frm, room
    assert bot.build_reply(msg, "x").to == room
    assert bot.build_reply(msg, "x", private=True).to == frm
    reply = bot.build_reply(msg, "x")
    bot.prefix_groupchat_reply(reply, frm)
    assert reply.body == "alice: x"
    assert bot.message_size_limit == 510 and bot.mode == "irc"


def test_settings() -> None:
    def make(**identity: object) -> object:
        return config_from_dict({"BOT_IDENTITY": identity, "BOT_ADMINS": ("x",)})

    tls = settings_from_config(make(nickname="n", server="s", ssl=True, bind_address="::1"))
    assert tls.port == 6697 and tls.bind_address == ("::1", 0)
    assert settings_from_config(make(nickname="n", server="s")).port == 6667
    with pytest.raises(ValueError, match="nickname"):
        settings_from_config(make(server="s"))


def test_lines_held_while_offline_are_bounded_and_refusals_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio

    from errbot.backends.irc.outbox import Lane

    written: list[str] = []

    async def scenario() -> None:
        online = asyncio.Event()
        lane = Lane("private", 0, online, lambda c, t, x: written.append(x) or True, limit=2)
        lane.start()
        assert lane.put("PRIVMSG", "alice", ["one", "two", "three"]) == 1
        await asyncio.sleep(0.05)
        assert written == [] and len(lane) == 2  # offline: held
        online.set()
        assert await lane.drain(1)
        await lane.stop()

    asyncio.run(scenario())
    assert written == ["one", "two"]
    assert any("1 line(s) to alice refused" in r.getMessage() for r in caplog.records)


def test_a_lane_writes_one_line_per_interval() -> None:
    import asyncio

    from errbot.backends.irc.outbox import Lane

    written: list[str] = []

    async def scenario() -> int:
        online = asyncio.Event()
        online.set()
        # A minute between two lines: the second cannot go out while the test runs.
        lane = Lane("channel", 60, online, lambda c, t, x: written.append(x) or True)
        lane.start()
        lane.put("PRIVMSG", "#ops", ["one", "two", "three"])
        for _ in range(20):
            await asyncio.sleep(0.01)
        held = len(lane)
        await lane.stop()
        return held

    assert asyncio.run(scenario()) == 2
    assert written == ["one"]


def test_a_missing_ngircd_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from servers import ngircd

    monkeypatch.setattr(ngircd, "NGIRCD_PATHS", ("/nonexistent/ngircd",))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        ngircd.require_ngircd()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required when CI=true"):
        ngircd.require_ngircd()
