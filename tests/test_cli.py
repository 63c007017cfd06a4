"""The `errbot` command, run as a real process (`python -m errbot`)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from errbot.plugin_info import PluginInfo, errbot_version_tuple
from errbot.settings import apply_defaults, load_config, validate
from errbot.version import VERSION

REPO = Path(__file__).resolve().parents[1]

# Stands in for errbot.bootstrap (it builds and runs a real bot, which is not what these tests
# are about): records what the CLI handed over, and can wait or fail on request.
FAKE_BOOTSTRAP_MAIN = """
import atexit, json, os, sys, types

# Lets a test wait for a background bot's exit. Only the daemon (in a session of its own)
# reports it: the foreground process returning early must not.
START_SESSION = os.getsid(0)

def report_exit():
    done = os.environ.get("FAKE_DONE")
    if done and os.getsid(0) != START_SESSION:
        with open(done, "w") as handle:
            handle.write("done")

atexit.register(report_exit)

def bootstrap(backend_name, config):
    with open(os.environ["FAKE_RECORD"], "w") as handle:
        json.dump({
            "backend": backend_name,
            "admins": list(config.BOT_ADMINS),
            "prefix": config.BOT_PREFIX,
            "storage": config.STORAGE,
            "pid": os.getpid(),
        }, handle)
    wait = os.environ.get("FAKE_WAIT")
    if wait:
        with open(wait) as handle:
            handle.read()
    outcome = os.environ.get("FAKE_OUTCOME")
    if outcome == "interrupt":
        raise KeyboardInterrupt
    if outcome == "error":
        raise RuntimeError("backend exploded")

fake = types.ModuleType("errbot.bootstrap")
fake.bootstrap = bootstrap
sys.modules["errbot.bootstrap"] = fake

from errbot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def run_cli(
    *args: str | Path,
    cwd: Path,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "errbot", *map(str, args)],
        cwd=cwd, input=stdin if stdin is not None else "", capture_output=True, text=True,
        env=_env(env), timeout=60,
    )


def run_with_fake_bootstrap(
    *args: str | Path, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    script = cwd / "fake_errbot.py"
    script.write_text(FAKE_BOOTSTRAP_MAIN)
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        cwd=cwd, input="", capture_output=True, text=True, env=_env(env), timeout=60,
    )


def write_config(directory: Path, body: str, name: str = "config.py") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(body))
    return path


def minimal_config(directory: Path, **settings: object) -> Path:
    data = directory / "data"
    data.mkdir(exist_ok=True)
    values: dict[str, object] = {
        "BACKEND": "XMPP", "BOT_ADMINS": ("@owner",), "BOT_DATA_DIR": str(data),
    }
    values.update(settings)
    lines = [f"{key} = {value!r}" for key, value in values.items()]
    return write_config(directory, "\n".join(lines) + "\n")


# --- -v ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-v", "--version"])
def test_version(tmp_path: Path, flag: str) -> None:
    result = run_cli(flag, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == f"Errbot version {VERSION}\n"
    assert VERSION == "7.0.0"


@pytest.mark.parametrize("mode", [["-v"], ["--init", "bot"]])
def test_fast_modes_do_not_import_the_bot(tmp_path: Path, mode: list[str]) -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from errbot.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({mode!r})\n"
        "heavy = ['errbot.bootstrap', 'errbot.settings', 'errbot.logs', 'logging.handlers',\n"
        "         'markdown', 'jinja2']\n"
        "print(code, sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                            text=True, env=_env(), timeout=60)
    assert result.stdout.strip() == "0 []", result.stderr


# --- --init -----------------------------------------------------------------------------------


def test_init_creates_a_runnable_directory(tmp_path: Path) -> None:
    result = run_cli("--init", "mybot", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    base = (tmp_path / "mybot").resolve()
    assert "Your Errbot directory has been correctly initialized!" in result.stdout
    assert f'Just do "cd {base}" then "errbot"' in result.stdout

    for directory in ("data", "plugins", "backend-plugins", "plugins/err-example"):
        assert (base / directory).is_dir(), directory
    files = [base / "config.py", base / "plugins/err-example/example.plug",
             base / "plugins/err-example/example.py"]
    for path in files:
        assert path.read_text().endswith("\n"), path

    source = (base / "config.py").read_text()
    assert 'BACKEND = "Text"' in source
    assert 'BOT_ADMINS = ("@CHANGE_ME",)' in source
    assert "BOT_LOG_LEVEL = logging.INFO" in source
    for setting in ("BOT_PREFIX", "BOT_IDENTITY", "STORAGE", "CHATROOM_PRESENCE",
                    "ACCESS_CONTROLS"):
        assert f"# {setting} = " in source, setting


@pytest.fixture
def clean_imports() -> Iterator[None]:
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


@pytest.mark.usefixtures("clean_imports")
def test_init_config_loads_and_validates(tmp_path: Path) -> None:
    assert run_cli("--init", "bot", cwd=tmp_path).returncode == 0
    base = (tmp_path / "bot").resolve()
    config = load_config(base / "config.py")
    assert config.BACKEND == "Text"
    assert config.BOT_DATA_DIR == str(base / "data")
    assert config.BOT_EXTRA_PLUGIN_DIR == str(base / "plugins")
    assert config.BOT_EXTRA_BACKEND_DIR == str(base / "backend-plugins")
    assert config.BOT_LOG_FILE == str(base / "errbot.log")
    assert config.BOT_LOG_LEVEL == 20
    assert config.BOT_ADMINS == ("@CHANGE_ME",)
    apply_defaults(config)
    validate(config)


def test_init_example_plugin(tmp_path: Path) -> None:
    assert run_cli("--init", cwd=tmp_path).returncode == 0
    example = tmp_path / "plugins" / "err-example"
    info = PluginInfo.load(example / "example.plug")
    assert (info.name, info.module, info.python_version) == ("Example", "example", (3, 0, 0))
    assert info.doc
    assert info.module_path == example / "example.py"

    tree = ast.parse((example / "example.py").read_text())
    (plugin,) = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert plugin.name == "Example"
    assert [b.id for b in plugin.bases if isinstance(b, ast.Name)] == ["BotPlugin"]
    assert ast.get_docstring(plugin)
    (tryme,) = [n for n in plugin.body if isinstance(n, ast.FunctionDef)]
    assert tryme.name == "tryme"
    assert [d.id for d in tryme.decorator_list if isinstance(d, ast.Name)] == ["botcmd"]
    returned = [n.value for n in ast.walk(tryme) if isinstance(n, ast.Return)]
    assert [ast.literal_eval(v) for v in returned if v is not None] == ["It *works*!"]


def test_init_in_the_current_directory_gives_the_short_hint(tmp_path: Path) -> None:
    result = run_cli("--init", cwd=tmp_path)
    assert result.returncode == 0
    assert 'Just do "errbot" and it should answer on the console.' in result.stdout
    assert (tmp_path / "config.py").is_file()


def test_init_twice_keeps_every_existing_file(tmp_path: Path) -> None:
    assert run_cli("--init", cwd=tmp_path).returncode == 0
    config = tmp_path / "config.py"
    config.write_text(config.read_text() + 'BOT_PREFIX = "?"\n')
    edited = config.read_text()

    result = run_cli("--init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert config.read_text() == edited
    for name in ("config.py", "example.plug", "example.py"):
        kept = [line for line in result.stdout.splitlines() if line.startswith("Kept")]
        assert any(name in line for line in kept), name
    assert "Your Errbot directory has been correctly initialized!" in result.stdout
    # No temporary files are left behind by the no-overwrite writes.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "backend-plugins", "config.py", "data", "plugins",
    ]


def test_init_failure_is_reported(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    result = run_cli("--init", "afile/bot", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("The initialization of your errbot directory failed: ")
    assert result.stderr.rstrip("\n").endswith(".")


# --- --new-plugin -----------------------------------------------------------------------------


def test_new_plugin_from_flags(tmp_path: Path) -> None:
    result = run_cli(
        "--new-plugin", "plugs", "--name", "Weather Report", "--description", "Says 100% sunny",
        "--errbot-min", "CURRENT", "--errbot-max", "9.0.0", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    plug = tmp_path / "plugs" / "weather_report.plug"
    module = tmp_path / "plugs" / "weather_report.py"
    info = PluginInfo.load(plug)
    assert info.name == "Weather Report"
    assert info.module == "weather_report"
    assert info.doc == "Says 100% sunny"
    assert info.errbot_minversion == errbot_version_tuple(VERSION)
    assert info.errbot_maxversion == errbot_version_tuple("9.0.0")
    assert info.module_path == module

    source = module.read_text()
    tree = ast.parse(source)
    compile(source, str(module), "exec")
    (plugin,) = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert plugin.name == "WeatherReport"
    assert ast.get_docstring(plugin) == "Says 100% sunny"
    methods = {n.name: n for n in plugin.body if isinstance(n, ast.FunctionDef)}
    for expected in ("activate", "deactivate", "get_configuration_template",
                     "callback_message"):
        assert expected in methods, expected

    def decorators(name: str) -> list[str]:
        found = []
        for decorator in methods[name].decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            assert isinstance(target, ast.Name)
            found.append(target.id)
        return found

    assert "webhook" in decorators("weather_report_webhook")
    assert decorators("weather_report_hello") == ["botcmd"]
    assert set(decorators("weather_report_repeat")) == {"arg_botcmd"}


def test_new_plugin_without_versions_has_no_errbot_section(tmp_path: Path) -> None:
    result = run_cli("--new-plugin", "--name", "tiny", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plug = tmp_path / "tiny.plug"
    assert "[Errbot]" not in plug.read_text()
    assert plug.read_text().endswith("\n") and not plug.read_text().endswith("\n\n")
    info = PluginInfo.load(plug)
    assert info.errbot_minversion is None and info.errbot_maxversion is None
    tree = ast.parse((tmp_path / "tiny.py").read_text())
    assert [n.name for n in tree.body if isinstance(n, ast.ClassDef)] == ["Tiny"]


@pytest.mark.parametrize(
    ("name", "module", "class_name"),
    [("my-cool plugin", "my_cool_plugin", "MyCoolPlugin"), ("none", "none", "NonePlugin")],
)
def test_new_plugin_names_become_valid_identifiers(
    tmp_path: Path, name: str, module: str, class_name: str
) -> None:
    assert run_cli("--new-plugin", "--name", name, cwd=tmp_path).returncode == 0
    source = (tmp_path / f"{module}.py").read_text()
    tree = ast.parse(source)
    assert [n.name for n in tree.body if isinstance(n, ast.ClassDef)] == [class_name]


def test_new_plugin_quotes_in_description_keep_the_module_valid(tmp_path: Path) -> None:
    description = 'Says "hi" \\o/'
    result = run_cli("--new-plugin", "--name", "Q", "--description", description, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tree = ast.parse((tmp_path / "q.py").read_text())
    (plugin,) = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert ast.get_docstring(plugin) == description
    assert PluginInfo.load(tmp_path / "q.plug").doc == description


def test_new_plugin_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    assert run_cli("--new-plugin", "--name", "Echo", cwd=tmp_path).returncode == 0
    (tmp_path / "echo.py").write_text("# mine\n")

    result = run_cli("--new-plugin", "--name", "Echo", cwd=tmp_path)
    assert result.returncode == 1
    assert "--force" in result.stderr
    assert (tmp_path / "echo.py").read_text() == "# mine\n"

    result = run_cli("--new-plugin", "--name", "Echo", "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "class Echo(BotPlugin)" in (tmp_path / "echo.py").read_text()


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--name", "9lives"], "not a valid plugin name"),
        (["--name", "ok", "--errbot-min", "6.x"], "x.y.z"),
    ],
)
def test_new_plugin_rejects_bad_answers(tmp_path: Path, flags: list[str], problem: str) -> None:
    result = run_cli("--new-plugin", *flags, cwd=tmp_path)
    assert result.returncode == 1
    assert problem in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_new_plugin_interactive_asks_again_on_invalid_answers(tmp_path: Path) -> None:
    answers = "bad name!\nMy Plugin\nDoes things\nnot-a-version\n6.0.0\n\n"
    result = run_cli("--new-plugin", cwd=tmp_path, stdin=answers)
    assert result.returncode == 0, result.stderr
    assert "What should the name of your new plugin be?" in result.stdout
    assert '"bad name!" is not a valid plugin name' in result.stdout
    info = PluginInfo.load(tmp_path / "my_plugin.plug")
    assert (info.name, info.doc) == ("My Plugin", "Does things")
    assert info.errbot_minversion == errbot_version_tuple("6.0.0")
    assert info.errbot_maxversion is None
    assert "class MyPlugin(BotPlugin)" in (tmp_path / "my_plugin.py").read_text()


def test_new_plugin_interactive_overwrite_needs_the_word(tmp_path: Path) -> None:
    answers = "Echo\n\n\n\n"
    assert run_cli("--new-plugin", cwd=tmp_path, stdin=answers).returncode == 0
    (tmp_path / "echo.py").write_text("# mine\n")

    result = run_cli("--new-plugin", cwd=tmp_path, stdin=answers + "yes\n")
    assert result.returncode == 1
    assert 'Type "overwrite"' in result.stdout
    assert (tmp_path / "echo.py").read_text() == "# mine\n"

    result = run_cli("--new-plugin", cwd=tmp_path, stdin=answers + "overwrite\n")
    assert result.returncode == 0, result.stderr
    assert "class Echo(BotPlugin)" in (tmp_path / "echo.py").read_text()


def test_new_plugin_aborts_cleanly_when_input_ends(tmp_path: Path) -> None:
    result = run_cli("--new-plugin", cwd=tmp_path, stdin="")
    assert result.returncode == 1
    assert "nothing was written" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_wizard_flags_need_new_plugin(tmp_path: Path) -> None:
    result = run_cli("--name", "x", cwd=tmp_path)
    assert result.returncode == 2
    assert "--new-plugin" in result.stderr


# --- --list -----------------------------------------------------------------------------------


def test_list_shows_builtin_extra_and_skips_broken_backends(tmp_path: Path) -> None:
    extra = tmp_path / "backends" / "fake"
    extra.mkdir(parents=True)
    (extra / "fake.plug").write_text("[Core]\nName = FakeChat\nModule = fake\n")
    (extra / "broken.plug").write_text("[Core]\nName = Broken\n")
    minimal_config(tmp_path, BOT_EXTRA_BACKEND_DIR=str(tmp_path / "backends"))

    result = run_cli("-l", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Available backends:"
    assert "\t\tFakeChat" in lines
    assert all(line.startswith("\t\t") for line in lines[1:])
    builtin = {
        PluginInfo.load(p).name for p in (REPO / "errbot" / "backends").rglob("*.plug")
    }
    assert builtin <= {line.strip() for line in lines[1:]}
    assert "broken.plug" in result.stderr
    assert "Broken" not in result.stdout


def test_list_without_any_config(tmp_path: Path) -> None:
    result = run_cli("--list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Available backends:\n")


def test_list_with_a_missing_explicit_config_fails(tmp_path: Path) -> None:
    result = run_cli("-l", "-c", tmp_path / "nope.py", cwd=tmp_path)
    assert result.returncode == 1
    assert str(tmp_path / "nope.py") in result.stderr


# --- configuration errors at start ------------------------------------------------------------


def test_text_and_daemon_together_are_refused(tmp_path: Path) -> None:
    result = run_cli("-T", "-d", cwd=tmp_path)
    assert result.returncode == 1
    assert "You cannot run in text and daemon mode at the same time" in result.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    result = run_cli("-T", cwd=tmp_path)
    assert result.returncode == 1
    assert str(tmp_path / "config.py") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_admins(tmp_path: Path) -> None:
    write_config(tmp_path, f'BACKEND = "Text"\nBOT_DATA_DIR = {str(tmp_path)!r}\n')
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 1
    assert "BOT_ADMINS missing from config.py." in result.stderr


def test_missing_backend_without_text_flag(tmp_path: Path) -> None:
    write_config(tmp_path, f'BOT_ADMINS = "@a"\nBOT_DATA_DIR = {str(tmp_path)!r}\n')
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 1
    assert "The BACKEND configuration option is missing in config.py" in result.stderr


def test_syntax_error_shows_file_and_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'BACKEND = "Text"\nBOT_ADMINS = ("@a",\n\nBOT_PREFIX = = 1\n',
                        name="custom.py")
    result = run_cli("-c", path, cwd=tmp_path)
    assert result.returncode == 1
    assert f"custom.py has a syntax error: {path}, line " in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_error_while_running_config_shows_file_and_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "import os\n\nBOT_DATA_DIR = os.environ['NOT_SET_ANYWHERE']\n")
    result = run_cli("-c", path, cwd=tmp_path)
    assert result.returncode == 1
    assert f"config.py failed to load: {path}, line 3: KeyError" in result.stderr


def test_missing_data_dir(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    write_config(tmp_path, f'BACKEND = "Text"\nBOT_ADMINS = "@a"\nBOT_DATA_DIR = {str(missing)!r}')
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 1
    assert f'The data directory "{missing}" for the bot does not exist.' in result.stderr


def test_wrong_type_names_the_setting(tmp_path: Path) -> None:
    minimal_config(tmp_path, BOT_ASYNC_POOLSIZE=0)
    result = run_cli("-T", cwd=tmp_path)
    assert result.returncode == 1
    assert "BOT_ASYNC_POOLSIZE must be a positive integer" in result.stderr


@pytest.fixture
def read_only_data_dir() -> Iterator[Path]:
    # Outside tmp_path: pytest's base temp directory is private to the user running pytest.
    base = Path(tempfile.mkdtemp(prefix="errbot-ro-"))
    base.chmod(0o755)
    data = base / "data"
    data.mkdir()
    data.chmod(0o555)
    yield data
    data.chmod(0o755)
    shutil.rmtree(base)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_read_only_data_dir_is_refused_for_an_unprivileged_user(read_only_data_dir: Path) -> None:
    """Root writes anywhere, so the refusal is observed by running the CLI as nobody.

    The CLI runs in a forked child (the interpreter cannot be exec'd as nobody here: it lives
    under root's home directory), with its own stderr collected through a pipe.
    """
    from errbot import cli

    base = read_only_data_dir.parent
    config = base / "config.py"
    config.write_text(
        f'BACKEND = "Text"\nBOT_ADMINS = "@a"\nBOT_DATA_DIR = {str(read_only_data_dir)!r}\n'
    )
    config.chmod(0o644)

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 99
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            sys.stderr = os.fdopen(write_end, "w")
            code = cli.main(["-c", str(config)])
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as errors:
        stderr = errors.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1
    assert (f'The data directory "{read_only_data_dir}" for the bot should be writable for the bot.'
            in stderr)


# --- handing over to bootstrap (with a stand-in bootstrap) ------------------------------------


def test_text_flag_forces_the_text_backend_and_defaults_are_applied(tmp_path: Path) -> None:
    minimal_config(tmp_path, BOT_ADMINS="@owner")
    record = tmp_path / "record.json"
    result = run_with_fake_bootstrap("-T", cwd=tmp_path, env={"FAKE_RECORD": str(record)})
    assert result.returncode == 0, result.stderr
    handed = json.loads(record.read_text())
    assert handed["backend"] == "Text"
    assert handed["admins"] == ["@owner"]
    assert handed["prefix"] == "!"
    assert handed["storage"] == "SQLite"


def test_normal_start_uses_the_configured_backend(tmp_path: Path) -> None:
    minimal_config(tmp_path)
    record = tmp_path / "record.json"
    result = run_with_fake_bootstrap(cwd=tmp_path, env={"FAKE_RECORD": str(record)})
    assert result.returncode == 0, result.stderr
    assert json.loads(record.read_text())["backend"] == "XMPP"


@pytest.mark.parametrize(("outcome", "code"), [("interrupt", 0), ("error", 1)])
def test_exit_codes_when_the_bot_stops(tmp_path: Path, outcome: str, code: int) -> None:
    minimal_config(tmp_path)
    result = run_with_fake_bootstrap(
        "-T", cwd=tmp_path,
        env={"FAKE_RECORD": str(tmp_path / "r.json"), "FAKE_OUTCOME": outcome},
    )
    assert result.returncode == code
    if outcome == "error":
        assert "backend exploded" in result.stderr


# --- daemon mode ------------------------------------------------------------------------------


def _fifo_exchange(path: Path, mode: str, payload: str = "") -> str:
    """Open a FIFO (blocks until the other side opens it) and read or write; fail, not hang."""
    box: list[str] = []

    def talk() -> None:
        with open(path, mode) as handle:
            if mode == "w":
                handle.write(payload)
            else:
                box.append(handle.read())

    worker = threading.Thread(target=talk, daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():
        pytest.fail(f"nobody opened {path}")
    return box[0] if box else ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_daemon_writes_pidfile_refuses_a_second_start_and_cleans_up(tmp_path: Path) -> None:
    minimal_config(tmp_path)
    wait, done = tmp_path / "wait", tmp_path / "done"
    os.mkfifo(wait)
    os.mkfifo(done)
    pidfile = tmp_path / "bot.pid"
    env = {"FAKE_RECORD": str(tmp_path / "r.json"), "FAKE_WAIT": str(wait),
           "FAKE_DONE": str(done)}

    result = run_with_fake_bootstrap("-d", "-p", pidfile, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    pid = int(pidfile.read_text())
    assert pid != os.getpid() and _pid_alive(pid)
    assert f"pid {pid}" in result.stdout

    again = run_with_fake_bootstrap("-d", "-p", pidfile, cwd=tmp_path,
                                    env={"FAKE_RECORD": str(tmp_path / "r2.json")})
    assert again.returncode == 1
    assert f"already running with pid {pid}" in again.stderr
    assert int(pidfile.read_text()) == pid

    _fifo_exchange(wait, "w", "go")  # let the stand-in bot return
    assert _fifo_exchange(done, "r") == "done"
    assert json.loads((tmp_path / "r.json").read_text())["pid"] == pid
    assert not pidfile.exists()
    assert not (tmp_path / "r2.json").exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_daemon_takes_over_a_stale_pidfile_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    minimal_config(tmp_path)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    stale_pid = int(finished.stdout)
    data_pidfile = tmp_path / "data" / "err.pid"  # the default location
    data_pidfile.write_text(f"{stale_pid}\n")
    wait, done = tmp_path / "wait", tmp_path / "done"
    os.mkfifo(wait)
    os.mkfifo(done)
    env = {"FAKE_RECORD": str(tmp_path / "r.json"), "FAKE_WAIT": str(wait),
           "FAKE_DONE": str(done)}

    result = run_with_fake_bootstrap("--daemon", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    pid = int(data_pidfile.read_text())
    assert pid != stale_pid

    # Stop it the way `kill` does; the stand-in bot is still waiting on its FIFO.
    os.kill(pid, signal.SIGTERM)
    assert _fifo_exchange(done, "r") == "done"
    assert not data_pidfile.exists()
