"""A config.py and plugins written for errbot-backend-slackv3, unchanged, against the fake
Slack: its identity keys, user ids in BOT_ADMINS / ACCESS_CONTROLS, BOT_ALT_PREFIXES, ``mode``,
Slack extras on outgoing messages and the helpers its plugins call on ``self._bot``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from servers.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from servers.slack_bot import RunningBot, start_bot, wait_for


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def running(fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    # As slackv3's configuration guide writes it: every key of BOT_IDENTITY, user ids as ACLs.
    running = start_bot(
        fake,
        tmp_path_factory.mktemp("slackv3"),
        identity={"token": BOT_TOKEN, "signing_secret": "0123abcd", "app_token": APP_TOKEN},
        BOT_ADMINS=("UALICE",),
        ACCESS_CONTROLS={"echo": {"denyusers": ("<@UBOB>",)}},
        BOT_ALT_PREFIXES=("@errbot",),
    )
    yield running
    running.stop()


def posts_after(fake: FakeSlack, start: int, count: int = 1) -> list[dict]:
    def found() -> list[dict] | None:
        posts = [a for m, a, _ in fake.calls[start:] if m == "chat.postMessage"]
        return posts if len(posts) >= count else None

    return wait_for(found, 10, f"{count} chat.postMessage")


def say(fake: FakeSlack, text: str, count: int = 1, **event) -> list[dict]:
    start = len(fake.calls)
    fake.push(fake.message_event(text, **event))
    return posts_after(fake, start, count)


def test_socket_mode_is_used_when_every_key_is_given(fake: FakeSlack, running) -> None:
    assert running.bot.socket_mode and fake.connected()
    assert running.bot.mode == "slackv3"


def test_user_ids_in_bot_admins_and_acls_keep_matching(fake: FakeSlack, running) -> None:
    (post,) = say(fake, "!slack_admin", channel="DALICE")
    assert post == {"channel": "DALICE", "text": "you are an admin"}
    (post,) = say(fake, "!slack_admin", user="UBOB", channel="DBOB")
    assert post == {"channel": "DBOB", "text": "This command requires bot-admin privileges"}
    (post,) = say(fake, "!echo denied?", user="UBOB", channel="DBOB")
    assert post["text"] == "You're not allowed to access this command from this user"
    (post,) = say(fake, "!echo allowed", channel="DALICE")
    assert post["text"] == "allowed"
    # Both spellings stay listed: the id for slackv3's habits, the name for this backend's.
    config = running.bot.bot_config
    assert config.BOT_ADMINS == ("UALICE", "@alice")
    assert config.ACCESS_CONTROLS["echo"]["denyusers"] == ("<@UBOB>", "@bob")


def test_configured_alt_prefix_and_the_mention_both_work(fake: FakeSlack, running) -> None:
    assert running.bot.bot_config.BOT_ALT_PREFIXES == ("@errbot",)  # not added twice
    (post,) = say(fake, "<@UBOT> echo by mention")
    assert post == {"channel": "CGENERAL", "text": "by mention"}
    (post,) = say(fake, "@errbot echo by name")
    assert post["text"] == "by name"


def test_attachments_and_blocks_extras_are_sent(fake: FakeSlack, running) -> None:
    (post,) = say(fake, "!v3_attachments")
    assert post == {
        "channel": "CGENERAL",
        "text": "See below",
        "attachments": [{"color": "5F4B48", "title": "Bot", "text": "General"}],
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi*"}}],
    }
    (post,) = say(fake, "!v3_attachments", channel="DALICE")
    assert post["channel"] == "DALICE"  # the re-sent direct message goes back to its author


def test_thread_ts_extra_picks_the_thread(fake: FakeSlack, running) -> None:
    (post,) = say(fake, "!v3_thread")
    assert post == {
        "channel": "CGENERAL",
        "text": "in the given thread",
        "thread_ts": "1700000000.000099",
    }


def test_slackv3_helpers_on_the_bot(fake: FakeSlack, running) -> None:
    start = len(fake.calls)
    event = fake.message_event("!v3_lookups")
    fake.push(event)
    direct, answer = posts_after(fake, start, 2)
    assert direct == {"channel": "CGENERAL", "text": "from slack_web"}
    assert answer["text"] == (
        "slackv3 UALICE CGENERAL bob UBOB random CRANDOM DBOB 2/1 alice user_not_found "
        "SlackAPIResponseError:user_not_found True"
    )
    # slack_web is a plain WebClient on the same token and API URL.
    assert {token for m, _, token in fake.calls[start:]} == {BOT_TOKEN}


def test_reactions_round_trip_from_a_received_message(fake: FakeSlack, running) -> None:
    from errbot.backends.base import Message

    received = Message("x", extras={"channel": "CGENERAL", "ts": "1700000000.000011"})
    running.bot.add_reaction(received, "hourglass")
    running.bot.remove_reaction(received, ":hourglass:")
    expected = {"channel": "CGENERAL", "timestamp": "1700000000.000011", "name": "hourglass"}
    assert wait_for(lambda: fake.calls_to("reactions.remove")) == [expected]
    assert expected in fake.calls_to("reactions.add")
