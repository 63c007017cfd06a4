from __future__ import annotations

import logging
from typing import Any

from errbot import BotPlugin, ShlexArgParser, botcmd
from errbot.backends.base import Message, Room, RoomError

log = logging.getLogger(__name__)


class ChatRoom(BotPlugin):
    """Join, leave and manage chat rooms; relay messages between people and rooms."""

    connected = False

    def callback_connect(self) -> None:
        # callback_connect runs twice at start-up (compatibility); join once.
        if self.connected:
            return
        self.connected = True
        for entry in self.bot_config.CHATROOM_PRESENCE or ():
            if isinstance(entry, str):
                name, password = entry, None
            else:
                name, password = entry[0], (entry[1] if len(entry) > 1 else None)
            try:
                self.query_room(name).join(username=self.bot_config.CHATROOM_FN, password=password)
            except Exception:
                log.exception("Joining the room %s failed", name)

    def activate(self) -> None:
        config = self.bot_config
        if not config.CHATROOM_RELAY and not config.REVERSE_CHATROOM_RELAY:
            self._err_ignored_callbacks = frozenset({"callback_message"})
        super().activate()

    def deactivate(self) -> None:
        self.connected = False
        super().deactivate()

    @botcmd(split_args_with=ShlexArgParser())
    def room_create(self, _: Message, args: list[str]) -> str:
        """Create a room: !room create <room>"""
        if not args:
            return "Please tell me which chatroom to create."
        self.query_room(args[0]).create()
        return f"Created the room {args[0]}."

    @botcmd(split_args_with=ShlexArgParser())
    def room_join(self, _: Message, args: list[str]) -> str:
        """Join a room: !room join <room> [<password>]"""
        if not args:
            return "Please tell me which chatroom to join."
        password = args[1] if len(args) > 1 else None
        self.query_room(args[0]).join(username=self.bot_config.CHATROOM_FN, password=password)
        return f"Joined the room {args[0]}."

    @botcmd(split_args_with=ShlexArgParser())
    def room_leave(self, _: Message, args: list[str]) -> str:
        """Leave a room: !room leave <room>"""
        if not args:
            return "Please tell me which chatroom to leave."
        self.query_room(args[0]).leave()
        return f"Left the room {args[0]}."

    @botcmd(split_args_with=ShlexArgParser())
    def room_destroy(self, _: Message, args: list[str]) -> str:
        """Destroy a room: !room destroy <room>"""
        if not args:
            return "Please tell me which chatroom to destroy."
        self.query_room(args[0]).destroy()
        return f"Destroyed the room {args[0]}."

    @botcmd(split_args_with=ShlexArgParser())
    def room_invite(self, _: Message, args: list[str]) -> str:
        """Invite people into a room: !room invite <room> <identifier1> [<identifier2> ...]"""
        if len(args) < 2:
            return "Please tell me which person(s) to invite into which room."
        self.query_room(args[0]).invite(*[self.build_identifier(i) for i in args[1:]])
        return f"Invited {', '.join(args[1:])} into the room {args[0]}."

    @botcmd
    def room_list(self, _: Message, args: Any) -> str:
        """List the rooms the bot has joined."""
        rooms = [str(room) for room in self.rooms()]
        if rooms:
            return "I'm currently in these rooms:\n\t" + "\n\t".join(rooms)
        return "I'm not currently in any rooms."

    @botcmd(split_args_with=ShlexArgParser())
    def room_occupants(self, _: Message, args: list[str]) -> Any:
        """List the occupants of rooms: !room occupants <room 1> [<room 2> ...]"""
        if not args:
            yield "Please supply a room to list the occupants of."
            return
        for name in args:
            try:
                occupants = [o.person for o in self.query_room(name).occupants]
                yield f"Occupants in {name}:\n\t" + "\n\t".join(occupants) + "."
            except (RoomError, NotImplementedError) as exc:
                yield f"Cannot list occupants in {name}: {exc}."

    @botcmd(split_args_with=ShlexArgParser())
    def room_topic(self, _: Message, args: list[str]) -> str:
        """Get or set a room's topic: !room topic <room> [<new topic>]"""
        if not args:
            return "Please tell me which chatroom you want to know the topic of."
        name = args[0]
        room: Room = self.query_room(name)
        if len(args) == 1:
            try:
                topic = room.topic
            except (RoomError, NotImplementedError) as exc:
                return f"Cannot get the topic for {name}: {exc}."
            return f"Topic for {name}: {topic}." if topic else f"No topic is set for {name}."
        try:
            room.topic = " ".join(args[1:])
        except (RoomError, NotImplementedError) as exc:
            return f"Cannot set the topic for {name}: {exc}."
        return f"Topic for {name} set."

    def callback_message(self, msg: Message) -> None:
        config = self.bot_config
        if msg.is_direct and config.CHATROOM_RELAY:
            rooms = _targets(dict(config.CHATROOM_RELAY).get(msg.frm.person))
            for room_name in rooms:
                self._relay(lambda r=room_name: self.query_room(r), msg.body)
        elif msg.is_group and config.REVERSE_CHATROOM_RELAY:
            users = _targets(dict(config.REVERSE_CHATROOM_RELAY).get(str(msg.frm.room)))
            text = f"[{msg.frm.person}] {msg.body}"
            for user in users:
                self._relay(
                    lambda u=user: u if not isinstance(u, str) else self.build_identifier(u),
                    text,
                )

    def _relay(self, target: Any, text: str) -> None:
        """Send ``text`` to ``target()``; one failing destination does not stop the others."""
        try:
            self.send(target(), text)
        except Exception:
            log.exception("Relaying a message failed")


def _targets(value: Any) -> tuple[Any, ...]:
    """The destinations of one relay entry: a tuple or list, or a single one."""
    if value is None:
        return ()
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(value)
    return (value,)
