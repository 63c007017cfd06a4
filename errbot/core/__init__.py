"""The core: message pipeline, command registry, runtime and the `ErrBot` facade.

`from errbot.core import ErrBot` is how third-party backends import the bot class. It is
resolved lazily so that importing a small core module does not pull in the whole bot.
"""

from typing import Any

__all__ = ["ErrBot"]


def __getattr__(name: str) -> Any:
    if name == "ErrBot":
        from errbot.core.bot import ErrBot

        return ErrBot
    raise AttributeError(f"module 'errbot.core' has no attribute {name!r}")
