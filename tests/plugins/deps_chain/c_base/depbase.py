from errbot import BotPlugin

WATCHED = ("DepBase", "DepMid", "DepTop")


class DepBase(BotPlugin):
    def activate(self):
        manager = self._bot.plugin_manager
        self.active_before_me = [
            n for n in WATCHED if manager.get_plugin_obj_by_name(n).is_activated
        ]
        super().activate()

    def answer(self):
        return "the base answers"
