from errbot import BotPlugin, Command, arg_botcmd, botcmd


def reply_with(text):
    """A command function takes (plugin, msg, args), like a method."""

    def command(plugin, msg, args):
        return text

    return command


class Shortcuts(BotPlugin):
    """Lets users define canned replies."""

    def activate(self):
        super().activate()
        self.canned = {}

    @botcmd
    def canned_add(self, msg, args):
        """Define a canned reply: !canned add <name> <text>"""
        name, text = args.split(" ", 1)
        self.canned[name] = text
        self._rebuild()
        return f"!{name} is ready."

    @botcmd
    def canned_drop(self, msg, args):
        """Forget every canned reply."""
        self.canned.clear()
        self._rebuild()
        return "All canned replies dropped."

    def _rebuild(self):
        # A dynamic plugin cannot be changed: destroy it and create it again.
        try:
            self.destroy_dynamic_plugin("Canned")
        except ValueError:
            pass  # not created yet
        if self.canned:
            commands = [
                Command(reply_with(text), name=name, doc=f"Canned reply {name}.")
                for name, text in self.canned.items()
            ]
            # Any decorator can be used: here an argparse command built from a lambda.
            greet = Command(
                lambda plugin, msg, who: f"hello {who}",
                cmd_type=arg_botcmd,
                cmd_args=("who",),
                name="canned_greet",
            )
            self.create_dynamic_plugin("Canned", [*commands, greet], doc="Canned replies.")
