"""The `config.py` settings: their defaults, normalisation, validation and loading.

A configuration is any object with settings as attributes: the imported `config.py` module in
production, a `SimpleNamespace` in tests. Everything here mutates or inspects that object; nothing
is cached, so the bot, the CLI and the test harness all see the same values.
"""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Mapping
from types import ModuleType, SimpleNamespace
from typing import Any

# logging.INFO, spelled out so that importing this module does not import logging.
_INFO = 20

Config = ModuleType | SimpleNamespace

DEFAULTS: dict[str, Any] = {
    # Backend and storage
    "BACKEND": None,
    "STORAGE": "SQLite",
    "STORAGE_CONFIG": {},
    "BOT_EXTRA_STORAGE_PLUGINS_DIR": None,
    "BOT_EXTRA_PLUGIN_DIR": None,
    "BOT_EXTRA_BACKEND_DIR": [],
    "BOT_PLUGIN_INDEXES": "https://errbot.io/repos.json",
    "CORE_PLUGINS": None,
    "PLUGINS_CALLBACK_ORDER": (None,),
    # Plugin configurations by plugin Name, so deployments need no "!plugin config" step; a
    # configuration set from chat overrides its entry here.
    "PLUGINS_CONFIG": {},
    "AUTOINSTALL_DEPS": True,
    # Read once a day by the VersionChecker core plugin; None or "" turns the check off.
    "VERSION_CHECK_URL": "https://errbot.io/versions.json",
    # Logging
    "BOT_LOG_FORMATTER": None,
    "BOT_LOG_FILE": None,
    "BOT_LOG_LEVEL": _INFO,
    "BOT_LOG_SENTRY": False,
    "BOT_LOG_SENTRY_FLASK": False,
    "SENTRY_DSN": "",
    "SENTRY_LOGLEVEL": None,  # None: follows BOT_LOG_LEVEL (see apply_defaults)
    "SENTRY_EVENTLEVEL": None,  # None: follows BOT_LOG_LEVEL
    "SENTRY_OPTIONS": {},
    "SENTRY_TRANSPORT": None,
    "TEXT_COLOR_THEME": "light",
    # Execution
    "BOT_ASYNC": True,
    "BOT_ASYNC_POOLSIZE": 10,
    # Identity and people
    "BOT_IDENTITY": {},
    "CHATROOM_PRESENCE": (),
    "CHATROOM_FN": "Errbot",
    # Command parsing
    "BOT_PREFIX": "!",
    "BOT_PREFIX_OPTIONAL_ON_CHAT": False,
    "BOT_ALT_PREFIXES": (),
    "BOT_ALT_PREFIX_SEPARATORS": (),
    "BOT_ALT_PREFIX_CASEINSENSITIVE": False,
    # Access control
    "ACCESS_CONTROLS_DEFAULT": {},
    "ACCESS_CONTROLS": {},
    "FLOW_IDLE_TIMEOUT": 3600,
    "HIDE_RESTRICTED_COMMANDS": False,
    "HIDE_RESTRICTED_ACCESS": False,
    # Replies
    "DIVERT_TO_PRIVATE": (),
    "DIVERT_TO_THREAD": (),
    # Both relays are read as mappings (room -> people), so an empty dict rather than
    # Errbot's bootstrap () keeps every consumer on one type.
    "CHATROOM_RELAY": {},
    "REVERSE_CHATROOM_RELAY": {},
    "MESSAGE_SIZE_LIMIT": None,
    "GROUPCHAT_NICK_PREFIXED": False,
    "SUPPRESS_CMD_NOT_FOUND": False,
    # Text backend
    "TEXT_DEMO_MODE": True,
    "COMPACT_OUTPUT": True,
    # Graphic backend (errbot -G, docs/graphic_console.md): 0 means any free port
    "GRAPHIC_PORT": 3142,
    "GRAPHIC_OPEN_BROWSER": True,
    # IRC backend
    "IRC_CHANNEL_RATE": 1,
    "IRC_PRIVATE_RATE": 1,
    "IRC_RECONNECT_ON_KICK": 5,
    "IRC_RECONNECT_ON_DISCONNECT": 5,
    "IRC_ACL_PATTERN": "{nick}!{user}@{host}",
    # a CA file (PEM) trusted for the server's TLS certificate, e.g. a private CA
    "IRC_CA_CERT_FILE": None,
    # join a channel the bot is invited to (callback_room_joined gets invited_by)
    "IRC_JOIN_ON_INVITE": True,
    # XMPP backend
    "XMPP_CA_CERT_FILE": None,
    "XMPP_FEATURE_MECHANISMS": {},
    "XMPP_KEEPALIVE_INTERVAL": None,
    "XMPP_USE_IPV6": False,
    "XMPP_XHTML_IM": False,
    "XMPP_SSL_VERSION": None,
    "XMPP_DIRECT_TLS": False,
    # Matrix backend (docs/backends/matrix.md): which invitations to accept; None: direct
    # chats from anyone and rooms from BOT_ADMINS, True: all, False: none
    "MATRIX_AUTO_JOIN_ON_INVITE": None,
    # Mattermost backend (docs/backends/mattermost.md): also read posts of incoming webhooks
    "MATTERMOST_ANSWER_WEBHOOKS": False,
    # Telegram backend: the Bot API server (a self-hosted telegram-bot-api, or a test fake)
    "TELEGRAM_API_URL": "https://api.telegram.org",
    # Discord backend (docs/backends/discord.md): server (id or name) for "#channel" and
    # username lookups; privileged intents, also to enable in the Developer Portal
    "DISCORD_GUILD": None,
    "DISCORD_MEMBERS_INTENT": True,
    "DISCORD_PRESENCE_INTENT": False,
    # Slack backend (docs/backends/slack.md): Web API base URL (tests, proxies), Events API path
    "SLACK_API_URL": None,
    "SLACK_EVENTS_PATH": "/slack/events",
}
"""Every optional setting with the value used when `config.py` leaves it out.

BOT_ADMINS and BOT_DATA_DIR have no default: a bot without them cannot run. BACKEND's None means
"not set" (`errbot -T` supplies "Text"). BOT_ADMINS_NOTIFICATIONS defaults to BOT_ADMINS.
"""


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the setting or file and the problem."""


def _as_tuple(value: Any) -> Any:
    """A bare string becomes a 1-tuple, a list a tuple; anything else is left for validate()."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(value)
    return value


def apply_defaults(config: Config) -> None:
    """Fill in every missing setting and normalise the ones Errbot accepts in several shapes.

    Idempotent. Never raises for bad values: reporting them is validate()'s job.
    """
    for name, default in DEFAULTS.items():
        if not hasattr(config, name):
            # A private copy, so mutating one bot's dict setting cannot leak into another's.
            setattr(config, name, copy.deepcopy(default))

    if hasattr(config, "BOT_ADMINS"):
        config.BOT_ADMINS = _as_tuple(config.BOT_ADMINS)
    if not hasattr(config, "BOT_ADMINS_NOTIFICATIONS"):
        config.BOT_ADMINS_NOTIFICATIONS = getattr(config, "BOT_ADMINS", ())
    config.BOT_ADMINS_NOTIFICATIONS = _as_tuple(config.BOT_ADMINS_NOTIFICATIONS)

    for name in ("BOT_ALT_PREFIXES", "BOT_ALT_PREFIX_SEPARATORS"):
        setattr(config, name, _as_tuple(getattr(config, name)))

    order = config.PLUGINS_CALLBACK_ORDER
    if isinstance(order, list | tuple):
        order = tuple(order)
        if None not in order:
            # None stands for "every plugin not named"; without it unnamed plugins never get
            # their callbacks, which is never what a user listing a few names means.
            order += (None,)
        config.PLUGINS_CALLBACK_ORDER = order

    for name in ("SENTRY_LOGLEVEL", "SENTRY_EVENTLEVEL"):
        if getattr(config, name) is None:
            setattr(config, name, config.BOT_LOG_LEVEL)


def config_from_dict(values: Mapping[str, Any]) -> SimpleNamespace:
    """A configuration made of ``values`` with every default filled in (tests, harnesses)."""
    config = SimpleNamespace(**dict(values))
    apply_defaults(config)
    return config


# --- validation -------------------------------------------------------------------------------

_MISSING = object()


def _is_str_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def _is_path_or_paths(value: Any) -> bool:
    if isinstance(value, str | os.PathLike):
        return True
    return isinstance(value, list | tuple) and all(isinstance(v, str | os.PathLike) for v in value)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_log_level(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and value.upper() in {
        "CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NOTSET",
    }


def _is_room_list(value: Any) -> bool:
    """CHATROOM_PRESENCE entries are room names or (room, password) pairs."""
    if not isinstance(value, list | tuple):
        return False
    for entry in value:
        if isinstance(entry, str):
            continue
        if isinstance(entry, list | tuple) and len(entry) == 2 and isinstance(entry[0], str):
            continue
        return False
    return True


# (setting, check, what it must be). None values are allowed where the default is None.
_TYPE_RULES: tuple[tuple[str, Any, str], ...] = (
    ("BOT_PREFIX", lambda v: isinstance(v, str), "a string"),
    ("BOT_ALT_PREFIXES", _is_str_sequence, "a tuple or list of strings"),
    ("BOT_ALT_PREFIX_SEPARATORS", _is_str_sequence, "a tuple or list of strings"),
    ("BOT_ASYNC_POOLSIZE", _is_positive_int, "a positive integer"),
    ("BOT_ADMINS", _is_str_sequence, "a string or a tuple of strings"),
    ("BOT_ADMINS_NOTIFICATIONS", _is_str_sequence, "a string or a tuple of strings"),
    ("BOT_IDENTITY", lambda v: isinstance(v, Mapping), "a dict"),
    ("BOT_LOG_LEVEL", _is_log_level, "a logging level such as logging.INFO"),
    ("BOT_LOG_FILE", lambda v: v is None or isinstance(v, str | os.PathLike), "a path or None"),
    ("BOT_EXTRA_PLUGIN_DIR", lambda v: v is None or _is_path_or_paths(v),
     "a directory, a list of directories or None"),
    ("BOT_EXTRA_BACKEND_DIR", lambda v: v is None or _is_path_or_paths(v),
     "a directory or a list of directories"),
    ("BOT_EXTRA_STORAGE_PLUGINS_DIR", lambda v: v is None or _is_path_or_paths(v),
     "a directory, a list of directories or None"),
    ("BOT_PLUGIN_INDEXES", lambda v: isinstance(v, str) or _is_str_sequence(v),
     "a URL or path, or a tuple of them"),
    ("VERSION_CHECK_URL", lambda v: v is None or isinstance(v, str), "a URL, or None"),
    ("STORAGE", lambda v: isinstance(v, str) and v != "", "the Name of a storage plugin"),
    ("STORAGE_CONFIG", lambda v: isinstance(v, Mapping), "a dict"),
    ("CORE_PLUGINS", lambda v: v is None or _is_str_sequence(v),
     "None or a tuple of core plugin names"),
    ("PLUGINS_CALLBACK_ORDER",
     lambda v: isinstance(v, list | tuple) and all(x is None or isinstance(x, str) for x in v),
     "a tuple of plugin names and None"),
    ("CHATROOM_PRESENCE", _is_room_list, "a tuple of room names or (room, password) pairs"),
    ("CHATROOM_FN", lambda v: isinstance(v, str), "a string"),
    ("ACCESS_CONTROLS", lambda v: isinstance(v, Mapping), "a dict"),
    ("ACCESS_CONTROLS_DEFAULT", lambda v: isinstance(v, Mapping), "a dict"),
    ("DIVERT_TO_PRIVATE", _is_str_sequence, "a tuple of command names"),
    ("DIVERT_TO_THREAD", _is_str_sequence, "a tuple of command names"),
    ("MESSAGE_SIZE_LIMIT", lambda v: v is None or _is_positive_int(v),
     "a positive integer or None"),
    ("TEXT_COLOR_THEME", lambda v: isinstance(v, str), "a string such as \"light\" or \"dark\""),
)


def _check_data_dir(config: Config) -> None:
    data_dir = getattr(config, "BOT_DATA_DIR", _MISSING)
    if data_dir is _MISSING or data_dir is None:
        raise ConfigError("BOT_DATA_DIR missing from config.py.")
    if not isinstance(data_dir, str | os.PathLike):
        raise ConfigError(f"BOT_DATA_DIR must be a path, not {type(data_dir).__name__}.")
    if not os.path.exists(data_dir):
        raise ConfigError(f'The data directory "{data_dir}" for the bot does not exist.')
    if not os.path.isdir(data_dir):
        raise ConfigError(f'The data directory "{data_dir}" for the bot is not a directory.')
    # Creating files needs write and search permission on the directory. effective_ids makes a
    # setuid/setgid launch judge by the identity that will actually write.
    effective = os.access in os.supports_effective_ids
    if not os.access(data_dir, os.W_OK | os.X_OK, effective_ids=effective):
        raise ConfigError(
            f'The data directory "{data_dir}" for the bot should be writable for the bot.'
        )


ACL_RULES = {
    "allowusers": "patterns",
    "denyusers": "patterns",
    "allowrooms": "patterns",
    "denyrooms": "patterns",
    "allowargs": "patterns",
    "denyargs": "patterns",
    "allowprivate": "bool",
    "allowmuc": "bool",
}


def _check_acl_rules(where: str, rules: Any) -> None:
    if not isinstance(rules, Mapping):
        raise ConfigError(
            f"{where} must be a dict of rules such as {{'allowusers': ('alice',)}}, "
            f"not {rules!r}."
        )
    for rule, value in rules.items():
        kind = ACL_RULES.get(rule)
        if kind is None:
            raise ConfigError(
                f"{where} has an unknown rule {rule!r}; known rules: {', '.join(ACL_RULES)}."
            )
        if kind == "bool" and not isinstance(value, bool):
            raise ConfigError(f"{where}[{rule!r}] must be True or False, not {value!r}.")
        if kind == "patterns" and not (
            isinstance(value, str | int) or isinstance(value, list | tuple | set | frozenset)
        ):
            raise ConfigError(
                f"{where}[{rule!r}] must be a pattern or a tuple of patterns, not {value!r}."
            )


def _check_access_controls(config: Config) -> None:
    default = getattr(config, "ACCESS_CONTROLS_DEFAULT", None)
    if default:
        _check_acl_rules("ACCESS_CONTROLS_DEFAULT", default)
    for key, rules in (getattr(config, "ACCESS_CONTROLS", None) or {}).items():
        if not isinstance(key, str):
            raise ConfigError(
                f"ACCESS_CONTROLS keys must be strings like 'Plugin:command', not {key!r}."
            )
        _check_acl_rules(f"ACCESS_CONTROLS[{key!r}]", rules)


def _check_plugins_config(config: Config) -> None:
    value = getattr(config, "PLUGINS_CONFIG", None)
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise ConfigError(
            "PLUGINS_CONFIG must be a dict of plugin names to configurations such as "
            f"{{'Webserver': {{'HOST': '0.0.0.0', 'PORT': 3141}}}}, not {type(value).__name__}."
        )
    for key in value:
        if not isinstance(key, str) or not key:
            raise ConfigError(
                f"PLUGINS_CONFIG keys must be plugin names (the Name of their .plug file), "
                f"not {key!r}."
            )


def validate(config: Config, *, require_backend: bool = True) -> None:
    """Raise ConfigError for the first setting that makes the configuration unusable.

    Works with or without apply_defaults() having run: absent optional settings are skipped.
    """
    if require_backend:
        backend = getattr(config, "BACKEND", None)
        if backend is None or backend == "":
            raise ConfigError("The BACKEND configuration option is missing in config.py")
        if not isinstance(backend, str):
            raise ConfigError(
                f"BACKEND must be a string naming a backend, not {type(backend).__name__}."
            )
    if not hasattr(config, "BOT_ADMINS"):
        raise ConfigError("BOT_ADMINS missing from config.py.")
    for name, check, expected in _TYPE_RULES:
        value = getattr(config, name, _MISSING)
        if value is _MISSING:
            continue
        if name in ("BOT_ADMINS", "BOT_ADMINS_NOTIFICATIONS", "BOT_ALT_PREFIXES",
                    "BOT_ALT_PREFIX_SEPARATORS"):
            value = _as_tuple(value)
        if not check(value):
            raise ConfigError(f"{name} must be {expected}, not {value!r}.")
    _check_access_controls(config)
    _check_plugins_config(config)
    _check_data_dir(config)


# --- loading ----------------------------------------------------------------------------------


def _config_file(path: str | os.PathLike[str] | None) -> str:
    if path is None:
        return os.path.join(os.getcwd(), "config.py")
    file = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if os.path.isdir(file):
        file = os.path.join(file, "config.py")
    return file


def _error_location(exc: BaseException, file: str) -> tuple[str, int | None]:
    """The innermost traceback frame in the config file, else the innermost frame at all."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    same = os.path.normcase(file)
    in_config = [f for f in frames if os.path.normcase(f.filename) == same]
    chosen = in_config[-1] if in_config else (frames[-1] if frames else None)
    if chosen is None:
        return file, None
    return chosen.filename, chosen.lineno


def load_config(path: str | os.PathLike[str] | None = None) -> ModuleType:
    """Import the configuration module and return it (defaults are not applied here).

    Without a path it is ``./config.py``. As in Errbot, the file's directory goes on sys.path
    and the module is registered under its basename, so plugins doing ``import config`` and
    helper modules next to config.py keep working.
    """
    file = _config_file(path)
    basename = os.path.basename(file)
    if not os.path.isfile(file):
        raise ConfigError(
            f'I cannot find the config file {file} (create one with "errbot --init").'
        )
    directory = os.path.dirname(file)
    if directory not in sys.path:
        sys.path.insert(0, directory)

    module_name = os.path.splitext(basename)[0]
    # An explicit loader, so a config file without the .py suffix loads too.
    loader = importlib.machinery.SourceFileLoader(module_name, file)
    spec = importlib.util.spec_from_file_location(module_name, file, loader=loader)
    if spec is None:
        raise ConfigError(f"I cannot import the config file {file}.")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        loader.exec_module(module)
    except SyntaxError as exc:
        _restore_module(module_name, previous)
        where = f"{exc.filename or file}, line {exc.lineno}"
        raise ConfigError(f"{basename} has a syntax error: {where}: {exc.msg}") from exc
    except (Exception, SystemExit) as exc:
        _restore_module(module_name, previous)
        error_file, line = _error_location(exc, file)
        where = f"{error_file}, line {line}" if line is not None else error_file
        detail = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        raise ConfigError(f"{basename} failed to load: {where}: {detail}") from exc
    return module


def _restore_module(name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous
