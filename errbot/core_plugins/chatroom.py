"""Core plugin ``ChatRoom``: the ``!room`` commands, CHATROOM_PRESENCE and the relays.

Every ``!room`` command but ``list`` splits its arguments like a shell, so a quoted room name
may contain spaces. A failure gets one reply naming the room and the reason instead of the
generic "Computer says nooo": a room that the backend reports as missing or not joined is
answered before anything is attempted, and an error raised by the backend is caught.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from errbot import BotPlugin, ShlexArgParser, botcmd
from errbot.backends.base import Message, Room, RoomError

log = logging.getLogger(__name__)

NOT_FOUND = "the room doesn't exist"


def _state(room: Room, attribute: str) -> bool | None:
    """``room.exists`` or ``room.joined``, or None when the backend cannot tell."""
    try:
        return bool(getattr(room, attribute))
    except Exception:  # NotImplementedError, RoomError, network errors: unknown
        return None


def _reason(exc: Exception) -> str:
    """A short text for a backend error, never empty."""
    return str(exc).strip().rstrip(".") or type(exc).__name__


def _attempt(action: Callable[[], Any], failure: str) -> str | None:
    """Run ``action``; on error, the reply "<failure>: <reason>." (logged), else None."""
    try:
        action()
    except (RoomError, NotImplementedError) as exc:
        log.info("%s: %s", failure, exc)
        return f"{failure}: {_reason(exc)}."
    except Exception as exc:  # a backend's own errors: still one clear reply, logged fully
        log.exception(failure)
        return f"{failure}: {_reason(exc)}."
    return None


def _presence_entry(entry: Any) -> tuple[str, str | None]:
    """A CHATROOM_PRESENCE entry: a room name or a (room, password) pair."""
    if isinstance(entry, str):
        return entry, None
    name = entry[0]
    password = entry[1] if len(entry) > 1 else None
    return str(name), password


class ChatRoom(BotPlugin):
    """Join, leave and manage chat rooms; relay messages between people and rooms."""

    connected = False

    # -- lifecycle -------------------------------------------------------------------
    def activate(self) -> None:
        config = self.bot_config
        if not config.CHATROOM_RELAY and not config.REVERSE_CHATROOM_RELAY:
            # No relay: let the core skip this plugin for callback_message entirely.
            self._err_ignored_callbacks = frozenset({"callback_message"})
        super().activate()

    def deactivate(self) -> None:
        self.connected = False
        super().deactivate()

    def callback_connect(self) -> None:
        # callback_connect runs twice at start-up (compatibility): join the rooms once.
        if self.connected:
            return
        self.connected = True
        for entry in self.bot_config.CHATROOM_PRESENCE or ():
            name, password = _presence_entry(entry)
            try:
                self.query_room(name).join(username=self.bot_config.CHATROOM_FN, password=password)
            except Exception:  # one unreachable room must not keep the bot out of the others
                log.exception("Joining the room %s failed", name)

    # -- commands --------------------------------------------------------------------
    def _find(self, name: str, failure: str) -> tuple[Any, str | None]:
        """The room called ``name``, or None and the reply saying why there is none.

        Some backends refuse in `query_room` itself (a Discord channel the bot cannot see, a
        malformed name): that is one clear reply too, like any other room error.
        """
        found: list[Any] = []
        failed = _attempt(lambda: found.append(self.query_room(name)), failure)
        if failed:
            return None, failed
        if found[0] is None:
            return None, f"{failure}: this chat network has no rooms."
        return found[0], None

    @botcmd(split_args_with=ShlexArgParser())
    def room_create(self, _: Message, args: list[str]) -> str:
        """Create a room: !room create <room>"""
        if not args:
            return "Please tell me which chatroom to create."
        name = args[0]
        failure = f"Cannot create the room {name}"
        room, failed = self._find(name, failure)
        if room is not None:
            failed = _attempt(room.create, failure)
        return failed or f"Created the room {name}."

    @botcmd(split_args_with=ShlexArgParser())
    def room_join(self, _: Message, args: list[str]) -> str:
        """Join a room: !room join <room> [<password>]"""
        if not args:
            return "Please tell me which chatroom to join."
        name = args[0]
        password = args[1] if len(args) > 1 else None
        failure = f"Cannot join the room {name}"
        room, failed = self._find(name, failure)
        if room is not None:
            failed = _attempt(
                lambda: room.join(username=self.bot_config.CHATROOM_FN, password=password),
                failure,
            )
        return failed or f"Joined the room {name}."

    @botcmd(split_args_with=ShlexArgParser())
    def room_leave(self, _: Message, args: list[str]) -> str:
        """Leave a room: !room leave <room>"""
        if not args:
            return "Please tell me which chatroom to leave."
        name = args[0]
        room, failed = self._find(name, f"Cannot leave the room {name}")
        if failed:
            return failed
        if _state(room, "joined") is False:
            return f"I'm not in the room {name}."
        failed = _attempt(room.leave, f"Cannot leave the room {name}")
        return failed or f"Left the room {name}."

    @botcmd(split_args_with=ShlexArgParser())
    def room_destroy(self, _: Message, args: list[str]) -> str:
        """Destroy a room: !room destroy <room>"""
        if not args:
            return "Please tell me which chatroom to destroy."
        name = args[0]
        room, failed = self._find(name, f"Cannot destroy the room {name}")
        if failed:
            return failed
        if _state(room, "exists") is False:
            return f"Cannot destroy the room {name}: {NOT_FOUND}."
        failed = _attempt(room.destroy, f"Cannot destroy the room {name}")
        return failed or f"Destroyed the room {name}."

    @botcmd(split_args_with=ShlexArgParser())
    def room_invite(self, _: Message, args: list[str]) -> str:
        """Invite people into a room: !room invite <room> <identifier1> [<identifier2> ...]"""
        if len(args) < 2:
            return "Please tell me which person(s) to invite into which room."
        name, people = args[0], args[1:]
        failure = f"Cannot invite {', '.join(people)} into the room {name}"
        room, failed = self._find(name, failure)
        if failed:
            return failed
        if _state(room, "exists") is False:
            return f"{failure}: {NOT_FOUND}."
        failed = _attempt(
            lambda: room.invite(*[self.build_identifier(person) for person in people]), failure
        )
        return failed or f"Invited {', '.join(people)} into the room {name}."

    @botcmd
    def room_list(self, _: Message, args: Any) -> str:
        """List the rooms I am in."""
        rooms = [str(room) for room in self.rooms()]
        if rooms:
            return "I'm currently in these rooms:\n\t" + "\n\t".join(rooms)
        return "I'm not currently in any rooms."

    @botcmd(split_args_with=ShlexArgParser())
    def room_occupants(self, _: Message, args: list[str]) -> Iterator[str]:
        """List the people in rooms: !room occupants <room 1> [<room 2> ...]"""
        if not args:
            yield "Please supply a room to list the occupants of."
            return
        for name in args:
            yield self._occupants(name)

    def _occupants(self, name: str) -> str:
        failure = f"Cannot list occupants in {name}"
        room, failed = self._find(name, failure)
        if failed:
            return failed
        if _state(room, "exists") is False:
            return f"{failure}: {NOT_FOUND}."
        found: list[str] = []
        failed = _attempt(lambda: found.extend(o.person for o in room.occupants), failure)
        return failed or f"Occupants in {name}:\n\t" + "\n\t".join(found) + "."

    @botcmd(split_args_with=ShlexArgParser())
    def room_topic(self, _: Message, args: list[str]) -> str:
        """Show or set the topic of a room: !room topic <room> [<new topic>]"""
        if not args:
            return "Please tell me which chatroom you want to know the topic of."
        name = args[0]
        verb = "get" if len(args) == 1 else "set"
        room, failed = self._find(name, f"Cannot {verb} the topic for {name}")
        if failed:
            return failed
        if len(args) == 1:
            failure = f"Cannot get the topic for {name}"
            if _state(room, "exists") is False:
                return f"{failure}: {NOT_FOUND}."
            topic: list[Any] = []
            failed = _attempt(lambda: topic.append(room.topic), failure)
            if failed:
                return failed
            return f"Topic for {name}: {topic[0]}." if topic[0] else f"No topic is set for {name}."
        failure = f"Cannot set the topic for {name}"
        if _state(room, "exists") is False:
            return f"{failure}: {NOT_FOUND}."
        failed = _attempt(lambda: setattr(room, "topic", " ".join(args[1:])), failure)
        return failed or f"Topic for {name} set."

    # -- relays ----------------------------------------------------------------------
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
                # Errbot needs Identifier objects here; a string is built into one as well.
                self._relay(
                    lambda u=user: u if not isinstance(u, str) else self.build_identifier(u),
                    text,
                )

    def _relay(self, target: Callable[[], Any], text: str) -> None:
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
