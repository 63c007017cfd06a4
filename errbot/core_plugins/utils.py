from __future__ import annotations

from collections import deque
from typing import Any

from errbot import BotPlugin, botcmd
from errbot.backends.base import Message, RoomOccupant

RENDER_TEST = """\
# Markdown rendering test

## Headings, **bold**, *italic* and `code`

- a list item
- another one with a [link](https://errbot.io)

1. first
2. second

| Column A | Column B |
|----------|----------|
| one      | two      |
| three    | four     |

```
a block of code
    indented
```

> a quotation

---
The end.
"""


class Utils(BotPlugin):
    """Everyday utilities: echo, whoami, command history and the bot's log."""

    @botcmd
    def echo(self, _: Message, args: str) -> str:
        """Reply with the text you give it."""
        return args

    @botcmd
    def whoami(self, msg: Message, args: str) -> str:
        """Show what the bot knows about you (or about the identifier you give)."""
        who = self.build_identifier(args) if args else msg.frm
        lines = ["| key      | value", "| -------- | --------"]
        for key in ("person", "nick", "fullname", "client", "email"):
            lines.append(f"| {key} | `{getattr(who, key, None)}`")
        text = "\n".join(lines)
        if isinstance(who, RoomOccupant):
            text += f"\n\n- `room` is {who.room}"
        text += f"\n\n- string representation is '{who}'\n- class is '{type(who).__name__}'\n"
        if self.bot_config.GROUPCHAT_NICK_PREFIXED:
            text = "\n\n" + text
        return text

    @botcmd(historize=False)
    def history(self, msg: Message, args: str) -> str:
        """Your last commands; re-run one with !<number>, or the last with !!."""
        entries = self._bot.history.entries(msg.frm.person)
        count = len(entries)
        prefix = self._bot.prefix
        return "\n".join(
            f"{count - i:2d}:{prefix}{cmd} {args}" for i, (cmd, args) in enumerate(entries)
        )

    @botcmd(admin_only=True)
    def log_tail(self, _: Message, args: str) -> str:
        """Show the last lines of the bot's log (default 40): !log tail [n]."""
        path = self.bot_config.BOT_LOG_FILE
        if not path:
            return "No log is configured, please define BOT_LOG_FILE in config.py"
        try:
            count = int(args) if args.strip() else 40
        except ValueError:
            return f"{args} is not a number of lines."
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines = deque(handle, maxlen=max(count, 0))
        except OSError as exc:
            return f"Cannot read the log file {path}: {exc}"
        return "```\n" + "".join(lines) + "\n```"

    @botcmd
    def render_test(self, _: Message, args: Any) -> str:
        """Show how this chat renders Markdown (headings, lists, tables, code)."""
        return RENDER_TEST
