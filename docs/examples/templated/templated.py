from errbot import BotPlugin, CommandError, botcmd

FORECASTS = {
    "paris": {"sky": "cloudy", "temperature": 14, "warnings": []},
    "oslo": {
        "sky": "snow",
        "temperature": -3,
        "warnings": [{"name": "ice", "level": "orange"}, {"name": "wind", "level": "yellow"}],
    },
}


class Weather(BotPlugin):
    """Weather reports rendered with templates."""

    @botcmd(template="forecast")
    def forecast(self, msg, args):
        """The forecast for a city: !forecast <city>"""
        city = args.strip().lower()
        if city not in FORECASTS:
            raise CommandError({"city": args, "known": sorted(FORECASTS)}, template="unknown_city")
        return {"city": city.title(), **FORECASTS[city]}

    @botcmd
    def forecast_dm(self, msg, args):
        """Send the Paris forecast to you as a direct message."""
        self.send_templated(msg.frm, "forecast", {"city": "Paris", **FORECASTS["paris"]})

    @botcmd(template="forecast")
    def forecast_text(self, msg, args):
        """With a template, only dict results are rendered; a string is sent as is."""
        return "No forecast today."

    @botcmd(template="unknown_city")
    def escaped(self, msg, args):
        """Values are HTML-escaped by the template engine, then unescaped for chat."""
        return {"city": "<b>Atlantis</b> & co", "known": []}
