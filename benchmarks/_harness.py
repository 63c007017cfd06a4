"""Helpers shared by the benchmark scripts: statistics, child processes, reporting.

Nothing here imports errbot: the scripts import it only in the processes that measure it, so the
same scripts run against any virtualenv that provides an ``errbot`` package (this project or
Errbot 6.x). Every script ends its output with exactly one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

# statistics, subprocess, platform and datetime are imported where used: start-up children
# import this module, and its own import time must stay out of their figures.

HERE = Path(__file__).resolve().parent
PLUGIN_DIR = HERE / "plugins"


# -- statistics ------------------------------------------------------------------------------
def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile of an already sorted sequence (fraction in [0, 1])."""
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/mean/min/max of a list of durations, in microseconds."""
    import statistics

    ordered = sorted(seconds)
    micro = 1e6
    return {
        "p50_us": round(percentile(ordered, 0.50) * micro, 1),
        "p90_us": round(percentile(ordered, 0.90) * micro, 1),
        "p99_us": round(percentile(ordered, 0.99) * micro, 1),
        "mean_us": round(statistics.fmean(ordered) * micro, 1) if ordered else float("nan"),
        "min_us": round(ordered[0] * micro, 1) if ordered else float("nan"),
        "max_us": round(ordered[-1] * micro, 1) if ordered else float("nan"),
    }


def spread(values: Sequence[float], digits: int = 4) -> dict[str, float]:
    """Median, min and max of repeated measurements."""
    import statistics

    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


# -- the process being measured --------------------------------------------------------------
def peak_rss_kib() -> int | None:
    """This process's peak resident set size (VmHWM), in KiB; None where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def errbot_version() -> str:
    """Version of the errbot distribution importable by this interpreter."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("errbot")
    except PackageNotFoundError:
        return "unknown"


def environment() -> dict[str, Any]:
    """Where the figures come from: interpreter, errbot version, CPUs and load."""
    import datetime
    import platform

    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "errbot_version": errbot_version(),
        "cpus": os.cpu_count(),
        "loadavg": load,
        "timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def emit(result: dict[str, Any]) -> None:
    """Print the one machine-readable JSON line that ends every script's output."""
    print(json.dumps(result, sort_keys=True), flush=True)


def say(text: str = "") -> None:
    """Human-readable output (stdout, flushed so a parent sees it as it happens)."""
    print(text, flush=True)


# -- child processes -------------------------------------------------------------------------
def stderr_target(log: str | None) -> Any:
    """Where a child's stderr goes: a file opened for append, or /dev/null."""
    import subprocess

    if log:
        return open(log, "ab")  # closed by the caller
    return subprocess.DEVNULL


def run_json_child(
    argv: Sequence[str], log: str | None = None, timeout: float = 600
) -> dict[str, Any]:
    """Run a child process and return its last stdout line parsed as JSON.

    A child that fails, hangs or prints no JSON gives ``{"error": "..."}`` instead.
    """
    import subprocess

    target = stderr_target(log)
    try:
        done = subprocess.run(
            list(argv), stdout=subprocess.PIPE, stderr=target, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    finally:
        if target is not subprocess.DEVNULL:
            target.close()
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if lines:
        try:
            result = json.loads(lines[-1])
        except ValueError:
            result = None
        if isinstance(result, dict):
            if done.returncode and "error" not in result:
                result["exit_code"] = done.returncode
            return result
    hint = f"; stderr in {log}" if log else "; rerun with --log FILE to see its stderr"
    return {"error": f"exit code {done.returncode}, no JSON result{hint}"}


def wait_with_rusage(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    """Wait for ``proc``; return (exit code, peak RSS in KiB) from the kernel's rusage."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, int(usage.ru_maxrss)


def base_argv(script: str) -> list[str]:
    """Command line running another script of this folder with the current interpreter."""
    return [sys.executable, str(HERE / script)]


def elapsed_since(start: float) -> float:
    return time.perf_counter() - start
