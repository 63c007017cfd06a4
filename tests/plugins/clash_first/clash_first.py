from errbot import BotPlugin, botcmd


class FirstClasher(BotPlugin):
    @botcmd(name="clash")
    def first_clash(self, msg, args):
        return "first clash"
