import queue

from errbot import BotPlugin


class PipeRecorder(BotPlugin):
    """Keeps every message the bot sends, as the backend hands it to plugins."""

    def activate(self):
        super().activate()
        self.sent = queue.Queue()

    def callback_botmessage(self, message):
        self.sent.put(message)
