import re

from errbot import BotPlugin, botcmd, botmatch, re_botcmd


class Matchers(BotPlugin):
    """Regular-expression commands."""

    # Needs the prefix: "!cookie please" matches, "cookie please" does not.
    @re_botcmd(pattern=r"^(?:give me )?(a )?cookie", flags=re.IGNORECASE)
    def cookie(self, msg, match):
        """Hands out cookies."""
        return "Here's a cookie for you."

    # Without the prefix: any message containing "thank you" matches.
    @re_botcmd(pattern=r"thank(s| you)", prefixed=False, flags=re.IGNORECASE)
    def welcome(self, msg, match):
        """Answers thanks."""
        return f"You're welcome (you said '{match.group(0)}')."

    # botmatch is a shorter spelling of a prefix-less re_botcmd.
    @botmatch(r"\b(\d+) ?(?:°|deg) ?F\b")
    def fahrenheit(self, msg, match):
        """Converts Fahrenheit to Celsius."""
        celsius = (int(match.group(1)) - 32) * 5 / 9
        return f"{match.group(1)}°F is {celsius:.1f}°C"

    # matchall: the handler gets the list of every match in the message.
    @botmatch(r"#(\w+)", matchall=True, re_cmd_name_help="#tag")
    def hashtags(self, msg, matches):
        """Collects hashtags."""
        return "tags: " + ", ".join(m.group(1) for m in matches)

    @botcmd
    def cookies(self, msg, args):
        """A regular command: it wins over the regex commands above."""
        return "The cookie jar is full."
