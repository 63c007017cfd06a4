from errbot import BotPlugin, botcmd


class HelpDescribed(BotPlugin):
    @botcmd
    def described_hello(self, msg, args):
        """Say hello from a plugin documented by its .plug file."""
        return "hello"
