from errbot import BotPlugin, Command, botcmd, re_botcmd

LONG_FIRST_LINE = (
    "This first line of documentation is deliberately longer than eighty characters so "
    "that help cuts it"
)


class HelpFixture(BotPlugin):
    """Commands with every kind of documentation, for the help tests.

    Start with !fixture greet. Works wonders!
    """

    @botcmd
    def fixture_greet(self, msg, args):
        """Say hello; try !fixture greet Bob.

        The full documentation goes on here and mentions !help as well. Nice!
        """
        return f"hello {args}"

    @botcmd
    def fixture_long(self, msg, args):
        return "long"

    fixture_long.__doc__ = LONG_FIRST_LINE + "\nSecond line."

    @botcmd
    def fixture_undocumented(self, msg, args):
        return "nothing to say"

    @botcmd(hidden=True)
    def fixture_hidden(self, msg, args):
        """A hidden command that listings never show."""
        return "hidden"

    @botcmd(flow_only=True)
    def fixture_flowstep(self, msg, args):
        """A step that only makes sense inside a flow."""
        return "step"

    @re_botcmd(pattern=r"^weather in (\w+)$", re_cmd_name_help="weather in <city>")
    def fixture_weather(self, msg, match):
        """Tell the weather in a city."""
        return f"sunny in {match.group(1)}"

    @re_botcmd(pattern=r"good (morning|night)", prefixed=False)
    def fixture_salute(self, msg, match):
        """Answer greetings said in passing."""
        return "and to you"

    @botcmd(admin_only=True)
    def fixture_admin(self, msg, args):
        """An admin-only fixture command."""
        return "admin stuff"

    @botcmd
    def fixture_secret(self, msg, args):
        """A command that some tests restrict with ACCESS_CONTROLS."""
        return "secret"

    @botcmd
    def fixture_spawn(self, msg, args):
        """Create a dynamic plugin named after the arguments."""
        name = args.strip()
        self.create_dynamic_plugin(
            name,
            [
                Command(
                    lambda plugin, msg, args: f"{plugin.name} runs",
                    name=f"{name.lower()}_run",
                    doc="Run the dynamic command.",
                )
            ],
            doc=f"Dynamic plugin {name}, made from chat.",
        )
        return f"spawned {name}"
