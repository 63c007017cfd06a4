from errbot import BotPlugin, botcmd, re_botcmd


class AclOther(BotPlugin):
    """A plain command, and a regex command sharing its name with AclTarget's admin command."""

    def activate(self):
        super().activate()
        self.calls = []

    @botcmd
    def other(self, msg, args):
        self.calls.append(("other", msg.frm.person, args))
        return "other done"

    @re_botcmd(pattern=r"^zz-never-typed$", name="adm")
    def same_name_as_admin_command(self, msg, match):
        self.calls.append(("adm-regex", msg.frm.person, match.string))
        return "regex adm"
