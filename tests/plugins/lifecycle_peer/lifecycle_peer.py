from errbot import BotPlugin, botcmd


class LifecyclePeer(BotPlugin):
    @botcmd
    def peer_greet(self, msg, args):
        self.send_templated(msg.frm, "greeting", {"who": args})
