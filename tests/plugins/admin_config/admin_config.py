from errbot import BotPlugin, botcmd
from errbot.exceptions import ValidationException


class AdminConfigurable(BotPlugin):
    """Configurable, with secrets at several depths and one declared secret key."""

    secret_config_keys = ("pin",)

    def get_configuration_template(self):
        return {
            "HOST": "localhost",
            "PORT": 8080,
            "api_token": "",
            "pin": "",
            "nested": {"Password": "", "label": "plain"},
        }

    def check_configuration(self, configuration):
        super().check_configuration(configuration)
        if configuration["PORT"] == 0:
            # Quotes the whole configuration, as many checks do: it must be redacted.
            raise ValidationException(f"port 0 is not allowed in {configuration}")

    def activate(self):
        super().activate()
        self.log.info("AdminConfigurable activated")

    @botcmd
    def cfg_host(self, msg, args):
        return f"host is {self.config['HOST']}:{self.config['PORT']}" if self.config else "none"
