"""`ErrBot`: the facade every backend subclasses.

Third-party backends written for Errbot subclass `ErrBot` and call its methods, so the names
are fixed. The logic lives elsewhere: `CommandPipeline` (parsing, filters, execution),
`CommandRegistry` (the command table), `CallbackDispatcher` (plugin callbacks), `Runtime`
(event loop and worker pool). This class wires them together and routes replies.
"""

from __future__ import annotations

import io
import logging
import random
import re
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from difflib import get_close_matches
from typing import Any

from errbot.backends.base import (
    ONLINE,
    STREAM_TRANSFER_IN_PROGRESS,
    STREAM_WAITING_TO_START,
    Backend,
    Card,
    Identifier,
    Message,
    Presence,
    Reaction,
    Room,
    RoomOccupant,
    Stream,
)
from errbot.core.callbacks import CallbackDispatcher
from errbot.core.dispatch import CommandPipeline
from errbot.core.history import CommandHistory
from errbot.core.metrics import Metrics, plugin_name_of
from errbot.core.registry import CommandRegistry
from errbot.core.runtime import Runtime, is_async_callable
from errbot.core.workers import SerialLane
from errbot.storage import StoreMixin

log = logging.getLogger(__name__)

DEFAULT_SIZE_LIMIT = 10000
# The colour names every Markdown output format knows (rendering's character tables).
CARD_COLORS = frozenset(("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"))
_BANG_REFERENCE = re.compile(r"(?<![\w!])(?:!!(?![\w!])|!(?=\w))")
IDENTIFIER_TYPE_ERROR = (
    "identifier needs to be of type Identifier, the old string behavior is not supported"
)


class ErrBot(Backend, StoreMixin):
    """The bot: message pipeline, command table and reply routing behind one object."""

    __errdoc__ = "Commands related to the bot administration"
    MSG_ERROR_OCCURRED = "Computer says nooo. See logs for details"
    MSG_UNKNOWN_COMMAND = 'Unknown command: "%(command)s". '
    startup_time = datetime.now()

    # Backends whose network client is bound to the event loop set this, and every outgoing
    # message sent from another thread is handed over to the loop.
    loop_affine = False

    def __init__(self, bot_config: Any) -> None:
        super().__init__(bot_config)
        self.bot_config = bot_config
        self.runtime = Runtime(
            pool_size=int(getattr(bot_config, "BOT_ASYNC_POOLSIZE", 10) or 10),
            use_pool=bool(getattr(bot_config, "BOT_ASYNC", True)),
        )
        self.registry = CommandRegistry()
        self.history = CommandHistory()
        self.metrics = Metrics(self.runtime.pool)
        self.plugin_manager: Any = None
        self.repo_manager: Any = None
        self.storage_plugin: Any = None
        self.flow_executor: Any = None
        self.callbacks = CallbackDispatcher(
            self.runtime,
            self._active_plugins,
            list(getattr(bot_config, "PLUGINS_CALLBACK_ORDER", (None,)) or (None,)),
            asynchronous=bool(getattr(bot_config, "BOT_ASYNC", True)),
            metrics=self.metrics,
        )
        self._pipeline: CommandPipeline | None = None
        self._admin_lane = SerialLane("errbot-admin-commands")
        self._reconnection_delay = 1.0
        self._shutdown_done = False
        self.startup_time = datetime.now()
        self.message_size_limit = DEFAULT_SIZE_LIMIT
        self.set_message_size_limit()
        self.runtime.start()

    @property
    def prefix(self) -> str:
        """BOT_PREFIX, read from the configuration each time (tests change it at run time)."""
        return getattr(self.bot_config, "BOT_PREFIX", "!")

    @prefix.setter
    def prefix(self, value: str) -> None:
        self.bot_config.BOT_PREFIX = value

    # -- wiring ---------------------------------------------------------------------
    @property
    def pipeline(self) -> CommandPipeline:
        if self._pipeline is None:
            self._pipeline = CommandPipeline(self)
        return self._pipeline

    def attach_storage_plugin(self, storage_plugin: Any) -> None:
        self.storage_plugin = storage_plugin

    def attach_plugin_manager(self, plugin_manager: Any) -> None:
        self.plugin_manager = plugin_manager

    def attach_repo_manager(self, repo_manager: Any) -> None:
        self.repo_manager = repo_manager

    def initialize_backend_storage(self) -> None:
        """Open the backend's own namespace ``<mode>_backend``."""
        self.open_storage(self.storage_plugin, f"{self.mode}_backend")

    def _active_plugins(self) -> Sequence[Any]:
        if self.plugin_manager is None:
            return ()
        return self.plugin_manager.get_all_active_plugins()

    # -- the command table ------------------------------------------------------------
    @property
    def commands(self) -> dict[str, Any]:
        return self.registry.commands

    @property
    def re_commands(self) -> dict[str, Any]:
        return self.registry.re_commands

    @property
    def command_filters(self) -> list[Any]:
        return self.registry.filters

    @property
    def all_commands(self) -> dict[str, Any]:
        """Every command, regular and regex, by name."""
        merged = dict(self.registry.commands)
        merged.update(self.registry.re_commands)
        return merged

    def inject_commands_from(self, plugin: Any) -> None:
        for warning in self.registry.inject_commands_from(plugin):
            self.warn_admins(warning)

    def remove_commands_from(self, plugin: Any) -> None:
        self.registry.remove_commands_from(plugin)

    def inject_command_filters_from(self, plugin: Any) -> None:
        self.registry.inject_filters_from(plugin)

    def remove_command_filters_from(self, plugin: Any) -> None:
        self.registry.remove_filters_from(plugin)

    def with_prefix(self, text: str) -> str:
        """Rewrite "!cmd" and "!!" references in help texts to the configured BOT_PREFIX.

        Only a "!" starting a word counts, so "Done!" stays as it is.
        """
        prefix = self.prefix
        if prefix == "!":
            return text
        return _BANG_REFERENCE.sub(lambda m: prefix * len(m.group(0)), text)

    def get_doc(self, command: Any) -> str:
        """The docstring of a command with ``!`` rewritten to the configured prefix."""
        doc = getattr(command, "__doc__", None) or "(undocumented)"
        return self.with_prefix(doc).strip()

    # -- incoming -------------------------------------------------------------------
    def process_message(self, msg: Message) -> bool:
        self.metrics.received[1 if msg.is_direct else 0] += 1
        pipeline = self._pipeline
        if pipeline is None:
            pipeline = self.pipeline
        return pipeline.process_message(msg)

    def callback_message(self, msg: Message) -> None:
        """Entry point for backends: process one incoming message."""
        if self.process_message(msg):
            self.callbacks.dispatch("callback_message", msg)

    def callback_mention(self, msg: Message, people: Sequence[Identifier]) -> None:
        self.callbacks.dispatch("callback_mention", msg, people)

    def callback_presence(self, pres: Presence) -> None:
        self.callbacks.dispatch("callback_presence", pres)

    def callback_reaction(self, reaction: Reaction) -> None:
        self.callbacks.dispatch("callback_reaction", reaction)

    def callback_room_joined(
        self, room: Room, identifier: Identifier | None = None, invited_by: Identifier | None = None
    ) -> None:
        if identifier is None:
            identifier = self.bot_identifier
        self.callbacks.dispatch("callback_room_joined", room, identifier, invited_by)

    def callback_room_left(
        self, room: Room, identifier: Identifier | None = None, kicked_by: Identifier | None = None
    ) -> None:
        if identifier is None:
            identifier = self.bot_identifier
        self.callbacks.dispatch("callback_room_left", room, identifier, kicked_by)

    def callback_room_topic(self, room: Room) -> None:
        self.callbacks.dispatch("callback_room_topic", room)

    def callback_stream(self, stream: Stream) -> None:
        """Offer an incoming file to the plugins that handle files (section 2.6).

        Backends call this from their own thread: the content is read on a worker, then every
        plugin overriding ``callback_stream`` gets, in a thread of its own, a clone of the
        stream over its own copy of the content. A plugin that leaves its clone pending has
        it rejected, one that returns with it in progress has it marked successful, one that
        raises has it marked in error; none of this affects the other plugins.
        """
        log.info("Initiated an incoming transfer %s", stream)
        receivers = self.callbacks.receivers("callback_stream")
        if not receivers:
            # Every plugin would reject its copy (the default), so refuse the transfer itself.
            if stream.status == STREAM_WAITING_TO_START:
                stream.reject()
            return
        self.runtime.submit_background(self._tee_stream, stream, receivers)

    def _tee_stream(self, stream: Stream, receivers: Sequence[Any]) -> None:
        try:
            data = stream.read()
        except Exception as exc:
            log.exception("Cannot read the incoming transfer %s", stream)
            stream.error(str(exc))
            return
        for callback in receivers:
            # BytesIO(data) shares the bytes until written to: one copy of the content.
            copy = stream.clone(io.BytesIO(data))
            threading.Thread(
                target=self._plugin_stream,
                args=(callback, copy),
                daemon=True,
                name=f"stream to {plugin_name_of(callback)}",
            ).start()

    def _plugin_stream(self, callback: Any, stream: Stream) -> None:
        try:
            if is_async_callable(callback):
                self.runtime.run_sync(callback(stream))
            else:
                callback(stream)
        except Exception as exc:
            log.exception("%s failed to handle the stream %s", plugin_name_of(callback), stream)
            self.metrics.plugin_error(callback, "stream")
            stream.error(str(exc))
            return
        if stream.status == STREAM_WAITING_TO_START:
            log.warning(
                "%s neither accepted nor rejected the transfer %s: rejected.",
                plugin_name_of(callback),
                stream,
            )
            stream.reject()
        elif stream.status == STREAM_TRANSFER_IN_PROGRESS:
            stream.success()

    def command_succeeded(self, msg: Message, cmd: str) -> None:
        """Move the flows on: the flow waiting for ``cmd`` advances, or one starts."""
        if self.flow_executor is not None:
            try:
                self.flow_executor.trigger(cmd, msg.frm, msg.ctx)
            except Exception:
                log.exception("The flows could not process the command %s", cmd)

    def inject_flows_from(self, instance_to_inject: Any) -> None:
        """Register the ``@botflow`` flows of a BotFlow object with the flow executor."""
        if self.flow_executor is not None:
            self.flow_executor.add_flows_from(instance_to_inject)

    def remove_flows_from(self, instance_to_inject: Any) -> None:
        if self.flow_executor is not None:
            self.flow_executor.remove_flows_from(instance_to_inject)

    def run_admin_command(self, fn: Any) -> None:
        """Admin commands run in order on their own lane, never waiting behind user commands."""
        self.runtime.submit_to(self._admin_lane, fn)

    # -- outgoing -------------------------------------------------------------------
    def send(
        self,
        identifier: Identifier,
        text: str,
        in_reply_to: Message | None = None,
        groupchat_nick_reply: bool = False,
    ) -> None:
        if not isinstance(identifier, Identifier):
            raise ValueError(IDENTIFIER_TYPE_ERROR)
        frm = in_reply_to.to if in_reply_to else self.bot_identifier
        msg = self.build_message(text)
        msg.to = identifier
        msg.frm = frm
        if in_reply_to is not None:
            msg.parent = in_reply_to
        nick_reply = bool(getattr(self.bot_config, "GROUPCHAT_NICK_PREFIXED", False))
        if (
            isinstance(identifier, Room)
            and in_reply_to is not None
            and (nick_reply or groupchat_nick_reply)
        ):
            self.prefix_groupchat_reply(msg, in_reply_to.frm)
        self.split_and_send_message(msg)

    def send_templated(
        self,
        identifier: Identifier,
        template_name: str,
        template_parameters: Mapping[str, Any],
        in_reply_to: Message | None = None,
        groupchat_nick_reply: bool = False,
        plugin_name: str | None = None,
    ) -> None:
        text = self.render_template(template_name, template_parameters, plugin_name)
        self.send(identifier, text, in_reply_to, groupchat_nick_reply)

    def render_template(
        self, template_name: str, params: Mapping[str, Any], plugin_name: str | None = None
    ) -> str:
        from errbot.templating import render_template

        return render_template(template_name, params, plugin_name)

    def send_simple_reply(
        self, msg: Message, text: str, private: bool = False, threaded: bool = False
    ) -> None:
        reply = self.build_reply(msg, text, private=private, threaded=threaded)
        # The setting first: it is off by default, and isinstance on the Room ABC is slow.
        if getattr(self.bot_config, "GROUPCHAT_NICK_PREFIXED", False) and isinstance(
            reply.to, Room
        ):
            self.prefix_groupchat_reply(reply, msg.frm)
        self.split_and_send_message(reply)

    def split_and_send_message(self, msg: Message) -> None:
        body = msg.body
        if not body or len(body) <= self.message_size_limit:
            # One part, the usual case: no list, no loop.
            msg.partial = True  # Errbot marks every chunk, even a single one
            if self.loop_affine and not self.runtime.in_loop():
                self.runtime.call_soon(self.send_message, msg)
            else:
                self.send_message(msg)
            return
        from errbot.core.splitter import split_message

        parts = []
        for chunk in split_message(body, self.message_size_limit):
            part = msg.clone()
            part.body = chunk
            parts.append(part)
        hand_over = self.loop_affine and not self.runtime.in_loop()
        for part in parts:
            part.partial = True  # Errbot marks every chunk, even a single one
            if hand_over:
                self.runtime.call_soon(self.send_message, part)
            else:
                self.send_message(part)

    def send_message(self, msg: Message) -> None:
        """Concrete backends deliver the message, then call this to notify plugins."""
        self.metrics.sent[1 if msg.is_direct else 0] += 1
        self.callbacks.dispatch("callback_botmessage", msg)

    def send_card(self, card: Card) -> None:
        """Send ``card`` as Markdown rendered by the ``card.md`` template.

        This is the hook for rich backends: those with native cards (attachments, embeds)
        override it and build their own from the Card's fields.
        """
        color = card.color.lower() if isinstance(card.color, str) else None
        if color not in CARD_COLORS:
            color = None  # a hex value or an unknown name: no text format could show it
        text = self.render_template("card", {"card": card, "color": color})
        msg = self.build_message(text)
        msg.to = card.to
        msg.frm = card.frm
        msg.parent = card.parent
        self.split_and_send_message(msg)

    def send_stream_request(
        self,
        user: Identifier,
        fsource: Any,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> Stream | None:
        raise NotImplementedError(f"The {self.mode} backend cannot send files.")

    def warn_admins(self, warning: str) -> None:
        log.warning(warning)
        admins = getattr(self.bot_config, "BOT_ADMINS_NOTIFICATIONS", None)
        if admins is None:
            admins = getattr(self.bot_config, "BOT_ADMINS", ())
        if isinstance(admins, str):
            admins = (admins,)
        for admin in admins:
            try:
                self.send(self.build_identifier(admin), warning)
            except Exception:
                log.exception("Cannot warn the admin %s", admin)

    def build_message(self, text: str) -> Message:
        return Message(text)

    def prefix_groupchat_reply(self, message: Message, identifier: Identifier) -> None:
        if message.body.startswith("#"):
            # keep a Markdown heading a heading once the nick is put in front of it
            message.body = "\n" + message.body

    def set_message_size_limit(self, limit: int = 10000, hard_limit: int = 10000) -> None:
        configured = getattr(self.bot_config, "MESSAGE_SIZE_LIMIT", None)
        if configured:
            self.message_size_limit = int(configured)
            if self.message_size_limit > hard_limit:
                log.warning(
                    "MESSAGE_SIZE_LIMIT %s is above the hard limit of the backend (%s).",
                    configured,
                    hard_limit,
                )
        else:
            self.message_size_limit = limit

    def is_from_self(self, msg: Message) -> bool:
        if msg.is_direct:
            return msg.frm == self.bot_identifier
        if isinstance(msg.frm, RoomOccupant):
            return getattr(msg.frm, "nick", None) == getattr(self.bot_config, "CHATROOM_FN", None)
        return False

    def change_presence(self, status: str = ONLINE, message: str = "") -> None:
        pass

    # -- unknown commands -----------------------------------------------------------------
    def unknown_command(self, _: Message, cmd: str, args: str) -> str:
        """The "Command not found" reply with suggestions (section 6.4)."""
        full = f"{cmd} {args.split(' ', 1)[0]}" if args else cmd
        if args:
            text = f'Command "{cmd}" / "{full}" not found.'
        else:
            text = f'Command "{cmd}" not found.'
        names = [name.replace("_", " ") for name in self.registry.commands]
        suggestions: list[str] = []
        for candidate in (cmd, full) if args else (cmd,):
            for match in get_close_matches(candidate, names):
                if match not in suggestions:
                    suggestions.append(match)
        if suggestions:
            quoted = " or ".join(f'"{self.prefix}{s}"' for s in suggestions)
            text += f"\n\nDid you mean {quoted} ?"
        return text

    # -- connection lifecycle ---------------------------------------------------------
    def connect_callback(self) -> None:
        log.info("Activate internal commands")
        if self.plugin_manager is not None:
            errors = self.plugin_manager.activate_non_started_plugins()
            if errors:
                self.warn_admins(errors)
        log.info("Notifying connection to all the plugins...")
        self.callbacks.invalidate()
        self.callbacks.dispatch_now("callback_connect")
        log.info("Plugin activation done.")

    def disconnect_callback(self) -> None:
        log.info("Disconnect callback, deactivating all the plugins.")
        if self.plugin_manager is not None:
            self.plugin_manager.deactivate_all_plugins()

    # Reconnection back-off of the default serve_forever (seconds); backends may tune them.
    reconnect_initial_delay = 1.0
    reconnect_factor = 1.75
    reconnect_max_delay = 600.0
    reconnect_jitter = 3.0

    def reset_reconnection_count(self) -> None:
        self._reconnection_delay = self.reconnect_initial_delay

    def _wait_before_reconnecting(self, delay: float) -> None:
        time.sleep(delay)

    def serve_forever(self) -> None:
        """Call `serve_once` until it asks to stop, reconnecting with back-off in between."""
        self._reconnection_delay = self.reconnect_initial_delay
        try:
            while True:
                try:
                    if self.serve_once():
                        break
                except KeyboardInterrupt:
                    break
                except Exception:
                    log.exception("Exception occurred in serve_once")
                delay = self._reconnection_delay + random.random() * self.reconnect_jitter
                log.info("Reconnecting in %.1f seconds.", delay)
                self._wait_before_reconnecting(delay)
                self._reconnection_delay = min(
                    self._reconnection_delay * self.reconnect_factor, self.reconnect_max_delay
                )
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Stop plugins, close storages and the runtime; safe to call more than once."""
        if self._shutdown_done:
            return
        self._shutdown_done = True
        log.info("Shutting down the bot.")
        try:
            if self.plugin_manager is not None:
                self.plugin_manager.shutdown()
            if self.repo_manager is not None and hasattr(self.repo_manager, "shutdown"):
                self.repo_manager.shutdown()
            if self.is_open_storage():
                self.close_storage()
        except Exception:
            log.exception("Error while shutting down")
        finally:
            self.callbacks.shutdown()
            self._admin_lane.shutdown(timeout=0)
            self.runtime.stop()
