"""StoreMixin over every built-in storage: mapping API, errors, persistence, mutable().

Each test runs on Memory, SQLite (synchronous NORMAL and FULL), Shelf, Redis and SQL on
PostgreSQL and MariaDB (see test_storage_services for the services and their clean-up).
"""

from __future__ import annotations

import datetime
import decimal
import threading
import types
from collections import OrderedDict, deque
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_storage_services import ALL_KINDS, Backend, backend

from errbot.storage import (
    StoreAlreadyOpenError,
    StoreException,
    StoreMixin,
    StoreNotOpenError,
)
from errbot.storage.base import StorageBase, StoragePluginBase
from errbot.storage.memory import MemoryStoragePlugin


@dataclass
class Reminder:
    """Module-level so pickle can find it again."""

    who: str
    when: datetime.datetime
    tags: list[str] = field(default_factory=list)


class Holder(StoreMixin):
    """A minimal host with its own constructor, as BotPlugin and the bot have."""

    def __init__(self, label: str = "holder") -> None:
        self.label = label


class StrictHolder(StoreMixin):
    """A host whose __getattr__ fails loudly: the mixin must never fall through to it."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"__getattr__ called for {name}")


def make_config(tmp_path: Path, storage: str, **extra: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(STORAGE=storage, BOT_DATA_DIR=str(tmp_path), **extra)


@pytest.fixture(params=ALL_KINDS)
def storage_name(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def prepared(tmp_path: Path, storage_name: str) -> Iterator[Backend]:
    with backend(storage_name, tmp_path) as ready:
        yield ready


@pytest.fixture
def plugin(prepared: Backend) -> StoragePluginBase:
    return prepared.plugin()


@pytest.fixture
def holder(plugin: StoragePluginBase) -> Iterator[Holder]:
    obj = Holder()
    obj.open_storage(plugin, "ns")
    yield obj
    if obj.is_open_storage():
        obj.close_storage()


# -- mapping API ----------------------------------------------------------------------------


def test_set_get_contains_len(holder: Holder) -> None:
    assert len(holder) == 0
    holder["a"] = 1
    holder["b"] = "two"
    assert holder["a"] == 1
    assert holder["b"] == "two"
    assert "a" in holder
    assert "zzz" not in holder
    assert len(holder) == 2
    holder["a"] = 10
    assert holder["a"] == 10
    assert len(holder) == 2


def test_iteration_keys_items_values_in_insertion_order(holder: Holder) -> None:
    for key, value in (("x", 1), ("y", 2), ("z", 3)):
        holder[key] = value
    holder["x"] = 100  # overwriting keeps the original position, as in a dict
    assert list(holder) == ["x", "y", "z"]
    assert list(holder.keys()) == ["x", "y", "z"]
    assert list(holder.items()) == [("x", 100), ("y", 2), ("z", 3)]
    assert list(holder.values()) == [100, 2, 3]
    assert holder.keys() == {"x", "y", "z"}
    assert dict(holder) == {"x": 100, "y": 2, "z": 3}


def test_get_with_default(holder: Holder) -> None:
    holder["present"] = 0
    assert holder.get("present") == 0
    assert holder.get("missing") is None
    assert holder.get("missing", "fallback") == "fallback"


def test_missing_key_raises_key_error(holder: Holder) -> None:
    with pytest.raises(KeyError):
        holder["missing"]
    with pytest.raises(KeyError):
        del holder["missing"]


def test_delete(holder: Holder) -> None:
    holder["a"] = 1
    del holder["a"]
    assert "a" not in holder
    with pytest.raises(KeyError):
        holder["a"]


def test_update_pop_setdefault_clear(holder: Holder) -> None:
    holder.update({"a": 1, "b": 2}, c=3)
    holder.update([("d", 4)])
    assert dict(holder) == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert holder.pop("a") == 1
    assert holder.pop("a", "gone") == "gone"
    with pytest.raises(KeyError):
        holder.pop("a")
    assert holder.setdefault("b", 20) == 2
    assert holder.setdefault("e", 5) == 5
    assert holder["e"] == 5
    holder.clear()
    assert len(holder) == 0
    assert list(holder) == []


def test_deleting_while_iterating_is_safe(holder: Holder) -> None:
    for i in range(5):
        holder[f"k{i}"] = i
    for key in holder.keys():
        if key != "k2":
            del holder[key]
    assert list(holder.items()) == [("k2", 2)]


def test_values_of_many_picklable_types(prepared: Backend) -> None:
    when = datetime.datetime(2024, 5, 17, 8, 30, tzinfo=datetime.UTC)
    values: dict[str, Any] = {
        "none": None,
        "bool": True,
        "int": 2**70,
        "float": 1.5,
        "str": "héllo ✓",
        "bytes": b"\x00\xff",
        "list": [1, [2, 3], {"x": 4}],
        "tuple": (1, "a"),
        "dict": {"nested": {"deep": [1, 2]}, 3: "int key"},
        "set": {1, 2, 3},
        "frozenset": frozenset({"a"}),
        "datetime": when,
        "date": datetime.date(2020, 2, 29),
        "timedelta": datetime.timedelta(hours=3),
        "decimal": decimal.Decimal("1.10"),
        "ordered": OrderedDict(b=1, a=2),
        "deque": deque([1, 2]),
        "dataclass": Reminder("alice", when, ["work"]),
        "path": Path("/tmp/x"),
    }
    plugin = prepared.plugin()
    with Holder() as writer:
        writer.open_storage(plugin, "types")
        writer.update(values)
    # Durable storages: read back through a new plugin instance, as after a restart.
    reader_plugin = prepared.plugin() if prepared.durable else plugin
    with Holder() as reader:
        reader.open_storage(reader_plugin, "types")
        for key, expected in values.items():
            assert reader[key] == expected, key
            assert type(reader[key]) is type(expected), key


# -- open / close ---------------------------------------------------------------------------


def test_open_sets_namespace_and_state(plugin: StoragePluginBase) -> None:
    obj = Holder()
    assert obj.namespace is None
    assert not obj.is_open_storage()
    obj.open_storage(plugin, "plugin_x")
    assert obj.namespace == "plugin_x"
    assert obj.is_open_storage()
    obj.close_storage()
    assert not obj.is_open_storage()


def test_open_twice_is_refused(holder: Holder, plugin: StoragePluginBase) -> None:
    with pytest.raises(StoreAlreadyOpenError, match="^Storage appears to be opened already$"):
        holder.open_storage(plugin, "other")
    assert holder.namespace == "ns"


def test_close_when_not_open_is_refused() -> None:
    with pytest.raises(StoreNotOpenError):
        Holder().close_storage()


def test_use_before_open_raises_store_not_open() -> None:
    obj = Holder()
    with pytest.raises(StoreNotOpenError, match="not appear to have been opened"):
        obj["a"]
    operations = [
        lambda: obj.__setitem__("a", 1),
        lambda: obj.__delitem__("a"),
        lambda: "a" in obj,
        lambda: len(obj),
        lambda: list(obj),
        lambda: obj.get("a"),
        lambda: obj.clear(),
    ]
    for operation in operations:
        with pytest.raises(StoreNotOpenError):
            operation()
    with pytest.raises(StoreNotOpenError), obj.mutable("a"):
        pass


def test_use_after_close_names_the_namespace(holder: Holder) -> None:
    holder.close_storage()
    with pytest.raises(StoreNotOpenError, match='namespace "ns"'):
        holder["a"] = 1


def test_store_errors_share_a_base() -> None:
    assert issubclass(StoreAlreadyOpenError, StoreException)
    assert issubclass(StoreNotOpenError, StoreException)


def test_context_manager_closes(plugin: StoragePluginBase) -> None:
    obj = Holder()
    obj.open_storage(plugin, "ctx")
    with obj as entered:
        assert entered is obj
        obj["k"] = "v"
    assert not obj.is_open_storage()


def test_close_and_reopen_keeps_data(plugin: StoragePluginBase) -> None:
    obj = Holder()
    obj.open_storage(plugin, "keep")
    obj["k"] = [1, 2]
    obj.close_storage()
    obj.open_storage(plugin, "keep")
    assert obj["k"] == [1, 2]
    obj.close_storage()
    other = Holder()
    other.open_storage(plugin, "keep")
    assert other["k"] == [1, 2]
    other.close_storage()


def test_namespaces_are_isolated(plugin: StoragePluginBase) -> None:
    first, second = Holder(), Holder()
    first.open_storage(plugin, "one")
    second.open_storage(plugin, "two")
    first["shared"] = "first"
    second["shared"] = "second"
    second["only_two"] = True
    assert first["shared"] == "first"
    assert second["shared"] == "second"
    assert "only_two" not in first
    assert len(first) == 1
    first.clear()
    assert second["shared"] == "second"
    first.close_storage()
    second.close_storage()


def test_two_objects_on_one_namespace_see_each_other(plugin: StoragePluginBase) -> None:
    first, second = Holder(), Holder()
    first.open_storage(plugin, "same")
    second.open_storage(plugin, "same")
    first["k"] = 1
    assert second["k"] == 1
    first.close_storage()
    assert second["k"] == 1
    second.close_storage()


# -- the mixin inside its host --------------------------------------------------------------


def test_hosts_stay_hashable_with_identity_equality(
    holder: Holder, plugin: StoragePluginBase
) -> None:
    twin = Holder()
    twin.open_storage(plugin, "ns")  # same namespace, so the same contents
    assert holder != twin
    assert holder == holder
    assert len({holder, twin, holder}) == 2
    registry = {holder: "a", twin: "b"}
    assert registry[holder] == "a"
    twin.close_storage()


def test_host_is_truthy_even_when_empty_or_closed(holder: Holder) -> None:
    assert len(holder) == 0
    assert bool(holder) is True
    assert bool(Holder()) is True


def test_host_is_a_mutable_mapping(holder: Holder) -> None:
    assert isinstance(holder, MutableMapping)


def test_mixin_never_reaches_host_getattr(plugin: StoragePluginBase) -> None:
    obj = StrictHolder()
    assert not obj.is_open_storage()
    assert obj.namespace is None
    with pytest.raises(StoreNotOpenError):
        obj["a"]
    obj.open_storage(plugin, "strict")
    obj["a"] = 1
    with obj.mutable("lst", []) as lst:
        lst.append(1)
    assert obj["lst"] == [1]
    obj.close_storage()


def test_mixin_does_not_require_init_arguments(plugin: StoragePluginBase) -> None:
    class NoInit(StoreMixin):
        pass

    obj = NoInit()
    obj.open_storage(plugin, "noinit")
    obj["a"] = 1
    assert obj["a"] == 1
    obj.close_storage()


# -- mutable() ------------------------------------------------------------------------------


def test_mutable_writes_back(holder: Holder) -> None:
    holder["lst"] = [1]
    with holder.mutable("lst") as lst:
        lst.append(2)
    assert holder["lst"] == [1, 2]


def test_mutable_uses_default_when_missing(holder: Holder) -> None:
    with holder.mutable("counts", {}) as counts:
        counts["a"] = 1
    assert holder["counts"] == {"a": 1}
    with holder.mutable("nothing") as value:
        assert value is None
    assert "nothing" in holder
    assert holder["nothing"] is None


def test_mutable_does_not_write_back_when_the_block_raises(
    holder: Holder, storage_name: str
) -> None:
    holder["lst"] = [1]
    with pytest.raises(ValueError), holder.mutable("lst") as lst:
        lst.append(2)
        raise ValueError("abort")
    # Memory hands out the stored object itself, so the in-place change is visible there.
    assert holder["lst"] == ([1, 2] if storage_name == "Memory" else [1])
    with pytest.raises(ValueError), holder.mutable("new", []) as new:
        new.append(1)
        raise ValueError("abort")
    assert "new" not in holder


def test_mutable_nested_on_same_key_does_not_deadlock(holder: Holder) -> None:
    with holder.mutable("n", 0) as outer:
        with holder.mutable("n", 0) as inner:
            assert inner == outer
    assert holder["n"] == 0


def test_concurrent_mutable_loses_no_update(holder: Holder, storage_name: str) -> None:
    # Fewer rounds where each write is a commit on a database server (the test stays short).
    threads_count, appends = 8, (60 if storage_name.startswith("SQL") else 200)
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            start.wait()
            for i in range(appends):
                with holder.mutable("log", []) as log:
                    log.append((index, i))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = holder["log"]
    assert len(stored) == threads_count * appends
    assert set(stored) == {(n, i) for n in range(threads_count) for i in range(appends)}
    for n in range(threads_count):
        assert [i for (m, i) in stored if m == n] == list(range(appends))


def test_mutable_on_different_keys_runs_in_parallel(holder: Holder) -> None:
    # Thread B enters a mutable() block on another key while A is still inside its own
    # block; with a single lock for all keys this would deadlock (the barrier would break).
    both_inside = threading.Barrier(2, timeout=30)
    results: list[str] = []

    def worker(key: str) -> None:
        with holder.mutable(key, []) as value:
            both_inside.wait()
            value.append(key)
        results.append(key)

    threads = [threading.Thread(target=worker, args=(k,)) for k in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["a", "b"]
    assert holder["a"] == ["a"]
    assert holder["b"] == ["b"]


# -- Memory specifics -----------------------------------------------------------------------


def test_memory_is_fresh_for_each_plugin_instance(tmp_path: Path) -> None:
    config = make_config(tmp_path, "Memory")
    first = Holder()
    first.open_storage(MemoryStoragePlugin(config), "ns")
    first["k"] = 1
    second = Holder()
    second.open_storage(MemoryStoragePlugin(config), "ns")
    assert "k" not in second


def test_memory_keeps_references_like_errbot(tmp_path: Path) -> None:
    obj = Holder()
    obj.open_storage(MemoryStoragePlugin(make_config(tmp_path, "Memory")), "ns")
    obj["lst"] = []
    obj["lst"].append(1)
    assert obj["lst"] == [1]


# -- the base classes -----------------------------------------------------------------------


def test_storage_plugin_base_keeps_storage_config() -> None:
    class Factory(StoragePluginBase):
        def open(self, namespace: str) -> StorageBase:
            raise NotImplementedError

    assert Factory(types.SimpleNamespace(STORAGE_CONFIG={"a": 1}))._storage_config == {"a": 1}
    assert Factory(types.SimpleNamespace())._storage_config == {}
    assert Factory(types.SimpleNamespace(STORAGE_CONFIG=None))._storage_config == {}


def test_incomplete_third_party_storage_still_instantiates() -> None:
    # Errbot never enforced the abstract methods; published plugins rely on that.
    class Partial(StorageBase):
        def __init__(self) -> None:
            self.data: dict[str, Any] = {}

        def get(self, key: str) -> Any:
            return self.data[key]

        def set(self, key: str, value: Any) -> None:
            self.data[key] = value

        def close(self) -> None:
            pass

    class PartialPlugin(StoragePluginBase):
        def open(self, namespace: str) -> StorageBase:
            return Partial()

    obj = Holder()
    obj.open_storage(PartialPlugin(None), "ns")
    obj["a"] = 1
    assert obj["a"] == 1
    with pytest.raises(NotImplementedError, match="Partial does not implement len"):
        len(obj)
    obj.close_storage()
