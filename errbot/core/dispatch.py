"""The message pipeline: prefix, command look-up, history, filters, execution (section 6).

`process_message` is called by a backend for each incoming message, from whatever thread or
coroutine the backend runs on. It never runs plugin command code itself: plain commands go to
the worker pool, coroutines to the event loop.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from errbot.core.execution import Invocation
from errbot.core.metrics import BAD_ARGUMENTS, REFUSED
from errbot.core.prefix import PrefixParser
from errbot.core.registry import plugin_of
from errbot.core.runtime import is_async_callable

if TYPE_CHECKING:
    from errbot.backends.base import Message
    from errbot.core.bot import ErrBot

log = logging.getLogger(__name__)

ALL_COMMANDS = "ALL_COMMANDS"


class CommandPipeline:
    def __init__(self, bot: ErrBot) -> None:
        self.bot = bot
        config = bot.bot_config
        self.prefixes = PrefixParser(config)
        self._specs: dict[Any, CommandSpec] = {}
        self._specs_version = -1

    # -- entry point ----------------------------------------------------------------
    def process_message(self, msg: Message) -> bool:
        """Handle one incoming message; True when plugins' callback_message should run."""
        bot = self.bot
        if msg.delayed:
            log.debug("Message from history, ignore it.")
            return False
        if bot.is_from_self(msg):
            log.debug("Ignoring message from self.")
            return False
        frm = msg.frm
        if frm is None or not hasattr(frm, "person"):
            raise ValueError(f"Message sender {frm!r} has no person attribute")
        parsed = self.prefixes.parse(msg.body, msg.is_direct)
        text = parsed.text
        registry = bot.registry
        found = registry.find(text) if parsed.candidate and text else None
        if found is not None:
            cmd, args = found
            self.process_command(msg, cmd, args, None)
            return True
        if parsed.candidate and text and self._recall_history(msg, text):
            return True
        if self._run_regex_commands(msg, text if parsed.prefixed else msg.body, parsed.candidate):
            return True
        if parsed.candidate:
            self._unprocessed(msg, text)
        return True

    def _recall_history(self, msg: Message, text: str) -> bool:
        first = text.split(None, 1)[0]
        if first == self.bot.prefix:
            index = 1
        elif first.isdigit():
            index = int(first)
        else:
            return False
        entry = self.bot.history.recall(msg.frm.person, index)
        if entry is not None:
            cmd, args = entry
            if cmd in self.bot.registry.commands:
                self.process_command(msg, cmd, args, None)
        return True

    def _run_regex_commands(self, msg: Message, text: str, prefixed: bool) -> bool:
        matched = False
        text = text.strip()
        for name, method in list(self.bot.registry.re_commands.items()):
            if method._err_command_prefix_required and not prefixed:
                continue
            pattern = method._err_command_re_pattern
            if method._err_command_matchall:
                match: Any = list(pattern.finditer(text))
                if not match:
                    continue
            else:
                match = pattern.search(text)
                if match is None:
                    continue
            matched = True
            self.process_command(msg, name, text, match)
        return matched

    def _unprocessed(self, msg: Message, text: str) -> None:
        self.bot.metrics.unknown_command()
        parts = text.split(None, 1)
        cmd = parts[0] if parts else ""
        args = parts[1] if len(parts) > 1 else ""
        for command_filter in list(self.bot.registry.filters):
            if not getattr(command_filter, "catch_unprocessed", False):
                continue
            try:
                reply = command_filter(msg, cmd, args, False, emptycmd=True)
            except Exception:
                log.exception("Exception in a command filter catching unprocessed messages")
                continue
            if reply:
                self.bot.send_simple_reply(msg, reply)

    # -- filters --------------------------------------------------------------------
    def run_filters(
        self, msg: Message | None, cmd: str | None, args: Any, dry_run: bool
    ) -> tuple[Message | None, str | None, Any]:
        """Pass the command through every cmdfilter; ``msg`` is None when blocked."""
        for command_filter in list(self.bot.registry.filters):
            try:
                msg, cmd, args = command_filter(msg, cmd, args, dry_run)
            except Exception:
                log.exception("Exception in a filter command, blocking the command in doubt")
                return None, None, None
            if msg is None:
                return None, cmd, args
        return msg, cmd, args

    # -- one command ----------------------------------------------------------------
    def spec_of(self, method: Any) -> CommandSpec:
        """The `CommandSpec` of ``method``, built on first use and kept until the command
        table changes (a plugin (de)activated), so dispatch reads slots, not ``_err_*``
        attributes."""
        registry = self.bot.registry
        specs = self._specs
        if registry.version != self._specs_version or len(specs) > 4096:
            specs.clear()
            self._specs_version = registry.version
        try:
            spec = specs.get(method)
        except TypeError:  # an unhashable callable object: build it every time
            return CommandSpec(method)
        if spec is None:
            spec = specs[method] = CommandSpec(method)
        return spec

    def process_command(self, msg: Message, cmd: str, args: Any, match: Any) -> None:
        bot = self.bot
        registry = bot.registry
        is_regex = match is not None
        method = (registry.re_commands if is_regex else registry.commands).get(cmd)
        if method is None:
            return
        if registry.filters:
            filtered_msg, filtered_cmd, args = self.run_filters(msg, cmd, args, False)
            if filtered_msg is None:
                log.info('Command "%s" blocked or deferred.', cmd)
                bot.metrics.command_not_run(cmd, REFUSED)
                return
            msg = filtered_msg
            if filtered_cmd != cmd and filtered_cmd is not None:
                cmd = filtered_cmd
                method = (registry.re_commands if is_regex else registry.commands).get(cmd)
                if method is None:
                    return
        spec = self.spec_of(method)
        if not is_regex and spec.historize:
            bot.history.record(msg.frm.person, cmd, args)
        flows = bot.flow_executor
        if flows is not None and flows.attach_context(msg, cmd):
            pass
        elif spec.flow_only:
            log.debug("%s is flow only, ignoring it outside a flow", cmd)
            return
        if is_regex:
            call_args: Any = match
        else:
            try:
                call_args = spec.split(args)
            except Exception as exc:
                bot.metrics.command_not_run(cmd, BAD_ARGUMENTS)
                bot.send_simple_reply(msg, f"Sorry, I couldn't parse your arguments. {exc}")
                return
        # Read at every command, as Errbot does: plugin tests change these at run time.
        config = bot.bot_config
        private = _diverted(cmd, getattr(config, "DIVERT_TO_PRIVATE", ()))
        threaded = _diverted(cmd, getattr(config, "DIVERT_TO_THREAD", ()))
        invocation = Invocation(
            bot, msg, cmd, method, call_args, private, threaded, template=spec.template
        )
        runtime = bot.runtime
        if spec.owner_name is not None:
            bot.metrics.count_dispatched(spec.owner_name)
        if spec.is_async:
            runtime.spawn(invocation.run_async())
        elif spec.admin_only and runtime.pool is not None:
            # Admin commands (plugin management) get their own lane so a pool full of
            # slow user commands can never lock an admin out.
            bot.run_admin_command(invocation.run_sync)
        else:
            runtime.submit(invocation.run_sync)


class CommandSpec:
    """What dispatch needs to know about one command, read once from its ``_err_*`` marks."""

    __slots__ = (
        "historize", "flow_only", "admin_only", "template", "is_async", "owner_name",
        "_as_is", "_meta", "_method",
    )  # fmt: skip

    def __init__(self, method: Any) -> None:
        meta = command_meta(method)
        self._method = method
        self._meta = meta
        self.historize = bool(meta.get("_err_command_historize", True))
        self.flow_only = bool(meta.get("_err_command_flow_only", False))
        self.admin_only = bool(meta.get("_err_command_admin_only", False))
        self.template: str | None = meta.get("_err_command_template")
        self.is_async = is_async_callable(method)
        owner = plugin_of(method)
        self.owner_name: str | None = None if owner is None else getattr(owner, "name", "?")
        splitter = meta.get("_err_command_split_args_with", "")
        # "" and argparse commands take the text as it is: no call at all then.
        self._as_is = splitter == "" or bool(meta.get("_err_arg_command", False))

    def split(self, args: str) -> Any:
        if self._as_is:
            return args
        return split_arguments(self._method, args, self._meta)


_NO_META: dict[str, Any] = {}


def command_meta(method: Any) -> dict[str, Any]:
    """The ``_err_*`` marks of a command, read from its function's ``__dict__``.

    A dict look-up per attribute instead of a bound-method attribute look-up each time.
    """
    function = getattr(method, "__func__", method)
    return getattr(function, "__dict__", _NO_META)


def _diverted(cmd: str, setting: Any) -> bool:
    """Whether DIVERT_TO_PRIVATE / DIVERT_TO_THREAD (``setting``) names ``cmd``."""
    if not setting:
        return False
    if isinstance(setting, str):
        setting = (setting,)
    return ALL_COMMANDS in setting or cmd in setting


def split_arguments(method: Any, args: str, meta: dict[str, Any] | None = None) -> Any:
    """Apply the command's ``split_args_with`` (section 1.3)."""
    if meta is None:
        meta = command_meta(method)
    splitter = meta.get("_err_command_split_args_with", "")
    if splitter == "" or meta.get("_err_arg_command", False):
        return args
    if splitter is None:
        return args.split()
    if isinstance(splitter, str):
        return args.split(splitter)
    parse = getattr(splitter, "parse_args", None)
    if parse is not None:
        return parse(args)
    if callable(splitter):
        return splitter(args)
    return args
