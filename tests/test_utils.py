"""Helpers plugins import from `errbot.utils`."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path

import pytest

from errbot import utils
from errbot.utils import (
    PLUGINS_SUBDIR,
    collect_roots,
    deprecated,
    entry_point_plugins,
    find_roots,
    format_timedelta,
    rate_limited,
    split_string_after,
    version2tuple,
)

# -- format_timedelta ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(0), "0 seconds"),
        (timedelta(seconds=1), "1 seconds"),
        (timedelta(seconds=59, microseconds=999_999), "59 seconds"),
        (timedelta(seconds=60), "1 minutes"),
        (timedelta(minutes=59, seconds=59), "59 minutes"),
        (timedelta(hours=1), "1 hours"),
        (timedelta(hours=1, seconds=30), "1 hours"),
        (timedelta(hours=2, minutes=5), "2 hours and 5 minutes"),
        (timedelta(days=1, minutes=1), "24 hours and 1 minutes"),
        (timedelta(days=3), "72 hours"),
    ],
)
def test_format_timedelta(delta: timedelta, expected: str) -> None:
    assert format_timedelta(delta) == expected


# -- version2tuple ------------------------------------------------------------------------------


def test_version2tuple_orders_prereleases_before_final() -> None:
    ordered = [
        "1.9.9",
        "2.0.0-alpha",
        "2.0.0-beta",
        "2.0.0-rc1",
        "2.0.0-rc2",
        "2.0.0-rc10",
        "2.0.0",
        "2.0.1",
        "2.1.0",
        "10.0.0",
    ]
    tuples = [version2tuple(v) for v in ordered]
    assert tuples == sorted(tuples)
    assert len(set(tuples)) == len(tuples)


def test_version2tuple_shape_and_errors() -> None:
    assert version2tuple("6.2.1")[:3] == (6, 2, 1)
    assert len(version2tuple("6.2.1-beta")) == 4
    for bad in ("6.2", "6.2.1.0", "6.2.1-gamma", "x.y.z", "6.2.1-"):
        with pytest.raises(ValueError):
            version2tuple(bad)


# -- split_string_after -------------------------------------------------------------------------


def test_split_string_after() -> None:
    assert list(split_string_after("abcdefg", 3)) == ["abc", "def", "g"]
    assert list(split_string_after("abc", 3)) == ["abc"]
    assert list(split_string_after("abc", 10)) == ["abc"]
    assert list(split_string_after("", 3)) == [""]


def test_split_string_after_is_lazy_and_validates() -> None:
    chunks = split_string_after("x" * 10, 4)
    assert next(chunks) == "xxxx"
    with pytest.raises(ValueError):
        list(split_string_after("abc", 0))


# -- rate_limited -------------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(utils, "_clock", fake.clock)
    monkeypatch.setattr(utils, "_sleep", fake.sleep)
    return fake


def test_rate_limited_spaces_out_calls(fake_time: FakeTime) -> None:
    calls: list[float] = []

    @rate_limited(2)
    def ping(value: int) -> int:
        calls.append(fake_time.now)
        return value * 2

    assert ping(1) == 2
    assert fake_time.slept == []  # the first call never waits
    fake_time.now += 0.5
    assert ping(2) == 4
    assert fake_time.slept == [pytest.approx(1.5)]
    fake_time.now += 5
    ping(3)
    assert len(fake_time.slept) == 1  # enough time passed already
    assert [b - a for a, b in zip(calls, calls[1:], strict=False)] == [
        pytest.approx(2.0),
        pytest.approx(5.0),
    ]


def test_rate_limited_keeps_metadata_and_counts_failed_calls(fake_time: FakeTime) -> None:
    @rate_limited(1)
    def flaky() -> None:
        """Doc."""
        raise RuntimeError("boom")

    assert flaky.__name__ == "flaky" and flaky.__doc__ == "Doc."
    with pytest.raises(RuntimeError):
        flaky()
    with pytest.raises(RuntimeError):
        flaky()
    assert fake_time.slept == [pytest.approx(1.0)]


# -- deprecated ---------------------------------------------------------------------------------


def test_deprecated_warns_and_calls_the_old_function() -> None:
    @deprecated()
    def old(x: int) -> int:
        return x + 1

    with pytest.warns(DeprecationWarning, match="old is deprecated"):
        assert old(1) == 2


def test_deprecated_forwards_to_the_replacement() -> None:
    class Thing:
        def new(self, x: int) -> str:
            return f"new {x}"

        @deprecated(new)
        def old(self, x: int) -> str:
            return "old"

        @property
        def value(self) -> int:
            return 7

        @deprecated(value)
        def get_value(self) -> int:
            return 0

    thing = Thing()
    with pytest.warns(DeprecationWarning, match=r"use Thing\.new instead"):
        assert thing.old(3) == "new 3"
    with pytest.warns(DeprecationWarning, match=r"property Thing\.value"):
        assert thing.get_value() == 7


def test_deprecated_warning_points_at_the_caller() -> None:
    @deprecated()
    def old() -> None:
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old()
    assert caught[0].filename == __file__


# -- roots and constants ------------------------------------------------------------------------


def make_tree(root: Path) -> None:
    for rel in (
        "a/one.plug",
        "a/b/two.plug",
        "c/notes.txt",
        ".hidden/x.plug",
        "d/__pycache__/y.plug",
    ):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def test_find_roots_lists_directories_with_plug_files(tmp_path: Path) -> None:
    make_tree(tmp_path)
    assert find_roots(tmp_path) == [str(tmp_path / "a"), str(tmp_path / "a" / "b")]
    assert find_roots(tmp_path, "*.txt") == [str(tmp_path / "c")]


def test_collect_roots_flattens_nested_inputs(tmp_path: Path) -> None:
    make_tree(tmp_path)
    a, c = str(tmp_path / "a"), str(tmp_path / "c")
    expected = [a, str(tmp_path / "a" / "b")]
    assert collect_roots(str(tmp_path)) == expected
    assert collect_roots([None, [tmp_path, (str(tmp_path),)]]) == expected
    assert collect_roots(None) == []
    assert collect_roots([c, str(tmp_path / "missing"), a, c], file_sig=None) == [c, a]


def test_entry_point_plugins_for_an_unknown_group() -> None:
    assert entry_point_plugins("errbot.no_such_group_for_tests") == []


def test_constants() -> None:
    assert PLUGINS_SUBDIR == "plugins"
    assert isinstance(utils.ON_WINDOWS, bool)
