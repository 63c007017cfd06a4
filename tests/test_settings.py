"""Settings: defaults, normalisation, validation, loading config.py, and logging set-up."""

from __future__ import annotations

import io
import logging
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from errbot.logs import setup_logging
from errbot.settings import (
    DEFAULTS,
    ConfigError,
    apply_defaults,
    config_from_dict,
    load_config,
    validate,
)


def valid_config(tmp_path: Path, **overrides: object) -> SimpleNamespace:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    values: dict[str, object] = {
        "BACKEND": "Text",
        "BOT_ADMINS": ("@admin",),
        "BOT_DATA_DIR": str(data),
    }
    values.update(overrides)
    return config_from_dict(values)


# --- defaults and normalisation ---------------------------------------------------------------


def test_defaults_follow_the_contract_and_project_decisions() -> None:
    expected = {
        "STORAGE": "SQLite",
        "BOT_PREFIX": "!",
        "CHATROOM_FN": "Errbot",
        "BOT_ASYNC": True,
        "BOT_ASYNC_POOLSIZE": 10,
        "PLUGINS_CALLBACK_ORDER": (None,),
        "BOT_EXTRA_BACKEND_DIR": [],
        "BOT_EXTRA_PLUGIN_DIR": None,
        "TEXT_DEMO_MODE": True,
        "COMPACT_OUTPUT": True,
        "TEXT_COLOR_THEME": "light",
        "BOT_PLUGIN_INDEXES": "https://errbot.io/repos.json",
        "BOT_LOG_LEVEL": logging.INFO,
        "BOT_LOG_FILE": None,
        "MESSAGE_SIZE_LIMIT": None,
        "CORE_PLUGINS": None,
        "AUTOINSTALL_DEPS": True,
        "BOT_IDENTITY": {},
        "STORAGE_CONFIG": {},
        "BOT_LOG_SENTRY": False,
        "SENTRY_DSN": "",
        "SENTRY_OPTIONS": {},
        "CHATROOM_PRESENCE": (),
        "BOT_ALT_PREFIXES": (),
        "BOT_ALT_PREFIX_SEPARATORS": (),
        "BOT_ALT_PREFIX_CASEINSENSITIVE": False,
        "BOT_PREFIX_OPTIONAL_ON_CHAT": False,
        "ACCESS_CONTROLS": {},
        "ACCESS_CONTROLS_DEFAULT": {},
        "HIDE_RESTRICTED_COMMANDS": False,
        "HIDE_RESTRICTED_ACCESS": False,
        "DIVERT_TO_PRIVATE": (),
        "DIVERT_TO_THREAD": (),
        "GROUPCHAT_NICK_PREFIXED": False,
        "SUPPRESS_CMD_NOT_FOUND": False,
        "IRC_CHANNEL_RATE": 1,
        "IRC_PRIVATE_RATE": 1,
        "IRC_RECONNECT_ON_KICK": 5,
        "IRC_RECONNECT_ON_DISCONNECT": 5,
        "IRC_ACL_PATTERN": "{nick}!{user}@{host}",
        "XMPP_USE_IPV6": False,
        "XMPP_XHTML_IM": False,
    }
    for name, value in expected.items():
        assert DEFAULTS[name] == value, name
    # No default could make a bot run for the wrong people or in the wrong place.
    assert "BOT_ADMINS" not in DEFAULTS
    assert "BOT_DATA_DIR" not in DEFAULTS


def test_apply_defaults_fills_missing_settings_and_keeps_given_ones() -> None:
    config = SimpleNamespace(BOT_ADMINS=("@a",), BOT_PREFIX="?", STORAGE="Memory")
    apply_defaults(config)
    assert config.BOT_PREFIX == "?"
    assert config.STORAGE == "Memory"
    assert config.BOT_ASYNC_POOLSIZE == 10
    assert config.CHATROOM_FN == "Errbot"
    for name in DEFAULTS:
        assert hasattr(config, name), name


def test_apply_defaults_works_on_an_imported_module() -> None:
    module = ModuleType("some_config")
    module.BOT_ADMINS = "@boss"  # type: ignore[attr-defined]
    apply_defaults(module)
    assert module.BOT_ADMINS == ("@boss",)  # type: ignore[attr-defined]
    assert module.BOT_PREFIX == "!"  # type: ignore[attr-defined]


def test_string_admins_become_one_tuples_and_notifications_follow_admins() -> None:
    config = config_from_dict({"BOT_ADMINS": "@boss"})
    assert config.BOT_ADMINS == ("@boss",)
    assert config.BOT_ADMINS_NOTIFICATIONS == ("@boss",)

    config = config_from_dict({"BOT_ADMINS": ["@a", "@b"], "BOT_ADMINS_NOTIFICATIONS": "@ops"})
    assert config.BOT_ADMINS == ("@a", "@b")
    assert config.BOT_ADMINS_NOTIFICATIONS == ("@ops",)


def test_callback_order_gets_the_catch_all_none_appended_once() -> None:
    config = config_from_dict({"PLUGINS_CALLBACK_ORDER": ["First", "Second"]})
    assert config.PLUGINS_CALLBACK_ORDER == ("First", "Second", None)
    apply_defaults(config)
    assert config.PLUGINS_CALLBACK_ORDER == ("First", "Second", None)

    config = config_from_dict({"PLUGINS_CALLBACK_ORDER": (None, "Last")})
    assert config.PLUGINS_CALLBACK_ORDER == (None, "Last")


def test_alt_prefixes_are_normalised_to_tuples() -> None:
    config = config_from_dict({"BOT_ALT_PREFIXES": "errbot", "BOT_ALT_PREFIX_SEPARATORS": [","]})
    assert config.BOT_ALT_PREFIXES == ("errbot",)
    assert config.BOT_ALT_PREFIX_SEPARATORS == (",",)


def test_extra_dirs_given_as_strings_are_kept_as_strings() -> None:
    config = config_from_dict({"BOT_EXTRA_PLUGIN_DIR": "/p", "BOT_EXTRA_BACKEND_DIR": "/b"})
    assert config.BOT_EXTRA_PLUGIN_DIR == "/p"
    assert config.BOT_EXTRA_BACKEND_DIR == "/b"


def test_mutable_defaults_are_not_shared_between_configurations() -> None:
    first = config_from_dict({})
    second = config_from_dict({})
    first.BOT_IDENTITY["username"] = "@first"
    first.BOT_EXTRA_BACKEND_DIR.append("/x")
    assert second.BOT_IDENTITY == {}
    assert second.BOT_EXTRA_BACKEND_DIR == []
    assert DEFAULTS["BOT_IDENTITY"] == {}


def test_sentry_levels_follow_the_log_level_unless_given() -> None:
    config = config_from_dict({"BOT_LOG_LEVEL": logging.DEBUG})
    assert config.SENTRY_LOGLEVEL == logging.DEBUG
    assert config.SENTRY_EVENTLEVEL == logging.DEBUG
    config = config_from_dict({"SENTRY_EVENTLEVEL": logging.ERROR})
    assert config.SENTRY_EVENTLEVEL == logging.ERROR


# --- validation -------------------------------------------------------------------------------


def test_a_complete_configuration_validates(tmp_path: Path) -> None:
    validate(valid_config(tmp_path))


def test_missing_admins_is_reported_with_errbots_text(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    del config.BOT_ADMINS
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert str(info.value) == "BOT_ADMINS missing from config.py."


def test_missing_backend_is_reported_unless_not_required(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    del config.BACKEND
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert str(info.value) == "The BACKEND configuration option is missing in config.py"
    validate(config, require_backend=False)


def test_missing_data_dir_setting_is_named(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    del config.BOT_DATA_DIR
    with pytest.raises(ConfigError, match=r"^BOT_DATA_DIR missing from config\.py\.$"):
        validate(config)


def test_nonexistent_data_dir_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as info:
        validate(valid_config(tmp_path, BOT_DATA_DIR=str(missing)))
    assert str(info.value) == f'The data directory "{missing}" for the bot does not exist.'


def test_data_dir_below_a_regular_file_does_not_exist(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    inside = blocker / "data"
    with pytest.raises(ConfigError) as info:
        validate(valid_config(tmp_path, BOT_DATA_DIR=str(inside)))
    assert str(info.value) == f'The data directory "{inside}" for the bot does not exist.'


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="is not a directory"):
        validate(valid_config(tmp_path, BOT_DATA_DIR=str(blocker)))


def _as_unprivileged_user(action: Callable[[], str]) -> str:
    """Run ``action`` in a forked child that dropped root to nobody; return what it returned.

    Root may write into any directory, so "not writable" can only be observed as someone else.
    No exec is needed: the child keeps the already imported modules.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, action().encode())
        except BaseException as exc:
            os.write(write_end, f"child failed: {exc!r}".encode())
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


@pytest.fixture
def read_only_data_dir() -> Iterator[str]:
    # Outside tmp_path: pytest's base temp directory is private to the user running pytest.
    base = tempfile.mkdtemp(prefix="errbot-ro-")
    os.chmod(base, 0o755)
    data = os.path.join(base, "data")
    os.mkdir(data, 0o555)
    os.chmod(data, 0o555)
    yield data
    os.chmod(data, 0o755)
    shutil.rmtree(base)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_read_only_data_dir_is_refused(tmp_path: Path, read_only_data_dir: str) -> None:
    config = valid_config(tmp_path, BOT_DATA_DIR=read_only_data_dir)

    def check() -> str:
        try:
            validate(config)
        except ConfigError as exc:
            return str(exc)
        return "accepted"

    outcome = _as_unprivileged_user(check) if os.geteuid() == 0 else check()
    assert outcome == (
        f'The data directory "{read_only_data_dir}" for the bot should be writable for the bot.'
    )


def test_root_may_use_a_read_only_directory(tmp_path: Path, read_only_data_dir: str) -> None:
    # The check follows the kernel's rules: root bypasses mode bits, so validation agrees.
    if os.geteuid() != 0:
        pytest.skip("only meaningful as root")
    validate(valid_config(tmp_path, BOT_DATA_DIR=read_only_data_dir))


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("BOT_PREFIX", 3, "BOT_PREFIX must be a string"),
        ("BOT_ASYNC_POOLSIZE", 0, "BOT_ASYNC_POOLSIZE must be a positive integer"),
        ("BOT_ASYNC_POOLSIZE", "10", "BOT_ASYNC_POOLSIZE must be a positive integer"),
        ("BOT_ASYNC_POOLSIZE", True, "BOT_ASYNC_POOLSIZE must be a positive integer"),
        ("BOT_ALT_PREFIXES", ("ok", 1), "BOT_ALT_PREFIXES must be a tuple or list of strings"),
        ("BOT_ALT_PREFIXES", 5, "BOT_ALT_PREFIXES must be a tuple or list of strings"),
        ("BOT_ADMINS", ("@a", None), "BOT_ADMINS must be a string or a tuple of strings"),
        ("BOT_IDENTITY", "me", "BOT_IDENTITY must be a dict"),
        ("MESSAGE_SIZE_LIMIT", -1, "MESSAGE_SIZE_LIMIT must be a positive integer or None"),
        ("CORE_PLUGINS", "Help", "CORE_PLUGINS must be None or a tuple of core plugin names"),
        ("CHATROOM_PRESENCE", (("#r",),), "CHATROOM_PRESENCE must be a tuple of room names"),
        ("BOT_LOG_LEVEL", "LOUD", "BOT_LOG_LEVEL must be a logging level"),
        ("STORAGE", "", "STORAGE must be the Name of a storage plugin"),
        ("BACKEND", 42, "BACKEND must be a string"),
    ],
)
def test_wrong_types_name_the_setting(
    tmp_path: Path, setting: str, value: object, expected: str
) -> None:
    config = valid_config(tmp_path)
    setattr(config, setting, value)
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert str(info.value).startswith(expected)


def test_accepted_shapes_validate(tmp_path: Path) -> None:
    validate(valid_config(
        tmp_path,
        BOT_ADMINS="@one",
        BOT_ALT_PREFIXES=["errbot"],
        CHATROOM_PRESENCE=("#a", ("#b", "secret")),
        BOT_LOG_LEVEL="debug",
        BOT_EXTRA_PLUGIN_DIR=[str(tmp_path), tmp_path],
        CORE_PLUGINS=(),
        MESSAGE_SIZE_LIMIT=500,
        BOT_PLUGIN_INDEXES=("https://example.com/r.json", "/local/index.json"),
    ))


def test_validate_works_without_defaults_applied(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    validate(SimpleNamespace(BACKEND="Text", BOT_ADMINS="@a", BOT_DATA_DIR=str(data)))


# --- loading config.py ------------------------------------------------------------------------


@pytest.fixture
def clean_imports() -> Iterator[None]:
    """load_config registers modules and sys.path entries, as Errbot does; undo it."""
    path = list(sys.path)
    modules = set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


@pytest.mark.usefixtures("clean_imports")
def test_default_config_is_config_py_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "config.py", 'BACKEND = "Text"\nBOT_ADMINS = ("@me",)\n')
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert config.BACKEND == "Text"
    assert config.__file__ == str(tmp_path / "config.py")


@pytest.mark.usefixtures("clean_imports")
def test_explicit_config_is_imported_by_basename_with_its_directory_on_sys_path(
    tmp_path: Path,
) -> None:
    write(tmp_path / "etc" / "helper_settings.py", "ADMINS = ('@helper',)\n")
    path = write(tmp_path / "etc" / "prod_bot.py", """\
        from helper_settings import ADMINS
        BOT_ADMINS = ADMINS
    """)
    config = load_config(str(path))
    assert config.__name__ == "prod_bot"
    assert config.BOT_ADMINS == ("@helper",)
    assert str(tmp_path / "etc") in sys.path
    # Plugins that do `import config`-style imports of the config module get the same object.
    import prod_bot  # type: ignore[import-not-found]

    assert prod_bot is config


@pytest.mark.usefixtures("clean_imports")
def test_a_directory_means_the_config_py_inside(tmp_path: Path) -> None:
    write(tmp_path / "bot" / "config.py", "BOT_PREFIX = '?'\n")
    assert load_config(tmp_path / "bot").BOT_PREFIX == "?"


@pytest.mark.usefixtures("clean_imports")
def test_each_load_reads_the_file_afresh(tmp_path: Path) -> None:
    path = write(tmp_path / "config.py", "VALUE = 1\n")
    assert load_config(path).VALUE == 1
    write(path, "VALUE = 2\n")
    assert load_config(path).VALUE == 2


def test_missing_config_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "absent.py"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert str(missing) in str(info.value)
    assert "I cannot find the config file" in str(info.value)


@pytest.mark.usefixtures("clean_imports")
def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "config.py", 'BACKEND = "Text"\nBOT_ADMINS = ("@me",\nBOT_PREFIX ==\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"config.py has a syntax error: {path}, line ")
    assert "config" not in sys.modules  # a failed load leaves no half-initialised module


@pytest.mark.usefixtures("clean_imports")
def test_runtime_error_names_file_line_and_exception(tmp_path: Path) -> None:
    path = write(tmp_path / "config.py", "import logging\n\nBOT_LOG_LEVEL = logging.VERBOSE\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"config.py failed to load: {path}, line 3: AttributeError:")
    assert "VERBOSE" in message
    assert "\n" not in message


@pytest.mark.usefixtures("clean_imports")
def test_error_in_a_helper_module_points_at_the_config_line(tmp_path: Path) -> None:
    write(tmp_path / "broken_helper.py", "raise RuntimeError('helper exploded')\n")
    path = write(tmp_path / "config.py", "X = 1\nimport broken_helper\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"config.py failed to load: {path}, line 2: RuntimeError")


# --- logging ----------------------------------------------------------------------------------


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def _ours(root: logging.Logger) -> list[logging.Handler]:
    return [h for h in root.handlers if getattr(h, "_errbot_owned", False)]


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_logging_level_console_and_file(tmp_path: Path, root_logger: logging.Logger) -> None:
    log_file = tmp_path / "errbot.log"
    stream = io.StringIO()
    config = config_from_dict({"BOT_LOG_LEVEL": logging.WARNING, "BOT_LOG_FILE": str(log_file)})
    setup_logging(config, stream=stream)
    assert root_logger.level == logging.WARNING
    logging.getLogger("errbot.test").info("quiet")
    logging.getLogger("errbot.test").warning("loud and clear")
    for handler in root_logger.handlers:
        handler.flush()
    assert "loud and clear" in stream.getvalue()
    assert "quiet" not in stream.getvalue()
    assert "\x1b[" not in stream.getvalue()  # not a terminal: no colour codes
    assert "loud and clear" in log_file.read_text()


def test_setup_logging_twice_does_not_duplicate_handlers(root_logger: logging.Logger) -> None:
    foreign = logging.NullHandler()
    root_logger.addHandler(foreign)
    stream = io.StringIO()
    config = config_from_dict({})
    setup_logging(config, stream=stream)
    setup_logging(config, stream=stream)
    assert len(_ours(root_logger)) == 1
    assert foreign in root_logger.handlers
    logging.getLogger("errbot.test").warning("once")
    assert stream.getvalue().count("once") == 1


def test_console_can_be_turned_off(root_logger: logging.Logger) -> None:
    setup_logging(config_from_dict({}), console=False)
    assert _ours(root_logger) == []


def test_colour_only_on_a_terminal(root_logger: logging.Logger) -> None:
    stream = FakeTty()
    setup_logging(config_from_dict({"TEXT_COLOR_THEME": "dark"}), stream=stream)
    logging.getLogger("errbot.test").error("red alert")
    output = stream.getvalue()
    assert "\x1b[" in output
    assert "red alert" in output


def test_custom_formatter_is_honoured(root_logger: logging.Logger) -> None:
    stream = FakeTty()
    formatter = logging.Formatter("CUSTOM|%(levelname)s|%(message)s")
    setup_logging(config_from_dict({"BOT_LOG_FORMATTER": formatter}), stream=stream)
    logging.getLogger("errbot.test").warning("hello")
    assert stream.getvalue() == "CUSTOM|WARNING|hello\n"


def test_unwritable_log_file_names_the_setting(tmp_path: Path, root_logger: logging.Logger) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = config_from_dict({"BOT_LOG_FILE": str(blocker / "errbot.log")})
    with pytest.raises(ConfigError, match="^BOT_LOG_FILE "):
        setup_logging(config, console=False)


def test_sentry_without_the_package_says_what_to_install(
    root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)  # makes the import fail
    config = config_from_dict({"BOT_LOG_SENTRY": True, "SENTRY_DSN": "https://k@example/1"})
    with pytest.raises(ConfigError) as info:
        setup_logging(config, console=False)
    assert "BOT_LOG_SENTRY" in str(info.value)
    assert "sentry-sdk" in str(info.value)


@pytest.mark.parametrize(
    ("controls", "message"),
    [
        ({"status": ("alice",)}, "ACCESS_CONTROLS['status'] must be a dict of rules"),
        ({"status": {"allowuser": ("alice",)}}, "ACCESS_CONTROLS['status'] has an unknown rule"),
        ({"status": {"allowmuc": "no"}}, "ACCESS_CONTROLS['status']['allowmuc'] must be True"),
        ({"status": {"denyusers": None}}, "['denyusers'] must be a pattern or a tuple"),
        ({42: {}}, "ACCESS_CONTROLS keys must be strings"),
    ],
)
def test_access_controls_of_the_wrong_shape(tmp_path, controls, message):
    from errbot.settings import ConfigError, config_from_dict, validate

    config = config_from_dict(
        {"BACKEND": "Text", "BOT_ADMINS": ("@a",), "BOT_DATA_DIR": str(tmp_path),
         "ACCESS_CONTROLS": controls}
    )
    with pytest.raises(ConfigError) as error:
        validate(config)
    assert message in str(error.value)


def test_access_controls_default_of_the_wrong_shape(tmp_path):
    from errbot.settings import ConfigError, config_from_dict, validate

    config = config_from_dict(
        {"BACKEND": "Text", "BOT_ADMINS": ("@a",), "BOT_DATA_DIR": str(tmp_path),
         "ACCESS_CONTROLS_DEFAULT": {"allowprivate": 1}}
    )
    with pytest.raises(ConfigError, match=r"ACCESS_CONTROLS_DEFAULT\['allowprivate'\]"):
        validate(config)


def test_valid_access_controls_pass(tmp_path):
    from errbot.settings import config_from_dict, validate

    validate(config_from_dict(
        {"BACKEND": "Text", "BOT_ADMINS": ("@a",), "BOT_DATA_DIR": str(tmp_path),
         "ACCESS_CONTROLS_DEFAULT": {"allowmuc": False},
         "ACCESS_CONTROLS": {"Utils:*": {"allowusers": "bob", "allowargs": ("a*",)},
                             "status": {"denyusers": [12345], "allowprivate": True}}}
    ))
