from errbot import BotPlugin, botcmd


class Deploy(BotPlugin):
    """Deploys things (pretend)."""

    def run_deployment(self, environment):
        raise RuntimeError("tests must not really deploy")

    @botcmd(admin_only=True)
    def deploy(self, msg, args):
        """Deploy to an environment (admins only): !deploy <env>"""
        version = self.run_deployment(args)
        return f"Deployed {version} to {args}."

    @botcmd
    def where(self, msg, args):
        """Say where the command came from."""
        if msg.is_group:
            return f"room {msg.to}, from {msg.frm.person}"
        return f"direct message from {msg.frm.person}"

    @botcmd
    def lines(self, msg, args):
        """Count the lines of the arguments."""
        return f"{len(args.splitlines())} lines"
