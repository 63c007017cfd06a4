from errbot import BotPlugin, botcmd


class SecondClasher(BotPlugin):
    @botcmd
    def clash(self, msg, args):
        return "second clash"

    @botcmd
    def second_only(self, msg, args):
        return "no clash here"
