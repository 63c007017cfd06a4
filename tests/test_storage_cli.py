"""``errbot --storage-get/--storage-set/--storage-merge NS`` and ``--storage-list``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from errbot.cli import main
from errbot.settings import apply_defaults, load_config
from errbot.storage import StoreMixin
from errbot.storage.loader import load_storage_plugin

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _forget_loaded_config():
    """load_config registers the module as "config"; leave sys.modules as it was."""
    previous = sys.modules.get("config")
    yield
    if previous is None:
        sys.modules.pop("config", None)
    else:
        sys.modules["config"] = previous


class Namespace(StoreMixin):
    pass


def write_config(directory: Path, **settings: Any) -> Path:
    data = directory / "data"
    data.mkdir(exist_ok=True)
    settings.setdefault("BOT_DATA_DIR", str(data))
    lines = [f"{name} = {value!r}" for name, value in settings.items()]
    path = directory / "config.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def storage_of(config_path: Path) -> Any:
    config = load_config(str(config_path))
    apply_defaults(config)
    return load_storage_plugin(config)


def run(config: Path, *arguments: str, stdin: str = "", monkeypatch: Any = None) -> int:
    if monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["-c", str(config), *arguments])


@pytest.fixture(params=["Shelf", "SQLite"])
def config(request: Any, tmp_path: Path) -> Path:
    return write_config(tmp_path, STORAGE=request.param)


def test_set_then_get(config: Path, monkeypatch: Any, capsys: Any) -> None:
    assert run(config, "--storage-set", "Weather", stdin="{'city': 'Oslo', 'n': [1, 2]}",
               monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    assert run(config, "--storage-get", "Weather") == 0
    printed = capsys.readouterr().out.strip()
    assert eval(printed) == {"city": "Oslo", "n": [1, 2]}  # noqa: S307


def test_set_replaces_the_whole_namespace(config: Path, monkeypatch: Any, capsys: Any) -> None:
    run(config, "--storage-set", "ns", stdin="{'old': 1, 'kept': 2}", monkeypatch=monkeypatch)
    run(config, "--storage-set", "ns", stdin="{'kept': 3}", monkeypatch=monkeypatch)
    capsys.readouterr()
    run(config, "--storage-get", "ns")
    assert capsys.readouterr().out.strip() == "{'kept': 3}"


def test_merge_deep_merges_each_key(config: Path, monkeypatch: Any, capsys: Any) -> None:
    run(config, "--storage-set", "core",
        stdin="{'configs': {'A': {'x': 1}}, 'bl_plugins': ['One']}", monkeypatch=monkeypatch)
    assert run(config, "--storage-merge", "core",
               stdin="{'configs': {'B': {'y': 2}, 'A': {'z': 3}}, 'bl_plugins': ['Two'], "
                     "'new': {'k': 'v'}}",
               monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    run(config, "--storage-get", "core")
    assert eval(capsys.readouterr().out) == {  # noqa: S307
        "configs": {"A": {"x": 1, "z": 3}, "B": {"y": 2}},
        "bl_plugins": ["One", "Two"],
        "new": {"k": "v"},
    }


@pytest.mark.parametrize("text, message", [
    ("{'a': ", "not a Python literal"),
    ("[1, 2]", "must be a dict literal"),
    ("{1: 2}", "keys must be strings"),
    ("__import__('os').system('true')", "not a Python literal"),
])
def test_bad_input_changes_nothing(config: Path, monkeypatch: Any, capsys: Any,
                                   text: str, message: str) -> None:
    run(config, "--storage-set", "ns", stdin="{'safe': True}", monkeypatch=monkeypatch)
    assert run(config, "--storage-set", "ns", stdin=text, monkeypatch=monkeypatch) == -3
    assert message in capsys.readouterr().err
    assert run(config, "--storage-merge", "ns", stdin=text, monkeypatch=monkeypatch) == -3
    run(config, "--storage-get", "ns")
    assert capsys.readouterr().out.strip() == "{'safe': True}"


def test_get_of_an_unknown_namespace_is_empty(config: Path, capsys: Any) -> None:
    assert run(config, "--storage-get", "nothing") == 0
    assert capsys.readouterr().out.strip() == "{}"


def test_list(config: Path, monkeypatch: Any, capsys: Any) -> None:
    run(config, "--storage-set", "beta", stdin="{'a': 1}", monkeypatch=monkeypatch)
    run(config, "--storage-set", "alpha", stdin="{'b': 2}", monkeypatch=monkeypatch)
    capsys.readouterr()
    assert run(config, "--storage-list") == 0
    listed = capsys.readouterr().out.split()
    assert "alpha" in listed and "beta" in listed


def test_list_unsupported_by_the_storage(tmp_path: Path, capsys: Any) -> None:
    plugins = tmp_path / "storages"
    plugins.mkdir()
    (plugins / "bare.plug").write_text(
        "[Core]\nName = Bare\nModule = bare\n\n[Documentation]\nDescription = x\n")
    (plugins / "bare.py").write_text(
        "from errbot.storage.base import StoragePluginBase\n\n"
        "class BareStoragePlugin(StoragePluginBase):\n"
        "    def open(self, namespace):\n"
        "        raise NotImplementedError\n")
    config = write_config(tmp_path, STORAGE="Bare", BOT_EXTRA_STORAGE_PLUGINS_DIR=str(plugins))
    assert run(config, "--storage-list") == -3
    assert "cannot list its namespaces" in capsys.readouterr().err


def test_works_while_a_bot_holds_sqlite_open(tmp_path: Path, monkeypatch: Any,
                                             capsys: Any) -> None:
    config = write_config(tmp_path, STORAGE="SQLite")
    running = Namespace()
    running.open_storage(storage_of(config), "Weather")
    try:
        running["city"] = "Paris"
        assert run(config, "--storage-merge", "Weather", stdin="{'units': {'t': 'C'}}",
                   monkeypatch=monkeypatch) == 0
        assert running["units"] == {"t": "C"}
        capsys.readouterr()
        assert run(config, "--storage-get", "Weather") == 0
        assert eval(capsys.readouterr().out) == {  # noqa: S307
            "city": "Paris", "units": {"t": "C"}}
    finally:
        running.close_storage()


def test_exit_status_of_the_process_on_error(tmp_path: Path) -> None:
    write_config(tmp_path, STORAGE="SQLite")
    result = subprocess.run(
        [sys.executable, "-m", "errbot", "--storage-set", "ns"],
        cwd=tmp_path, input="not a dict", capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
    )
    assert result.returncode == 253
    assert "not a Python literal" in result.stderr


def test_storage_modes_are_exclusive(tmp_path: Path, capsys: Any) -> None:
    config = write_config(tmp_path)
    assert main(["-c", str(config), "--storage-get", "a", "--storage-list"]) == 2
