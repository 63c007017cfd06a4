"""Storage backends compared: sets, gets, overwrites and deletes per second through ``self[key]``.

Each storage runs in a fresh child process: a `StoreMixin` object opens one namespace, then
times N sets of new keys (the value ``{"n": 1, "s": "some value"}``, as the shared bench), N
gets, N overwrites and D deletes, one call at a time, from one thread. Storages:

    Memory, SQLite (synchronous NORMAL, the default), SQLite-FULL (synchronous FULL), Shelf,
    Redis, SQL-postgresql, SQL-mariadb

Redis and the SQL servers are on 127.0.0.1 (override with ERRBOT_TEST_REDIS_URL,
ERRBOT_TEST_POSTGRES_URL, ERRBOT_TEST_MARIADB_URL); each run uses a key prefix or table of its
own and removes it afterwards. Every write there waits for the server (a network round trip
and, for the SQL servers, a synced commit), so they get fewer keys (``--server-keys``).

``--reference PYTHON`` also measures Errbot's own Shelf storage with that interpreter (a
virtualenv where errbot 6.x is installed), back to back with ours.

    python benchmarks/storage_backends.py
    python benchmarks/storage_backends.py --storages SQLite,SQLite-FULL,Shelf --reps 5 \\
        --reference /root/venvs/errbot-6.2.1/bin/python
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from typing import Any

import _harness as h

PHASES = ("set", "get", "overwrite", "delete")
ALL = ("Memory", "SQLite", "SQLite-FULL", "Shelf", "Redis", "SQL-postgresql", "SQL-mariadb")
SERVERS = ("Redis", "SQL-postgresql", "SQL-mariadb")
REDIS_URL = os.environ.get("ERRBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "ERRBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get("ERRBOT_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def _plugin(kind: str, data_dir: str, tag: str) -> Any:
    """The storage plugin of ``kind``, built without the loader (so Errbot 6.x runs it too)."""
    config: dict[str, Any] = {}
    if kind == "Memory":
        from errbot.storage.memory import MemoryStoragePlugin as cls
    elif kind in ("SQLite", "SQLite-FULL"):
        from errbot.storage.sqlite import SQLiteStoragePlugin as cls

        config = {"synchronous": "FULL" if kind == "SQLite-FULL" else "NORMAL"}
    elif kind == "Shelf":
        from errbot.storage.shelf import ShelfStoragePlugin as cls
    elif kind == "Redis":
        from errbot.storage.redis_store import RedisStoragePlugin as cls

        config = {"url": REDIS_URL, "prefix": f"errbot-bench-{tag}:"}
    elif kind in ("SQL-postgresql", "SQL-mariadb"):
        from errbot.storage.sql_store import SQLStoragePlugin as cls

        url = POSTGRES_URL if kind == "SQL-postgresql" else MARIADB_URL
        config = {"data_url": url, "table": f"errbot_bench_{tag}"}
    else:
        raise ValueError(f"unknown storage {kind!r}")
    import types

    return cls(types.SimpleNamespace(BOT_DATA_DIR=data_dir, STORAGE_CONFIG=config))


def _clean_up(kind: str, plugin: Any) -> None:
    if kind == "Redis":
        client = plugin.client
        names = list(client.scan_iter(match=plugin.prefix + "*"))
        if names:
            client.delete(*names)
    elif kind.startswith("SQL-"):
        import sqlalchemy as sa

        with plugin.engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {plugin.table_name}"))
        plugin.dispose()


def child(kind: str, keys: int, deletes: int) -> None:
    """Runs in a fresh process: one namespace, one timed loop per phase."""
    from errbot.storage import StoreMixin

    class Holder(StoreMixin):
        pass

    data_dir = tempfile.mkdtemp(prefix="errbot-bench-")
    tag = uuid.uuid4().hex[:10]
    try:
        plugin = _plugin(kind, data_dir, tag)
        holder = Holder()
        holder.open_storage(plugin, "BenchStore")
    except Exception as exc:
        h.emit({"error": f"{kind} is not available: {exc!r}"[:300]})
        return
    names = [f"key{i}" for i in range(keys)]
    value = {"n": 1, "s": "some value"}
    try:
        t0 = time.perf_counter()
        for name in names:
            holder[name] = value
        t1 = time.perf_counter()
        for name in names:
            holder[name]
        t2 = time.perf_counter()
        for name in names:
            holder[name] = name
        t3 = time.perf_counter()
        for name in names[:deletes]:
            del holder[name]
        t4 = time.perf_counter()
    finally:
        holder.close_storage()
        _clean_up(kind, plugin)
    counts = (keys, keys, keys, deletes)
    durations = (t1 - t0, t2 - t1, t3 - t2, t4 - t3)
    result: dict[str, Any] = {}
    for phase, count, seconds in zip(PHASES, counts, durations, strict=True):
        result[f"{phase}_per_s"] = round(count / seconds, 1) if seconds else 0.0
    h.emit(result)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storages", default=",".join(ALL), help="comma-separated kinds")
    parser.add_argument("--keys", type=int, default=10000, help="keys for local storages")
    parser.add_argument("--deletes", type=int, default=1000, help="deletes (1000)")
    parser.add_argument("--server-keys", type=int, default=1000,
                        help="keys (and deletes) for Redis and the SQL servers (1000)")  # fmt: skip
    parser.add_argument("--reps", type=int, default=3, help="fresh processes per storage (3)")
    parser.add_argument("--reference", metavar="PYTHON",
                        help="also measure Errbot's Shelf with this interpreter")  # fmt: skip
    parser.add_argument("--log", help="append the children's stderr to this file")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "KEYS", "DELETES"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return

    env = h.environment()
    h.say(f"storage backends: self[key] per second, median of {args.reps} fresh processes")
    h.say(f"  errbot {env['errbot_version']} on Python {env['python']} ({sys.executable})")
    h.say(f"  load average {env['loadavg']}")
    h.say(f"    {'storage':<22}{'keys':>7}" + "".join(f"{p + '/s':>13}" for p in PHASES))
    runs: list[tuple[str, str, str]] = []
    if args.reference:
        runs.append(("errbot-6.x Shelf", args.reference, "Shelf"))
    for kind in [s.strip() for s in args.storages.split(",") if s.strip()]:
        runs.append((kind, sys.executable, kind))
    results: dict[str, Any] = {}
    for label, python, kind in runs:
        keys = args.server_keys if kind in SERVERS else args.keys
        deletes = min(args.server_keys if kind in SERVERS else args.deletes, keys)
        command = [python, str(h.HERE / "storage_backends.py"), "--child", kind, str(keys),
                   str(deletes)]  # fmt: skip
        reps = [h.run_json_child(command, args.log) for _ in range(args.reps)]
        good = [r for r in reps if "error" not in r]
        if not good:
            results[label] = {"error": reps[0]["error"]}
            h.say(f"    {label:<22}unavailable ({reps[0]['error'][:90]})")
            continue
        summary: dict[str, Any] = {key: h.spread([r[key] for r in good], 1) for key in good[0]}
        summary.update(keys=keys, deletes=deletes, failed_reps=len(reps) - len(good))
        results[label] = summary
        h.say(
            f"    {label:<22}{keys:>7}"
            + "".join(f"{summary[p + '_per_s']['median']:>13,.0f}" for p in PHASES)
        )
    h.emit({"bench": "storage_backends", "reps": args.reps, "storages": results, **env})


if __name__ == "__main__":
    main()
