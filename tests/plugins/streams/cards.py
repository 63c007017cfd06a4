"""Cards and outgoing files, and a record of every message the bot sends."""

from __future__ import annotations

import io
import queue

from errbot import BotPlugin, botcmd
from errbot.backends.base import Message


class Cards(BotPlugin):
    """Sends cards and files on command."""

    def activate(self) -> None:
        super().activate()
        self.sent: queue.SimpleQueue[Message] = queue.SimpleQueue()

    def callback_botmessage(self, message: Message) -> None:
        self.sent.put(message)

    @botcmd
    def cardreply(self, msg: Message, args: str) -> None:
        """Answers with a card, in reply to the request."""
        self.send_card(body=args or "the answer", in_reply_to=msg, title="Reply")

    @botcmd
    def sendfile(self, msg: Message, args: str) -> str:
        """Sends a small file to whoever asked, then tells how it went."""
        content = (args or "file content").encode("utf-8")
        stream = self.send_stream_request(
            msg.frm, io.BytesIO(content), name="notes.txt", stream_type="text/plain"
        )
        return (
            f"{stream.status} {stream.transfered}/{stream.size} {stream.name} "
            f"{stream.stream_type} to {stream.identifier}"
        )
