"""Logging set-up from the configuration: console, optional log file, optional Sentry.

`logging` is imported inside the functions so that importing this module stays free for the
fast CLI paths (`errbot -v`, `errbot --init`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TextIO

from errbot.settings import ConfigError

if TYPE_CHECKING:
    import logging

    from errbot.settings import Config

LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)-25s %(message)s"

# Attribute set on the handlers this module installs, so a second call replaces them instead
# of adding duplicates, and handlers installed by others (pytest's caplog...) are left alone.
_OWNED = "_errbot_owned"

_RESET = "\x1b[0m"
# Per-level SGR codes. Light terminals need darker tones for the message to stay readable.
_THEMES: dict[str, dict[int, str]] = {
    "light": {10: "\x1b[36m", 20: "\x1b[32m", 30: "\x1b[33m", 40: "\x1b[31m", 50: "\x1b[1;31m"},
    "dark": {10: "\x1b[96m", 20: "\x1b[92m", 30: "\x1b[93m", 40: "\x1b[91m", 50: "\x1b[1;91m"},
}

_sentry_started = False


def _colour_formatter(theme: dict[int, str]) -> logging.Formatter:
    import logging

    class ColourFormatter(logging.Formatter):
        """Colours the level name only, so grepping a captured console still works."""

        def format(self, record: logging.LogRecord) -> str:
            colour = theme.get(record.levelno - record.levelno % 10, "")
            original = record.levelname
            record.levelname = f"{colour}{original:<8}{_RESET}" if colour else original
            try:
                return super().format(record)
            finally:
                record.levelname = original

    return ColourFormatter(LOG_FORMAT)


def _is_tty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def _console_formatter(config: Config, stream: TextIO) -> logging.Formatter:
    import logging

    custom = getattr(config, "BOT_LOG_FORMATTER", None)
    if custom is not None:
        return custom
    theme = _THEMES.get(str(getattr(config, "TEXT_COLOR_THEME", "light")))
    if theme is not None and _is_tty(stream):
        return _colour_formatter(theme)
    return logging.Formatter(LOG_FORMAT)


def _level(value: Any) -> int | str:
    return value.upper() if isinstance(value, str) else int(value)


def setup_logging(config: Config, *, console: bool = True, stream: TextIO | None = None) -> None:
    """Configure the root logger from BOT_LOG_LEVEL, BOT_LOG_FILE and BOT_LOG_SENTRY.

    Console logs go to ``stream`` (default stderr, keeping stdout for the Text backend's
    conversation). Calling it again replaces the handlers it installed before.
    """
    import logging

    root = logging.getLogger()
    try:
        root.setLevel(_level(getattr(config, "BOT_LOG_LEVEL", logging.INFO)))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"BOT_LOG_LEVEL must be a logging level: {exc}") from exc

    for handler in list(root.handlers):
        if getattr(handler, _OWNED, False):
            root.removeHandler(handler)
            handler.close()

    if console:
        target = stream if stream is not None else sys.stderr
        console_handler = logging.StreamHandler(target)
        console_handler.setFormatter(_console_formatter(config, target))
        setattr(console_handler, _OWNED, True)
        root.addHandler(console_handler)

    log_file = getattr(config, "BOT_LOG_FILE", None)
    if log_file:
        try:
            file_handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"BOT_LOG_FILE {log_file} cannot be opened: {exc.strerror}.") from exc
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        setattr(file_handler, _OWNED, True)
        root.addHandler(file_handler)

    if getattr(config, "BOT_LOG_SENTRY", False):
        _setup_sentry(config)


def _setup_sentry(config: Config) -> None:
    global _sentry_started
    if _sentry_started:
        return
    import logging

    try:
        import sentry_sdk
        from sentry_sdk.integrations.logging import LoggingIntegration
    except ImportError as exc:
        raise ConfigError(
            "BOT_LOG_SENTRY is True but the sentry-sdk package is not installed "
            "(pip install sentry-sdk)."
        ) from exc

    level = getattr(config, "BOT_LOG_LEVEL", logging.INFO)
    integrations: list[Any] = [
        LoggingIntegration(
            level=_level(getattr(config, "SENTRY_LOGLEVEL", None) or level),
            event_level=_level(getattr(config, "SENTRY_EVENTLEVEL", None) or level),
        )
    ]
    if getattr(config, "BOT_LOG_SENTRY_FLASK", False):
        try:
            from sentry_sdk.integrations.flask import FlaskIntegration

            integrations.append(FlaskIntegration())
        except Exception:  # sentry raises DidNotEnable, not ImportError, without Flask
            logging.getLogger(__name__).warning(
                "BOT_LOG_SENTRY_FLASK is set but Flask is not installed; ignoring it."
            )
    if getattr(config, "SENTRY_TRANSPORT", None):
        logging.getLogger(__name__).warning(
            "SENTRY_TRANSPORT is deprecated and ignored; use SENTRY_OPTIONS instead."
        )
    options = dict(getattr(config, "SENTRY_OPTIONS", None) or {})
    sentry_sdk.init(dsn=getattr(config, "SENTRY_DSN", "") or None, integrations=integrations,
                    **options)
    _sentry_started = True
