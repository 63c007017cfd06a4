from errbot import BotPlugin, ValidationException, botcmd

DEFAULTS = {"CHANNEL": "#alerts", "THRESHOLD": 10, "TAGS": ["ops"]}


class Alerts(BotPlugin):
    """Raises alerts above a configurable threshold."""

    def get_configuration_template(self):
        # The shape (and suggested values) of the configuration.
        return DEFAULTS

    def check_configuration(self, configuration):
        # The default check compares types and keys with the template; add your own rules.
        super().check_configuration(configuration)
        if configuration["THRESHOLD"] <= 0:
            raise ValidationException("THRESHOLD must be positive")

    def configure(self, configuration):
        # Called before every activation, with None when nothing is stored:
        # fall back to the defaults, and fill keys the stored configuration lacks.
        super().configure({**DEFAULTS, **(configuration or {})})

    @botcmd
    def alert_settings(self, msg, args):
        """Show the active settings."""
        return f"channel={self.config['CHANNEL']} threshold={self.config['THRESHOLD']}"

    @botcmd
    def alert_check(self, msg, args):
        """!alert check <value>"""
        value = int(args)
        if value > self.config["THRESHOLD"]:
            return f"ALERT: {value} is above {self.config['THRESHOLD']}"
        return "all good"
