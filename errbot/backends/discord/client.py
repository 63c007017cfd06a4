"""The discord.py client the Discord backend runs on the bot's event loop.

`ErrbotDiscordClient` only forwards discord.py's events to the backend's `EventTranslator`.
discord.py owns the connection itself: it resumes the gateway session after a drop, backs
off between attempts and honours HTTP 429 ``retry_after``. The backend only steps in when
``Client.start`` gives up (bad token, missing privileged intents, network down at start-up)
and classifies why with `outcome_of`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

if TYPE_CHECKING:
    from errbot.backends.discord.events import EventTranslator

log = logging.getLogger(__name__)

# Why Client.start returned.
CLOSED = "closed"
REFUSED = "token refused"
INTENTS = "privileged intents not enabled"
UNREACHABLE = "unreachable"

# Gateway events the translator uses (or that discord.py needs for its caches and which
# carry nothing for plugins); anything else is logged at debug level and ignored.
HANDLED_EVENTS = frozenset(
    {
        "READY",
        "RESUMED",
        "MESSAGE_CREATE",
        "MESSAGE_REACTION_ADD",
        "MESSAGE_REACTION_REMOVE",
        "PRESENCE_UPDATE",
        "CHANNEL_UPDATE",
        "GUILD_CREATE",
        "GUILD_DELETE",
        "GUILD_UPDATE",
        "CHANNEL_CREATE",
        "CHANNEL_DELETE",
        "GUILD_MEMBER_ADD",
        "GUILD_MEMBER_REMOVE",
        "GUILD_MEMBER_UPDATE",
        "GUILD_MEMBERS_CHUNK",
        "THREAD_CREATE",
        "THREAD_UPDATE",
        "THREAD_DELETE",
        "THREAD_LIST_SYNC",
        "THREAD_MEMBER_UPDATE",
        "THREAD_MEMBERS_UPDATE",
        "GUILD_ROLE_CREATE",
        "GUILD_ROLE_UPDATE",
        "GUILD_ROLE_DELETE",
    }
)


def make_intents(members: bool, presences: bool) -> discord.Intents:
    """Only what the backend uses. ``message_content`` (and ``members``, ``presences``) are
    privileged: they must also be switched on in the Developer Portal."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = True
    intents.guild_reactions = True
    intents.dm_reactions = True
    intents.members = members
    intents.presences = presences
    return intents


def outcome_of(exc: BaseException) -> tuple[str, str]:
    """(outcome, detail) for an exception that ended ``Client.start``."""
    if isinstance(exc, discord.LoginFailure):
        return REFUSED, str(exc)
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return INTENTS, "gateway close code 4014"
    if isinstance(exc, discord.ConnectionClosed):
        if exc.code == 4004:
            return REFUSED, "gateway close code 4004 (authentication failed)"
        return CLOSED, f"gateway close code {exc.code}"
    return UNREACHABLE, f"{type(exc).__name__}: {exc}"


def is_transient(exc: BaseException) -> bool:
    """Whether a failed REST call is worth retrying (network trouble, Discord 5xx)."""
    if isinstance(exc, discord.DiscordServerError):
        return True
    if isinstance(exc, discord.HTTPException):
        return False
    return isinstance(exc, OSError | aiohttp.ClientError | asyncio.TimeoutError)


class ErrbotDiscordClient(discord.Client):
    """A discord.py client whose events go to an `EventTranslator`."""

    def __init__(self, events: EventTranslator, *, intents: discord.Intents, **options: Any):
        # Plugin text may contain "@everyone" (an echo, a quoted log line): never let it
        # ping a whole server. User mentions and replies still notify.
        options.setdefault(
            "allowed_mentions",
            discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=True),
        )
        super().__init__(intents=intents, **options)
        self.events = events

    async def on_ready(self) -> None:
        self.events.on_ready(self)

    async def on_resumed(self) -> None:
        self.events.on_resumed(self)

    async def on_disconnect(self) -> None:
        self.events.on_disconnect(self)

    async def on_message(self, message: discord.Message) -> None:
        self.events.on_message(self, message)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.events.on_reaction(self, payload)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self.events.on_reaction(self, payload)

    async def on_presence_update(self, before: discord.Member, after: discord.Member) -> None:
        self.events.on_presence(self, before, after)

    async def on_guild_channel_update(self, before: Any, after: Any) -> None:
        self.events.on_channel_update(before, after)

    async def on_socket_event_type(self, event: str) -> None:
        if event not in HANDLED_EVENTS:
            log.debug("Ignoring the Discord gateway event %s.", event)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        # A plugin or translator bug must not go to stderr only (discord.py's default).
        log.exception("Error while handling the Discord event %s", event_method)
