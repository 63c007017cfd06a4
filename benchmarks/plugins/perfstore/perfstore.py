"""Times plugin storage from inside a command, so dispatch costs are left out."""

import time

from errbot import BotPlugin, botcmd


class PerfStore(BotPlugin):
    """`!storeloop N D`: N sets, N gets, N overwrites, then D deletes, each phase timed."""

    @botcmd(split_args_with=None)
    def storeloop(self, msg, args):
        """Time N sets, N gets, N overwrites and D deletes through self[key]."""
        count = int(args[0]) if args else 1000
        deletes = min(int(args[1]), count) if len(args) > 1 else count
        keys = [f"key{i:06d}" for i in range(count)]
        timings = []

        start = time.perf_counter()
        for i, key in enumerate(keys):
            self[key] = i
        timings.append(("set", count, time.perf_counter() - start))

        start = time.perf_counter()
        total = 0
        for key in keys:
            total += self[key]
        timings.append(("get", count, time.perf_counter() - start))
        if total != count * (count - 1) // 2:
            return "storeloop error: wrong values read back"

        start = time.perf_counter()
        for i, key in enumerate(keys):
            self[key] = i + 1
        timings.append(("overwrite", count, time.perf_counter() - start))

        start = time.perf_counter()
        for key in keys[:deletes]:
            del self[key]
        timings.append(("delete", deletes, time.perf_counter() - start))

        # Plain words and numbers only: nothing Markdown rendering could alter.
        return "storeloop " + " ".join(f"{name} {n} {secs:.6f}" for name, n, secs in timings)
