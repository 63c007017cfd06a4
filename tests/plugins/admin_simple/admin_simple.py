import threading

from errbot import BotPlugin, botcmd


class AdminSimple(BotPlugin):
    """Not configurable; remembers things in its storage and records what the bot sends."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent = []
        self._sent_changed = threading.Condition()

    @botcmd
    def simple_ping(self, msg, args):
        return "simple pong"

    @botcmd
    def simple_remember(self, msg, args):
        key, value = args.split(" ", 1)
        self[key] = value
        return f"remembered {key}"

    def callback_botmessage(self, message):
        with self._sent_changed:
            self.sent.append(message.body)
            self._sent_changed.notify_all()

    def wait_sent(self, predicate, timeout=10.0):
        """The first Markdown body the bot sent that satisfies ``predicate``."""
        with self._sent_changed:
            found = self._sent_changed.wait_for(
                lambda: [body for body in self.sent if predicate(body)], timeout
            )
        assert found, f"nothing matching was sent; sent: {self.sent}"
        return found[0]
