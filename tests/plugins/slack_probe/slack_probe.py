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

    # -- what plugins written for errbot-backend-slackv3 do --------------------------------
    @botcmd(admin_only=True)
    def slack_admin(self, msg, args):
        return "you are an admin"

    @botcmd
    def v3_attachments(self, msg, args):
        # slackv3's documented pattern: reuse the incoming message, add Slack extras.
        msg.body = "See below"
        msg.extras["attachments"] = [{"color": "5F4B48", "title": "Bot", "text": "General"}]
        msg.extras["blocks"] = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi*"}}]
        self._bot.send_message(msg)

    @botcmd
    def v3_thread(self, msg, args):
        reply = self._bot.build_message("in the given thread")
        reply.to = msg.to if msg.is_group else msg.frm
        reply.extras["thread_ts"] = "1700000000.000099"
        self._bot.send_message(reply)

    @botcmd
    def v3_lookups(self, msg, args):
        bot = self._bot
        event = msg.extras["slack_event"]
        found = [
            bot.mode,
            event["user"],
            event["channel"],
            bot.userid_to_username("UBOB"),
            bot.username_to_userid("@bob"),
            bot.channelid_to_channelname("CRANDOM"),
            bot.channelname_to_channelid("random"),
            bot.get_im_channel("UBOB"),
            f"{len(bot.channels())}/{len(bot.channels(joined_only=True))}",
            bot.api_call("users.info", data={"params": {"user": "UALICE"}})["user"]["name"],
            bot.api_call("users.info", {"params": {"user": "UNOPE"}}, raise_errors=False)["error"],
        ]
        try:
            bot.api_call("users.info", data={"params": {"user": "UNOPE"}})
        except Exception as exc:
            found.append(f"{type(exc).__name__}:{exc.error}")
        answer = bot.slack_web.chat_postMessage(channel=event["channel"], text="from slack_web")
        found.append(str(answer["ok"]))
        return " ".join(found)
