from errbot import BotPlugin, cmdfilter


class ChainFilter(BotPlugin):
    """A command filter whose behaviour tests set per command name.

    ``trace`` receives ``(plugin name, cmd, args, dry_run)`` for every call; tests may share
    one list between several instances to see the call order.
    """

    def activate(self):
        super().activate()
        self.trace = []
        self.block = set()
        self.explode = set()
        self.rewrite = {}

    @cmdfilter
    def chain_filter(self, msg, cmd, args, dry_run):
        self.trace.append((self.name, cmd, args, dry_run))
        if cmd in self.explode:
            raise RuntimeError(f"{self.name} exploded on {cmd}")
        if cmd in self.block:
            return None, cmd, args
        if cmd in self.rewrite:
            new_cmd, transform = self.rewrite[cmd]
            return msg, new_cmd, transform(args)
        return msg, cmd, args
