from errbot import BotPlugin, cmdfilter


class Catcher(BotPlugin):
    """Answers "magic" when no command matched; passes everything else through."""

    def activate(self):
        super().activate()
        self.calls = []

    @cmdfilter(catch_unprocessed=True)
    def catch_all(self, msg, cmd, args, dry_run, emptycmd=False):
        self.calls.append((msg.body, dry_run, emptycmd))
        if not emptycmd:
            return msg, cmd, args
        if "magic" in msg.body:
            return f"caught: {msg.body}"
        return None
