from errbot import BotPlugin, botcmd, cmdfilter


class Gatekeeper(BotPlugin):
    """Filters every command before it runs."""

    def activate(self):
        super().activate()
        self.maintenance = False

    @cmdfilter
    def maintenance_mode(self, msg, cmd, args, dry_run):
        # Called for every command, with the resolved name ("echo", "room_list"...).
        if self.maintenance and cmd not in ("maintenance_off",):
            if not dry_run:  # a dry run only asks "would it be allowed?": no replies then
                self._bot.send_simple_reply(msg, f"Sorry, {cmd} is disabled during maintenance.")
            return None, None, None  # block the command
        return msg, cmd, args  # let it through

    @cmdfilter
    def shout_to_echo(self, msg, cmd, args, dry_run):
        # Filters may rewrite the command or its arguments.
        if cmd == "shout":
            return msg, "echo", args.upper()
        return msg, cmd, args

    @botcmd
    def maintenance_on(self, msg, args):
        self.maintenance = True
        return "Maintenance mode on."

    @botcmd
    def maintenance_off(self, msg, args):
        self.maintenance = False
        return "Maintenance mode off."

    @botcmd
    def shout(self, msg, args):
        """Never runs: the filter turns it into !echo."""
        return "unreachable"
