"""Start-up: spawn a process that builds a bot with N plugins and answers one command.

For each plugin count, plugins with 3 commands each are generated into a temporary folder. Each
rep spawns a fresh interpreter that imports errbot, builds a ``TestBot`` on that folder,
``start()``s it and sends ``!g000a`` (the first plugin's command); the child prints a line as
soon as the reply arrives, then checks the last plugin's command, stops the bot and reports its
own phase timings and peak RSS (VmHWM from /proc/self/status).

    python benchmarks/startup.py                     # 1 and 50 plugins, 5 reps each
    python benchmarks/startup.py --plugins 1,50,200 --reps 3
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import _harness as h

READY_LINE = "FIRST-REPLY"
PLUGIN_SOURCE = '''"""Generated start-up benchmark plugin {index}."""

from errbot import BotPlugin, botcmd


class Gen{index:03d}(BotPlugin):
    """Generated plugin number {index}."""

    @botcmd
    def g{index:03d}a(self, msg, args):
        """First command of plugin {index}."""
        return "g{index:03d}a ok"

    @botcmd
    def g{index:03d}b(self, msg, args):
        """Second command of plugin {index}."""
        return "g{index:03d}b " + args

    @botcmd(split_args_with=None)
    def g{index:03d}c(self, msg, args):
        """Third command of plugin {index}."""
        return "g{index:03d}c " + str(len(args))
'''
PLUG_FILE = """[Core]
Name = Gen{index:03d}
Module = gen{index:03d}

[Documentation]
Description = Generated start-up benchmark plugin {index}.

[Python]
Version = 3
"""


def generate(folder: Path, count: int) -> None:
    """Write ``count`` plugins (one sub-folder each) into ``folder``."""
    for index in range(count):
        plugin = folder / f"gen{index:03d}"
        plugin.mkdir(parents=True, exist_ok=True)
        (plugin / f"gen{index:03d}.plug").write_text(PLUG_FILE.format(index=index))
        (plugin / f"gen{index:03d}.py").write_text(PLUGIN_SOURCE.format(index=index))


def child(plugin_dir: str, count: int) -> None:
    """Runs in the spawned process: time the phases up to the first reply."""
    clock = time.perf_counter
    start = clock()
    import logging

    from errbot.backends.test import TestBot

    imported = clock()
    bot = TestBot(extra_plugin_dir=plugin_dir, loglevel=logging.WARNING)
    bot.start()
    started = clock()
    reply = bot.exec_command("!g000a", timeout=30)
    first = clock()
    print(READY_LINE, flush=True)
    last = bot.exec_command(f"!g{count - 1:03d}a", timeout=30)
    try:
        bot.stop()
        stop_error = None
    except Exception as exc:
        stop_error = repr(exc)
    h.emit(
        {
            "import_s": round(imported - start, 4),
            "build_and_start_s": round(started - imported, 4),
            "first_command_s": round(first - started, 4),
            "in_process_to_first_reply_s": round(first - start, 4),
            "first_reply_ok": reply == "g000a ok",
            "last_plugin_ok": last == f"g{count - 1:03d}a ok",
            "peak_rss_kib": h.peak_rss_kib(),
            "stop_error": stop_error,
        }
    )


def one_rep(plugin_dir: Path, count: int, log: str | None) -> dict:
    """Spawn one child; time spawn -> first reply and spawn -> exit from the outside."""
    import json
    import subprocess

    target = h.stderr_target(log)
    argv = h.base_argv("startup.py") + ["--child", str(plugin_dir), str(count)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=target)
    first_reply = None
    lines = []
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").strip()
        if line == READY_LINE and first_reply is None:
            first_reply = time.perf_counter() - start
        elif line:
            lines.append(line)
    code, maxrss = h.wait_with_rusage(proc)
    exited = time.perf_counter() - start
    if target is not subprocess.DEVNULL:
        target.close()
    try:
        inner = json.loads(lines[-1]) if lines else {}
    except ValueError:
        inner = {}
    if first_reply is None or not isinstance(inner, dict):
        return {"error": f"child exit code {code}, no reply", "exit_code": code}
    return {
        "to_first_reply_s": round(first_reply, 4),
        "to_exit_s": round(exited, 4),
        "exit_code": code,
        "child_maxrss_kib": maxrss,
        **inner,
    }


def main(argv: list[str] | None = None) -> None:
    # Imported here: the spawned child runs this file too, and must not pay for them.
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", default="1,50", help="plugin counts (1,50)")
    parser.add_argument("--reps", type=int, default=5, help="spawns per plugin count (5)")
    parser.add_argument("--quick", action="store_true", help="2 reps")
    parser.add_argument("--log", help="append the children's stderr to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps = min(args.reps, 2)

    env = h.environment()
    counts = [int(c) for c in args.plugins.split(",") if c.strip()]
    h.say(
        f"startup: spawn -> TestBot with N plugins (3 commands each) -> first reply, "
        f"{args.reps} reps"
    )
    h.say(f"  errbot {env['errbot_version']} on Python {env['python']} ({sys.executable})")
    h.say(
        f"    {'plugins':>7}{'1st reply s':>13}{'(min)':>8}{'exit s':>9}"
        f"{'import s':>10}{'peak RSS MiB':>14}{'ok':>5}"
    )
    results = {}
    for count in counts:
        with tempfile.TemporaryDirectory(prefix=f"errbot-startup-{count}-") as folder:
            generate(Path(folder), count)
            reps = [one_rep(Path(folder), count, args.log) for _ in range(args.reps)]
        good = [r for r in reps if "error" not in r]
        if not good:
            results[str(count)] = {"error": reps[0]["error"], "reps": reps}
            h.say(f"    {count:>7}  FAILED ({reps[0]['error']})")
            continue
        summary = {
            key: h.spread([r[key] for r in good])
            for key in (
                "to_first_reply_s",
                "to_exit_s",
                "import_s",
                "build_and_start_s",
                "first_command_s",
                "in_process_to_first_reply_s",
            )
        }
        rss = [r["peak_rss_kib"] for r in good if r.get("peak_rss_kib")]
        summary["peak_rss_kib"] = h.spread(rss, 0) if rss else None
        summary["all_ok"] = all(r["first_reply_ok"] and r["last_plugin_ok"] for r in good)
        summary["failed_reps"] = len(reps) - len(good)
        summary["reps"] = reps
        results[str(count)] = summary
        peak = summary["peak_rss_kib"]["median"] / 1024 if rss else float("nan")
        h.say(
            f"    {count:>7}{summary['to_first_reply_s']['median']:>13.3f}"
            f"{summary['to_first_reply_s']['min']:>8.3f}{summary['to_exit_s']['median']:>9.3f}"
            f"{summary['import_s']['median']:>10.3f}{peak:>14.1f}"
            f"{'yes' if summary['all_ok'] else 'NO':>5}"
        )
    h.emit({"bench": "startup", "reps": args.reps, "plugins": results, **env})


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:  # the spawned process: no argparse to import
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
