import threading

from errbot import BotPlugin, botcmd, botmatch, re_botcmd


class AclTarget(BotPlugin):
    """Every command records who ran it: a denied command must leave no record."""

    def activate(self):
        super().activate()
        self.calls = []
        self._lock = threading.Lock()

    def record(self, cmd, msg, args):
        with self._lock:
            self.calls.append((cmd, msg.frm.person, args))

    @botcmd
    def secret(self, msg, args):
        self.record("secret", msg, args)
        return "secret done"

    @botcmd
    def deploy_prod(self, msg, args):
        self.record("deploy_prod", msg, args)
        return "deployed"

    @botcmd(admin_only=True)
    def adm(self, msg, args):
        self.record("adm", msg, args)
        return "admin done"

    @re_botcmd(pattern=r"^launch (\w+)$")
    def launch(self, msg, match):
        self.record("launch", msg, match.group(1))
        return f"launched {match.group(1)}"

    @botmatch(r"\bkaboom\b")
    def kaboom(self, msg, match):
        self.record("kaboom", msg, match.string)
        return "boom"
