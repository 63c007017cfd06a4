import asyncio

from errbot import BotPlugin, botcmd


class Ticker(BotPlugin):
    """Repeating jobs."""

    def activate(self):
        super().activate()  # always first: it opens the storage and registers the commands
        self.ticks = 0
        self.start_poller(0.05, self.tick)  # every 50 ms until stopped or deactivated

    def tick(self):
        self.ticks += 1

    @botcmd
    def ticks_stop(self, msg, args):
        """Stop counting."""
        self.stop_poller(self.tick)
        return f"stopped after {self.ticks} ticks"

    @botcmd
    def remind(self, msg, args):
        """Remind you three times: !remind <text>"""
        # times=3: called three times, then the poller is gone. args/kwargs are passed on.
        self.start_poller(0.05, self.send, times=3, args=(msg.frm, f"Reminder: {args}"))
        return "ok, three reminders coming"

    @botcmd
    def ping_later(self, msg, args):
        """An async poller that stops itself after its first call."""
        self.start_poller(0.05, self.async_ping, args=(msg.frm,))
        return "ping scheduled"

    async def async_ping(self, who):
        await asyncio.sleep(0)
        self.stop_poller(self.async_ping, args=(who,))
        self.send(who, "ping!")
