from errbot import BotPlugin, botcmd


class Watcher(BotPlugin):
    """Reacts to what happens around the bot."""

    # -- callbacks ------------------------------------------------------------------
    def callback_message(self, message):
        # Every incoming message, commands included (after the command was dispatched).
        if "coffee" in message.body:
            self.send(message.frm, "Did someone say coffee?")
        if "audit" in message.body:
            self.send(message.frm, "Watcher saw it")

    def callback_mention(self, message, mentioned_people):
        names = ", ".join(person.person for person in mentioned_people)
        self.send(message.frm, f"You mentioned {names}")

    def callback_presence(self, presence):
        self.send(presence.identifier, f"{presence.identifier} is now {presence.status}")

    def callback_room_joined(self, room, identifier=None, invited_by=None):
        if identifier == self.bot_identifier:
            self.send(room, f"Hello {room}!")

    # -- sending --------------------------------------------------------------------
    @botcmd
    def tell(self, msg, args):
        """Send a direct message: !tell <person> <text>"""
        person, text = args.split(" ", 1)
        self.send(self.build_identifier(person), text)
        return f"told {person}"

    @botcmd
    def announce(self, msg, args):
        """Post to every room the bot is in."""
        for room in self.rooms():
            self.send(room, args)

    @botcmd
    def status_card(self, msg, args):
        """Reply with a card (rendered as Markdown on backends without cards)."""
        self.send_card(
            in_reply_to=msg,
            title="Build #42",
            body="All tests passed.",
            fields=(("branch", "main"), ("duration", "3 min")),
            color="green",
        )
