import asyncio
import threading

from errbot import BotPlugin, botcmd

WAIT_LIMIT = 30  # no test waits this long: it only bounds a command whose test failed


class Conc(BotPlugin):
    """Commands for the concurrency tests. Blocking ones wait on events the tests set."""

    def activate(self):
        super().activate()
        self.lock = threading.Lock()
        self.events = []
        self.gates = {}
        self.waiting = {}
        self.hang_release = threading.Event()
        self.hang_started = threading.Event()
        self.async_hang = None
        self.cb_started = threading.Event()
        self.cb_release = threading.Event()
        self.cb_done = threading.Event()

    def gate(self, name):
        with self.lock:
            if name not in self.gates:
                self.gates[name] = threading.Event()
                self.waiting[name] = threading.Event()
            return self.gates[name], self.waiting[name]

    @botcmd
    def seq(self, msg, args):
        with self.lock:
            self.events.append(("start", args, threading.current_thread().name))
        with self.lock:
            self.events.append(("end", args, threading.current_thread().name))
        return f"seq {args}"

    @botcmd
    def whichthread(self, msg, args):
        return threading.current_thread().name

    @botcmd
    async def athread(self, msg, args):
        return threading.current_thread().name

    @botcmd
    def block_on(self, msg, args):
        gate, waiting = self.gate(args)
        waiting.set()
        return f"unblocked {args}" if gate.wait(WAIT_LIMIT) else f"timeout {args}"

    @botcmd
    def open_gate(self, msg, args):
        self.gate(args)[0].set()
        return f"opened {args}"

    @botcmd
    def quick(self, msg, args):
        return f"quick {args}"

    @botcmd
    async def aquick(self, msg, args):
        await asyncio.sleep(0)
        return f"aquick {args}"

    @botcmd
    def boom(self, msg, args):
        raise RuntimeError("boom")

    @botcmd
    async def aboom(self, msg, args):
        await asyncio.sleep(0)
        raise RuntimeError("async boom")

    @botcmd
    def hang(self, msg, args):
        self.hang_started.set()
        self.hang_release.wait(WAIT_LIMIT)
        return "hang released"

    @botcmd
    async def ahang(self, msg, args):
        self.async_hang = asyncio.get_running_loop().create_future()
        self.hang_started.set()
        await self.async_hang
        return "async hang released"

    def release_async_hang(self):
        future = self.async_hang
        if future is not None and not future.done():
            future.set_result(None)

    @botcmd
    def send_from_thread(self, msg, args):
        def later():
            self.send(msg.frm, f"from thread {threading.current_thread().name}")

        threading.Thread(target=later, name="foreign").start()

    @botcmd
    async def send_from_loop(self, msg, args):
        self.send(msg.frm, "from the loop")

    def callback_message(self, msg):
        if msg.body == "slow callback":
            self.cb_started.set()
            self.cb_release.wait(WAIT_LIMIT)
            self.cb_done.set()
