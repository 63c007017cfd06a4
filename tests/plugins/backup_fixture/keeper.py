from errbot import BotPlugin, botcmd


class Keeper(BotPlugin):
    """Stores values for the backup tests."""

    @botcmd
    def keep(self, msg, args):
        """Store args under the key "kept"."""
        self["kept"] = args
        return "kept"
