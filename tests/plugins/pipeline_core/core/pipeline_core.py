import threading

from errbot import (
    BotPlugin,
    CommandError,
    SeparatorArgParser,
    ShlexArgParser,
    botcmd,
    botmatch,
    re_botcmd,
)

LONG_WORDS = " ".join(f"word{i:03d}" for i in range(120))

# A paragraph, a fenced code block and another paragraph. With a limit of 120 characters a
# fixed-width cut would fall inside the code block; a good cut falls between the blocks.
LONG_CODE = (
    "This first paragraph explains what the snippet below does, in a few words.\n"
    "\n"
    "```\n"
    "for item in range(3):\n"
    "    print(item, item * 2)\n"
    "    total = item\n"
    "```\n"
    "\n"
    "And a closing paragraph that follows the code block and ends the reply."
)


def reverse_words(text):
    return list(reversed(text.split()))


def refuse(text):
    raise ValueError(f"cannot make sense of {text!r}")


class PipeCore(BotPlugin):
    """Commands exercising command processing and replies."""

    def activate(self):
        super().activate()
        self.calls = []
        self._calls_lock = threading.Lock()

    def record(self, name, value):
        with self._calls_lock:
            self.calls.append((name, value))

    def called(self, name):
        with self._calls_lock:
            return [value for called_name, value in self.calls if called_name == name]

    # -- look-up ----------------------------------------------------------------------
    @botcmd
    def cmd(self, msg, args):
        """The one-word command."""
        self.record("cmd", args)
        return f"cmd:[{args}]"

    @botcmd
    def cmd_sub(self, msg, args):
        """The two-word command."""
        self.record("cmd_sub", args)
        return f"cmd_sub:[{args}]"

    @botcmd
    def deep_a_b_c(self, msg, args):
        """A four-word command."""
        self.record("deep_a_b_c", args)
        return f"deep:[{args}]"

    @botcmd(historize=False)
    def nohist(self, msg, args):
        """Never appears in the history."""
        self.record("nohist", args)
        return "nohist done"

    @botcmd
    def frobnicate(self, msg, args):
        return "frobnicated"

    @botcmd
    def frobnicator(self, msg, args):
        return "frobnicator"

    # -- argument splitting -----------------------------------------------------------------
    @botcmd(split_args_with=None)
    def splitnone(self, msg, args):
        self.record("splitnone", args)
        return "split"

    @botcmd(split_args_with=",")
    def splitcomma(self, msg, args):
        self.record("splitcomma", args)
        return "split"

    @botcmd(split_args_with=SeparatorArgParser(",", 1))
    def splitsep(self, msg, args):
        self.record("splitsep", args)
        return "split"

    @botcmd(split_args_with=ShlexArgParser())
    def splitshlex(self, msg, args):
        self.record("splitshlex", args)
        return "split"

    @botcmd(split_args_with=reverse_words)
    def splitcall(self, msg, args):
        self.record("splitcall", args)
        return "split"

    @botcmd(split_args_with=refuse)
    def splitbad(self, msg, args):
        self.record("splitbad", args)
        return "must not run"

    # -- regex commands -------------------------------------------------------------------
    @re_botcmd(pattern=r"^weather (\w+)$")
    def weather(self, msg, match):
        self.record("weather", match.group(1))
        return f"sunny in {match.group(1)}"

    @re_botcmd(pattern=r"n(\d)", matchall=True)
    def digits(self, msg, matches):
        self.record("digits", matches)
        return "digits " + ",".join(m.group(1) for m in matches)

    @botmatch(r"\bzebra\b")
    def zebra(self, msg, match):
        self.record("zebra", msg.body)
        return "stripes"

    @re_botcmd(pattern=r"zebra|giraffe", prefixed=False)
    def animal(self, msg, match):
        self.record("animal", match.group(0))
        return f"animal {match.group(0)}"

    @re_botcmd(pattern=r"^cmd")
    def cmdish(self, msg, match):
        self.record("cmdish", match.string)
        return "regex cmdish"

    # -- replies ----------------------------------------------------------------------------
    @botcmd
    def falsy(self, msg, args):
        self.record("falsy", args)
        return {"none": None, "empty": "", "dict": {}, "list": [], "zero": 0}[args]

    @botcmd
    def gen_mixed(self, msg, args):
        yield "first"
        yield ""
        yield None
        yield []
        yield "last"

    @botcmd
    def gen_then_fail(self, msg, args):
        yield "partial"
        raise RuntimeError("broke mid-way")

    @botcmd(template="pipe_shared")
    def tpl(self, msg, args):
        return {"who": args}

    @botcmd(template="pipe_shared")
    def tpl_text(self, msg, args):
        """A templated command returning a plain string: no template applies."""
        return f"plain {args}"

    @botcmd
    def cmderror_tpl(self, msg, args):
        raise CommandError({"code": args}, template="pipe_error")

    @botcmd(template="pipe_shared")
    def cmderror_in_templated(self, msg, args):
        """The command's template is for its results, not for its errors."""
        raise CommandError({"who": args})

    @botcmd
    def cmderror_missing_tpl(self, msg, args):
        raise CommandError({"code": args}, template="pipe_no_such_template")

    @botcmd
    def dict_plain(self, msg, args):
        return {"a": 1}

    @botcmd
    def heading(self, msg, args):
        return "# Title"

    @botcmd
    def long_words(self, msg, args):
        return LONG_WORDS

    @botcmd
    def long_code(self, msg, args):
        return LONG_CODE
