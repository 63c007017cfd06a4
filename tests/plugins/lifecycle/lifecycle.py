import threading

from errbot import BotPlugin, botcmd


class Lifecycle(BotPlugin):
    """Exercises the BotPlugin API from the tests."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.activations = 0
        self.deactivations = 0
        self.config_at_activation = "never activated"
        self.sent = []
        self._sent_changed = threading.Condition()

    def get_configuration_template(self):
        return {
            "HOST": "localhost",
            "PORT": 8080,
            "TAGS": ["a-tag"],
            "NESTED": {"FLAG": True, "ANYTHING": None},
        }

    def activate(self):
        super().activate()
        self.activations += 1
        self.config_at_activation = self.config

    def deactivate(self):
        self.deactivations += 1
        super().deactivate()

    def callback_botmessage(self, message):
        with self._sent_changed:
            self.sent.append(message)
            self._sent_changed.notify_all()

    def wait_sent(self, body, timeout=10.0):
        """The first bot message whose body is ``body`` (or satisfies it, if callable)."""
        matches = body if callable(body) else (lambda text: text == body)
        with self._sent_changed:
            found = self._sent_changed.wait_for(
                lambda: [m for m in self.sent if matches(m.body)], timeout
            )
        assert found, f"{body!r} was never sent; sent: {[m.body for m in self.sent]}"
        return found[0]

    @botcmd
    def lc_store(self, msg, args):
        key, value = args.split(" ", 1)
        self[key] = value
        return f"stored {key}"

    @botcmd
    def lc_fetch(self, msg, args):
        return self.get(args, "<missing>")

    @botcmd
    def lc_greet(self, msg, args):
        self.send_templated(msg.frm, "greeting", {"who": args})

    @botcmd
    def lc_config(self, msg, args):
        return repr(self.config)
