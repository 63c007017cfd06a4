from errbot import BotPlugin, CommandError, ShlexArgParser, botcmd


class Greetings(BotPlugin):
    """Say hello in several ways (this docstring is the plugin's help text)."""

    @botcmd
    def hello(self, msg, args):
        """Say hello to you, or to whoever you name: !hello [name]"""
        return f"Hello, {args or msg.frm.person}!"

    @botcmd
    def greet_loudly(self, msg, args):
        """Two words for users: !greet loudly <name>"""
        return f"HELLO, {args.upper()}!"

    @botcmd(split_args_with=None)
    def greet_all(self, msg, args):
        """One reply per name: !greet all alice bob"""
        if not args:
            raise CommandError("Whom should I greet? Try: !greet all alice bob")
        for name in args:
            yield f"Hello, {name}!"

    @botcmd(split_args_with=ShlexArgParser())
    def greet_quoted(self, msg, args):
        """Quoted words stay together: !greet quoted "Ada Lovelace" Alan"""
        return " / ".join(args)

    @botcmd(name="hi")
    def a_method_with_a_long_name(self, msg, args):
        """The command is !hi, whatever the method is called."""
        return "hi!"

    @botcmd(hidden=True)
    def greet_nothing(self, msg, args):
        """A command that returns None sends no reply at all."""
        return None

    @botcmd
    def greet_broken(self, msg, args):
        """A bug in a command: the user gets a short error, the log gets the traceback."""
        return 1 / 0
