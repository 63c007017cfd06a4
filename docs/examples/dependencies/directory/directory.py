from errbot import BotPlugin

PEOPLE = {"ada": "Ada Lovelace", "alan": "Alan Turing"}


class Directory(BotPlugin):
    """A people directory (no commands: an API for other plugins)."""

    def full_name(self, nick):
        return PEOPLE.get(nick, nick)
