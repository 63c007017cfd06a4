"""Commands and callback recorders the Discord backend tests drive through the fake Discord."""

import io

from errbot import BotPlugin, botcmd

# A reply longer than Discord's 2000 characters, with a code block in the middle.
LONG_CODE = "\n".join(f"print({i})  # a line of code" for i in range(120))
LONG_REPLY = "intro\n\n```python\n" + LONG_CODE + "\n```\n\nthe end"


class DiscordProbe(BotPlugin):
    """Commands and callback recorders for the Discord backend tests."""

    def activate(self):
        super().activate()
        self.events = []

    def callback_mention(self, message, mentioned_people):
        self.events.append(("mention", message.body, [p.aclattr for p in mentioned_people]))

    def callback_reaction(self, reaction):
        self.events.append(("reaction", reaction))

    def callback_presence(self, presence):
        self.events.append(("presence", presence))

    def callback_room_topic(self, room):
        self.events.append(("topic", room))

    @botcmd
    def long(self, msg, args):
        return LONG_REPLY

    @botcmd
    def card(self, msg, args):
        self.send_card(
            to=msg.to if msg.is_group else msg.frm,
            title="Build 42",
            link="https://ci.example.invalid/42",
            body="**passed** in 3 min",
            color="green",
            fields=(("branch", "main"), ("tests", "1200")),
            image="https://ci.example.invalid/graph.png",
            thumbnail="https://ci.example.invalid/logo.png",
            summary="build summary",
        )

    @botcmd
    def upload(self, msg, args):
        target = msg.to if msg.is_group else msg.frm
        self._stream = self.send_stream_request(
            target,
            io.BytesIO(b"file content\n"),
            name="report.txt",
            size=13,
            stream_type="text/plain",
        )

    @botcmd
    def ask(self, msg, args):
        """Answer with Discord's native reply (send with in_reply_to)."""
        self.send(msg.to if msg.is_group else msg.frm, "replying", in_reply_to=msg)

    @botcmd
    def threadme(self, msg, args):
        return "in a thread"

    @botcmd
    def table(self, msg, args):
        return "| a | b |\n|---|---|\n| 1 | 2 |\n\n#### small heading {: color='red'}"

    @botcmd(admin_only=True)
    def secret(self, msg, args):
        return "the secret"
