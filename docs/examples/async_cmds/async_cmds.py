import asyncio
import threading

from errbot import BotPlugin, arg_botcmd, botcmd


class AsyncDemo(BotPlugin):
    """async def commands run on the bot's event loop."""

    @botcmd
    async def wait(self, msg, args):
        """Wait a little without holding a thread: !wait [seconds]"""
        seconds = float(args or 0.1)
        await asyncio.sleep(seconds)
        return f"waited {seconds}s"

    @botcmd
    async def countdown(self, msg, args):
        """An async generator: every yielded value is a reply."""
        for n in range(int(args or 3), 0, -1):
            yield str(n)
            await asyncio.sleep(0.01)
        yield "liftoff"

    @arg_botcmd("url")
    async def fetch(self, msg, url):
        """arg_botcmd works on coroutines too."""
        await asyncio.sleep(0)
        return f"would fetch {url}"

    @botcmd
    async def where(self, msg, args):
        """Name of the thread running this coroutine."""
        return threading.current_thread().name

    @botcmd
    def where_sync(self, msg, args):
        """Name of the thread running a plain def command."""
        return threading.current_thread().name
