"""`BotPlugin`: the base class every plugin subclasses.

`BotPluginBase` carries what the framework needs (lifecycle, storage, pollers, messaging
helpers); `BotPlugin` adds configuration and the callbacks plugins override. Both talk to the
bot only through its public facade, so a plugin never depends on core internals.
"""

from __future__ import annotations

import logging
import re
import types
from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from errbot.arguments import SeparatorArgParser, ShlexArgParser
from errbot.backends.base import (
    ONLINE,
    Card,
    Identifier,
    Message,
    Presence,
    Reaction,
    Room,
    Stream,
)
from errbot.dynamic_command import Command
from errbot.exceptions import CommandError, ValidationException
from errbot.plugin.cron import CronScheduler
from errbot.plugin.pollers import PollerSet
from errbot.storage import StoreMixin

if TYPE_CHECKING:
    from errbot.core.bot import ErrBot

__all__ = [
    "BotPlugin",
    "BotPluginBase",
    "Command",
    "CommandError",
    "SeparatorArgParser",
    "ShlexArgParser",
    "ValidationException",
    "recurse_check_structure",
]

log = logging.getLogger(__name__)


def recurse_check_structure(sample: Any, to_check: Any) -> None:
    """Check ``to_check`` against the configuration template ``sample`` (section 2.5)."""
    if sample is None:
        return
    if type(sample) is not type(to_check):
        raise ValidationException(
            f"{sample} [{type(sample).__name__}] is not the same type as "
            f"{to_check} [{type(to_check).__name__}]"
        )
    if isinstance(sample, (list, tuple)):
        if not sample:
            return
        for element in to_check:
            recurse_check_structure(sample[0], element)
        return
    if isinstance(sample, dict):
        for key in sample:
            if key not in to_check:
                raise ValidationException(f"{to_check} doesn't contain the key {key}")
        for key in to_check:
            if key not in sample:
                raise ValidationException(f"{to_check} contains an unknown key {key}")
        for key, value in sample.items():
            recurse_check_structure(value, to_check[key])


class BotPluginBase(StoreMixin):
    """Lifecycle, storage, pollers and messaging helpers shared by every plugin."""

    def __init__(self, bot: ErrBot | None = None, name: str | None = None) -> None:
        self.is_activated = False
        self.current_pollers: dict[tuple[Any, ...], Any] = {}
        self.current_timers: list[Any] = []
        self.dependencies: list[str] = []
        self._dynamic_plugins: dict[str, BotPluginBase] = {}
        self.__errdoc__ = type(self).__doc__
        self._name = name or type(self).__name__
        self.log = logging.getLogger(f"errbot.plugins.{self._name}")
        self._bot: ErrBot = bot  # type: ignore[assignment]
        self._pollers = PollerSet(self)
        self._crons = CronScheduler(self)
        self.plugin_dir = (
            getattr(bot, "plugin_dir", None) if bot is not None else None
        )
        if bot is not None:
            self.log.debug("Logger for plugin %s initialized", self._name)

    # -- identity -----------------------------------------------------------------
    @property
    def name(self) -> str:
        """The plugin name from its `.plug` file."""
        return self._name

    @property
    def mode(self) -> str:
        """The backend's short name ("text", "test", "irc", ...)."""
        return self._bot.mode

    @property
    def bot_config(self) -> Any:
        config = self._bot.bot_config
        if isinstance(getattr(config, "BOT_ADMINS", ()), str):
            config.BOT_ADMINS = (config.BOT_ADMINS,)
        return config

    @property
    def bot_identifier(self) -> Identifier:
        return self._bot.bot_identifier

    # -- lifecycle ----------------------------------------------------------------
    def init_storage(self) -> None:
        """Open this plugin's storage namespace (its name)."""
        log.debug("Init storage for %s.", self._name)
        self.open_storage(self._bot.storage_plugin, self._name)

    def activate(self) -> None:
        """Open storage and register commands; overrides must call ``super().activate()``."""
        self.init_storage()
        self._bot.inject_commands_from(self)
        self._bot.inject_command_filters_from(self)
        self.is_activated = True

    def deactivate(self) -> None:
        """Stop pollers, close storage, unregister commands; overrides call ``super()``."""
        self._pollers.stop_all()
        self.current_pollers.clear()
        self._crons.stop_all()
        if self.is_open_storage():
            try:
                self.close_storage()
            except Exception:  # a broken store must not keep the plugin half-active
                self.log.exception("Failed to close the storage of %s", self._name)
        self._bot.remove_command_filters_from(self)
        self._bot.remove_commands_from(self)
        for name in list(self._dynamic_plugins):
            self.destroy_dynamic_plugin(name)
        self.is_activated = False

    # -- pollers ------------------------------------------------------------------
    def start_poller(
        self,
        interval: float,
        method: Callable[..., Any],
        times: int | None = None,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Call ``method(*args, **kwargs)`` every ``interval`` seconds, ``times`` times at most.

        The first call happens after ``interval`` seconds. ``async def`` methods are awaited on
        the bot's event loop; plain ones run on the worker pool.
        """
        self._pollers.start(interval, method, times, args, kwargs)

    def stop_poller(
        self,
        method: Callable[..., Any],
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Stop a poller started with the same method, args and kwargs; it never fires again."""
        self._pollers.stop(method, args, kwargs)

    # -- cron jobs ----------------------------------------------------------------
    def start_cron(
        self,
        expression: str,
        method: Callable[..., Any],
        tz: str | tzinfo | None = None,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        catch_up: bool = False,
    ) -> None:
        """Call ``method(*args, **kwargs)`` on a 5-field cron schedule (docs/scheduling.md).

        ``tz`` is a zone name or tzinfo (default UTC). An invalid expression or zone raises
        ValueError. With ``catch_up``, a run missed while the bot was down happens once now.
        """
        self._crons.start(expression, method, tz, args, kwargs, catch_up)

    def stop_cron(
        self,
        method: Callable[..., Any],
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Stop a cron job started with the same method, args and kwargs."""
        self._crons.stop(method, args, kwargs)

    # -- messaging ----------------------------------------------------------------
    def send(
        self,
        identifier: Identifier,
        text: str,
        in_reply_to: Message | None = None,
        groupchat_nick_reply: bool = False,
    ) -> None:
        """Send ``text`` (Markdown) to a person or a room. Safe from any thread or coroutine.

        A string instead of an Identifier raises ValueError (checked by the bot).
        """
        return self._bot.send(identifier, text, in_reply_to, groupchat_nick_reply)

    def send_templated(
        self,
        identifier: Identifier,
        template_name: str,
        template_parameters: Mapping[str, Any],
        in_reply_to: Message | None = None,
        groupchat_nick_reply: bool = False,
    ) -> None:
        """Render ``<template_name>.md`` (this plugin's templates first) and send it."""
        return self._bot.send_templated(
            identifier,
            template_name,
            template_parameters,
            in_reply_to,
            groupchat_nick_reply,
            plugin_name=self._name,
        )

    def send_card(
        self,
        body: str = "",
        to: Identifier | None = None,
        in_reply_to: Message | None = None,
        summary: str | None = None,
        title: str = "",
        link: str | None = None,
        image: str | None = None,
        thumbnail: str | None = None,
        color: str = "green",
        fields: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Send a card; backends without native cards render it as Markdown."""
        frm = in_reply_to.to if in_reply_to else self.bot_identifier
        if to is None:
            if in_reply_to is None:
                raise ValueError("Either to or in_reply_to needs to be set.")
            to = in_reply_to.frm
        card = Card(
            body, frm, to, in_reply_to, summary, title, link, image, thumbnail, color, fields
        )
        self._bot.send_card(card)

    def send_stream_request(
        self,
        user: Identifier,
        fsource: Any,
        name: str | None = None,
        size: int | None = None,
        stream_type: str | None = None,
    ) -> Stream | None:
        """Offer a file to ``user``; returns the Stream to follow its progress."""
        return self._bot.send_stream_request(user, fsource, name, size, stream_type)

    def change_presence(self, status: str = ONLINE, message: str = "") -> None:
        self._bot.change_presence(status, message)

    def build_identifier(self, txtrep: str) -> Identifier:
        return self._bot.build_identifier(txtrep)

    def build_reply(
        self, msg: Message, text: str | None = None, private: bool = False, threaded: bool = False
    ) -> Message:
        return self._bot.build_reply(msg, text, private, threaded)

    def warn_admins(self, warning: str) -> None:
        """Send ``warning`` to every identifier in BOT_ADMINS_NOTIFICATIONS."""
        self._bot.warn_admins(warning)

    def rooms(self) -> list[Room]:
        return self._bot.rooms()

    def query_room(self, room: str) -> Room:
        return self._bot.query_room(room)

    def get_plugin(self, name: str) -> BotPlugin:
        """Another plugin this one declared in ``[Core] DependsOn``."""
        if not self.is_activated:
            raise Exception(
                "Plugin needs to be in activated state to be able to get its dependencies."
            )
        if name not in self.dependencies:
            raise Exception(
                f"Plugin dependency {name} needs to be listed in section [Core] key "
                f'"DependsOn" to be used in get_plugin.'
            )
        return self._bot.plugin_manager.get_plugin_obj_by_name(name)

    # -- dynamic plugins ----------------------------------------------------------
    def create_dynamic_plugin(
        self, name: str, commands: Sequence[Command], doc: str = ""
    ) -> BotPluginBase:
        """Create a plugin on the fly from ``Command`` definitions (section 14.3)."""
        manager = self._bot.plugin_manager
        # Any plugin counts: loaded from disk, or dynamic and owned by whichever plugin.
        if manager.get_plugin_obj_by_name(name) is not None or name in manager.plugins:
            raise ValueError("Name of the dynamic plugin already exists")
        class_name = re.sub(r"\W", "_", name)
        attributes: dict[str, Any] = {"__errdoc__": doc, "__doc__": doc}
        for command in commands:
            attributes[command.name] = command.definition
        plugin_class = types.new_class(
            class_name, (BotPlugin,), {}, lambda ns: ns.update(attributes)
        )
        plugin = plugin_class(self._bot, name=name)
        plugin.__errdoc__ = doc
        self._dynamic_plugins[name] = plugin
        manager.register_dynamic_plugin(name, plugin)
        self._bot.inject_commands_from(plugin)
        plugin.is_activated = True
        return plugin

    def destroy_dynamic_plugin(self, name: str) -> None:
        plugin = self._dynamic_plugins.pop(name, None)
        if plugin is None:
            raise ValueError(f"Dynamic plugin {name} doesn't exist.")
        self._bot.remove_commands_from(plugin)
        self._bot.plugin_manager.unregister_dynamic_plugin(name)
        plugin.is_activated = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} plugin {self._name!r}>"


class BotPlugin(BotPluginBase):
    """Subclass this to write a plugin. Docstrings of the class and commands become help."""

    def get_configuration_template(self) -> Any:
        """Return a default configuration (usually a dict) to make the plugin configurable."""
        return None

    def check_configuration(self, configuration: Any) -> None:
        """Validate ``configuration`` against the template; raise ValidationException."""
        recurse_check_structure(self.get_configuration_template(), configuration)

    def configure(self, configuration: Any) -> None:
        """Store the configuration; called (with None when unset) before activation."""
        self.config = configuration

    # Callbacks: no-ops unless overridden (the core only dispatches to overriders).
    def callback_connect(self) -> None:
        pass

    def callback_message(self, message: Message) -> None:
        pass

    def callback_mention(self, message: Message, mentioned_people: Sequence[Identifier]) -> None:
        pass

    def callback_presence(self, presence: Presence) -> None:
        pass

    def callback_reaction(self, reaction: Reaction) -> None:
        pass

    def callback_stream(self, stream: Stream) -> None:
        stream.reject()

    def callback_botmessage(self, message: Message) -> None:
        pass

    def callback_room_joined(
        self, room: Room, identifier: Identifier | None = None, invited_by: Identifier | None = None
    ) -> None:
        pass

    def callback_room_left(
        self, room: Room, identifier: Identifier | None = None, kicked_by: Identifier | None = None
    ) -> None:
        pass

    def callback_room_topic(self, room: Room) -> None:
        pass
