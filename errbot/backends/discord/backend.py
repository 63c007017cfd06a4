"""The Discord backend (``BACKEND = "Discord"``), built on discord.py 2.

Threads: the discord.py client runs on the bot's own event loop (``self.runtime.loop``);
the thread that calls `serve_forever` only supervises: it starts the client, activates the
plugins at the first READY and decides what to do when the client gives up. `send_message`
always runs on the loop (``loop_affine``), so ``self.send()`` works from any thread.

Connections: discord.py resumes a dropped gateway session and backs off by itself. When
``Client.start`` returns anyway, a network failure is retried with a capped back-off plus
jitter, while a refused token or missing privileged intents stop the bot with one error
naming what to change (retrying cannot fix them, and Discord restricts clients that keep
sending invalid requests). Sends wait in a bounded, ordered outbox while disconnected.
See docs/backends/discord.md.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Any

import discord

from errbot.backends.base import Card, Identifier, Message, Stream
from errbot.backends.discord.client import (
    INTENTS,
    REFUSED,
    ErrbotDiscordClient,
    is_transient,
    make_intents,
    outcome_of,
)
from errbot.backends.discord.events import EventTranslator
from errbot.backends.discord.identifiers import (
    DiscordPerson,
    DiscordRoom,
    DiscordRoomOccupant,
    set_live_backend,
)
from errbot.backends.discord.markup import DISCORD_LIMIT, DiscordMarkup
from errbot.backends.discord.outbox import Job, Outbox
from errbot.backends.discord.rooms import DiscordRoomsMixin
from errbot.backends.network import NetworkBackendMixin
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

__all__ = ["DiscordBackend", "DiscordPerson", "DiscordRoom", "DiscordRoomOccupant"]

THREAD_EXISTS = 160004  # Discord's error code: "a thread was already created for this message"


class DiscordBackend(DiscordRoomsMixin, NetworkBackendMixin, ErrBot):
    """A bot on Discord: guild channels, threads, DMs, mentions, reactions, embeds, files."""

    loop_affine = True

    # Back-off (seconds) when Client.start fails for a network reason.
    reconnect_initial_delay = 1.0
    reconnect_factor = 1.75
    reconnect_max_delay = 300.0
    reconnect_jitter = 1.0
    # How long discord.py waits for GUILD_CREATE events after READY (its default).
    guild_ready_timeout = 2.0
    request_timeout = 15.0
    send_queue_limit = 1000
    close_failure_text = "Closing the Discord client failed"

    def __init__(self, config: Any) -> None:
        identity = dict(getattr(config, "BOT_IDENTITY", None) or {})
        token = identity.get("token")
        if not token or not isinstance(token, str):
            raise ValueError(
                "BOT_IDENTITY['token'] must be the Discord bot token (Developer Portal → "
                "your application → Bot → Reset Token)."
            )
        self._token = token.strip()
        # The bot's id is only known after login; 0 until then.
        self.bot_identifier = DiscordPerson(0, str(getattr(config, "CHATROOM_FN", "Errbot")))
        super().__init__(config)
        self._default_guild = getattr(config, "DISCORD_GUILD", None)
        self._intents = make_intents(
            bool(getattr(config, "DISCORD_MEMBERS_INTENT", True)),
            bool(getattr(config, "DISCORD_PRESENCE_INTENT", False)),
        )
        self._markup = DiscordMarkup()
        self._events = EventTranslator(self)
        self._client: ErrbotDiscordClient | None = None
        self._outbox: Outbox | None = None
        self._threads: dict[int, int] = {}  # message id → thread started from it
        self._ready = threading.Event()
        self.activated = threading.Event()  # set once the plugins are active
        self.connections = 0
        self.last_failure: str | None = None
        set_live_backend(self)

    @property
    def mode(self) -> str:
        return "discord"

    @property
    def connected(self) -> bool:
        return self._outbox is not None and self._outbox.online.is_set()

    def set_message_size_limit(self, limit: int = 10000, hard_limit: int = 10000) -> None:
        super().set_message_size_limit(DISCORD_LIMIT, DISCORD_LIMIT)

    # -- serving --------------------------------------------------------------------------
    def serve_forever(self) -> None:
        backoff = self.reconnection_backoff()
        try:
            while not self._stop.is_set():
                try:
                    outcome = self._serve_connection()
                except Exception:  # a bug must cost a reconnection, not the bot
                    log.exception("The Discord client failed unexpectedly")
                    outcome = None
                if self._stop.is_set() or outcome in (REFUSED, INTENTS):
                    break
                if self._ready.is_set():
                    backoff.reset()  # it had connected: start over
                wait = backoff.next_delay()
                log.info("Reconnecting to Discord in %.2f s.", wait)
                if self._stop.wait(wait):
                    break
        except KeyboardInterrupt:
            log.info("Interrupted, stopping the bot.")
        finally:
            self.shutdown()

    def serve_once(self) -> bool:
        outcome = self._serve_connection()
        return self._stop.is_set() or outcome in (REFUSED, INTENTS)

    def _serve_connection(self) -> str | None:
        if not self.runtime.running:
            return None
        self.connections += 1
        self._ready.clear()
        future = asyncio.run_coroutine_threadsafe(self._run_client(), self.runtime.loop)
        while True:
            if self._ready.is_set() and not self._plugins_active and not self._stop.is_set():
                self._plugins_active = True
                self.reset_reconnection_count()
                self.connect_callback()  # once: plugins outlive reconnections
                self.activated.set()
            try:
                return future.result(timeout=0.05)
            except concurrent.futures.TimeoutError:
                continue

    async def _run_client(self) -> str:
        if self._outbox is None:
            self._outbox = Outbox(is_transient, self.send_queue_limit)
        self._outbox.start()
        client = ErrbotDiscordClient(
            self._events, intents=self._intents, guild_ready_timeout=self.guild_ready_timeout
        )
        self._client = client
        outcome, detail = "closed", ""
        try:
            await client.start(self._token, reconnect=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome, detail = outcome_of(exc)
        finally:
            self._outbox.online.clear()
            if not client.is_closed():
                await client.close()
        if not self._stop.is_set():
            self._log_failure(outcome, detail)
        return outcome

    def _log_failure(self, outcome: str, detail: str) -> None:
        self.last_failure = outcome
        if outcome == REFUSED:
            log.error(
                "Discord refused the bot token (%s): check BOT_IDENTITY['token'] (Developer "
                "Portal → your application → Bot → Reset Token). Not retrying.",
                detail,
            )
        elif outcome == INTENTS:
            log.error(
                "Discord refused the privileged intents (%s): in the Developer Portal → Bot, "
                "enable Message Content Intent, and Server Members Intent / Presence Intent "
                "if DISCORD_MEMBERS_INTENT / DISCORD_PRESENCE_INTENT are True. Not retrying.",
                detail,
            )
        else:
            log.warning("The Discord connection ended: %s (%s).", outcome, detail or "no detail")

    # -- gateway state (called on the loop by the translator) -----------------------------
    def gateway_ready(self, client: discord.Client, resumed: bool) -> None:
        me = client.user
        if me is not None and not resumed:
            self.bot_identifier = DiscordPerson.from_user(me)
            self._add_mention_prefix(me.name)
            log.info("Connected to Discord as %s (%s).", me.name, me.id)
        elif resumed:
            log.info("The Discord gateway session was resumed.")
        self.last_failure = None
        if self._outbox is not None:
            self._outbox.online.set()
        self._ready.set()

    def gateway_lost(self, client: discord.Client) -> None:
        if self._outbox is not None and self._outbox.online.is_set():
            log.warning("Disconnected from the Discord gateway; discord.py reconnects.")
            self._outbox.online.clear()

    def _add_mention_prefix(self, name: str) -> None:
        """``<@bot> cmd`` arrives as ``@name cmd`` (`events`): make ``@name`` an
        alternative prefix, as errbot-backend-slackv3 does for Slack."""
        config = self.bot_config
        alts = tuple(getattr(config, "BOT_ALT_PREFIXES", ()) or ())
        if f"@{name}" not in alts:
            config.BOT_ALT_PREFIXES = (*alts, f"@{name}")

    # -- stopping -------------------------------------------------------------------------
    # The shutdown template is NetworkBackendMixin's; this closes what Discord opened.
    async def _close(self) -> None:
        outbox = self._outbox
        if outbox is not None and outbox.online.is_set() and len(outbox):
            # Let goodbyes queued by deactivating plugins go out (briefly).
            for _ in range(40):
                if not len(outbox):
                    break
                await asyncio.sleep(0.05)
        if outbox is not None:
            await outbox.stop()
        if self._client is not None and not self._client.is_closed():
            await self._client.close()

    # -- sending ----------------------------------------------------------------------------
    def _submit(self, job: Job) -> None:
        if not self.runtime.in_loop():
            self.runtime.call_soon(self._submit, job)
            return
        if self._outbox is None:
            self._outbox = Outbox(is_transient, self.send_queue_limit)
        self._outbox.put(job)

    def send_message(self, msg: Message) -> None:
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_message, msg)
            return
        super().send_message(msg)
        for chunk in self._markup.render_chunks(msg.body):
            self._submit(Job(f"message to {msg.to}", lambda c=chunk: self._post(msg, content=c)))

    def send_card(self, card: Card) -> None:
        embed = discord.Embed.from_dict(self._markup.embed(card))
        self._submit(Job(f"card to {card.to}", lambda: self._post(card, embed=embed)))

    def send_stream_request(
        self,
        user: Identifier,
        fsource: Any,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> Stream:
        """Upload ``fsource`` as an attachment to a channel (a Room) or a user's DMs; the
        returned stream moves to success or error once Discord answered."""
        stream = Stream(user, fsource, name, size, stream_type)
        target = Message("", to=user)

        async def upload() -> None:
            if stream.status == "pending":
                stream.accept()
            try:
                sent = await self._post(target, file=discord.File(fsource, filename=name or "file"))
            except Exception as exc:
                stream.error(str(exc))
                raise
            attachments = getattr(sent, "attachments", None) or []
            stream.ack_data(attachments[0].size if attachments else size or 0)
            stream.success()

        self._submit(Job(f"file {name!r} to {user}", upload))
        return stream

    async def _post(self, msg: Message, **kwargs: Any) -> discord.Message:
        """Send to where ``msg`` goes: its room (or thread), or the person's DMs."""
        client = self._client
        if client is None:
            raise ConnectionError("no Discord client")
        to = msg.to
        if isinstance(to, DiscordRoom):
            channel_id = to.id
        elif isinstance(to, DiscordPerson):
            dm = await client.create_dm(discord.Object(to.id))
            channel_id = dm.id
        else:
            raise ValueError(f"Cannot send to {to!r}: not a Discord identifier.")
        parent = msg.parent
        parent_id = parent.extras.get("id") if parent is not None else None
        if parent_id and parent.extras.get("channel_id") == channel_id:
            if msg.extras.get("thread") and isinstance(to, DiscordRoom) and not to.is_thread:
                channel_id = await self._thread_for(channel_id, parent)
            else:
                kwargs["reference"] = discord.MessageReference(
                    message_id=parent_id, channel_id=channel_id, fail_if_not_exists=False
                )
        return await client.get_partial_messageable(channel_id).send(**kwargs)

    async def _thread_for(self, channel_id: int, parent: Message) -> int:
        """The thread started from ``parent`` (created now if needed): DIVERT_TO_THREAD."""
        message_id = int(parent.extras["id"])
        known = self._threads.get(message_id)
        if known:
            return known
        assert self._client is not None
        name = " ".join(parent.body.split())[:80] or "Errbot"
        try:
            await self._client.http.start_thread_with_message(
                channel_id, message_id, name=name, auto_archive_duration=1440
            )
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS:
                raise
        # A thread started from a message has that message's id.
        self._threads[message_id] = message_id
        return message_id

    # -- replies ----------------------------------------------------------------------------
    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        frm = msg.frm
        if msg.is_group and not private:
            room = msg.to
            reply = Message(text or "", to=room, extras={"thread": threaded})
            reply.frm = self._bot_in(room)  # type: ignore[arg-type]
        else:
            to = frm
            if isinstance(frm, DiscordRoomOccupant):  # private: to the user's DMs
                to = DiscordPerson(frm.id, frm.username, frm.fullname)
            reply = Message(text or "", to=to, extras={"thread": threaded})
            reply.frm = self.bot_identifier
        if threaded:
            reply.parent = msg
        return reply

    def _bot_in(self, room: DiscordRoom) -> DiscordRoomOccupant:
        me = self.bot_identifier
        return DiscordRoomOccupant(me.id, room, me.username, me.fullname)

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)
        if isinstance(identifier, DiscordPerson):
            message.body = f"{identifier.person} {message.body}"
        else:
            message.body = f"@{getattr(identifier, 'nick', identifier)} {message.body}"

    def is_from_self(self, msg: Message) -> bool:
        frm = msg.frm
        return isinstance(frm, DiscordPerson) and frm.id == self.bot_identifier.id

    def change_presence(self, status: str = "online", message: str = "") -> None:
        states = {"online": "online", "away": "idle", "dnd": "dnd", "offline": "invisible"}
        state = discord.Status(states.get(status, "online"))
        activity = discord.CustomActivity(name=message) if message else None

        async def change() -> None:
            client = self._client
            if client is None or not client.is_ready():
                log.warning("Not connected to Discord: presence not changed.")
                return
            await client.change_presence(status=state, activity=activity)

        self.runtime.spawn(change())
