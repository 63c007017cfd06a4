"""Commands that only wait, to measure how many run at once."""

import asyncio
import time

from errbot import BotPlugin, botcmd


class PerfWork(BotPlugin):
    """The same 'wait N ms then answer' as a blocking and as an awaited command."""

    @botcmd
    def napdef(self, msg, args):
        """Block this worker thread for N milliseconds (time.sleep)."""
        time.sleep(int(args or 10) / 1000)
        return "awake"

    @botcmd
    async def napasync(self, msg, args):
        """Wait N milliseconds without holding a thread (asyncio.sleep)."""
        await asyncio.sleep(int(args or 10) / 1000)
        return "awake"
