"""Durability and concurrency on every durable storage: SQLite, Shelf, Redis, SQL.

- A writer process killed with SIGKILL in the middle of thousands of writes (new keys,
  overwrites and deletes) leaves a store that opens and holds every write that returned.
- Many threads writing different keys lose none.
- (``mutable()`` under concurrent use runs on every storage in test_storage.py.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_storage_services import DURABLE_KINDS, Backend, backend

import errbot.storage

REPO_ROOT = Path(errbot.storage.__file__).resolve().parents[2]

# The writes, generated the same way in the child (which performs them) and in the test (which
# replays the acknowledged ones): new keys, overwrites of varied sizes (smaller, larger, across
# block boundaries) and deletes. Run against plain `shelve` on dbm.dumb (what Errbot does), this
# sequence finds lost, stale or unreadable values in most runs.
OPERATIONS = """
def operation(i):
    if i % 10 in (3, 7):
        return ("set", f"k{i - 2}", {"i": i - 2, "version": 2, "pad": "y" * ((i * 37) % 1500)})
    if i % 50 == 49:
        return ("remove", f"k{i - 1}", None)
    return ("set", f"k{i}", {"i": i, "version": 1, "pad": "x" * 150})
"""
_namespace: dict[str, Any] = {}
exec(OPERATIONS, _namespace)  # noqa: S102 - the same definition the child runs
operation = _namespace["operation"]

CHILD = (
    OPERATIONS
    + """
import json, sys, types
from errbot.storage.loader import load_storage_plugin

config = types.SimpleNamespace(**json.loads(sys.argv[1]))
storage = load_storage_plugin(config).open("durable")
print("ready", flush=True)
for i in range(10_000_000):
    action, key, value = operation(i)
    if action == "set":
        storage.set(key, value)
    else:
        storage.remove(key)
    print(i, flush=True)  # only once the write has returned
"""
)

# Acknowledged writes to wait for before the kill: thousands where writes are cheap, fewer on
# the SQL servers, where each commit waits for the server's disk.
ACKNOWLEDGED = {"SQL-postgresql": 1000, "SQL-mariadb": 1000}
DEFAULT_ACKNOWLEDGED = 2500


@pytest.fixture(params=DURABLE_KINDS)
def prepared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with backend(request.param, tmp_path) as ready:
        yield ready


def replay(count: int) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for i in range(count):
        action, key, value = operation(i)
        if action == "set":
            state[key] = value
        else:
            del state[key]
    return state


def test_acknowledged_writes_survive_sigkill(prepared: Backend) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), json.dumps(prepared.child_config())],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        wanted = ACKNOWLEDGED.get(prepared.kind, DEFAULT_ACKNOWLEDGED)
        for _ in range(wanted):
            line = child.stdout.readline()
            assert line, "the writer stopped early"
    finally:
        child.send_signal(signal.SIGKILL)
        remaining, _ = child.communicate()
    assert child.returncode == -signal.SIGKILL
    # Lines cut by the kill do not count: only whole lines are acknowledgements.
    lines = remaining.split("\n")
    acknowledged = wanted + len([line for line in lines[:-1] if line.strip()])

    storage = prepared.plugin().open("durable")
    try:
        stored = {key: storage.get(key) for key in storage.keys()}
        assert storage.len() == len(stored)
    finally:
        storage.close()
    done = replay(acknowledged)
    # The write in flight when the kill came may or may not have landed; nothing else may differ.
    in_flight = replay(acknowledged + 1)
    assert stored in (done, in_flight), _difference(stored, done)


def _difference(stored: dict[str, Any], expected: dict[str, Any]) -> str:
    missing = sorted(set(expected) - set(stored))[:5]
    extra = sorted(set(stored) - set(expected))[:5]
    wrong = sorted(k for k in set(stored) & set(expected) if stored[k] != expected[k])[:5]
    return f"missing {missing}, unexpected {extra}, different {wrong}"


def test_threads_writing_different_keys_lose_none(prepared: Backend) -> None:
    threads_count, per_thread = 8, 60
    plugin = prepared.plugin()
    storage = plugin.open("threads")
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                storage.set(f"t{n}-{i}", [n, i])
                if i % 3 == 0:
                    storage.set(f"t{n}-{i}", [n, i, "again"])
                assert storage.get(f"t{n}-{i}")[:2] == [n, i]
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    storage.close()
    assert errors == []

    # Read back through a new plugin instance, as after a restart.
    reopened = prepared.plugin().open("threads")
    try:
        assert reopened.len() == threads_count * per_thread
        for n in range(threads_count):
            for i in range(per_thread):
                expected = [n, i, "again"] if i % 3 == 0 else [n, i]
                assert reopened.get(f"t{n}-{i}") == expected
    finally:
        reopened.close()
