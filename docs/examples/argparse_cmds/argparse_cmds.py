from errbot import BotPlugin, arg_botcmd


class Repeater(BotPlugin):
    """Commands with argparse arguments."""

    # Decorators apply bottom-up: "--times" is added to the parser first, then "word".
    @arg_botcmd("word", help="what to repeat")
    @arg_botcmd("--times", type=int, default=2, help="how many times")
    def repeat(self, msg, word, times):
        """Repeat a word."""
        return " ".join([word] * times)

    @arg_botcmd("items", nargs="+", help="things to list")
    @arg_botcmd("--numbered", action="store_true")
    def listing(self, msg, items, numbered):
        """One reply per item."""
        for number, item in enumerate(items, start=1):
            yield f"{item} ({number})" if numbered else item

    @arg_botcmd("name", unpack_args=False)
    def raw_namespace(self, msg, args):
        """With unpack_args=False the handler gets the argparse Namespace."""
        return f"name={args.name}"
