"""Telegram updates turned into the bot's callbacks.

Runs on the bot's event loop, one update at a time in the order Telegram numbered them (the
`Application` processes its queue sequentially).

Commands: Telegram users type ``/echo hello``, or ``/echo@MyBot hello`` in a group with
several bots. The core only knows BOT_PREFIX and BOT_ALT_PREFIXES, so such a message's body
is rewritten to ``BOT_PREFIX + "echo hello"`` before it is dispatched (a command addressed
to another bot is left alone). Likewise ``@MyBot echo hello``, the bot's mention at the
start, becomes ``!echo hello``. The text as typed stays in ``msg.extras["text"]``.
"""

from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING, Any

from errbot.backends.base import REACTION_ADDED, REACTION_REMOVED, Message, Reaction, Stream
from errbot.backends.telegram.identifiers import (
    TelegramMUCOccupant,
    TelegramPerson,
    TelegramRoom,
)

if TYPE_CHECKING:
    from errbot.backends.telegram.backend import TelegramBackend

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]+))?(?=\s|$)")
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB
_HANDLED = ("message", "edited_message", "message_reaction", "my_chat_member", "channel_post")


def rewrite_command(text: str, prefix: str, username: str | None) -> str:
    """``/cmd[@bot] args`` and ``@bot cmd args`` → ``<prefix>cmd args`` (see module doc)."""
    if username:
        mention = f"@{username}".lower()
        if text.lower().startswith(mention) and not re.match(r"\w", text[len(mention) :]):
            rest = text[len(mention) :].lstrip(" \t:,")
            if rest and not rest.startswith(prefix):
                rest = rewrite_command(rest, prefix, username)
                return rest if rest.startswith(prefix) else prefix + rest
            return rest or text
    match = _COMMAND.match(text)
    if match is None:
        return text
    target = match.group(2)
    if target and (not username or target.lower() != username.lower()):
        return text  # /cmd@OtherBot: not for us
    return f"{prefix}{match.group(1)}{text[match.end() :]}"


def _reaction_names(reactions: Any) -> set[str]:
    names = set()
    for reaction in reactions or ():
        name = (
            getattr(reaction, "emoji", None)
            or getattr(reaction, "custom_emoji_id", None)
            or str(getattr(reaction, "type", "unknown"))
        )
        names.add(name)
    return names


class EventTranslator:
    """Turns one `telegram.Update` at a time into callbacks on the backend."""

    def __init__(self, backend: TelegramBackend) -> None:
        self.bot = backend

    async def on_update(self, update: Any, _context: Any = None) -> None:
        if update.message is not None:
            self.on_message(update.message)
        elif update.message_reaction is not None:
            self.on_reaction(update.message_reaction)
        elif update.my_chat_member is not None:
            self.on_membership(update.my_chat_member)
        else:
            kinds = [k for k in update.to_dict() if k != "update_id"]
            log.debug("Ignoring a Telegram update of type %s.", ", ".join(kinds) or "unknown")

    # -- messages -------------------------------------------------------------------------
    def _sender(self, chat: Any, user: Any) -> tuple[Any, Any]:
        """(frm, to) of a message from ``user`` in ``chat``."""
        bot = self.bot
        if chat.type == "private":
            return bot.remember_person(TelegramPerson.from_user(user)), bot.bot_identifier
        room = bot.remember_room(chat.id, chat.title)
        return TelegramMUCOccupant.from_user_in(user, room), room

    def on_message(self, message: Any) -> None:
        user = message.from_user
        if user is None:
            log.debug("Ignoring a Telegram message without a sender (a channel post).")
            return
        if user.id == self.bot.bot_identifier.number:
            return
        frm, to = self._sender(message.chat, user)
        if message.new_chat_members or message.left_chat_member:
            self._members_changed(message, to)
            return
        if message.new_chat_title and isinstance(to, TelegramRoom):
            to._title = message.new_chat_title
            self.bot.callback_room_topic(to)
            return
        if message.document is not None:
            self.bot.runtime.spawn(self._receive_file(message, frm))
        text = message.text if message.text is not None else message.caption
        if not text:
            if message.document is None:
                log.debug("Ignoring a Telegram message without text (%s).", message.chat.type)
            return
        body = rewrite_command(text, self.bot.prefix, self.bot.username)
        extras = {
            "message_id": message.message_id,
            "chat_id": message.chat.id,
            "message_thread_id": message.message_thread_id if message.is_topic_message else None,
            "text": text,
            "date": message.date,
        }
        msg = Message(body, frm=frm, to=to, extras=extras)
        replied = message.reply_to_message
        if replied is not None:
            msg.parent = Message(
                replied.text or replied.caption or "",
                extras={"message_id": replied.message_id, "chat_id": replied.chat.id},
            )
        self.bot.callback_message(msg)
        if isinstance(to, TelegramRoom):
            self._mentions(message, msg, to)

    def _mentions(self, message: Any, msg: Message, room: TelegramRoom) -> None:
        """@BotName (a "mention" entity) and people mentioned by name ("text_mention")."""
        people: list[Any] = []
        username = (self.bot.username or "").lower()
        for entity, text in message.parse_entities(["mention", "text_mention"]).items():
            if entity.type == "text_mention" and entity.user is not None:
                people.append(TelegramMUCOccupant.from_user_in(entity.user, room))
            elif username and text.lower() == f"@{username}":
                people.append(self.bot.bot_occupant(room))
        if people:
            self.bot.callback_mention(msg, people)

    def _members_changed(self, message: Any, room: Any) -> None:
        inviter = TelegramMUCOccupant.from_user_in(message.from_user, room)
        for user in message.new_chat_members or ():
            if user.id != self.bot.bot_identifier.number:  # the bot: see on_membership
                joined = TelegramMUCOccupant.from_user_in(user, room)
                by = inviter if user.id != inviter.number else None
                self.bot.callback_room_joined(room, joined, by)
        left = message.left_chat_member
        if left is not None and left.id != self.bot.bot_identifier.number:
            by = inviter if left.id != inviter.number else None
            self.bot.callback_room_left(room, TelegramMUCOccupant.from_user_in(left, room), by)

    async def _receive_file(self, message: Any, frm: Any) -> None:
        document = message.document
        if document.file_size and document.file_size > MAX_DOWNLOAD:
            log.warning(
                "Not downloading %s from %s: the Bot API serves files up to 20 MB.",
                document.file_name,
                frm,
            )
            return
        try:
            file = await self.bot.client.call(lambda bot: bot.get_file(document.file_id))
            data = bytes(await file.download_as_bytearray())
        except Exception as exc:
            log.error("Cannot download the file %s from Telegram: %s", document.file_name, exc)
            return
        stream = Stream(
            frm,
            io.BytesIO(data),
            name=document.file_name,
            size=len(data),
            stream_type=document.mime_type,
        )
        self.bot.callback_stream(stream)

    # -- reactions and membership ------------------------------------------------------------
    def on_reaction(self, update: Any) -> None:
        """Bot API 7.0 reactions (sent only to a bot that is an administrator of the chat)."""
        user = update.user
        if user is None:
            log.debug("Ignoring an anonymous Telegram reaction in %s.", update.chat.id)
            return
        reactor, _ = self._sender(update.chat, user)
        old, new = _reaction_names(update.old_reaction), _reaction_names(update.new_reaction)
        reacted_to = {"chat_id": update.chat.id, "message_id": update.message_id}
        stamp = update.date.isoformat() if update.date else None
        for action, names in ((REACTION_ADDED, new - old), (REACTION_REMOVED, old - new)):
            for name in sorted(names):
                self.bot.callback_reaction(
                    Reaction(
                        reactor=reactor,
                        action=action,
                        timestamp=stamp,
                        reaction_name=name,
                        reacted_to=reacted_to,
                    )
                )

    def on_membership(self, update: Any) -> None:
        """The bot was added to, or removed from, a chat."""
        chat = update.chat
        if chat.type == "private":
            return  # a user blocked or unblocked the bot
        room = self.bot.remember_room(chat.id, chat.title)
        status = update.new_chat_member.status
        by = TelegramMUCOccupant.from_user_in(update.from_user, room) if update.from_user else None
        if status in ("member", "administrator", "creator", "restricted"):
            if update.old_chat_member.status in ("left", "kicked"):
                self.bot.callback_room_joined(room, self.bot.bot_occupant(room), by)
        elif status in ("left", "kicked"):
            self.bot.forget_room(room)
            self.bot.callback_room_left(room, self.bot.bot_occupant(room), by)
