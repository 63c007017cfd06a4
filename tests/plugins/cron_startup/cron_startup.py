"""A plugin that starts its cron job where real plugins do: in ``activate()``."""

import threading

from errbot import BotPlugin


class CronStartup(BotPlugin):
    """Posts a stand-up reminder at 09:00 Paris time on weekdays, catching up missed runs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.runs = 0
        self._changed = threading.Condition()

    def activate(self):
        super().activate()
        self.start_cron("0 9 * * MON-FRI", self.standup, tz="Europe/Paris", catch_up=True)

    def standup(self):
        with self._changed:
            self.runs += 1
            self._changed.notify_all()

    def wait_runs(self, at_least, timeout=10.0):
        with self._changed:
            self._changed.wait_for(lambda: self.runs >= at_least, timeout)
            return self.runs
