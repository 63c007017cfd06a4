"""The Matrix backend's session against a real Synapse: refused logins, an unreachable
homeserver, access tokens, invitations, the start-up backlog, and reconnection after the
homeserver was killed and restarted (same port, same data).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from servers.matrix_bot import BOT, RunningBot, start_bot, wait_for
from servers.synapse import Human, SynapseServer, call, free_port, synapse  # noqa: F401

from errbot.backends.matrix import MatrixBackend
from errbot.backends.matrix.client import AUTH_FAILED, UNREACHABLE
from errbot.settings import config_from_dict


@pytest.fixture(scope="module")
def human(synapse: SynapseServer) -> Human:  # noqa: F811
    synapse.register("bot", "botpw")
    return Human(synapse, "human", "humanpw")


@pytest.fixture()
def bots() -> Iterator[list[RunningBot]]:
    started: list[RunningBot] = []
    yield started
    for running in started:
        running.stop()


def refusals(caplog: pytest.LogCaptureFixture, setting: str) -> list[str]:
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    return [text for text in errors if setting in text]


def test_a_wrong_password_is_one_clear_error(
    synapse: SynapseServer,  # noqa: F811
    human: Human,
    tmp_path: Path,
    bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    running = start_bot(synapse, tmp_path, wait=False, identity={"password": "wrong"})
    bots.append(running)
    wait_for(lambda: running.bot.last_failure == AUTH_FAILED, 10, "the refusal")
    wait_for(lambda: running.bot.connections >= 1, 1)
    [error] = refusals(caplog, "BOT_IDENTITY['password']")
    assert "M_FORBIDDEN" in error and BOT in error
    assert not running.bot.connected
    assert running.bot.connections == 1  # retried slowly, not hammered


def test_an_unreachable_homeserver_is_retried_with_growing_delays(
    tmp_path: Path, bots: list[RunningBot], caplog: pytest.LogCaptureFixture
) -> None:
    class Nowhere:
        url = f"http://127.0.0.1:{free_port()}"

    running = start_bot(Nowhere(), tmp_path, wait=False)  # type: ignore[arg-type]
    bots.append(running)
    wait_for(lambda: running.bot.connections >= 3, 10, "three attempts")
    assert running.bot.last_failure == UNREACHABLE
    assert refusals(caplog, "BOT_IDENTITY['homeserver']")


def test_settings_errors_name_the_setting(tmp_path: Path) -> None:
    def make(identity: dict[str, str]) -> None:
        MatrixBackend(config_from_dict({"BOT_DATA_DIR": str(tmp_path), "BOT_IDENTITY": identity}))

    with pytest.raises(ValueError, match=r"BOT_IDENTITY\['homeserver'\]"):
        make({"username": BOT, "password": "x"})
    with pytest.raises(ValueError, match=r"BOT_IDENTITY\['username'\]"):
        make({"homeserver": "http://127.0.0.1:1", "password": "x"})
    with pytest.raises(ValueError, match="'password' or an access 'token'"):
        make({"homeserver": "http://127.0.0.1:1", "username": BOT})


def test_an_access_token_logs_in_and_a_bad_one_is_named(
    synapse: SynapseServer,  # noqa: F811
    human: Human,
    tmp_path: Path,
    bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    login = synapse.register("tokenbot", "tokenbotpw")
    identity = {"username": "tokenbot", "password": None, "token": login["access_token"]}
    running = start_bot(synapse, tmp_path / "good", identity=identity)
    bots.append(running)
    assert running.bot.user_id == "@tokenbot:localhost"  # a localpart, on the server's host
    room_id = human.create_room(invite=["@tokenbot:localhost"], is_direct=True)
    wait_for(lambda: running.bot.query_room(room_id).joined, 10, "the join")
    human.say(room_id, "!echo with a token")
    assert human.expect_message(room_id, "with a token")["sender"] == "@tokenbot:localhost"

    bad = start_bot(synapse, tmp_path / "bad", wait=False, identity={**identity, "token": "nope"})
    bots.append(bad)
    wait_for(lambda: bad.bot.last_failure == AUTH_FAILED, 10, "the refusal")
    [error] = refusals(caplog, "BOT_IDENTITY['token']")
    assert "M_UNKNOWN_TOKEN" in error


def test_invitations_backlog_and_restart(
    synapse: SynapseServer,  # noqa: F811
    human: Human,
    tmp_path: Path,
    bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    synapse.register("bot2", "bot2pw")
    identity = {"username": "@bot2:localhost", "password": "bot2pw"}
    room_id = human.create_room(invite=["@bot2:localhost"])

    # Invitations are declined (left pending) unless MATRIX_AUTO_JOIN_ON_INVITE is set.
    with caplog.at_level("INFO", logger="errbot.backends.matrix.room_ops"):
        first = start_bot(
            synapse, tmp_path / "1", identity=identity, MATRIX_AUTO_JOIN_ON_INVITE=False
        )
        wait_for(lambda: "MATRIX_AUTO_JOIN_ON_INVITE = True" in caplog.text, 10, "the log")
    assert not first.bot.query_room(room_id).joined
    first.stop()

    # The pending invitation is accepted at the next start when the setting allows it.
    second = start_bot(synapse, tmp_path / "2", identity=identity)
    wait_for(lambda: second.bot.query_room(room_id).joined, 10, "the join")
    second.stop()

    # Commands said while the bot was away are history for a new process: not re-run.
    human.say(room_id, "!echo said before the start")
    third = start_bot(synapse, tmp_path / "3", identity=identity)
    bots.append(third)
    human.say(room_id, "!echo said after the start")
    assert human.expect_message(room_id, "said after")["content"]["body"] == "said after the start"
    human.sync()
    answers = [e for e in human.events if e["sender"] == "@bot2:localhost"]
    assert not [e for e in answers if "before the start" in str(e.get("content"))]


def test_reconnects_after_the_homeserver_restarts(
    synapse: SynapseServer,  # noqa: F811
    human: Human,
    tmp_path: Path,
    bots: list[RunningBot],
) -> None:
    running = start_bot(synapse, tmp_path)
    bots.append(running)
    bot = running.bot
    room_id = human.create_room(invite=[BOT], is_direct=True)
    wait_for(lambda: bot.query_room(room_id).joined, 10, "the join")
    human.say(room_id, "!echo before the cut")
    human.expect_message(room_id, "before the cut")

    synapse.stop(kill=True)
    wait_for(lambda: not bot.connected, 15, "the bot to notice")
    bot.send(bot.build_identifier("@human:localhost"), "queued while down")
    synapse.start()

    running.wait_connected(20)
    assert bot.connections >= 2
    assert human.expect_message(room_id, "queued while down", 20)["sender"] == BOT
    human.say(room_id, "!echo after the restart")
    assert human.expect_message(room_id, "after the restart")["content"]["body"] == (
        "after the restart"
    )


def test_by_default_direct_chats_from_anyone_and_rooms_from_admins_are_joined(
    synapse: SynapseServer,  # noqa: F811
    human: Human,
    tmp_path: Path,
    bots: list[RunningBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    synapse.register("bot4", "bot4pw")
    boss = Human(synapse, "boss", "bosspw")
    bot_id = "@bot4:localhost"
    # MATRIX_AUTO_JOIN_ON_INVITE left unset (None): the default policy.
    running = start_bot(
        synapse,
        tmp_path,
        identity={"username": bot_id, "password": "bot4pw"},
        MATRIX_AUTO_JOIN_ON_INVITE=None,
        BOT_ADMINS=("@boss:localhost",),
    )
    bots.append(running)
    bot = running.bot
    with caplog.at_level("INFO", logger="errbot.backends.matrix.room_ops"):
        dm = human.create_room(invite=[bot_id], is_direct=True)
        wait_for(lambda: bot.query_room(dm).joined, 10, "the direct chat join")
        human.say(dm, "!echo a stranger's direct chat works")
        assert human.expect_message(dm, "direct chat works")["sender"] == bot_id

        boss_room = boss.create_room(invite=[bot_id])
        wait_for(lambda: bot.query_room(boss_room).joined, 10, "the admin's room join")

        stranger_room = human.create_room(invite=[bot_id])
        wait_for(lambda: stranger_room in caplog.text, 10, "the refusal log")
    assert not bot.query_room(stranger_room).joined
    assert "only direct chats and rooms of BOT_ADMINS are joined" in caplog.text


def test_a_password_login_is_resumed_on_the_next_start_without_a_new_device(
    synapse: SynapseServer,  # noqa: F811
    tmp_path: Path,
    bots: list[RunningBot],
) -> None:
    synapse.register("bot5", "bot5pw")
    identity = {"username": "@bot5:localhost", "password": "bot5pw"}

    def run_once() -> tuple[str, str]:
        running = start_bot(synapse, tmp_path, identity=identity, STORAGE="Shelf")
        client = running.bot._conn.client
        session = (str(client.device_id), str(client.access_token))
        running.stop()
        return session

    def devices(token: str) -> list[str]:
        answer = call(synapse.url, "GET", "/_matrix/client/v3/devices", None, token)
        return sorted(d["device_id"] for d in answer["devices"])

    device, token = run_once()
    known = devices(token)  # the bot's device, and the one registering the account made
    assert device in known
    assert run_once() == (device, token)  # the saved session: no login at all
    assert devices(token) == known

    # Logged out elsewhere: the next start logs in with the password, on the same device.
    call(synapse.url, "POST", "/_matrix/client/v3/logout", {}, token)
    again, new_token = run_once()
    assert again == device and new_token != token
    assert devices(new_token) == known
