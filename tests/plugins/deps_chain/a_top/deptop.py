from errbot import BotPlugin, botcmd

WATCHED = ("DepBase", "DepMid", "DepTop")


class DepTop(BotPlugin):
    def activate(self):
        manager = self._bot.plugin_manager
        self.active_before_me = [
            n for n in WATCHED if manager.get_plugin_obj_by_name(n).is_activated
        ]
        super().activate()

    @botcmd
    def top_asks_base(self, msg, args):
        return self.get_plugin("DepBase").answer()

    @botcmd
    def top_asks(self, msg, args):
        try:
            return f"got {self.get_plugin(args).name}"
        except Exception as exc:
            return f"refused: {exc}"
