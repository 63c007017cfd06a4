"""Commands and callback recorders the IRC backend tests drive over a real server."""

import threading

from errbot import BotPlugin, botcmd

# Shared with the tests: a long reply with multi-byte characters and words.
BIG_WORDS = " ".join(f"wörd{i}é" for i in range(120))
BIG_WORD = "é" * 300 + "€" * 50 + "x"


class IrcProbe(BotPlugin):
    """Commands and callback recorders for the IRC backend tests."""

    def activate(self):
        super().activate()
        self.events = []

    def callback_mention(self, message, mentioned_people):
        self.events.append("mention " + ",".join(p.nick for p in mentioned_people))

    def callback_room_joined(self, room, identifier, invited_by):
        by = f" by {invited_by.nick}" if invited_by is not None else ""
        self.events.append(f"joined {room} {identifier.nick}{by}")

    def callback_room_left(self, room, identifier, kicked_by):
        by = f" by {kicked_by.nick}" if kicked_by is not None else ""
        self.events.append(f"left {room} {identifier.nick}{by}")

    def callback_room_topic(self, room):
        self.events.append(f"topic {room} {room.topic}")

    def callback_message(self, msg):
        if msg.extras.get("notice"):
            self.events.append(f"notice {msg.frm.nick} {msg.body}")

    @botcmd
    def events(self, msg, args):
        """The recorded callbacks matching args, one per line."""
        found = [e for e in self.events if args in e]
        return "\n".join(found) or "none"

    @botcmd(admin_only=True)
    def secret(self, msg, args):
        return "the secret"

    @botcmd
    def lines(self, msg, args):
        """!lines [count [width]]: numbered lines, padded with "x" to ``width`` characters."""
        count, _, width = (args or "3").partition(" ")
        padded = (f"line {i} ".ljust(int(width or 0), "x").rstrip() for i in range(int(count)))
        return "\n".join(padded)

    @botcmd
    def big(self, msg, args):
        return BIG_WORDS if args == "words" else BIG_WORD

    @botcmd
    def later(self, msg, args):
        """Answer from a thread of our own, like a poller or a webhook would."""
        target = self.build_identifier(args) if args else msg.frm

        def send():
            self.send(target, "sent from a thread")

        threading.Thread(target=send).start()

    @botcmd
    def whoami_acl(self, msg, args):
        return msg.frm.aclattr
