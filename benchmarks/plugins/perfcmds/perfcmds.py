"""Commands whose dispatch cost the benchmarks measure; each reply is fixed and checkable."""

from errbot import BotPlugin, arg_botcmd, botcmd, re_botcmd


class PerfCmds(BotPlugin):
    """One command per dispatch path: plain, regex, argparse, generator, storage."""

    @botcmd
    def ping(self, msg, args):
        """Answer "pong" (the cheapest plain command)."""
        return "pong"

    @re_botcmd(pattern=r"^rematch (\d+)$")
    def rematch(self, msg, match):
        """Regex command: answer with the number matched."""
        return f"matched {match.group(1)}"

    @arg_botcmd("left", type=int)
    @arg_botcmd("right", type=int)
    def addup(self, msg, left, right):
        """Argparse command: add two integers."""
        return f"sum {left + right}"

    @botcmd
    def three(self, msg, args):
        """Generator command: three replies."""
        yield "one"
        yield "two"
        yield "three"

    @botcmd(split_args_with=None)
    def kvput(self, msg, args):
        """Store a value: !kvput KEY VALUE."""
        key, value = args
        self[key] = value
        return "stored"

    @botcmd
    def kvread(self, msg, args):
        """Read a stored value back: !kvread KEY."""
        return self.get(args.strip(), "missing")
