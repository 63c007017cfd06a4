"""What the IRC connection knows about channels: membership, topics, members.

The state is rebuilt from what the server says (JOIN, PART, KICK, QUIT, NICK, TOPIC, NAMES
replies), never guessed from what the bot asked for, so `IRCRoom.joined` and `occupants`
are true to the server. Everything here runs on the bot's event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from irc.strings import lower as irc_lower

# Channel member status prefixes in NAMES replies (owner, admin, op, half-op, voice).
_STATUS_PREFIXES = "~&@%+"


def fold(name: str) -> str:
    """The IRC case folding of a nick or channel name (RFC 1459 mapping)."""
    return irc_lower(name)


@dataclass
class Channel:
    name: str
    joined: bool = False
    topic: str | None = None
    # folded nick -> the best known form: a full mask once the person has joined or
    # spoken, the bare nick from NAMES otherwise
    members: dict[str, str] = field(default_factory=dict)


class ChannelBook:
    """Channels the bot is in or asked about, plus the channels it wants to be in."""

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}
        # folded name -> (name, key): joined again after a reconnection or a kick
        self.wanted: dict[str, tuple[str, str | None]] = {}
        self._names: dict[str, dict[str, str]] = {}
        self.last_names: dict[str, dict[str, str]] = {}

    def get(self, name: str) -> Channel:
        key = fold(name)
        channel = self.channels.get(key)
        if channel is None:
            channel = self.channels[key] = Channel(name)
        return channel

    def joined(self) -> list[Channel]:
        return [c for c in list(self.channels.values()) if c.joined]

    def is_joined(self, name: str) -> bool:
        channel = self.channels.get(fold(name))
        return channel is not None and channel.joined

    def want(self, name: str, key: str | None) -> None:
        self.wanted[fold(name)] = (name, key)

    def unwant(self, name: str) -> None:
        self.wanted.pop(fold(name), None)

    def reset(self) -> None:
        """The connection is gone: the bot is in no channel any more."""
        for channel in self.channels.values():
            channel.joined = False
            channel.members = {}
        self._names.clear()

    # -- updates from the server ---------------------------------------------------------
    def self_joined(self, name: str) -> None:
        channel = self.get(name)
        channel.joined = True
        channel.members = {}

    def self_left(self, name: str) -> None:
        channel = self.get(name)
        channel.joined = False
        channel.members = {}
        channel.topic = None

    def member_joined(self, name: str, mask: str, nick: str) -> None:
        self.get(name).members[fold(nick)] = mask

    def member_left(self, name: str, nick: str) -> None:
        self.get(name).members.pop(fold(nick), None)

    def member_quit(self, nick: str) -> list[str]:
        """Remove ``nick`` everywhere; the names of the channels it was in."""
        key = fold(nick)
        left = []
        for channel in self.channels.values():
            if channel.members.pop(key, None) is not None:
                left.append(channel.name)
        return left

    def member_renamed(self, old: str, new: str, new_mask: str) -> None:
        old_key, new_key = fold(old), fold(new)
        for channel in self.channels.values():
            if channel.members.pop(old_key, None) is not None:
                channel.members[new_key] = new_mask

    def seen(self, name: str, mask: str, nick: str) -> None:
        """Someone spoke in the channel: remember their full mask."""
        channel = self.channels.get(fold(name))
        if channel is not None and channel.joined:
            channel.members[fold(nick)] = mask

    def names_part(self, name: str, names: str) -> None:
        batch = self._names.setdefault(fold(name), {})
        for entry in names.split():
            nick = entry.lstrip(_STATUS_PREFIXES)
            if nick:
                batch[fold(nick)] = nick

    def names_end(self, name: str) -> dict[str, str]:
        """The NAMES reply is complete: update the members, return what was listed."""
        key = fold(name)
        batch = self._names.pop(key, {})
        channel = self.channels.get(key)
        if channel is not None and channel.joined:
            # Keep the full masks already known for people still there.
            channel.members = {k: channel.members.get(k, v) for k, v in batch.items()}
        self.last_names[key] = batch
        return batch
