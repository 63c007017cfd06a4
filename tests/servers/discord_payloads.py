"""The objects the fake Discord (`fake_discord`) serves: ids, users, the test guild with its
channels, members and a thread, shaped as Discord's API documentation (v10) describes them."""

from __future__ import annotations

TOKEN = "bot-token-for-tests"
BOT_ID = 1000
ALICE_ID = 2000
BOB_ID = 2001
GUILD_ID = 500
GENERAL_ID = 600
RANDOM_ID = 601
THREAD_ID = 700
DM_ID = 800
EVERYONE_PERMISSIONS = str((1 << 10) | (1 << 11) | (1 << 6) | (1 << 16) | (1 << 15))


def user(uid: int, name: str, *, bot: bool = False, global_name: str | None = None) -> dict:
    return {
        "id": str(uid),
        "username": name,
        "discriminator": "0",
        "global_name": global_name,
        "avatar": None,
        "bot": bot,
    }


USERS = {
    BOT_ID: user(BOT_ID, "errbot", bot=True),
    ALICE_ID: user(ALICE_ID, "alice", global_name="Alice Liddell"),
    BOB_ID: user(BOB_ID, "bob"),
}


NICKS = {ALICE_ID: "ally"}  # server nicknames in the test guild


def member_payload(uid: int) -> dict:
    return {
        "user": USERS[uid],
        "nick": NICKS.get(uid),
        "roles": [],
        "joined_at": "2024-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
    }


def channel_payload(cid: int, name: str, topic: str | None, position: int) -> dict:
    return {
        "id": str(cid),
        "type": 0,
        "guild_id": str(GUILD_ID),
        "name": name,
        "topic": topic,
        "position": position,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "rate_limit_per_user": 0,
        "last_message_id": None,
    }


def thread_payload(tid: int, name: str, parent: int) -> dict:
    return {
        "id": str(tid),
        "type": 11,
        "guild_id": str(GUILD_ID),
        "name": name,
        "parent_id": str(parent),
        "owner_id": str(ALICE_ID),
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 2,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2024-01-01T00:00:00+00:00",
            "locked": False,
        },
    }


def guild_create() -> dict:
    return {
        "id": str(GUILD_ID),
        "name": "Test Guild",
        "icon": None,
        "owner_id": str(ALICE_ID),
        "roles": [
            {
                "id": str(GUILD_ID),  # @everyone has the guild's id
                "name": "@everyone",
                "color": 0,
                "hoist": False,
                "position": 0,
                "permissions": EVERYONE_PERMISSIONS,
                "managed": False,
                "mentionable": False,
            }
        ],
        "emojis": [],
        "stickers": [],
        "features": [],
        "channels": [
            channel_payload(GENERAL_ID, "general", "General chat", 0),
            channel_payload(RANDOM_ID, "random", None, 1),
        ],
        "threads": [thread_payload(THREAD_ID, "a thread", GENERAL_ID)],
        "members": [member_payload(BOT_ID), member_payload(ALICE_ID), member_payload(BOB_ID)],
        "member_count": 3,
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "large": False,
        "unavailable": False,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "system_channel_flags": 0,
        "nsfw_level": 0,
        "joined_at": "2024-01-01T00:00:00+00:00",
    }
