"""Recognising a command candidate: BOT_PREFIX, alternate prefixes and separators."""

from __future__ import annotations

from typing import Any, NamedTuple


class CommandText(NamedTuple):
    """The text left once prefixes are removed, and how the message addressed the bot."""

    text: str
    prefixed: bool
    candidate: bool  # may name a regular command (prefixed, or a direct message without one)


class PrefixParser:
    """Strips the bot's prefixes from a message body, per section 6.1 of the contract."""

    __slots__ = ("_config", "_alts_source", "_alts")

    def __init__(self, config: Any) -> None:
        # The settings are read at every message, as in Errbot: plugin tests change
        # bot_config.BOT_PREFIX and friends while the bot runs.
        self._config = config
        self._alts_source: Any = None
        self._alts: tuple[str, ...] = ()

    @property
    def prefix(self) -> str:
        return self._config.BOT_PREFIX

    @property
    def caseless(self) -> bool:
        return bool(getattr(self._config, "BOT_ALT_PREFIX_CASEINSENSITIVE", False))

    @property
    def separators(self) -> tuple[str, ...]:
        return tuple(getattr(self._config, "BOT_ALT_PREFIX_SEPARATORS", ()) or ())

    def _alt_prefixes(self, configured: Any) -> tuple[str, ...]:
        if not configured:
            return ()
        source = (configured, self.caseless)
        if source != self._alts_source:
            alts = tuple(configured)
            if source[1]:
                alts = tuple(a.lower() for a in alts)
            self._alts = tuple(sorted(alts, key=len, reverse=True))
            self._alts_source = source
        return self._alts

    def parse(self, body: str, is_direct: bool) -> CommandText:
        # Called for every message: the settings are read straight from the configuration
        # (no property calls), and most bots have no alternate prefix at all.
        config = self._config
        text = body
        prefixed = False
        candidate = False
        configured = getattr(config, "BOT_ALT_PREFIXES", ())
        if configured:
            alt_prefixes = self._alt_prefixes(configured)
            probe = text.lower() if self.caseless else text
            for alt in alt_prefixes:
                if probe.startswith(alt):
                    text = text[len(alt) :]
                    for separator in self.separators:
                        if text.startswith(separator):
                            text = text[len(separator) :]
                    prefixed = True
                    break
        if not prefixed and is_direct and getattr(config, "BOT_PREFIX_OPTIONAL_ON_CHAT", False):
            candidate = True
        prefix = config.BOT_PREFIX
        if text.startswith(prefix):
            text = text[len(prefix) :]
            prefixed = True
        return _new_command_text(CommandText, (text.strip(), prefixed, prefixed or candidate))


# NamedTuple's generated __new__ is a Python function; tuple.__new__ builds the same object.
_new_command_text = tuple.__new__
