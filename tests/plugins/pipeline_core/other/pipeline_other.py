from errbot import BotPlugin, botcmd


class PipeOther(BotPlugin):
    """Owns a template named like one of PipeCore's."""

    @botcmd(template="pipe_shared")
    def tpl_other(self, msg, args):
        return {"who": args}
