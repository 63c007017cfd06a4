from errbot import BotPlugin, botcmd

from .notes_format import bullets  # a sibling module of this plugin


class Notes(BotPlugin):
    """Keep notes per person."""

    @botcmd
    def note_add(self, msg, args):
        """Add a note: !note add <text>"""
        # mutable() reads the stored list (or the default) and writes it back on exit.
        with self.mutable(msg.frm.person, []) as notes:
            notes.append(args)
        return f"Noted ({len(notes)} so far)."

    @botcmd
    def note_list(self, msg, args):
        """Your notes."""
        notes = self.get(msg.frm.person, [])
        return bullets(notes) or "No notes."

    @botcmd
    def note_clear(self, msg, args):
        """Forget your notes."""
        if msg.frm.person in self:
            del self[msg.frm.person]
        return "Forgotten."

    @botcmd
    def note_count(self, msg, args):
        """How many people have notes."""
        self["last_count_by"] = msg.frm.person  # plain assignment stores a value
        people = [key for key in self if key != "last_count_by"]
        return f"{len(people)} people have notes."
