"""Commands and callback recorders the Slack backend tests drive through the fake Slack."""

import io

from errbot import BotPlugin, botcmd

# A long reply: paragraphs, then a code block longer than one Slack message.
CODE_LINES = [f"    value_{i} = compute({i}) & check({i}) < limit" for i in range(150)]
LONG_REPLY = (
    "**Report**\n\n"
    + "\n\n".join(f"Paragraph {i}: " + "words " * 40 for i in range(8))
    + "\n\n```python\n"
    + "\n".join(CODE_LINES)
    + "\n```\n\nThe end."
)


class SlackProbe(BotPlugin):
    """Records callbacks; commands exercising cards, files and long replies."""

    def activate(self):
        super().activate()
        self.events = []

    def callback_mention(self, message, mentioned_people):
        self.events.append(("mention", message.body, [p.aclattr for p in mentioned_people]))

    def callback_reaction(self, reaction):
        self.events.append(
            (
                "reaction",
                reaction.action,
                reaction.reaction_name,
                reaction.reactor.aclattr,
                str(reaction.reactor),
                reaction.reacted_to_owner.aclattr,
                dict(reaction.reacted_to),
            )
        )

    def callback_presence(self, presence):
        self.events.append(("presence", presence.identifier.aclattr, presence.status))

    def callback_room_joined(self, room, identifier, invited_by):
        self.events.append(("joined", str(room), str(identifier), str(invited_by)))

    def callback_room_topic(self, room):
        self.events.append(("topic", str(room)))

    def callback_message(self, msg):
        self.events.append(("message", msg.body, str(msg.frm), str(msg.to), msg.is_threaded))

    @botcmd
    def long(self, msg, args):
        return LONG_REPLY

    @botcmd
    def ask_thread(self, msg, args):
        return "in the thread"

    @botcmd
    def slack_whoami(self, msg, args):
        return f"{msg.frm.aclattr} {msg.frm.person} {msg.frm.fullname} in {msg.to}"

    @botcmd
    def card(self, msg, args):
        self.send_card(
            to=msg.to if msg.is_group else msg.frm,
            summary="Build *42*",
            title="Build passed",
            link="https://ci.example.org/42",
            body="All **green** & <fine>",
            color="green",
            fields=(("Branch", "main"), ("Duration", "3 minutes and 12 seconds, a long value")),
            image="https://ci.example.org/42.png",
            thumbnail="https://ci.example.org/thumb.png",
            in_reply_to=msg,
        )

    @botcmd
    def upload(self, msg, args):
        stream = self.send_stream_request(
            msg.frm, io.BytesIO(b"file content\n" * 10), name="report.txt", stream_type="text/plain"
        )
        self.uploaded = stream
        return "uploading"
