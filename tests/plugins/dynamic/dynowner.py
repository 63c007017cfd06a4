from errbot import BotPlugin, Command, botcmd


class DynOwner(BotPlugin):
    """Owns dynamic plugins created by the tests."""

    @botcmd
    def clash(self, msg, args):
        return "static clash"

    @botcmd
    def dyn_make(self, msg, args):
        """Create a dynamic plugin named after the arguments, from chat."""
        self.create_dynamic_plugin(
            args,
            [Command(lambda plugin, msg, args: f"{plugin.name} made by chat", name=f"{args}_hi")],
            doc=f"Made from chat: {args}",
        )
        return f"made {args}"
