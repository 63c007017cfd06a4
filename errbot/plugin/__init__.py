"""Plugin-side machinery that is not part of the `BotPlugin` class itself (pollers, timers)."""
