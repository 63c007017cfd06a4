"""A burst of slow commands: how many run at once with a given worker pool.

K commands that each wait 10 ms are pushed without waiting for replies, then the K replies are
drained. The same wait is written as a plain ``def`` (``time.sleep``, holds a pool thread) and as
an ``async def`` (``asyncio.sleep``, awaited on the event loop); both run with the same
``BOT_ASYNC_POOLSIZE``. With a pool of P threads the ``def`` burst cannot beat K x 10 ms / P;
the ``async def`` burst is bounded by dispatch cost alone. Each mode runs in a fresh process.

    python benchmarks/concurrency.py                   # K=2000, 10 ms, pool 10
    python benchmarks/concurrency.py --k 500 --modes async
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import _harness as h

COMMANDS = {"def": "!napdef", "async": "!napasync"}
EXPECTED = "awake"
POP_TIMEOUT = 30.0


def child(mode: str, k: int, ms: int, pool: int) -> None:
    """Run one burst in this process; print one JSON line."""
    import logging

    from errbot.backends.test import TestBot

    bot = TestBot(
        extra_plugin_dir=str(h.PLUGIN_DIR),
        loglevel=logging.WARNING,
        extra_config={"BOT_ASYNC_POOLSIZE": pool},
    )
    bot.start()
    command = f"{COMMANDS[mode]} {ms}"

    # Warm-up: a small burst, so worker threads and caches exist before the clock starts.
    for _ in range(2 * pool):
        bot.push_message(command)
    for _ in range(2 * pool):
        bot.pop_message(timeout=POP_TIMEOUT)

    clock = time.perf_counter
    start = clock()
    for _ in range(k):
        bot.push_message(command)
    pushed = clock() - start
    arrivals = []
    errors = 0
    timed_out = False
    for _ in range(k):
        try:
            reply = bot.pop_message(timeout=POP_TIMEOUT)
        except Exception:  # queue.Empty: the bot stopped answering
            timed_out = True
            break
        arrivals.append(clock() - start)
        if reply != EXPECTED:
            errors += 1
    wall = arrivals[-1] if arrivals else clock() - start

    stop_error = None
    try:
        bot.stop()
    except Exception as exc:
        stop_error = repr(exc)
    ideal = k * ms / 1000 / pool if mode == "def" else ms / 1000
    h.emit(
        {
            "mode": mode,
            "k": k,
            "sleep_ms": ms,
            "pool_size": pool,
            "replies": len(arrivals),
            "errors": errors,
            "timed_out": timed_out,
            "push_s": round(pushed, 4),
            "first_reply_s": round(arrivals[0], 4) if arrivals else None,
            "median_reply_s": round(statistics.median(arrivals), 4) if arrivals else None,
            "wall_s": round(wall, 4),
            "cmds_per_s": round(len(arrivals) / wall, 1) if wall > 0 else 0.0,
            "ideal_wall_s": round(ideal, 4),
            "peak_rss_kib": h.peak_rss_kib(),
            "stop_error": stop_error,
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=2000, help="commands in the burst (2000)")
    parser.add_argument("--ms", type=int, default=10, help="wait per command, ms (10)")
    parser.add_argument("--pool", type=int, default=10, help="BOT_ASYNC_POOLSIZE (10)")
    parser.add_argument("--modes", default="def,async", help="def, async or both")
    parser.add_argument("--quick", action="store_true", help="K=500")
    parser.add_argument("--log", help="append the bots' stderr to this file (default: discard)")
    parser.add_argument("--child-mode", choices=sorted(COMMANDS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.k = min(args.k, 500)
    if args.child_mode:
        child(args.child_mode, args.k, args.ms, args.pool)
        return

    env = h.environment()
    h.say(f"concurrency: burst of {args.k} x {args.ms} ms, BOT_ASYNC_POOLSIZE={args.pool}")
    h.say(f"  errbot {env['errbot_version']} on Python {env['python']} ({sys.executable})")
    h.say(f"    {'mode':<7}{'wall s':>9}{'cmds/s':>10}{'ideal s':>9}{'1st reply':>11}{'errors':>8}")
    modes = {}
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        cmd = h.base_argv("concurrency.py") + [
            "--child-mode",
            mode,
            "--k",
            str(args.k),
            "--ms",
            str(args.ms),
            "--pool",
            str(args.pool),
        ]
        r = h.run_json_child(cmd, args.log)
        modes[mode] = r
        if "error" in r:
            h.say(f"    {mode:<7}FAILED ({r['error']})")
            continue
        bad = r["errors"] + (args.k - r["replies"])
        note = "  (replies wrong: not awaited?)" if r["errors"] else ""
        h.say(
            f"    {mode:<7}{r['wall_s']:>9.3f}{r['cmds_per_s']:>10.0f}{r['ideal_wall_s']:>9.3f}"
            f"{r['first_reply_s']:>11.4f}{bad:>8}{note}"
        )
    h.emit(
        {
            "bench": "concurrency",
            "k": args.k,
            "sleep_ms": args.ms,
            "pool_size": args.pool,
            "modes": modes,
            **env,
        }
    )


if __name__ == "__main__":
    main()
