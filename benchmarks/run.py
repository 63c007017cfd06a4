"""Run every benchmark of this folder and print a summary of the key figures.

    python benchmarks/run.py                 # everything, default sizes (about 2 minutes)
    python benchmarks/run.py --quick         # smaller sizes (under a minute)
    python benchmarks/run.py --only dispatch,startup --out /tmp/figures.json
    python benchmarks/run.py --python /root/venvs/errbot-6.2.1/bin/python   # another errbot

Each benchmark runs as its own process with the chosen interpreter, so the errbot measured is
the one that interpreter imports. Their human-readable output is shown as it comes; the last
line printed is one JSON object holding every benchmark's JSON result.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ("dispatch", "concurrency", "startup", "storage", "textmode")


def run_bench(python: str, name: str, extra: list[str]) -> dict:
    """Run one script, echo its output, return its final JSON line."""
    argv = [python, str(HERE / f"{name}.py"), *extra]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    held = None
    for line in proc.stdout:
        if held is not None:
            print(held, end="", flush=True)
        held = line
    code = proc.wait()
    try:
        result = json.loads(held) if held else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        if held:
            print(held, end="", flush=True)
        return {"bench": name, "error": f"exit code {code}, no JSON result"}
    return result


def figure(result: dict, *path: str) -> float | None:
    node = result
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, int | float) else None


def summary_rows(results: dict[str, dict]) -> list[tuple[str, float | None, str]]:
    """(label, value, unit) for the figures the performance targets are about."""
    rows: list[tuple[str, float | None, str]] = []
    dispatch = results.get("dispatch")
    if dispatch:
        for level in ("WARNING", "DEBUG"):
            base = ("levels", level, "kinds", "plain")
            rows.append((f"dispatch !ping {level}", figure(dispatch, *base, "cmds_per_s"), "cmd/s"))
            rows.append((f"dispatch !ping {level} p99", figure(dispatch, *base, "p99_us"), "µs"))
            rows.append(
                (
                    f"dispatch all kinds {level}",
                    figure(dispatch, "levels", level, "all_kinds_cmds_per_s"),
                    "cmd/s",
                )
            )
    burst = results.get("concurrency")
    if burst:
        for mode in ("def", "async"):
            errors = figure(burst, "modes", mode, "errors")
            rate = figure(burst, "modes", mode, "cmds_per_s") if not errors else None
            rows.append((f"burst {mode}", rate, "cmd/s"))
    startup = results.get("startup")
    if startup:
        for count in sorted(startup.get("plugins", {}), key=int):
            node = ("plugins", count)
            rows.append(
                (
                    f"startup {count} plugins, 1st reply",
                    figure(startup, *node, "to_first_reply_s", "median"),
                    "s",
                )
            )
            rss = figure(startup, *node, "peak_rss_kib", "median")
            rows.append((f"startup {count} plugins, peak RSS", rss and rss / 1024, "MiB"))
    storage = results.get("storage")
    if storage:
        for name in storage.get("storages", {}):
            for phase in ("set", "get", "delete"):
                rows.append(
                    (
                        f"storage {name} {phase}",
                        figure(storage, "storages", name, f"{phase}_per_s", "median"),
                        "op/s",
                    )
                )
    text = results.get("textmode")
    if text:
        rows.append(("errbot --version", figure(text, "version", "wall_s", "median"), "s"))
        rows.append(("errbot --init", figure(text, "init", "wall_s", "median"), "s"))
        rows.append(("errbot -T reply", figure(text, "text", "to_reply_s", "median"), "s"))
        rows.append(("errbot -T exit on EOF", figure(text, "text", "to_exit_s", "median"), "s"))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer reps")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset")
    parser.add_argument("--python", default=sys.executable, help="interpreter (its errbot)")
    parser.add_argument("--out", help="also write the combined JSON to this file")
    parser.add_argument("--log", help="append the bots' stderr to this file")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {list(BENCHES)}")

    # From "/": the current directory must not lend the interpreter a package it lacks.
    probe = subprocess.run(
        [args.python, "-c", "import errbot.backends.test"], cwd="/", capture_output=True
    )
    if probe.returncode:
        parser.error(f"{args.python} cannot import errbot: use the virtualenv's python or --python")

    extra = (["--quick"] if args.quick else []) + (["--log", args.log] if args.log else [])
    results: dict[str, dict] = {}
    began = time.perf_counter()
    for name in names:
        print(flush=True)
        results[name] = run_bench(args.python, name, extra)
    total = time.perf_counter() - began

    print(f"\nsummary ({args.python}, {total:.0f} s{', quick' if args.quick else ''})")
    for label, value, unit in summary_rows(results):
        shown = "n/a" if value is None else f"{value:,.3f}" if unit == "s" else f"{value:,.1f}"
        print(f"  {label:<36}{shown:>14} {unit}")
    combined = {"bench": "all", "quick": args.quick, "total_s": round(total, 1), **results}
    line = json.dumps(combined, sort_keys=True)
    if args.out:
        Path(args.out).write_text(line + "\n")
    print(line, flush=True)


if __name__ == "__main__":
    main()
