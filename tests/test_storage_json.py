"""Values every durable storage refuses, and JSON mode (SQLite, Redis, SQL).

A value that cannot be stored raises `UnstorableValueError` naming the key, the namespace and
the type, and leaves the store as it was.
"""

from __future__ import annotations

import datetime
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_storage_services import DURABLE_KINDS, JSON_KINDS, Backend, backend

from errbot.storage import StoreException, UnstorableValueError


@pytest.fixture(params=DURABLE_KINDS)
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with backend(request.param, tmp_path) as ready:
        yield ready


@pytest.fixture(params=JSON_KINDS)
def json_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with backend(request.param, tmp_path) as ready:
        yield ready


class Opaque:
    """Module-level, so it pickles: JSON mode must still refuse it."""


def _generator() -> Iterator[int]:
    yield 1


UNPICKLABLE = {
    "lambda": (lambda: None, "function"),
    "lock": ({"inner": [threading.Lock()]}, "dict"),
    "generator": (_generator(), "generator"),
}


def test_unpicklable_values_are_refused_and_nothing_changes(durable: Backend) -> None:
    storage = durable.plugin().open("values")
    storage.set("kept", "before")
    for case, (value, type_name) in UNPICKLABLE.items():
        with pytest.raises(UnstorableValueError) as caught:
            storage.set("kept", value)
        message = str(caught.value)
        assert "'kept'" in message and "'values'" in message, case
        assert type_name in message and "cannot be pickled" in message, case
        with pytest.raises(UnstorableValueError):
            storage.set("new", value)
    storage.close()
    reopened = durable.plugin().open("values")
    assert reopened.keys() == ["kept"]
    assert reopened.get("kept") == "before"
    reopened.close()


JSON_VALUES: dict[str, Any] = {
    "none": None,
    "bool": False,
    "int": 2**62,
    "float": 0.1,
    "str": 'héllo 😀 "quoted" \\ \n',
    "list": [1, "two", [3.5, None], {"four": True}],
    "dict": {"nested": {"deep": [1, 2]}, "": "empty key", "é": []},
    "empty": {},
}


def test_json_mode_round_trips_json_values_exactly(json_backend: Backend) -> None:
    storage = json_backend.plugin(serializer="json").open("json")
    for key, value in JSON_VALUES.items():
        storage.set(key, value)
    storage.close()
    reopened = json_backend.plugin(serializer="json").open("json")
    for key, value in JSON_VALUES.items():
        got = reopened.get(key)
        assert got == value, key
        assert type(got) is type(value), key
    assert sorted(reopened.keys()) == sorted(JSON_VALUES)
    reopened.close()


NOT_JSON: dict[str, tuple[Any, str]] = {
    "tuple": ((1, 2), "the value is of type tuple"),
    "set": ({1}, "the value is of type set"),
    "bytes": (b"x", "the value is of type bytes"),
    "datetime": (datetime.datetime(2024, 1, 1), "the value is of type datetime.datetime"),
    "object": (Opaque(), "the value is of type test_storage_json.Opaque"),
    "int key": ({"a": {1: "x"}}, "the value['a'] has a key of type int (1)"),
    "nan": ([1, math.nan], "the value[1] is nan"),
    "infinity": ({"x": math.inf}, "the value['x'] is inf"),
    "nested tuple": ({"a": [{"b": (1,)}]}, "the value['a'][0]['b'] is of type tuple"),
    "str subclass": (type("Name", (str,), {})("x"), "is of type"),
}


def test_json_mode_refuses_what_json_would_change(json_backend: Backend) -> None:
    storage = json_backend.plugin(serializer="json").open("json")
    storage.set("k", ["before"])
    for case, (value, detail) in NOT_JSON.items():
        with pytest.raises(UnstorableValueError) as caught:
            storage.set("k", value)
        message = str(caught.value)
        assert "the key 'k' in the namespace 'json' as JSON" in message, case
        assert detail in message, case
        assert "JSON mode" in message, case
    assert storage.get("k") == ["before"]
    assert storage.keys() == ["k"]
    storage.close()


def test_json_mode_refuses_a_value_containing_itself(json_backend: Backend) -> None:
    loop: list[Any] = []
    loop.append(loop)
    storage = json_backend.plugin(serializer="json").open("json")
    with pytest.raises(UnstorableValueError, match="nested too deeply, or contains itself"):
        storage.set("k", loop)
    assert storage.len() == 0
    storage.close()


def test_json_mode_never_unpickles_what_pickle_mode_wrote(json_backend: Backend) -> None:
    json_backend.plugin().open("mixed").set("pickled", {"a": 1})
    storage = json_backend.plugin(serializer="json").open("mixed")
    with pytest.raises(StoreException, match="holds a pickled value, which JSON mode never"):
        storage.get("pickled")
    storage.close()


def test_pickle_mode_reads_json_mode_values(json_backend: Backend) -> None:
    json_backend.plugin(serializer="json").open("mixed").set("k", {"a": [1, None]})
    if json_backend.storage == "SQL":
        # A table created in JSON mode has a text column: pickles cannot go there.
        with pytest.raises(StoreException, match="created in JSON mode"):
            json_backend.plugin().open("mixed")
        return
    assert json_backend.plugin().open("mixed").get("k") == {"a": [1, None]}
