"""The ``errbot`` console script: --version, --init, and a text-mode conversation over a pipe.

* ``errbot --version``: wall time and peak RSS of the whole process.
* ``errbot --init`` in an empty directory: the same.
* ``errbot -T`` in an ``--init``-ed directory, stdin and stdout being pipes: the time from spawn
  to the reply to ``!echo <marker>`` on stdout, and from spawn to exit once stdin is closed.

    python benchmarks/textmode.py                       # the errbot script next to this python
    python benchmarks/textmode.py --errbot /path/to/venv/bin/errbot --reps 3
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import _harness as h

REPLY_TIMEOUT = 60.0


def timed_run(argv: list[str], cwd: str | None = None) -> dict:
    """Run to completion; wall time, exit code and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    output = proc.stdout.read()
    code, maxrss = h.wait_with_rusage(proc)
    return {
        "wall_s": round(time.perf_counter() - start, 4),
        "exit_code": code,
        "maxrss_kib": maxrss,
        "stdout": output.decode("utf-8", "replace").strip()[:200],
    }


def found_reply(buffer: bytes, marker: bytes) -> bool:
    """The marker printed as a reply, not as an echo of the typed command."""
    start = 0
    while (at := buffer.find(marker, start)) >= 0:
        if not buffer[max(0, at - 6) : at].endswith(b"!echo "):
            return True
        start = at + 1
    return False


def conversation(errbot: str, folder: str, log: str | None) -> dict:
    """One ``errbot -T`` run: the reply to ``!echo MARKER``, then exit on end of input."""
    marker = f"MARKER{uuid.uuid4().hex[:12]}".encode()
    target = h.stderr_target(log)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [errbot, "-T"], cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=target
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"!echo " + marker + b"\n")
    proc.stdin.flush()
    fd = proc.stdout.fileno()
    buffer = b""
    reply = None
    deadline = start + REPLY_TIMEOUT
    while reply is None and time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.perf_counter()))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buffer += chunk
        if found_reply(buffer, marker):
            reply = time.perf_counter() - start
    proc.stdin.close()
    eof_at = time.perf_counter() - start
    timed_out = False
    exit_deadline = time.perf_counter() + REPLY_TIMEOUT
    while True:  # keep draining stdout so the bot never blocks on a full pipe
        ready, _, _ = select.select([fd], [], [], max(0.0, exit_deadline - time.perf_counter()))
        if not ready:
            timed_out = True
            proc.kill()
            break
        if not os.read(fd, 65536):
            break
    code, maxrss = h.wait_with_rusage(proc)
    exited = time.perf_counter() - start
    if target is not subprocess.DEVNULL:
        target.close()
    return {
        "to_reply_s": round(reply, 4) if reply is not None else None,
        "to_exit_s": round(exited, 4),
        "exit_after_eof_s": round(exited - eof_at, 4),
        "exit_code": code,
        "killed": timed_out,
        "maxrss_kib": maxrss,
    }


def summarize(reps: list[dict], keys: tuple[str, ...]) -> dict:
    out: dict = {}
    for key in keys:
        values = [r[key] for r in reps if r.get(key) is not None]
        out[key] = h.spread(values) if values else None
    out["reps"] = reps
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_errbot = str(Path(sys.executable).parent / "errbot")
    parser.add_argument("--errbot", default=default_errbot, help="the errbot script to run")
    parser.add_argument("--reps", type=int, default=5, help="runs of each (5)")
    parser.add_argument("--quick", action="store_true", help="2 runs of each")
    parser.add_argument("--log", help="append errbot -T's stderr to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps = min(args.reps, 2)
    errbot = args.errbot
    if not os.access(errbot, os.X_OK):
        parser.error(f"{errbot} is not an executable errbot script")

    env = h.environment()
    h.say(f"textmode: the errbot console script ({errbot}), {args.reps} runs each")
    h.say(f"  errbot {env['errbot_version']} on Python {env['python']}")

    version = [timed_run([errbot, "--version"]) for _ in range(args.reps)]
    inits = []
    for _ in range(args.reps):
        with tempfile.TemporaryDirectory(prefix="errbot-init-") as folder:
            run = timed_run([errbot, "--init"], cwd=folder)
            run["config_written"] = os.path.exists(os.path.join(folder, "config.py"))
            inits.append(run)
    with tempfile.TemporaryDirectory(prefix="errbot-textmode-") as folder:
        subprocess.run([errbot, "--init"], cwd=folder, capture_output=True, check=False)
        chats = [conversation(errbot, folder, args.log) for _ in range(args.reps)]

    results = {
        "version": summarize(version, ("wall_s", "maxrss_kib")),
        "init": summarize(inits, ("wall_s", "maxrss_kib")),
        "text": summarize(chats, ("to_reply_s", "to_exit_s", "exit_after_eof_s", "maxrss_kib")),
    }
    results["version"]["output"] = version[0]["stdout"]
    results["init"]["all_ok"] = all(r["exit_code"] == 0 and r["config_written"] for r in inits)
    results["text"]["all_ok"] = all(
        r["to_reply_s"] is not None and not r["killed"] and r["exit_code"] == 0 for r in chats
    )

    def line(label: str, seconds: dict | None, rss: dict | None, ok: bool = True) -> None:
        if seconds is None:
            h.say(f"    {label:<33}FAILED")
            return
        memory = f"{rss['median'] / 1024:>8.1f} MiB peak" if rss else ""
        flag = "" if ok else "  (errors: see JSON)"
        h.say(
            f"    {label:<33}{seconds['median']:>7.3f} s  (min {seconds['min']:.3f}){memory}{flag}"
        )

    line(
        "errbot --version",
        results["version"]["wall_s"],
        results["version"]["maxrss_kib"],
        all(r["exit_code"] == 0 for r in version),
    )
    line(
        "errbot --init",
        results["init"]["wall_s"],
        results["init"]["maxrss_kib"],
        results["init"]["all_ok"],
    )
    text = results["text"]
    line("errbot -T: spawn -> reply", text["to_reply_s"], text["maxrss_kib"], text["all_ok"])
    line("errbot -T: spawn -> exit on EOF", text["to_exit_s"], None, text["all_ok"])
    h.emit({"bench": "textmode", "errbot": errbot, "reps": args.reps, **results, **env})


if __name__ == "__main__":
    main()
