"""TextCmds: choose who you are and where you talk on the Text backend's console.

Only active in text mode and in the graphic console (`errbot -G`, same identities): on any
other backend `activate` returns before registering anything, so the plugin stays inactive.
The console's state (user, room, multi-line mode) is kept in the plugin's storage, so the
next start resumes where the last one stopped.
"""

from __future__ import annotations

from typing import Any

from errbot import BotPlugin, botcmd
from errbot.backends.base import Message

# Storage keys. Identifiers are stored in their text form ("@name", "#room").
INROOM, ROOM, USER, MULTILINE = "inroom", "room", "user", "multiline"
DEFAULT_ROOM = "#testroom"
DEFAULT_USER = "@luser"


class TextModeCmds(BotPlugin):
    """Console commands: talk in a room or one-on-one, as a user or as the admin."""

    def activate(self) -> None:
        if self.mode not in ("text", "graphic"):
            return  # deliberately inactive: these commands only make sense on the consoles
        super().activate()
        self._restore()

    def deactivate(self) -> None:
        if self.is_activated and self.is_open_storage():
            self._save()
        super().deactivate()

    # -- state --------------------------------------------------------------------------
    def _restore(self) -> None:
        bot: Any = self._bot
        user = self.get(USER)
        if isinstance(user, str):
            try:
                bot.talk_as(bot.identifier_from_text(user))
            except ValueError:
                self.log.warning("Ignoring the stored console user %r", user)
        room = self.get(ROOM)
        if self.get(INROOM) and isinstance(room, str):
            try:
                bot.talk_in_room(room)
            except ValueError:
                self.log.warning("Ignoring the stored console room %r", room)
        multiline = self.get(MULTILINE)
        if isinstance(multiline, bool):
            bot.multiline = multiline
        self._save()

    def _save(self) -> None:
        bot: Any = self._bot
        self[USER] = str(bot.user)
        self[INROOM] = bot.room is not None
        self[ROOM] = str(bot.room) if bot.room is not None else None
        self[MULTILINE] = bool(bot.multiline)

    # -- commands -----------------------------------------------------------------------
    @botcmd
    def inroom(self, _: Message, args: str) -> str:
        """Talk to the bot in a room (default #testroom): !inroom [#room]"""
        name = args.strip() or DEFAULT_ROOM
        if not name.startswith("#"):
            name = "#" + name
        if len(name) < 2 or "/" in name:
            return f"{name} is not a room name: use !inroom #room."
        room = self._bot.talk_in_room(name)  # type: ignore[attr-defined]
        self._save()
        return f"Joined Room {room}."

    @botcmd
    def inperson(self, _: Message, args: str) -> str:
        """Talk to the bot one-on-one again."""
        self._bot.talk_in_person()  # type: ignore[attr-defined]
        self._save()
        return "Now in one-on-one with the bot."

    @botcmd
    def asuser(self, _: Message, args: str) -> str:
        """Speak as a normal user (default @luser): !asuser [name]"""
        name = args.strip() or DEFAULT_USER
        if not name.startswith("@"):
            name = "@" + name
        try:
            person = self._bot.build_identifier(name)
        except ValueError as exc:
            return str(exc)
        self._bot.talk_as(person)  # type: ignore[attr-defined]
        self._save()
        return f"You are now: {person}."

    @botcmd
    def asadmin(self, _: Message, args: str) -> str:
        """Speak as the bot admin (the first of BOT_ADMINS) again."""
        admin = self._bot.admin  # type: ignore[attr-defined]
        self._bot.talk_as(admin)  # type: ignore[attr-defined]
        self._save()
        return f"You are now an admin: {admin}."

    @botcmd
    def ml(self, _: Message, args: str) -> str:
        """Switch multi-line messages on or off (in multi-line mode an empty line sends)."""
        bot: Any = self._bot
        if self.mode == "graphic":
            # The page's input box is always multi-line: nothing to switch.
            return "In the graphic console, Shift+Enter starts a new line and Enter sends."
        bot.multiline = not bot.multiline
        self._save()
        if bot.multiline:
            return "Multiline mode, press enter twice to end messages"
        return "Normal one line mode."
