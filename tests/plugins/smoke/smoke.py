import asyncio
import threading
import time

from errbot import BotPlugin, CommandError, arg_botcmd, botcmd, botmatch, re_botcmd


class Smoke(BotPlugin):
    """Commands exercising the pipeline in tests."""

    def activate(self):
        super().activate()
        self.seen = []
        self.gate = threading.Event()

    @botcmd
    def ping(self, msg, args):
        """Answer pong."""
        return "pong"

    @botcmd
    def gen3(self, msg, args):
        yield "one"
        yield "two"
        yield "three"

    @botcmd
    async def aping(self, msg, args):
        await asyncio.sleep(0)
        return "apong"

    @botcmd
    async def agen(self, msg, args):
        for i in range(3):
            await asyncio.sleep(0)
            yield f"a{i}"

    @botcmd
    def run_lots_of_subcommands(self, msg, args):
        return f"subcommands [{args}]"

    @botcmd
    def fail(self, msg, args):
        raise RuntimeError("kaboom")

    @botcmd
    def business(self, msg, args):
        raise CommandError("cannot do that")

    @botcmd
    def sleep(self, msg, args):
        time.sleep(float(args))
        return f"slept {args}"

    @botcmd
    def wait_release(self, msg, args):
        return "released" if self.gate.wait(10) else "gate timeout"

    @botcmd
    def release(self, msg, args):
        self.gate.set()
        return "opening the gate"

    @botcmd
    def whichthread(self, msg, args):
        return threading.current_thread().name

    @botcmd(split_args_with=None)
    def split(self, msg, args):
        return repr(args)

    @botcmd(template="smoke_tpl")
    def templated(self, msg, args):
        return {"value": args}

    @re_botcmd(pattern=r"^hello (\w+)$")
    def hello(self, msg, match):
        return f"hi {match.group(1)}"

    @botmatch(r"\bcoffee\b")
    def coffee(self, msg, match):
        return "tea?"

    @arg_botcmd("value", type=int)
    @arg_botcmd("--times", type=int, default=1)
    def repeat(self, msg, value, times):
        return " ".join([str(value)] * times)

    def callback_message(self, msg):
        self.seen.append(msg.body)
