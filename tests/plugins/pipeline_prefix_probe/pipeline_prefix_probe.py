from errbot import BotPlugin, botmatch


class PrefixProbe(BotPlugin):
    """The harness starts a bot by sending "!echo ready" and waiting for "ready".

    With another BOT_PREFIX that text is no command, so this unprefixed regex command gives
    the expected answer instead. Only bots configured with another prefix load it.
    """

    @botmatch(r"^!echo (ready)$")
    def startup_probe(self, msg, match):
        return match.group(1)
