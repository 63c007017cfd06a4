"""Sequential request/reply through the Test backend: commands/s and latency percentiles.

For each kind of command, send it, wait for every reply, send the next: the latency of one
command is from ``push_message`` to its last reply. Each log level runs in a fresh process
(logging set-up is process-wide), by default WARNING (a production setting) and DEBUG (what the
``testbot`` pytest fixture uses).

    python benchmarks/dispatch.py                 # 5000 commands per kind, both levels
    python benchmarks/dispatch.py --quick
    python benchmarks/dispatch.py --kinds plain,core_echo --levels WARNING --n 20000
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import _harness as h

# kind -> (command, expected replies in order)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "plain": ("!ping", ("pong",)),
    "regex": ("!rematch 42", ("matched 42",)),
    "args": ("!addup 20 22", ("sum 42",)),
    "generator": ("!three", ("one", "two", "three")),
    "store_write": ("!kvput benchkey value42", ("stored",)),
    "store_read": ("!kvread benchkey", ("value42",)),
    "core_echo": ("!echo hello bench", ("hello bench",)),
}
POP_TIMEOUT = 10.0


def measure_kind(bot: Any, command: str, expected: tuple[str, ...], n: int, warmup: int) -> dict:
    from queue import Empty

    errors = 0
    timeouts = 0
    for _ in range(warmup):
        bot.push_message(command)
        for _ in expected:
            bot.pop_message(timeout=POP_TIMEOUT)

    latencies: list[float] = []
    clock = time.perf_counter
    began = clock()
    for _ in range(n):
        start = clock()
        bot.push_message(command)
        try:
            replies = tuple(bot.pop_message(timeout=POP_TIMEOUT) for _ in expected)
        except Empty:
            timeouts += 1
            break
        latencies.append(clock() - start)
        if replies != expected:
            errors += 1
    wall = clock() - began
    done = len(latencies)
    return {
        "n": done,
        "wall_s": round(wall, 4),
        "cmds_per_s": round(done / wall, 1) if wall > 0 else 0.0,
        "errors": errors,
        "timeouts": timeouts,
        "replies_per_cmd": len(expected),
        **h.latency_summary(latencies),
    }


def child(level: str, kinds: list[str], n: int, warmup: int) -> None:
    """Measure every kind at one log level in this process; print one JSON line."""
    import logging

    started = time.perf_counter()
    from errbot.backends.test import TestBot

    bot = TestBot(extra_plugin_dir=str(h.PLUGIN_DIR), loglevel=getattr(logging, level))
    bot.start()
    startup = h.elapsed_since(started)

    results = {}
    for kind in kinds:
        command, expected = KINDS[kind]
        results[kind] = measure_kind(bot, command, expected, n, warmup)

    stop_error = None
    try:
        bot.stop()
    except Exception as exc:  # a stop failure must not lose the figures
        stop_error = repr(exc)
    total_cmds = sum(r["n"] for r in results.values())
    total_wall = sum(r["wall_s"] for r in results.values())
    h.emit(
        {
            "level": level,
            "startup_s": round(startup, 4),
            "kinds": results,
            "all_kinds_cmds_per_s": round(total_cmds / total_wall, 1) if total_wall else 0.0,
            "peak_rss_kib": h.peak_rss_kib(),
            "stop_error": stop_error,
        }
    )


def print_level(level: str, result: dict) -> None:
    if "error" in result:
        h.say(f"  {level}: FAILED ({result['error']})")
        return
    h.say(f"  log level {level}  (bot start {result['startup_s'] * 1000:.0f} ms)")
    h.say(f"    {'kind':<12}{'cmds/s':>10}{'p50 µs':>10}{'p90 µs':>10}{'p99 µs':>10}{'errors':>8}")
    for kind in sorted(result["kinds"], key=lambda k: list(KINDS).index(k)):
        r = result["kinds"][kind]
        bad = r["errors"] + r["timeouts"]
        h.say(
            f"    {kind:<12}{r['cmds_per_s']:>10.0f}{r['p50_us']:>10.1f}"
            f"{r['p90_us']:>10.1f}{r['p99_us']:>10.1f}{bad:>8}"
        )
    h.say(f"    {'all kinds':<12}{result['all_kinds_cmds_per_s']:>10.0f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="commands per kind (5000)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured commands per kind")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset")
    parser.add_argument("--levels", default="WARNING,DEBUG", help="log levels, one process each")
    parser.add_argument("--quick", action="store_true", help="1000 commands per kind")
    parser.add_argument("--log", help="append the bots' stderr to this file (default: discard)")
    parser.add_argument("--child-level", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.warmup = min(args.n, 1000), min(args.warmup, 100)
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kinds {unknown}; choose from {list(KINDS)}")

    if args.child_level:
        child(args.child_level, kinds, args.n, args.warmup)
        return

    env = h.environment()
    h.say(f"dispatch: sequential request/reply, {args.n} commands per kind")
    h.say(f"  errbot {env['errbot_version']} on Python {env['python']} ({sys.executable})")
    levels = {}
    for level in [lv.strip().upper() for lv in args.levels.split(",") if lv.strip()]:
        cmd = h.base_argv("dispatch.py") + [
            "--child-level",
            level,
            "--n",
            str(args.n),
            "--warmup",
            str(args.warmup),
            "--kinds",
            ",".join(kinds),
        ]
        levels[level] = h.run_json_child(cmd, args.log)
        print_level(level, levels[level])
    h.emit({"bench": "dispatch", "n_per_kind": args.n, "levels": levels, **env})


if __name__ == "__main__":
    main()
