from errbot import BotPlugin, botcmd


class Badges(BotPlugin):
    """Makes name badges."""

    def activate(self):
        super().activate()
        # Directory is activated before this plugin, because of DependsOn.
        self.directory = self.get_plugin("Directory")

    @botcmd
    def badge(self, msg, args):
        """!badge <nick>"""
        return f"HELLO, my name is {self.directory.full_name(args)}"
