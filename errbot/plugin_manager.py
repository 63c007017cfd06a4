"""Finding, loading, activating and deactivating plugins.

Plugins come from `.plug` descriptors in the core plugin folder, BOT_EXTRA_PLUGIN_DIR, installed
repositories and pip distributions exposing the ``errbot.plugins`` entry point. A plugin that
fails to import or activate is reported (file and line for syntax errors) and every other
plugin still loads. State that must survive restarts (configurations, blacklist) lives in the
``core`` storage namespace.
"""

from __future__ import annotations

import copy
import logging
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import errbot.plugins as plugins_package
from errbot.botplugin import BotPlugin, BotPluginBase
from errbot.plugin_info import (
    PluginDescriptorError,
    PluginInfo,
    entry_point_dirs,
    errbot_version_tuple,
    find_class,
    find_descriptors,
)
from errbot.storage import StoreMixin
from errbot.version import ERRBOT_API_VERSION, VERSION

log = logging.getLogger(__name__)

CORE_PLUGINS_DIR = Path(__file__).parent / "core_plugins"
CONFIGS = "configs"
BL_PLUGINS = "bl_plugins"


class PluginActivationException(Exception):
    """A plugin could not be activated; the message says why."""


class PluginConfigurationException(PluginActivationException):
    """The stored configuration of a plugin was rejected."""


class PluginReloadException(PluginActivationException):
    """The new code of a plugin does not import; its previous version keeps running."""


def describe_import_error(exc: BaseException, origin: Path) -> str:
    """A one-paragraph description of why a plugin module failed, with file and line."""
    if isinstance(exc, SyntaxError):
        return f"{exc.filename or origin}, line {exc.lineno}: SyntaxError: {exc.msg}"
    frames = traceback.extract_tb(exc.__traceback__)
    # The deepest line of the plugin's own folder; import machinery frames say nothing useful.
    plugin_frames = [f for f in frames if Path(f.filename).parent == origin.parent]
    if plugin_frames:
        last = plugin_frames[-1]
        return f"{last.filename}, line {last.lineno}: {type(exc).__name__}: {exc}"
    return f"{origin}: {type(exc).__name__}: {exc}"


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, (str, Path)):
        return [str(value)]
    return [str(v) for v in value]


def located_under(location: Path | str | None, root: Path | str) -> bool:
    """Whether ``location`` is inside the folder ``root`` (symlinks resolved)."""
    if location is None:
        return False
    return Path(root).resolve() in Path(location).resolve().parents


class BotPluginManager(StoreMixin):
    """All plugins of one bot, loaded or not, active or not."""

    def __init__(
        self,
        bot: Any,
        storage_plugin: Any,
        extra_plugin_dir: Any = None,
        core_plugins: Iterable[str] | None = None,
    ) -> None:
        self.bot = bot
        self.storage_plugin = storage_plugin
        self.extra_plugin_dir = _as_list(extra_plugin_dir)
        self.core_plugins = None if core_plugins is None else set(core_plugins)
        self.plugin_infos: dict[str, PluginInfo] = {}
        self.plugins: dict[str, BotPlugin] = {}
        self.plugin_places: list[str] = []
        self.errors: dict[str, str] = {}
        self._dynamic: dict[str, BotPlugin] = {}
        self._modules: dict[Path, Any] = {}
        # BotFlow objects declared by `.flow` descriptors, by Name (activated after plugins).
        self.flows: dict[str, Any] = {}
        self.flow_infos: dict[str, PluginInfo] = {}
        self._active: list[BotPlugin] = []
        self._activating: list[str] = []
        self._lock = threading.RLock()
        self.open_storage(storage_plugin, "core")
        if CONFIGS not in self:
            self[CONFIGS] = {}

    @property
    def _extra_plugin_dir(self) -> list[str]:
        """Errbot's attribute name; its own tests set it, then call update_plugin_places."""
        return self.extra_plugin_dir

    @_extra_plugin_dir.setter
    def _extra_plugin_dir(self, value: Any) -> None:
        self.extra_plugin_dir = _as_list(value)

    # -- discovery --------------------------------------------------------------------
    def update_plugin_places(self, path_list: Iterable[str] = ()) -> dict[str, str]:
        """Discover and instantiate every plugin under the known places; return new errors."""
        roots = [str(CORE_PLUGINS_DIR), *self.extra_plugin_dir, *_as_list(path_list)]
        roots += entry_point_dirs("errbot.plugins")
        new_errors: dict[str, str] = {}
        with self._lock:
            for root in roots:
                if root not in self.plugin_places:
                    self.plugin_places.append(root)
            descriptors = list(find_descriptors(self.plugin_places, ".plug"))
            # Every plugin folder is importable before any plugin module runs, so a plugin may
            # import the module of another plugin whatever the discovery order.
            for descriptor in descriptors:
                self._add_import_path(str(descriptor.parent))
            for descriptor in descriptors:
                error = self._load_descriptor(descriptor)
                if error:
                    new_errors[str(descriptor)] = error
            for descriptor in find_descriptors(self.plugin_places, ".flow"):
                error = self._load_flow_descriptor(descriptor)
                if error:
                    new_errors[str(descriptor)] = error
        self.errors.update(new_errors)
        return new_errors

    def _load_descriptor(self, descriptor: Path) -> str | None:
        try:
            info = PluginInfo.load(descriptor)
        except PluginDescriptorError as exc:
            log.error("%s", exc)
            return str(exc)
        if info.name in self.plugin_infos:
            known = self.plugin_infos[info.name].location
            if known != descriptor:
                log.warning("Plugin %s already loaded.", info.name)
            return None
        if info.core and self.core_plugins is not None and info.name not in self.core_plugins:
            log.debug("Core plugin %s is not in CORE_PLUGINS, skipped.", info.name)
            return None
        if not info.python_supported():
            log.info("%s requires a Python version this interpreter does not have.", info.name)
            return None
        version_error = self._errbot_version_error(info)
        if version_error:
            log.error(version_error)
            return version_error
        self._add_import_path(str(descriptor.parent))
        if not info.module_path.exists():
            message = f"the module {info.module} ({info.module_path}) does not exist."
            log.error("Plugin %s failed to load: %s", info.name, message)
            return message
        try:
            module = self._modules.get(info.module_path)
            if module is None:
                module = info.load_module("errbot.plugins")
                self._modules[info.module_path] = module
            plugin_class = find_class(module, BotPlugin, str(descriptor))
            plugin = plugin_class(self.bot, name=info.name)
        except Exception as exc:  # any failure in third-party code is reported, not fatal
            message = describe_import_error(exc, info.module_path)
            log.error("Plugin %s failed to load: %s", info.name, message)
            return message
        self.plugin_infos[info.name] = info
        self.plugins[info.name] = plugin
        return None

    def _load_flow_descriptor(self, descriptor: Path) -> str | None:
        """Load the BotFlow of a `.flow` descriptor, imported as ``errbot.flows.<Module>``."""
        import errbot.flows as flows_package
        from errbot.flow import BotFlow

        try:
            info = PluginInfo.load(descriptor)
        except PluginDescriptorError as exc:
            log.error("%s", exc)
            return str(exc)
        if info.name in self.flow_infos:
            if self.flow_infos[info.name].location != descriptor:
                log.warning("Flow %s already loaded.", info.name)
            return None
        if not info.python_supported():
            log.info("%s requires a Python version this interpreter does not have.", info.name)
            return None
        version_error = self._errbot_version_error(info)
        if version_error:
            log.error(version_error)
            return version_error
        folder = str(descriptor.parent)
        if folder not in flows_package.__path__:
            flows_package.__path__.append(folder)
        try:
            module = info.load_module("errbot.flows")
            flow_class = find_class(module, BotFlow, str(descriptor))
            botflow = flow_class(self.bot, info.name)
        except Exception as exc:  # third-party code: report, never fail the others
            message = describe_import_error(exc, info.module_path)
            log.error("Flow %s failed to load: %s", info.name, message)
            return message
        self.flow_infos[info.name] = info
        self.flows[info.name] = botflow
        return None

    def activate_flows(self) -> list[str]:
        """Activate the BotFlows not active yet (after the plugins); returns the errors."""
        errors = []
        for name, botflow in list(self.flows.items()):
            if botflow.is_activated:
                continue
            try:
                botflow.activate()
            except Exception as exc:
                log.exception("Flow %s failed to activate", name)
                errors.append(f"Error: {name} failed to activate: {exc}")
        return errors

    def deactivate_flows(self) -> None:
        for name, botflow in reversed(list(self.flows.items())):
            self._deactivate_flow(name, botflow)

    def _deactivate_flow(self, name: str, botflow: Any) -> None:
        if not botflow.is_activated:
            return
        try:
            botflow.deactivate()
        except Exception:
            log.exception("Error while deactivating the flow %s", name)
            self.bot.remove_flows_from(botflow)
        botflow.is_activated = False

    @staticmethod
    def _add_import_path(folder: str) -> None:
        if folder not in sys.path:
            sys.path.append(folder)
        if folder not in plugins_package.__path__:
            plugins_package.__path__.append(folder)

    @staticmethod
    def _errbot_version_error(info: PluginInfo) -> str | None:
        running = errbot_version_tuple(VERSION)
        if info.errbot_minversion and info.errbot_minversion > running:
            return (
                f"The plugin {info.name} asks for Errbot with a minimal version of "
                f"{info.errbot_minversion} while Errbot is version {VERSION}."
            )
        if info.errbot_maxversion and info.errbot_maxversion < errbot_version_tuple(
            ERRBOT_API_VERSION
        ):
            return (
                f"The plugin {info.name} asks for Errbot with a maximum version of "
                f"{info.errbot_maxversion} while this bot implements the Errbot "
                f"{ERRBOT_API_VERSION} API (errbot {VERSION})."
            )
        return None

    # -- queries ------------------------------------------------------------------------
    def get_plugin_obj_by_name(self, name: str) -> BotPlugin | None:
        return self.plugins.get(name) or self._dynamic.get(name)

    def get_all_plugins(self) -> list[BotPlugin]:
        return list(self.plugins.values())

    def get_all_plugin_names(self) -> list[str]:
        return list(self.plugins)

    def get_all_active_plugins(self) -> list[BotPlugin]:
        return self._active

    def get_all_active_plugin_names(self) -> list[str]:
        return [p.name for p in self._active]

    def get_plugins_by_path(self, path: str) -> list[BotPlugin]:
        root = Path(path).resolve()
        return [
            self.plugins[name]
            for name, info in self.plugin_infos.items()
            if located_under(info.location, root)
        ]

    def remove_plugins_from_path(self, path: str) -> list[str]:
        """Deactivate and forget every plugin and flow under ``path`` (a repository being
        uninstalled or that failed to load); the plugin names removed. Configurations and
        stored data are kept: a reinstalled plugin finds them again."""
        root = Path(path).resolve()

        def under(location: Path | str | None) -> bool:
            return located_under(location, root)

        with self._lock:
            names = [n for n, info in self.plugin_infos.items() if under(info.location)]
            for name in names:
                self.deactivate_plugin(name)
                info = self.plugin_infos.pop(name)
                self.plugins.pop(name, None)
                self._modules.pop(info.module_path, None)
                sys.modules.pop(f"errbot.plugins.{info.module}", None)
            for name in [n for n, info in self.flow_infos.items() if under(info.location)]:
                self._deactivate_flow(name, self.flows.pop(name))
                self.flow_infos.pop(name)
            # Import paths and discovery roots inside the folder go too: it is being deleted.
            def inside(entry: str) -> bool:
                return bool(entry) and (Path(entry).resolve() == root or under(Path(entry)))

            self.plugin_places = [p for p in self.plugin_places if not inside(p)]
            for entries in (sys.path, plugins_package.__path__):
                for entry in [e for e in entries if inside(e)]:
                    entries.remove(entry)
            for key in [k for k in self.errors if under(Path(k))]:
                del self.errors[key]
        return names

    def is_plugin_blacklisted(self, name: str) -> bool:
        return name in self.get(BL_PLUGINS, ())

    def blacklist_plugin(self, name: str) -> str:
        if self.is_plugin_blacklisted(name):
            return f"Plugin {name} is already blacklisted."
        self[BL_PLUGINS] = [*self.get(BL_PLUGINS, []), name]
        return f"Plugin {name} is now blacklisted."

    def unblacklist_plugin(self, name: str) -> str:
        if not self.is_plugin_blacklisted(name):
            return f"Plugin {name} is not blacklisted."
        self[BL_PLUGINS] = [n for n in self.get(BL_PLUGINS, []) if n != name]
        return f"Plugin {name} removed from blacklist."

    def get_plugin_configuration(self, name: str) -> Any:
        """The configuration ``name`` runs with: set from chat, else PLUGINS_CONFIG, else None."""
        stored = self.get_stored_plugin_configuration(name)
        if stored is not None:
            return stored
        return copy.deepcopy(self._config_file_configurations().get(name))

    def get_stored_plugin_configuration(self, name: str) -> Any:
        """The configuration set from chat (the ``configs`` storage entry), or None."""
        return self.get(CONFIGS, {}).get(name)

    def get_plugin_configuration_source(self, name: str) -> str | None:
        """Where the configuration of ``name`` comes from: "chat", "config.py" or None."""
        from errbot.plugin_config import SOURCE_CHAT, SOURCE_CONFIG_FILE

        if self.get_stored_plugin_configuration(name) is not None:
            return SOURCE_CHAT
        if self._config_file_configurations().get(name) is not None:
            return SOURCE_CONFIG_FILE
        return None

    def has_config_file_configuration(self, name: str) -> bool:
        return self._config_file_configurations().get(name) is not None

    def _config_file_configurations(self) -> dict[str, Any]:
        """PLUGINS_CONFIG from config.py (read each time, like the other settings)."""
        value = getattr(self.bot.bot_config, "PLUGINS_CONFIG", None)
        if not value:
            return {}
        if not isinstance(value, Mapping):
            log.error("PLUGINS_CONFIG must be a dict of plugin names to configurations; ignored.")
            return {}
        return dict(value)

    def set_plugin_configuration(self, name: str, obj: Any) -> None:
        """Store a configuration set from chat; None removes it (PLUGINS_CONFIG applies again)."""
        with self.mutable(CONFIGS, {}) as configs:
            if obj is None:
                configs.pop(name, None)
            else:
                configs[name] = obj

    def delete_plugin_configuration(self, name: str) -> None:
        with self.mutable(CONFIGS, {}) as configs:
            configs.pop(name, None)

    def reload_plugin_by_name(self, name: str) -> None:
        """Re-import the code of ``name`` (and of its own sub-modules) and restart it.

        The instance is kept (its class is swapped, its attributes stay); it is re-activated
        when it was active. If the new code does not import, the old one keeps running and
        PluginReloadException (a PluginActivationException) says why, with file and line.
        """
        from errbot.plugin_reload import PluginReloadError, import_new_code, swap_class

        with self._lock:
            plugin = self.plugins.get(name)
            info = self.plugin_infos.get(name)
            if plugin is None or info is None or info.location is None:
                raise PluginActivationException(f"Could not find the plugin {name}.")
            tops = {f"errbot.plugins.{i.module}" for i in self.plugin_infos.values()}
            try:
                code = import_new_code(info, type(plugin).__name__, BotPlugin, tops)
            except PluginReloadError as exc:
                log.error("Plugin %s could not be reloaded: %s", name, exc)
                raise PluginReloadException(str(exc)) from exc
            was_active = plugin.is_activated
            if was_active:
                self.deactivate_plugin(name)
            self._modules[info.module_path] = code.module
            swap_class(plugin, code.plugin_class)
            log.info("Plugin %s reloaded from %s.", name, info.module_path)
            if was_active:
                self.activate_plugin(name)

    # -- activation -------------------------------------------------------------------
    def activate_plugin(self, name: str) -> None:
        """Activate ``name`` and, first, what it depends on. Raises PluginActivationException."""
        with self._lock:
            if name in self._activating:
                cycle = " -> ".join([*self._activating[self._activating.index(name) :], name])
                raise PluginActivationException(
                    f"Circular dependency in the set of plugins ({cycle})"
                )
            plugin = self.plugins.get(name)
            if plugin is None:
                raise PluginActivationException(f"Could not find the plugin {name}.")
            if plugin.is_activated:
                return
            info = self.plugin_infos[name]
            self._activating.append(name)
            try:
                for dependency in info.dependencies:
                    if dependency not in self.plugins:
                        raise PluginActivationException(f"Unknown plugin dependency {dependency}.")
                    self.activate_plugin(dependency)
                self._configure(plugin)
                self._start(plugin, info)
            finally:
                self._activating.pop()

    def _configure(self, plugin: BotPlugin) -> None:
        config = self.get_plugin_configuration(plugin.name)
        try:
            if config is not None and plugin.get_configuration_template() is not None:
                plugin.check_configuration(config)
            plugin.configure(config)
        except Exception as exc:
            plugin.config = None
            from errbot.plugin_config import declared_secret_keys, redact

            # Checks usually quote the configuration: its secrets must reach neither the chat
            # nor the logs, not even through the chained exception's message.
            message = str(exc)
            safe = redact(message, config, declared_secret_keys(plugin))
            if safe != message:
                raise PluginConfigurationException(safe) from None
            raise PluginConfigurationException(message) from exc

    def _start(self, plugin: BotPlugin, info: PluginInfo) -> None:
        from errbot.templating import add_plugin_templates_path, remove_plugin_templates_path

        if info.location is not None:
            templates = info.location.parent / "templates"
            if templates.is_dir():
                add_plugin_templates_path(plugin.name, templates)
        type(plugin).__errdoc__ = type(plugin).__doc__ or info.doc
        plugin.__errdoc__ = type(plugin).__errdoc__
        plugin.dependencies = list(info.dependencies)
        try:
            plugin.activate()
            if plugin.is_activated:
                self._mark_active(plugin)
                webserver = getattr(self.bot, "webhooks", None)
                if webserver is not None:
                    webserver.route_plugin(plugin)
                plugin.callback_connect()
            else:
                # The plugin chose to stay inactive (e.g. TextCmds outside the console).
                remove_plugin_templates_path(plugin.name)
        except Exception as exc:
            from errbot.plugin_config import declared_secret_keys, redact

            # An activation failure often quotes the configuration (a refused token, a URL
            # with its API key): the traceback is logged with the secrets masked.
            config = self.get_plugin_configuration(plugin.name)
            declared = declared_secret_keys(plugin)
            trace = "".join(traceback.format_exception(exc))
            log.error("Plugin %s failed to activate\n%s", plugin.name,
                      redact(trace, config, declared).rstrip())
            self._safe_deactivate(plugin)
            message = f"{type(exc).__name__}: {exc}"
            safe = redact(message, config, declared)
            if safe != message:
                raise PluginActivationException(safe) from None
            raise PluginActivationException(message) from exc

    def _mark_active(self, plugin: BotPlugin) -> None:
        if plugin not in self._active:
            self._active = [*self._active, plugin]
        self.bot.callbacks.invalidate()

    def _mark_inactive(self, plugin: BotPlugin) -> None:
        self._active = [p for p in self._active if p is not plugin]
        self.bot.callbacks.invalidate()

    def _safe_deactivate(self, plugin: BotPlugin) -> None:
        try:
            if plugin.is_activated:
                plugin.deactivate()
        except Exception:
            log.exception("Error while deactivating %s", plugin.name)
            # The override raised, maybe before calling super().deactivate(): withdraw its
            # commands, filters, pollers and storage anyway (each step is idempotent), or an
            # "inactive" plugin would keep answering.
            try:
                BotPluginBase.deactivate(plugin)
            except Exception:
                log.exception("Could not clean up after %s", plugin.name)
        finally:
            plugin.is_activated = False
            self._mark_inactive(plugin)
            if plugin.name in self.plugin_infos:
                from errbot.templating import remove_plugin_templates_path

                remove_plugin_templates_path(plugin.name)

    def deactivate_plugin(self, name: str) -> None:
        with self._lock:
            plugin = self.plugins.get(name)
            if plugin is None or not plugin.is_activated:
                return
            webserver = getattr(self.bot, "webhooks", None)
            if webserver is not None:
                webserver.unroute_plugin(plugin)
            self._safe_deactivate(plugin)

    def activate_non_started_plugins(self) -> str:
        """Activate every loaded plugin not yet active; return the errors for the admins."""
        errors: list[str] = [
            error if error.startswith(path) else f"{path}: {error}"
            for path, error in self.errors.items()
        ]
        for name, plugin in list(self.plugins.items()):
            if plugin.is_activated:
                continue
            if self.is_plugin_blacklisted(name):
                self.bot.warn_admins(
                    f'Notice: {name} is blacklisted, use "{self.bot.prefix}plugin unblacklist '
                    f'{name}" to unblacklist it.'
                )
                continue
            try:
                self.activate_plugin(name)
            except Exception as exc:
                log.error("Plugin %s failed to activate: %s", name, exc)
                errors.append(f"Error: {name} failed to activate: {exc}")
        errors.extend(self.activate_flows())
        self.errors.clear()
        if errors:
            return "Some plugins failed to start during bot startup:\n\n" + "\n".join(errors)
        return ""

    def deactivate_all_plugins(self) -> None:
        self.deactivate_flows()
        for plugin in reversed(list(self._active)):
            self.deactivate_plugin(plugin.name)

    # -- dynamic plugins --------------------------------------------------------------
    def register_dynamic_plugin(self, name: str, plugin: BotPlugin) -> None:
        self._dynamic[name] = plugin
        self._active = [*self._active, plugin]
        self.bot.callbacks.invalidate()

    def is_dynamic_plugin(self, name: str) -> bool:
        return name in self._dynamic

    def dynamic_plugin_owner(self, name: str) -> BotPlugin | None:
        """The plugin whose ``create_dynamic_plugin`` made ``name``, if it is still there."""
        for plugin in [*self.plugins.values(), *self._dynamic.values()]:
            if name in getattr(plugin, "_dynamic_plugins", {}):
                return plugin
        return None

    def unregister_dynamic_plugin(self, name: str) -> None:
        plugin = self._dynamic.pop(name, None)
        if plugin is not None:
            self._mark_inactive(plugin)

    def shutdown(self) -> None:
        log.info("Shutting down all the plugins...")
        self.deactivate_all_plugins()
        flow_executor = getattr(self.bot, "flow_executor", None)
        if flow_executor is not None:
            flow_executor.shutdown()
        if self.is_open_storage():
            self.close_storage()
