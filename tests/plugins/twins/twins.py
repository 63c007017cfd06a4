from errbot import BotPlugin, botcmd


class Twin(BotPlugin):
    @botcmd
    def twin_who(self, msg, args):
        return f"I am {self.name}"

    @botcmd
    def twin_keep(self, msg, args):
        self["kept"] = args
        return f"{self.name} keeps {args}"

    @botcmd
    def twin_show(self, msg, args):
        return f"{self.name} has {self.get('kept', 'nothing')}"
