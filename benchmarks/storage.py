"""Plugin storage: sets, gets, overwrites and deletes per second through ``self[key]``.

One command (``!storeloop N D`` of the PerfStore plugin) times N sets of new keys, N gets,
N overwrites and D deletes inside the plugin, so dispatch costs stay out of the figures. The
storage plugin is chosen with ``extra_config={"STORAGE": name}``; its files go to the TestBot's
own temporary BOT_DATA_DIR. Every rep is a fresh process with an empty store. A storage plugin
the installed errbot does not have is reported as unavailable.

    python benchmarks/storage.py                           # Memory and SQLite
    python benchmarks/storage.py --storages Memory,Shelf --keys 2000
"""

from __future__ import annotations

import argparse
import sys

import _harness as h

PHASES = ("set", "get", "overwrite", "delete")


def child(storage: str, keys: int, deletes: int) -> None:
    """Runs in a fresh process: one bot, one timed loop."""
    import logging

    from errbot.backends.test import TestBot

    bot = TestBot(
        extra_plugin_dir=str(h.PLUGIN_DIR),
        loglevel=logging.WARNING,
        extra_config={"STORAGE": storage},
    )
    try:
        bot.start()
    except Exception as exc:
        h.emit({"error": f"the bot did not start with STORAGE={storage!r}: {exc!r}"})
        return
    reply = bot.exec_command(f"!storeloop {keys} {deletes}", timeout=600)
    try:
        bot.stop()
    except Exception:
        pass
    words = reply.split()
    if not words or words[0] != "storeloop" or len(words) != 1 + 3 * len(PHASES):
        h.emit({"error": f"unexpected reply: {reply[:200]!r}"})
        return
    result = {}
    for i in range(len(PHASES)):
        name, count, seconds = words[1 + 3 * i : 4 + 3 * i]
        result[f"{name}_per_s"] = round(int(count) / float(seconds), 1) if float(seconds) else 0.0
        result[f"{name}_us"] = round(float(seconds) / int(count) * 1e6, 2) if int(count) else 0.0
    h.emit(result)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storages", default="Memory,SQLite", help="storage plugin names")
    parser.add_argument("--keys", type=int, default=10000, help="keys set/read/overwritten")
    parser.add_argument("--deletes", type=int, default=2000, help="keys deleted (2000)")
    parser.add_argument("--reps", type=int, default=3, help="fresh processes per storage (3)")
    parser.add_argument("--quick", action="store_true", help="2000 keys, 500 deletes, 1 rep")
    parser.add_argument("--log", help="append the bots' stderr to this file (default: discard)")
    parser.add_argument(
        "--child", nargs=3, metavar=("STORAGE", "KEYS", "DELETES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    if args.quick:
        args.keys, args.deletes, args.reps = min(args.keys, 2000), min(args.deletes, 500), 1
    args.deletes = min(args.deletes, args.keys)

    env = h.environment()
    h.say(
        f"storage: {args.keys} sets/gets/overwrites, {args.deletes} deletes through self[key], "
        f"median of {args.reps} fresh bots"
    )
    h.say(f"  errbot {env['errbot_version']} on Python {env['python']} ({sys.executable})")
    h.say(f"    {'storage':<9}" + "".join(f"{p + '/s':>13}" for p in PHASES))
    results = {}
    for storage in [s.strip() for s in args.storages.split(",") if s.strip()]:
        cmd = h.base_argv("storage.py") + ["--child", storage, str(args.keys), str(args.deletes)]
        reps = [h.run_json_child(cmd, args.log) for _ in range(args.reps)]
        good = [r for r in reps if "error" not in r]
        if not good:
            results[storage] = {"error": reps[0]["error"]}
            h.say(f"    {storage:<9}unavailable ({reps[0]['error'][:100]})")
            continue
        summary = {}
        for key in good[0]:
            summary[key] = h.spread([r[key] for r in good], 2)
        summary["failed_reps"] = len(reps) - len(good)
        results[storage] = summary
        h.say(
            f"    {storage:<9}"
            + "".join(f"{summary[p + '_per_s']['median']:>13,.0f}" for p in PHASES)
        )
    h.emit(
        {
            "bench": "storage",
            "keys": args.keys,
            "deletes": args.deletes,
            "reps": args.reps,
            "storages": results,
            **env,
        }
    )


if __name__ == "__main__":
    main()
