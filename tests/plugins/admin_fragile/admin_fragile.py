from errbot import BotPlugin, botcmd


class AdminFragile(BotPlugin):
    """Refuses to activate while bot_config.ADMIN_FRAGILE_FAIL is true."""

    def activate(self):
        if getattr(self.bot_config, "ADMIN_FRAGILE_FAIL", False):
            raise RuntimeError("fragile plugin refuses to start")
        super().activate()

    @botcmd
    def fragile_ping(self, msg, args):
        return "fragile pong"
