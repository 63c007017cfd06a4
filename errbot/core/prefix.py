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

    __slots__ = ("prefix", "alt_prefixes", "separators", "caseless", "optional_in_private")

    def __init__(self, config: Any) -> None:
        self.prefix: str = config.BOT_PREFIX
        alts = tuple(getattr(config, "BOT_ALT_PREFIXES", ()) or ())
        self.caseless: bool = bool(getattr(config, "BOT_ALT_PREFIX_CASEINSENSITIVE", False))
        if self.caseless:
            alts = tuple(a.lower() for a in alts)
        # Longest first, so "errbot2" wins over "errbot".
        self.alt_prefixes: tuple[str, ...] = tuple(sorted(alts, key=len, reverse=True))
        self.separators: tuple[str, ...] = tuple(
            getattr(config, "BOT_ALT_PREFIX_SEPARATORS", ()) or ()
        )
        self.optional_in_private: bool = bool(
            getattr(config, "BOT_PREFIX_OPTIONAL_ON_CHAT", False)
        )

    def parse(self, body: str, is_direct: bool) -> CommandText:
        text = body
        prefixed = False
        candidate = False
        if self.alt_prefixes:
            probe = text.lower() if self.caseless else text
            for alt in self.alt_prefixes:
                if probe.startswith(alt):
                    text = text[len(alt) :]
                    for separator in self.separators:
                        if text.startswith(separator):
                            text = text[len(separator) :]
                    prefixed = True
                    break
        if not prefixed and is_direct and self.optional_in_private:
            candidate = True
        if text.startswith(self.prefix):
            text = text[len(self.prefix) :]
            prefixed = True
        return CommandText(text.strip(), prefixed, prefixed or candidate)
