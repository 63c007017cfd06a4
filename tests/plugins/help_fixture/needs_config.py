from errbot import BotPlugin, botcmd


class NeedsConfig(BotPlugin):
    """Stays inactive until it is configured."""

    def get_configuration_template(self):
        return {"TOKEN": "changeme"}

    def activate(self):
        if self.config is None:
            self.log.info("Not configured, staying inactive.")
            return
        super().activate()

    @botcmd
    def needs_config_ping(self, msg, args):
        """Answer once configured."""
        return "configured pong"
