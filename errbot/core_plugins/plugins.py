"""Core plugin ``Plugins``: administering plugins from chat (section 8 of the contract).

``!plugin activate|deactivate|reload|blacklist|unblacklist|info|config <Name>``, all for bot
admins only. Configuration values typed here are secrets-aware: values under keys that look
like secrets (see `errbot.plugin_config`) are shown as ``********`` and never logged, and the
command is kept out of the command history (``!history`` would show it again otherwise).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pprint import pformat
from typing import Any

from errbot import BotPlugin, botcmd
from errbot.backends.base import Message
from errbot.core_plugins.repos import RepoCommands
from errbot.plugin_config import (
    MASK,
    MD_MASK,
    SOURCE_CHAT,
    SOURCE_CONFIG_FILE,
    ConfigSyntaxError,
    declared_secret_keys,
    is_secret_key,
    mask_secrets,
    parse_config_text,
    redact,
    restore_masked_secrets,
)
from errbot.plugin_manager import (
    PluginActivationException,
    PluginConfigurationException,
    PluginReloadException,
)

log = logging.getLogger(__name__)


def _bullets(names: Iterable[str]) -> str:
    return "\n".join(f"- {name}" for name in sorted(names, key=lambda n: (n.lower(), n)))


def _for_chat(text: str, config: Any, declared: frozenset[str]) -> str:
    """An error message for a chat reply: secrets masked, the mask escaped for Markdown.

    The plugin manager already masks the messages of rejected configurations (for its logs),
    with a plain mask that Markdown would read as emphasis.
    """
    return redact(text, config, declared, MD_MASK).replace(MASK, MD_MASK)


class Plugins(RepoCommands, BotPlugin):
    """Administer the plugins: activate, deactivate, reload, blacklist, configure."""

    # -- helpers ---------------------------------------------------------------------------
    @property
    def _manager(self) -> Any:
        return self._bot.plugin_manager

    def _all_names(self) -> list[str]:
        return list(self._manager.get_all_plugin_names())

    def _active_names(self) -> list[str]:
        return list(self._manager.get_all_active_plugin_names())

    def _which(self, verb: str, names: Iterable[str]) -> str:
        return f"Please tell me which of the following plugins to {verb}:\n{_bullets(names)}"

    def _invalid(self, name: str, names: Iterable[str]) -> str:
        if self._manager.is_dynamic_plugin(name):
            # Dynamic plugins live and die with the plugin that created them.
            owner = self._manager.dynamic_plugin_owner(name)
            by = f" by {owner.name}" if owner is not None else ""
            return (
                f"{name} is a dynamic plugin created{by}: it is managed by the plugin that "
                "created it and goes away when that plugin is deactivated."
            )
        return f"{name} isn't a valid plugin name. The current plugins are:\n{_bullets(names)}"

    def _is_active(self, name: str) -> bool:
        plugin = self._manager.get_plugin_obj_by_name(name)
        return plugin is not None and bool(plugin.is_activated)

    def _template_of(self, plugin: Any) -> Any:
        try:
            return plugin.get_configuration_template()
        except Exception:
            self.log.exception("get_configuration_template of %s failed", plugin.name)
            return None

    # -- lifecycle -------------------------------------------------------------------------
    @botcmd(admin_only=True)
    def plugin_activate(self, _: Message, args: str) -> str:
        """Activate a plugin (its dependencies first)."""
        name = args.strip()
        if not name:
            return self._which("activate", self._all_names())
        if name not in self._all_names():
            return self._invalid(name, self._all_names())
        if self._is_active(name):
            return f"{name} is already activated."
        try:
            self._manager.activate_plugin(name)
        except PluginActivationException as exc:
            return f"Error activating plugin: {exc}"
        return f"Plugin {name} activated."

    @botcmd(admin_only=True)
    def plugin_deactivate(self, _: Message, args: str) -> str:
        """Deactivate a plugin: its commands, filters and pollers stop."""
        name = args.strip()
        if not name:
            return self._which("deactivate", self._active_names())
        if name not in self._all_names():
            return self._invalid(name, self._active_names())
        if not self._is_active(name):
            return f"{name} is already deactivated."
        try:
            self._manager.deactivate_plugin(name)
        except PluginActivationException as exc:
            return f"Error deactivating {name}: {exc}"
        return f"Plugin {name} deactivated."

    @botcmd(admin_only=True)
    def plugin_reload(self, _: Message, args: str) -> Iterator[str]:
        """Reload the code of a plugin and of its own modules; its state is kept.

        An active plugin is restarted with the new code. If the new code does not import, the
        previous version keeps running.
        """
        name = args.strip()
        if not name:
            yield self._which("reload", self._all_names())
            return
        if name not in self._all_names():
            yield self._invalid(name, self._all_names())
            return
        if not self._is_active(name):
            yield (
                f"Warning: plugin {name} is currently not activated. "
                f"Use `{self._bot.prefix}plugin activate {name}` to activate it."
            )
        try:
            self._manager.reload_plugin_by_name(name)
        except PluginReloadException as exc:
            # Nothing was touched: the plugin runs (or stays stopped) with its previous code.
            kept = "is still running" if self._is_active(name) else "is kept"
            yield f"Error reloading plugin {name}: {exc}. The previous version {kept}."
            return
        except PluginActivationException as exc:
            yield f"Error activating plugin: {exc}"
            return
        yield f"Plugin {name} reloaded."

    @botcmd(admin_only=True)
    def plugin_blacklist(self, _: Message, args: str) -> str:
        """Blacklist a plugin: it is deactivated and not started with the bot any more."""
        name = args.strip()
        if not name:
            return self._which("blacklist", self._all_names())
        if name not in self._all_names():
            return self._invalid(name, self._all_names())
        if self._is_active(name):
            try:
                self._manager.deactivate_plugin(name)
            except PluginActivationException as exc:
                return f"Error deactivating {name}: {exc}."
        return str(self._manager.blacklist_plugin(name))

    @botcmd(admin_only=True)
    def plugin_unblacklist(self, _: Message, args: str) -> str:
        """Remove a plugin from the blacklist and activate it."""
        name = args.strip()
        manager = self._manager
        if not name:
            blacklisted = [n for n in self._all_names() if manager.is_plugin_blacklisted(n)]
            if not blacklisted:
                return "No plugin is blacklisted."
            return self._which("unblacklist", blacklisted)
        if name not in self._all_names():
            return self._invalid(name, self._all_names())
        if not self._is_active(name):
            try:
                manager.activate_plugin(name)
            except PluginActivationException as exc:
                return f"Error activating plugin: {exc}"
        return str(manager.unblacklist_plugin(name))

    # -- information -----------------------------------------------------------------------
    @botcmd(admin_only=True, template="plugin_info")
    def plugin_info(self, _: Message, args: str) -> str | dict[str, Any]:
        """Show where a plugin comes from, its state, storage and configuration."""
        name = args.strip()
        if not name:
            return self._which("describe", self._all_names())
        manager = self._manager
        plugin = manager.get_plugin_obj_by_name(name)
        info = manager.plugin_infos.get(name)
        if plugin is None or info is None:
            return self._invalid(name, self._all_names())
        declared = declared_secret_keys(plugin)
        logger = logging.getLogger(plugin.log.name)
        return {
            "location": str(info.location),
            "name": info.name,
            "module": info.module,
            "module_path": str(info.module_path) if info.location is not None else "",
            "core": info.core,
            "dependencies": ", ".join(info.dependencies) or "none",
            "class_path": f"{type(plugin).__module__}.{type(plugin).__name__}",
            "state": self._state(name),
            "namespace": plugin.namespace or name,
            "log_name": logger.name,
            "log_level": logging.getLevelName(logger.level),
            "config_origin": self._config_origin(plugin),
            "config": self._shown_config(plugin, declared),
            "storage": self._storage_rows(plugin, declared),
        }

    def _state(self, name: str) -> str:
        state = "activated" if self._is_active(name) else "deactivated"
        if self._manager.is_plugin_blacklisted(name):
            state += ", blacklisted"
        return state

    def _config_origin(self, plugin: Any) -> str:
        manager = self._manager
        source = manager.get_plugin_configuration_source(plugin.name)
        if source == SOURCE_CHAT:
            if manager.has_config_file_configuration(plugin.name):
                return "set from chat (overrides PLUGINS_CONFIG in config.py)"
            return "set from chat"
        if source == SOURCE_CONFIG_FILE:
            return "config.py (PLUGINS_CONFIG)"
        if self._template_of(plugin) is None:
            return "none (not configurable)"
        return "none (not configured yet)"

    def _shown_config(self, plugin: Any, declared: frozenset[str]) -> str:
        config = self._manager.get_plugin_configuration(plugin.name)
        if config is None:
            return ""
        return pformat(mask_secrets(config, declared))

    def _storage_rows(self, plugin: Any, declared: frozenset[str]) -> list[tuple[str, str]] | None:
        """The storage content, secrets masked; None when the storage is closed."""
        if not plugin.is_open_storage():
            return None
        rows = []
        try:
            for key in plugin:
                if is_secret_key(key, declared):
                    value: Any = MASK
                else:
                    value = mask_secrets(plugin[key], declared)
                # A "|" would end the table cell.
                rows.append((str(key).replace("|", "\\|"), repr(value).replace("|", "\\|")))
        except Exception:
            self.log.exception("Cannot read the storage of %s", plugin.name)
            return None
        return rows

    # -- configuration ---------------------------------------------------------------------
    @botcmd(admin_only=True, historize=False)
    def plugin_config(self, msg: Message, args: str) -> str:
        """Show or set the configuration of a plugin.

        `!plugin config ExampleBot` shows the default configuration (ready to copy and adapt)
        and the current one; `!plugin config ExampleBot {'LOGIN': 'me', 'PASSWORD': 'pw'}`
        sets it (the value may also start on the next line) and restarts the plugin.
        Secrets (keys containing TOKEN, PASSWORD, SECRET or KEY) are shown as ********; giving
        ******** back keeps the current secret.
        """
        parts = args.strip().split(None, 1)
        manager = self._manager
        if not parts:
            configurable = [
                name
                for name in self._all_names()
                if self._template_of(manager.get_plugin_obj_by_name(name)) is not None
            ]
            return self._which("configure", configurable)
        name = parts[0]
        if manager.is_plugin_blacklisted(name):
            return f"Load this plugin first with {self._bot.prefix} load {name}."
        plugin = manager.get_plugin_obj_by_name(name)
        if plugin is None or name not in manager.plugin_infos:
            return f"Unknown plugin or the plugin could not load {name}."
        template = self._template_of(plugin)
        if template is None:
            return "This plugin is not configurable."
        declared = declared_secret_keys(plugin)
        if len(parts) == 1:
            return self._describe_config(plugin, template, declared)
        try:
            return self._set_config(msg, plugin, template, parts[1], declared)
        except Exception as exc:  # never let the pipeline log the message: it holds the value
            current = manager.get_plugin_configuration(name)
            reason = f"{type(exc).__name__}: {exc}"
            self.log.error("Configuring %s failed: %s", name, redact(reason, current, declared))
            return f"Error configuring plugin {name}: {_for_chat(reason, current, declared)}."

    def _describe_config(self, plugin: Any, template: Any, declared: frozenset[str]) -> str:
        manager = self._manager
        prefix = self._bot.prefix
        current = manager.get_plugin_configuration(plugin.name)
        # A template built from the running configuration must not reveal it either.
        shown_template = redact(pformat(template), current, declared)
        response = (
            "Default configuration for this plugin (you can copy and paste this directly as a "
            f"single line command):\n\n```\n{prefix}plugin config {plugin.name} "
            f"{shown_template}\n```"
        )
        if current:
            shown = pformat(mask_secrets(current, declared))
            response += (
                f"\n\nCurrent configuration:\n\n```\n{prefix}plugin config {plugin.name} "
                f"{shown}\n```"
            )
            source = manager.get_plugin_configuration_source(plugin.name)
            if source == SOURCE_CONFIG_FILE:
                response += (
                    "\n\nThis configuration comes from PLUGINS_CONFIG in config.py; "
                    "a configuration set here overrides it."
                )
            elif manager.has_config_file_configuration(plugin.name):
                response += (
                    "\n\nThis configuration was set from chat and overrides PLUGINS_CONFIG "
                    "in config.py."
                )
        return response

    def _set_config(
        self, msg: Message, plugin: Any, template: Any, text: str, declared: frozenset[str]
    ) -> str:
        manager = self._manager
        name = plugin.name
        try:
            config = parse_config_text(text)
        except ConfigSyntaxError as exc:
            # The text itself is never logged: it may hold secrets.
            self.log.info("Invalid configuration given for %s by %s.", name, msg.frm)
            return str(exc)
        if type(config) is not type(template):
            return "It looks fishy, your config type is not the same as the template!"
        config = restore_masked_secrets(config, manager.get_plugin_configuration(name), declared)
        manager.set_plugin_configuration(name, config)
        self.log.info("Configuration of %s set from chat by %s.", name, msg.frm)
        try:
            manager.deactivate_plugin(name)
        except PluginActivationException as exc:
            return f"Error deactivating {name}: {_for_chat(str(exc), config, declared)}."
        try:
            manager.activate_plugin(name)
        except PluginConfigurationException as exc:
            self.log.info("Configuration of %s rejected, removed.", name)
            manager.set_plugin_configuration(name, None)
            return f"Incorrect plugin configuration: {_for_chat(str(exc), config, declared)}."
        except PluginActivationException as exc:
            return f"Error activating plugin: {_for_chat(str(exc), config, declared)}."
        return "Plugin configuration done."
