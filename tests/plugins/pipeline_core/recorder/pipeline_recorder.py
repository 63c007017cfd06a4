import queue

from errbot import BotPlugin


class PipeRecorder(BotPlugin):
    """Keeps every message the bot sends, and the bodies of the messages it receives."""

    def activate(self):
        super().activate()
        self.sent = queue.Queue()
        self.seen = queue.Queue()

    def callback_botmessage(self, message):
        self.sent.put(message)

    def callback_message(self, message):
        self.seen.put(message.body)
