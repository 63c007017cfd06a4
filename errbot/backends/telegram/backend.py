"""The Telegram backend (``BACKEND = "Telegram"``), built on python-telegram-bot 22 (async).

Threads: python-telegram-bot runs on the bot's own event loop (``self.runtime.loop``); the
thread calling `serve_forever` only supervises (start, wait, stop). `send_message` always
runs on the loop (``loop_affine``), so ``self.send()`` works from pollers, webhooks and
plain threads. Room operations called from plugin threads wait for their API call on the
loop.

The Bot API is plain HTTPS: there is no session to lose. When Telegram cannot be reached the
polling retries with a capped back-off, and replies wait in the outbox (bounded) until it
can; plugins stay active throughout. A token Telegram rejects stops the bot with one error
naming BOT_IDENTITY['token']. See docs/backends/telegram.md.
"""

from __future__ import annotations

import asyncio
import io
import logging
import weakref
from typing import Any

from telegram import ReplyParameters
from telegram.constants import ParseMode
from telegram.error import TelegramError

from errbot.backends.base import (
    Card,
    Identifier,
    Message,
    Room,
    RoomError,
    RoomOccupant,
    Stream,
)
from errbot.backends.network import NetworkBackendMixin
from errbot.backends.telegram import identifiers
from errbot.backends.telegram.client import (
    CONNECTED,
    DEFAULT_API_URL,
    INVALID_TOKEN,
    Outgoing,
    TelegramClient,
)
from errbot.backends.telegram.events import EventTranslator
from errbot.backends.telegram.files import is_url, split_source, upload_call
from errbot.backends.telegram.identifiers import (
    TelegramMUCOccupant,
    TelegramPerson,
    TelegramRoom,
    parse_id,
)
from errbot.backends.telegram.markup import (
    MAX_MESSAGE_LENGTH,
    TelegramHTMLConverter,
    render_card,
    render_chunks,
    visible_length,
)
from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

__all__ = ["TelegramBackend", "TelegramMUCOccupant", "TelegramPerson", "TelegramRoom"]

TOKEN_HELP = (
    "BOT_IDENTITY['token'] must be the token @BotFather gave the bot (like '123456789:AAE...')"
)


def _bot_id_of(token: str) -> int:
    """The bot's user id: the number before the colon of its token."""
    head, sep, tail = token.partition(":")
    if not sep or not head.isdigit() or not tail:
        raise ValueError(f"{TOKEN_HELP}; this one is not in that form.")
    return int(head)


class TelegramBackend(NetworkBackendMixin, ErrBot):
    """A Telegram bot: private chats, groups and supergroups (with forum topics)."""

    loop_affine = True
    request_timeout = 30.0
    close_failure_text = "Closing the Telegram client failed"

    def __init__(self, config: Any) -> None:
        identity = dict(getattr(config, "BOT_IDENTITY", None) or {})
        token = str(identity.get("token") or "").strip()
        if not token:
            raise ValueError(f"{TOKEN_HELP}; it is missing.")
        self.bot_identifier = TelegramPerson(_bot_id_of(token))
        super().__init__(config)
        api_url = getattr(config, "TELEGRAM_API_URL", None) or DEFAULT_API_URL
        self._events = EventTranslator(self)
        self.client = TelegramClient(token, str(api_url), self._events.on_update)
        self._html = TelegramHTMLConverter()
        self._rooms: dict[int, TelegramRoom] = {}
        self._people: dict[int, TelegramPerson] = {}
        self._serving = False  # plugins activated, updates handled
        self.last_failure: str | None = None
        identifiers.live_backend = weakref.ref(self)

    @property
    def mode(self) -> str:
        return "telegram"

    @property
    def username(self) -> str | None:
        return self.bot_identifier.username

    @property
    def connected(self) -> bool:
        return self.client.online and self._serving

    def set_message_size_limit(self, limit: int = 4096, hard_limit: int = 4096) -> None:
        # Telegram's limit is 4096 characters of text; the core splits Markdown at this size
        # and send_message checks each rendered chunk (markup.render_chunks).
        super().set_message_size_limit(limit, hard_limit)

    # -- serving ----------------------------------------------------------------------------
    def serve_forever(self) -> None:
        try:
            outcome = self._wait(self.client.start())
            if outcome == INVALID_TOKEN:
                self._invalid_token()
                return
            if outcome != CONNECTED:
                return
            me = self.client.me
            self.bot_identifier = TelegramPerson.from_user(me)
            log.info("Connected to Telegram as @%s (%s).", me.username, me.id)
            self.reset_reconnection_count()
            self._plugins_active = True
            self.connect_callback()
            self._serving = True
            ended = self.client.ended
            assert ended is not None
            if self._wait(self._until(ended)) == INVALID_TOKEN:
                self._invalid_token()
        except KeyboardInterrupt:
            log.info("Interrupted, stopping the bot.")
        finally:
            self.shutdown()

    def serve_once(self) -> bool:
        self.serve_forever()
        return True

    @staticmethod
    async def _until(future: asyncio.Future[str]) -> str:
        return await asyncio.shield(future)

    def _invalid_token(self) -> None:
        self.last_failure = INVALID_TOKEN
        log.error(
            "Telegram rejected the bot's token (401 Unauthorized): check BOT_IDENTITY['token'] "
            "in config.py (from @BotFather; /token there shows it, /revoke makes a new one). "
            "The bot stops."
        )

    # The shutdown template is NetworkBackendMixin's: plugins deactivated first (they may
    # still send goodbyes), then the outbox drained briefly and the client closed.
    @property
    def close_timeout(self) -> float:  # type: ignore[override]
        return self.client.drain_timeout + 5

    async def _close(self) -> None:
        await self.client.stop()

    # -- identifiers ----------------------------------------------------------------------------
    def remember_room(self, chat_id: int, title: str | None) -> TelegramRoom:
        room = self._rooms.get(chat_id)
        if room is None:
            room = self._rooms.setdefault(chat_id, TelegramRoom(chat_id, title))
        elif title:
            room._title = title
        return room

    def forget_room(self, room: TelegramRoom) -> None:
        self._rooms.pop(room.number, None)

    def remember_person(self, person: TelegramPerson) -> TelegramPerson:
        self._people[person.number] = person
        return person

    def build_identifier(self, txtrep: Any) -> Identifier:
        """A numeric id, as an int or a string: positive for a user, negative for a chat."""
        number = parse_id(txtrep)
        if number > 0:
            return self._people.get(number) or TelegramPerson(number)
        return self._rooms.get(number) or TelegramRoom(number)

    def query_room(self, room: Any) -> TelegramRoom:
        number = parse_id(room)
        if number > 0:
            raise RoomError(f"{room} is a user's id; a Telegram chat's id is negative.")
        return self._rooms.get(number) or TelegramRoom(number)

    def rooms(self) -> list[Room]:
        """The groups the bot has seen since it started (the Bot API cannot list them)."""
        return list(self._rooms.values())

    def bot_occupant(self, room: TelegramRoom) -> TelegramMUCOccupant:
        me = self.bot_identifier
        return TelegramMUCOccupant(me.number, room, me.first_name, me.last_name, me.username)

    def is_from_self(self, msg: Message) -> bool:
        frm = msg.frm
        return isinstance(frm, TelegramPerson) and frm.number == self.bot_identifier.number

    def change_presence(self, status: str = "online", message: str = "") -> None:
        log.debug("Telegram bots have no presence; change_presence(%s) ignored.", status)

    # -- replies ------------------------------------------------------------------------------
    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        frm = msg.frm
        extras: dict[str, Any] = {}
        if msg.is_group and isinstance(frm, TelegramMUCOccupant) and not private:
            to: Identifier = frm.room
            sender: Identifier = self.bot_occupant(frm.room)
            # In a forum, an answer belongs in the topic the question was asked in.
            extras["message_thread_id"] = msg.extras.get("message_thread_id")
        else:
            to = (
                TelegramPerson(frm.number, frm.first_name, frm.last_name, frm.username)
                if (isinstance(frm, TelegramPerson))
                else frm
            )
            sender = self.bot_identifier
        reply = Message(text or "", frm=sender, to=to, extras=extras)
        if threaded:
            reply.parent = msg
        return reply

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        super().prefix_groupchat_reply(message, identifier)
        if isinstance(identifier, TelegramPerson) and not identifier.username:
            # No username to @mention: a link to the user is Telegram's mention by name.
            name = identifier.fullname or str(identifier.number)
            message.body = f"[{name}](tg://user?id={identifier.number}): {message.body}"
        else:
            message.body = f"@{getattr(identifier, 'nick', identifier)}: {message.body}"

    # -- sending --------------------------------------------------------------------------------
    @staticmethod
    def _chat_id(to: Any) -> int:
        if isinstance(to, TelegramRoom | TelegramPerson):
            return to.number
        return parse_id(str(to))

    def _placement(self, msg: Message, chat_id: int) -> dict[str, Any]:
        """Forum topic and reply target of an outgoing message."""
        options: dict[str, Any] = {}
        parent = msg.parent
        thread = msg.extras.get("message_thread_id")
        if parent is not None and parent.extras.get("chat_id") == chat_id:
            thread = thread or parent.extras.get("message_thread_id")
            if parent.extras.get("message_id"):
                options["reply_parameters"] = ReplyParameters(
                    parent.extras["message_id"], allow_sending_without_reply=True
                )
        if thread and chat_id < 0:
            options["message_thread_id"] = thread
        return options

    def send_message(self, msg: Message) -> None:
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_message, msg)
            return
        super().send_message(msg)
        chat_id = self._chat_id(msg.to)
        options = self._placement(msg, chat_id)
        for html in render_chunks(self._html, msg.body, MAX_MESSAGE_LENGTH):
            self._send_html(chat_id, html, options)

    def _send_html(self, chat_id: int, html: str, options: dict[str, Any]) -> None:
        async def call(bot: Any, chat: int) -> Any:
            return await bot.send_message(chat, html, parse_mode=ParseMode.HTML, **options)

        self.client.enqueue(Outgoing("a message", chat_id, call))

    def send_card(self, card: Card) -> None:
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_card, card)
            return
        html = render_card(self._html, card)
        if visible_length(html) > MAX_MESSAGE_LENGTH or not html:
            super().send_card(card)  # the template, split like any long reply
            return
        ErrBot.send_message(self, card)  # callback_botmessage, metrics
        chat_id = self._chat_id(card.to)
        self._send_html(chat_id, html, self._placement(card, chat_id))

    def send_stream_request(
        self,
        user: Identifier,
        fsource: Any,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> Stream:
        """Send a file: a document, or the kind of message ``stream_type`` names ("photo",
        "audio", "video", "voice", "sticker", "location"; see `files`). The returned
        Stream ends as "success" or "error"."""
        content, options = split_source(fsource)
        by_url = is_url(content) or content is None
        stream = Stream(user, io.BytesIO() if by_url else content, name, size, stream_type)
        chat_id = self._chat_id(user)
        filename = str(name or getattr(content, "name", None) or "file").split("/")[-1]
        try:
            send = upload_call(stream_type, content, filename, options)
        except ValueError as exc:
            log.error("Cannot send %s to %s: %s", filename, user, exc)
            stream.error(str(exc))
            return stream

        async def call(bot: Any, chat: int) -> Any:
            if stream.status == "pending":
                stream.accept()
            return await send(bot, chat)

        def done(_: Any) -> None:
            stream.success()

        def failed(reason: str) -> None:
            stream.error(reason)

        item = Outgoing(f"the file {filename}", chat_id, call, done, failed)
        self.runtime.call_soon(self.client.enqueue, item)
        return stream

    def react(self, msg: Message, emoji: str) -> None:
        """Put ``emoji`` (one of Telegram's reaction emoji) on an incoming message."""
        chat_id, message_id = msg.extras.get("chat_id"), msg.extras.get("message_id")
        if chat_id is None or message_id is None:
            raise ValueError("Only messages received from Telegram can get a reaction.")

        async def call(bot: Any, chat: int) -> Any:
            return await bot.set_message_reaction(chat, message_id, emoji)

        self.runtime.call_soon(self.client.enqueue, Outgoing("a reaction", chat_id, call))

    # -- rooms (called by TelegramRoom, from any thread) -----------------------------------------
    def room_call(self, room: TelegramRoom, operation: str, *args: Any) -> Any:
        coro = getattr(self, f"_room_{operation}")(room, *args)
        if self.runtime.in_loop():
            coro.close()
            raise RoomError(
                "Telegram room operations wait for the Bot API: call them from a command "
                "or a thread, not from the event loop."
            )
        try:
            return self.runtime.run_sync(coro, timeout=self.request_timeout)
        except TelegramError as exc:
            raise RoomError(f"Telegram refused {operation} on the chat {room}: {exc}") from None

    async def _room_leave(self, room: TelegramRoom) -> None:
        await self.client.call(lambda bot: bot.leave_chat(room.number))
        self.forget_room(room)
        self.callback_room_left(room, self.bot_occupant(room))

    async def _room_exists(self, room: TelegramRoom) -> bool:
        try:
            await self.client.call(lambda bot: bot.get_chat(room.number))
        except TelegramError:
            return False
        return True

    async def _room_joined(self, room: TelegramRoom) -> bool:
        try:
            member = await self.client.call(
                lambda bot: bot.get_chat_member(room.number, self.bot_identifier.number)
            )
        except TelegramError:
            return False
        return member.status in ("member", "administrator", "creator") or bool(
            getattr(member, "is_member", False)
        )

    async def _room_topic(self, room: TelegramRoom) -> str | None:
        chat = await self.client.call(lambda bot: bot.get_chat(room.number))
        room._title = chat.title or room.title
        return chat.description or chat.title

    async def _room_set_topic(self, room: TelegramRoom, topic: str) -> None:
        await self.client.call(lambda bot: bot.set_chat_description(room.number, topic))
        self.callback_room_topic(room)

    async def _room_occupants(self, room: TelegramRoom) -> list[RoomOccupant]:
        admins = await self.client.call(lambda bot: bot.get_chat_administrators(room.number))
        return [TelegramMUCOccupant.from_user_in(member.user, room) for member in admins]

    async def _room_member_count(self, room: TelegramRoom) -> int:
        return int(await self.client.call(lambda bot: bot.get_chat_member_count(room.number)))
