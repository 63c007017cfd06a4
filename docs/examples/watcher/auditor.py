from errbot import BotPlugin


class Auditor(BotPlugin):
    """Notes every message that mentions an audit."""

    def callback_message(self, message):
        if "audit" in message.body:
            self.send(message.frm, "Auditor saw it")
