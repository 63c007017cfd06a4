"""Plugins on disk: `.plug` parsing, discovery, dependencies, filtering, failures, clashes.

Every test runs a real bot on the Test backend over plugin folders that exist on disk, either
fixtures under tests/plugins/ or folders written into ``tmp_path`` when a test needs an
unusual layout (broken code, symlinks, a pip-style distribution).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from errbot.backends.test import TestBot
from errbot.plugin_info import PluginInfo, errbot_version_tuple
from errbot.version import VERSION

PLUGINS = Path(__file__).parent / "plugins"
STARTUP_HEADER = "Some plugins failed to start during bot startup:"
RUNNING_PY = ".".join(str(part) for part in sys.version_info[:3])


# -- helpers ----------------------------------------------------------------------------------


def write_plugin(
    root: Path,
    name: str,
    *,
    module: str | None = None,
    folder: str | None = None,
    plug_extra: str = "",
    code: str | None = None,
    plug: str | None = None,
) -> Path:
    """Write ``<root>/<folder>/<module>.plug`` and ``<module>.py``; return the folder.

    Without ``code`` the plugin gets one command, ``<module>_hello``, answering
    "hello from <name>".
    """
    module = module or name.lower()
    directory = root / (folder or module)
    directory.mkdir(parents=True, exist_ok=True)
    if plug is None:
        plug = f"[Core]\nName = {name}\nModule = {module}\n" + textwrap.dedent(plug_extra)
    (directory / f"{module}.plug").write_text(plug)
    if code is None:
        code = f"""
            from errbot import BotPlugin, botcmd


            class {name}Plugin(BotPlugin):
                @botcmd
                def {module}_hello(self, msg, args):
                    return "hello from {name}"
            """
    (directory / f"{module}.py").write_text(textwrap.dedent(code))
    return directory


@contextlib.contextmanager
def running_bot(plugin_dir: Any, **config: Any) -> Iterator[tuple[TestBot, list[str]]]:
    """A started TestBot and the messages it sent before answering "ready".

    `TestBot.start` swallows those start-up messages (the admin warnings among them), so
    this starts the bot the same way but keeps them.
    """
    testbot = TestBot(extra_plugin_dir=plugin_dir, loglevel=logging.WARNING, extra_config=config)
    bot = testbot.bot
    testbot.bot_thread = threading.Thread(
        target=bot.serve_forever, name="TestBot main thread", daemon=True
    )
    testbot.bot_thread.start()
    try:
        bot.push_message("!echo ready")
        startup: list[str] = []
        while (reply := bot.pop_message(timeout=60)) != "ready":
            startup.append(reply)
        yield testbot, startup
    finally:
        testbot.stop()


def active_names(testbot: TestBot) -> set[str]:
    return set(testbot.bot.plugin_manager.get_all_active_plugin_names())


def loaded_names(testbot: TestBot) -> set[str]:
    return set(testbot.bot.plugin_manager.get_all_plugin_names())


def startup_report(startup: list[str]) -> str:
    reports = [m for m in startup if m.startswith(STARTUP_HEADER)]
    assert len(reports) == 1, f"expected one start-up report, got {startup}"
    return reports[0]


# -- .plug parsing ------------------------------------------------------------------------------


def test_every_plug_key_is_parsed(tmp_path):
    plug = tmp_path / "full.plug"
    plug.write_text(
        textwrap.dedent(
            """\
            [Core]
            Name = Full
            Module = fullmod
            DependsOn =  First ,Second,   Third  ,
            Core = True

            [Documentation]
            Description = A plugin using every key.

            [Python]
            Version = 2+

            [Errbot]
            Min = 6.1.0-beta
            Max = 9.9.9-rc3
            """
        )
    )
    info = PluginInfo.load(plug)
    assert info.name == "Full"
    assert info.module == "fullmod"
    assert info.dependencies == ["First", "Second", "Third"]
    assert info.core is True
    assert info.doc == "A plugin using every key."
    assert info.python_version == (3, 0, 0)
    assert info.errbot_minversion == errbot_version_tuple("6.1.0-beta")
    assert info.errbot_maxversion == errbot_version_tuple("9.9.9-rc3")
    assert info.location == plug


def test_optional_keys_default(tmp_path):
    plug = tmp_path / "bare.plug"
    plug.write_text("[Core]\nName = Bare\nModule = bare\n")
    info = PluginInfo.load(plug)
    assert (info.name, info.module) == ("Bare", "bare")
    assert info.dependencies == []
    assert info.core is False
    assert info.doc is None
    assert info.python_version is None
    assert info.errbot_minversion is None and info.errbot_maxversion is None
    assert info.python_supported()


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("6.2.1-alpha", "6.2.1-beta"),
        ("6.2.1-beta", "6.2.1-rc1"),
        ("6.2.1-rc1", "6.2.1-rc2"),
        ("6.2.1-rc2", "6.2.1-rc10"),
        ("6.2.1-rc10", "6.2.1"),
        ("6.2.1", "6.2.2-alpha"),
        ("6.2.9", "6.10.0"),
        ("6.99.99", "7.0.0-alpha"),
    ],
)
def test_errbot_version_ordering(lower, higher):
    assert errbot_version_tuple(lower) < errbot_version_tuple(higher)


@pytest.mark.parametrize(
    "bad", ["6.2", "6", "6.2.1.4", "v6.2.1", "6.2.1-gamma", "6.2.1-rc", "6.2.1-RC1", "6.x.1", ""]
)
def test_invalid_errbot_versions_are_refused(bad):
    with pytest.raises(ValueError):
        errbot_version_tuple(bad)


@pytest.mark.parametrize(
    ("declared", "supported"),
    [
        ("2", False),  # Python 2 only
        ("2+", True),
        ("3", True),
        ("3.0.0", True),
        ("3.0", True),  # missing parts are zeros
        ("3.1.2.7", True),  # only the first three parts count
        (RUNNING_PY, False),  # the quirk: the running version itself is refused...
        (f"{sys.version_info[0]}.{sys.version_info[1] + 1}.0", False),  # ...and any later one
    ],
)
def test_python_version_rules(tmp_path, declared, supported):
    plug = tmp_path / "py.plug"
    plug.write_text(f"[Core]\nName = Py\nModule = py\n\n[Python]\nVersion = {declared}\n")
    assert PluginInfo.load(plug).python_supported() is supported


def test_python_version_rule_against_a_given_interpreter(tmp_path):
    plug = tmp_path / "py.plug"
    plug.write_text("[Core]\nName = Py\nModule = py\n\n[Python]\nVersion = 3.8.0\n")
    info = PluginInfo.load(plug)
    assert info.python_supported((3, 8, 1))
    assert not info.python_supported((3, 8, 0))
    assert not info.python_supported((3, 7, 12))


def test_python_version_filters_plugins_silently(tmp_path):
    write_plugin(tmp_path, "PyAny")
    write_plugin(tmp_path, "PyOld", plug_extra="[Python]\nVersion = 3.0.0\n")
    write_plugin(tmp_path, "PyTwoPlus", plug_extra="[Python]\nVersion = 2+\n")
    write_plugin(tmp_path, "PyTwo", plug_extra="[Python]\nVersion = 2\n")
    write_plugin(tmp_path, "PyRunning", plug_extra=f"[Python]\nVersion = {RUNNING_PY}\n")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert {"PyAny", "PyOld", "PyTwoPlus"} <= active_names(testbot)
        assert not {"PyTwo", "PyRunning"} & loaded_names(testbot)
        # Skipped, not failed: nothing to report to the admins.
        assert startup == []
        assert testbot.exec_command("!pyold_hello") == "hello from PyOld"
        assert "not found" in testbot.exec_command("!pyrunning_hello")


def test_errbot_min_max_versions(tmp_path):
    write_plugin(tmp_path, "TooNew", plug_extra="[Errbot]\nMin = 99.0.0\n")
    # Max is checked against the Errbot API level we implement (6.2.1), so "up to 6.2.1"
    # plugins run and "up to 6.2.0" ones are refused.
    write_plugin(tmp_path, "TooOld", plug_extra="[Errbot]\nMax = 6.2.0\n")
    write_plugin(tmp_path, "UpTo621", plug_extra="[Errbot]\nMax = 6.2.1\n")
    write_plugin(tmp_path, "NextAlpha", plug_extra=f"[Errbot]\nMin = {bump_patch(VERSION)}-alpha\n")
    write_plugin(tmp_path, "FinalOnly", plug_extra="[Errbot]\nMax = 6.2.1-rc9\n")
    write_plugin(tmp_path, "RcOk", plug_extra=f"[Errbot]\nMin = {VERSION}-rc2\nMax = {VERSION}\n")
    write_plugin(tmp_path, "SixOk", plug_extra="[Errbot]\nMin = 6.0.0\nMax = 99.0.0-beta\n")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert {"RcOk", "SixOk", "UpTo621"} <= active_names(testbot)
        assert not {"TooNew", "TooOld", "NextAlpha", "FinalOnly"} & loaded_names(testbot)
        report = startup_report(startup)
        assert (
            f"The plugin TooNew asks for Errbot with a minimal version of "
            f"{errbot_version_tuple('99.0.0')} while Errbot is version {VERSION}." in report
        )
        assert (
            f"The plugin TooOld asks for Errbot with a maximum version of "
            f"{errbot_version_tuple('6.2.0')} while this bot implements the Errbot 6.2.1 API "
            f"(errbot {VERSION})." in report
        )
        assert "The plugin NextAlpha asks for Errbot with a minimal version of" in report
        assert "The plugin FinalOnly asks for Errbot with a maximum version of" in report
        assert testbot.exec_command("!rcok_hello") == "hello from RcOk"


def bump_patch(version: str) -> str:
    major, minor, patch = version.split("-")[0].split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def test_invalid_errbot_version_names_the_file(tmp_path):
    folder = write_plugin(tmp_path, "BadMin", plug_extra="[Errbot]\nMin = 6.2\n")
    write_plugin(tmp_path, "Fine")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert "Fine" in active_names(testbot)
        assert "BadMin" not in loaded_names(testbot)
        report = startup_report(startup)
        assert str(folder / "badmin.plug") in report
        assert "6.2" in report


@pytest.mark.parametrize(
    "content",
    [
        "this is not an INI file\n",
        "[Core]\nName = NoModule\n",
        "[Core]\nModule = nomodule\n",
        "[Documentation]\nDescription = no Core section\n",
        "[Core]\nName = Dup\nName = Dup\nModule = dup\n",
    ],
    ids=["no-section", "no-module", "no-name", "no-core", "duplicate-key"],
)
def test_malformed_plug_is_reported_with_its_file(tmp_path, content):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "broken.plug").write_text(content)
    (broken / "broken.py").write_text(
        "from errbot import BotPlugin\n\n\nclass B(BotPlugin):\n    pass\n"
    )
    write_plugin(tmp_path, "Healthy")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert "Healthy" in active_names(testbot)
        assert testbot.exec_command("!healthy_hello") == "hello from Healthy"
        report = startup_report(startup)
        assert str(broken / "broken.plug") in report


def test_malformed_plug_error_message(tmp_path):
    plug = tmp_path / "x.plug"
    plug.write_text("[Core]\nName = X\n")
    with pytest.raises(Exception, match="Module") as failure:
        PluginInfo.load(plug)
    assert str(plug) in str(failure.value)


def test_description_is_the_help_doc_when_the_class_has_none(tmp_path):
    write_plugin(
        tmp_path, "NoDoc", plug_extra="[Documentation]\nDescription = Documented by its plug.\n"
    )
    write_plugin(
        tmp_path,
        "WithDoc",
        plug_extra="[Documentation]\nDescription = Not this one.\n",
        code='''
            from errbot import BotPlugin


            class WithDoc(BotPlugin):
                """The class docstring wins."""
            ''',
    )
    with running_bot(str(tmp_path)) as (testbot, _):
        manager = testbot.bot.plugin_manager
        no_doc = manager.get_plugin_obj_by_name("NoDoc")
        with_doc = manager.get_plugin_obj_by_name("WithDoc")
        assert no_doc.__errdoc__ == "Documented by its plug."
        assert type(no_doc).__errdoc__ == "Documented by its plug."
        assert with_doc.__errdoc__ == "The class docstring wins."


def test_core_flag_and_dependencies_on_a_running_bot():
    with running_bot([str(PLUGINS / "deps_chain")]) as (testbot, _):
        manager = testbot.bot.plugin_manager
        top = manager.get_plugin_obj_by_name("DepTop")
        assert top.dependencies == ["DepMid", "DepBase"]
        assert manager.plugin_infos["DepTop"].core is False
        assert manager.plugin_infos["ChatRoom"].core is True


# -- discovery ---------------------------------------------------------------------------------


def test_extra_plugin_dir_as_a_string_with_nested_folders(tmp_path):
    write_plugin(tmp_path, "Shallow")
    write_plugin(tmp_path, "Deep", folder="one/two/three/deep")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert {"Shallow", "Deep"} <= active_names(testbot)
        assert testbot.exec_command("!deep_hello") == "hello from Deep"
        assert startup == []


def test_extra_plugin_dir_as_a_list(tmp_path):
    first = tmp_path / "first"
    second = tmp_path / "second"
    write_plugin(first, "FromFirst")
    write_plugin(second, "FromSecond")
    write_plugin(tmp_path / "ignored", "NotListed")
    with running_bot([str(first), second]) as (testbot, _):
        assert {"FromFirst", "FromSecond"} <= active_names(testbot)
        assert "NotListed" not in loaded_names(testbot)
        assert testbot.exec_command("!fromsecond_hello") == "hello from FromSecond"


def test_symlinks_are_followed_hidden_and_pycache_skipped(tmp_path):
    root = tmp_path / "root"
    elsewhere = tmp_path / "elsewhere"
    target = write_plugin(elsewhere, "Linked")
    root.mkdir()
    (root / "link").symlink_to(target, target_is_directory=True)
    # A symlink loop must not hang discovery.
    (root / "loop").symlink_to(root, target_is_directory=True)
    write_plugin(root, "Hidden", folder=".hidden/inside")
    write_plugin(root, "Cached", folder="__pycache__")
    write_plugin(root, "Visible")
    with running_bot(str(root)) as (testbot, _):
        assert {"Linked", "Visible"} <= active_names(testbot)
        assert not {"Hidden", "Cached"} & loaded_names(testbot)
        assert testbot.exec_command("!linked_hello") == "hello from Linked"


def test_plugin_folder_is_importable_by_the_plugin(tmp_path):
    folder = write_plugin(
        tmp_path,
        "Sibling",
        module="sibling_main",
        code="""
            from errbot import BotPlugin, botcmd

            from sibling_helper_mod import ANSWER


            class Sibling(BotPlugin):
                @botcmd
                def sibling(self, msg, args):
                    return ANSWER
            """,
    )
    (folder / "sibling_helper_mod.py").write_text('ANSWER = "from the helper module"\n')
    with running_bot(str(tmp_path)) as (testbot, _):
        assert testbot.exec_command("!sibling") == "from the helper module"
        assert type(testbot.bot.plugin_manager.get_plugin_obj_by_name("Sibling")).__module__ == (
            "errbot.plugins.sibling_main"
        )


def make_distribution(
    site: Path, project: str, package: str, group: str = "errbot.plugins"
) -> None:
    """Lay out ``site`` as `pip install` would for a plugin distribution: the package next
    to its ``*.dist-info`` with METADATA, entry_points.txt and RECORD."""
    pkg = site / package
    write_plugin(pkg.parent, "PipInstalled", module="pip_installed", folder=package)
    (pkg / "__init__.py").write_text("")
    dist_info = site / f"{project.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[{group}]\npip_installed = {package}\n")
    (dist_info / "INSTALLER").write_text("pip\n")
    files = [p for p in site.rglob("*") if p.is_file()]
    (dist_info / "RECORD").write_text(
        "".join(f"{p.relative_to(site).as_posix()},,\n" for p in files)
        + f"{dist_info.name}/RECORD,,\n"
    )


def test_pip_installed_plugin_found_through_its_entry_point(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    site.mkdir()
    make_distribution(site, "err-pip-installed", "errtest_pip_installed")
    monkeypatch.syspath_prepend(str(site))
    with running_bot(None) as (testbot, startup):
        assert "PipInstalled" in active_names(testbot)
        assert testbot.exec_command("!pip_installed_hello") == "hello from PipInstalled"
        assert str(site / "errtest_pip_installed") in testbot.bot.plugin_manager.plugin_places
        assert startup == []


def test_entry_point_of_another_group_is_ignored(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    site.mkdir()
    make_distribution(site, "err-other", "errtest_other_group", group="something.else")
    monkeypatch.syspath_prepend(str(site))
    with running_bot(None) as (testbot, _):
        assert "PipInstalled" not in loaded_names(testbot)


def test_two_plug_files_one_module():
    with running_bot([str(PLUGINS / "twins")]) as (testbot, startup):
        manager = testbot.bot.plugin_manager
        one = manager.get_plugin_obj_by_name("TwinOne")
        two = manager.get_plugin_obj_by_name("TwinTwo")
        assert one is not two
        assert type(one) is type(two)
        assert (one.name, two.name) == ("TwinOne", "TwinTwo")
        assert (one.namespace, two.namespace) == ("TwinOne", "TwinTwo")
        assert one.__errdoc__ == "The first instance of the twins module."
        assert two.__errdoc__ == "The second instance of the twins module."
        # Same commands twice: the second instance's are renamed, as for any clash.
        assert testbot.exec_command("!twin_who") == "I am TwinOne"
        assert testbot.exec_command("!twintwo-twin_who") == "I am TwinTwo"
        assert (
            "TwinTwo.twin_who clashes with Twin.twin_who so it has been renamed twintwo-twin_who"
            in startup
        )
        # Separate storage.
        assert testbot.exec_command("!twin_keep apples") == "TwinOne keeps apples"
        assert testbot.exec_command("!twintwo-twin_show") == "TwinTwo has nothing"
        assert testbot.exec_command("!twintwo-twin_keep pears") == "TwinTwo keeps pears"
        assert testbot.exec_command("!twin_show") == "TwinOne has apples"
        assert (one["kept"], two["kept"]) == ("apples", "pears")


def test_duplicate_plugin_name_keeps_the_first(tmp_path, caplog):
    write_plugin(tmp_path, "Same", module="same_a", folder="a")
    write_plugin(
        tmp_path,
        "Same",
        module="same_b",
        folder="b",
        code="""
            from errbot import BotPlugin, botcmd


            class SameAgain(BotPlugin):
                @botcmd
                def same_b_hello(self, msg, args):
                    return "the second one"
            """,
    )
    with caplog.at_level(logging.WARNING), running_bot(str(tmp_path)) as (testbot, _):
        assert type(testbot.bot.plugin_manager.get_plugin_obj_by_name("Same")).__name__ == (
            "SamePlugin"
        )
        assert testbot.exec_command("!same_a_hello") == "hello from Same"
        assert "not found" in testbot.exec_command("!same_b_hello")
    assert "Plugin Same already loaded." in caplog.messages


# -- dependencies ------------------------------------------------------------------------------


def test_dependencies_are_activated_first():
    with running_bot([str(PLUGINS / "deps_chain")]) as (testbot, startup):
        manager = testbot.bot.plugin_manager
        assert startup == []
        base, mid, top = (
            manager.get_plugin_obj_by_name(n) for n in ("DepBase", "DepMid", "DepTop")
        )
        assert base.active_before_me == []
        assert mid.active_before_me == ["DepBase"]
        assert top.active_before_me == ["DepBase", "DepMid"]
        names = manager.get_all_active_plugin_names()
        assert names.index("DepBase") < names.index("DepMid") < names.index("DepTop")


def test_get_plugin_for_declared_dependencies_only():
    with running_bot([str(PLUGINS / "deps_chain")]) as (testbot, _):
        manager = testbot.bot.plugin_manager
        top = manager.get_plugin_obj_by_name("DepTop")
        assert top.get_plugin("DepMid") is manager.get_plugin_obj_by_name("DepMid")
        assert testbot.exec_command("!top_asks_base") == "the base answers"
        assert testbot.exec_command("!top_asks DepMid") == "got DepMid"
        assert testbot.exec_command("!top_asks Utils") == (
            "refused: Plugin dependency Utils needs to be listed in section [Core] key "
            '"DependsOn" to be used in get_plugin.'
        )
        manager.deactivate_plugin("DepTop")
        with pytest.raises(Exception) as failure:
            top.get_plugin("DepMid")
        assert str(failure.value) == (
            "Plugin needs to be in activated state to be able to get its dependencies."
        )


def test_unknown_dependency(tmp_path):
    write_plugin(tmp_path, "Orphan", plug_extra="DependsOn = Healthy, Ghost\n")
    write_plugin(tmp_path, "Healthy")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert "Orphan" not in active_names(testbot)
        assert "Healthy" in active_names(testbot)
        report = startup_report(startup)
        assert "Unknown plugin dependency Ghost." in report
        assert "Orphan" in report
        assert "not found" in testbot.exec_command("!orphan_hello")


def test_dependency_cycle_is_reported_and_the_rest_starts(tmp_path):
    write_plugin(tmp_path, "CycA", plug_extra="DependsOn = CycB\n")
    write_plugin(tmp_path, "CycB", plug_extra="DependsOn = CycC\n")
    write_plugin(tmp_path, "CycC", plug_extra="DependsOn = CycA\n")
    write_plugin(tmp_path, "SelfLoop", plug_extra="DependsOn = SelfLoop\n")
    write_plugin(tmp_path, "Healthy")
    lifecycle = PLUGINS / "lifecycle"
    with running_bot([str(tmp_path), str(lifecycle)]) as (testbot, startup):
        active = active_names(testbot)
        assert not {"CycA", "CycB", "CycC", "SelfLoop"} & active
        assert {"Healthy", "Lifecycle", "Utils", "ChatRoom"} <= active
        assert testbot.exec_command("!healthy_hello") == "hello from Healthy"
        report = startup_report(startup)
        assert report.startswith(STARTUP_HEADER)
        assert report.count("Circular dependency in the set of plugins (") == 4
        # The warning went to the admin (BOT_ADMINS_NOTIFICATIONS defaults to BOT_ADMINS).
        recorder = testbot.bot.plugin_manager.get_plugin_obj_by_name("Lifecycle")
        sent = recorder.wait_sent(lambda body: body.startswith(STARTUP_HEADER))
        assert str(sent.to) == "gbin@localhost"
        assert "Circular dependency in the set of plugins (CycA -> CycB -> CycC -> CycA)" in (
            sent.body
        )


def test_startup_warnings_go_to_bot_admins_notifications(tmp_path):
    write_plugin(tmp_path, "Orphan", plug_extra="DependsOn = Ghost\n")
    config = {"BOT_ADMINS_NOTIFICATIONS": ("ops@localhost", "boss@localhost")}
    with running_bot([str(tmp_path), str(PLUGINS / "lifecycle")], **config) as (testbot, startup):
        reports = [m for m in startup if m.startswith(STARTUP_HEADER)]
        assert len(reports) == 2 and reports[0] == reports[1]
        assert "Unknown plugin dependency Ghost." in reports[0]
        recorder = testbot.bot.plugin_manager.get_plugin_obj_by_name("Lifecycle")
        recorder.wait_sent(lambda body: body.startswith(STARTUP_HEADER))
        with recorder._sent_changed:
            recipients = sorted(
                str(m.to) for m in recorder.sent if m.body.startswith(STARTUP_HEADER)
            )
        assert recipients == ["boss@localhost", "ops@localhost"]


# -- CORE_PLUGINS ------------------------------------------------------------------------------


def test_core_plugins_filter(tmp_path):
    write_plugin(tmp_path, "Extra")
    write_plugin(tmp_path, "ExtraCore", plug_extra="Core = True\n")
    core = ("ACLs", "Utils", "CommandNotFoundFilter")
    with running_bot(str(tmp_path), CORE_PLUGINS=core) as (testbot, startup):
        loaded = loaded_names(testbot)
        assert "ChatRoom" not in loaded
        assert "ExtraCore" not in loaded
        assert set(core) | {"Extra"} <= active_names(testbot)
        assert testbot.exec_command("!extra_hello") == "hello from Extra"
        assert 'Command "room" / "room list" not found.' in testbot.exec_command("!room list")
        assert startup == []


def test_empty_core_plugins_still_loads_extra_plugins(tmp_path):
    write_plugin(
        tmp_path,
        "Echoer",
        code="""
            from errbot import BotPlugin, botcmd


            class Echoer(BotPlugin):
                @botcmd
                def echo(self, msg, args):
                    return args
            """,
    )
    with running_bot(str(tmp_path), CORE_PLUGINS=()) as (testbot, _):
        assert active_names(testbot) == {"Echoer"}


# -- failures ----------------------------------------------------------------------------------


def test_syntax_error_is_reported_with_file_and_line(tmp_path):
    folder = write_plugin(
        tmp_path,
        "Broken",
        code="""
            from errbot import BotPlugin


            class Broken(BotPlugin):
                def oops(self:
                    pass
            """,
    )
    write_plugin(tmp_path, "Healthy")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert "Broken" not in loaded_names(testbot)
        assert testbot.exec_command("!healthy_hello") == "hello from Healthy"
        report = startup_report(startup)
        assert str(folder / "broken.py") in report
        assert "line 6" in report
        assert "SyntaxError" in report


def test_import_error_is_reported_with_file_and_line(tmp_path):
    folder = write_plugin(
        tmp_path,
        "MissingDep",
        code="""
            from errbot import BotPlugin
            import errtest_no_such_module_anywhere


            class MissingDep(BotPlugin):
                pass
            """,
    )
    write_plugin(tmp_path, "Healthy")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert "Healthy" in active_names(testbot)
        report = startup_report(startup)
        assert f"{folder / 'missingdep.py'}, line 3" in report
        assert "errtest_no_such_module_anywhere" in report


def test_plugin_raising_in_activate(tmp_path):
    write_plugin(
        tmp_path,
        "BadActivate",
        code="""
            from errbot import BotPlugin, botcmd


            class BadActivate(BotPlugin):
                def activate(self):
                    super().activate()
                    raise RuntimeError("cannot start today")

                @botcmd
                def badactivate_hello(self, msg, args):
                    return "should not exist"
            """,
    )
    write_plugin(tmp_path, "Healthy")
    with running_bot(str(tmp_path)) as (testbot, startup):
        manager = testbot.bot.plugin_manager
        bad = manager.get_plugin_obj_by_name("BadActivate")
        assert bad is not None and not bad.is_activated
        assert "BadActivate" not in active_names(testbot)
        report = startup_report(startup)
        assert "BadActivate" in report and "cannot start today" in report
        # Its commands were withdrawn with it; the others work.
        assert "not found" in testbot.exec_command("!badactivate_hello")
        assert testbot.exec_command("!healthy_hello") == "hello from Healthy"


def test_plugin_raising_in_init(tmp_path):
    folder = write_plugin(
        tmp_path,
        "BadInit",
        code="""
            from errbot import BotPlugin


            class BadInit(BotPlugin):
                def __init__(self, *args, **kwargs):
                    super().__init__(*args, **kwargs)
                    raise ValueError("no constructor for you")
            """,
    )
    write_plugin(tmp_path, "Healthy")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert "BadInit" not in loaded_names(testbot)
        assert "Healthy" in active_names(testbot)
        report = startup_report(startup)
        assert f"{folder / 'badinit.py'}, line 8" in report
        assert "no constructor for you" in report


def test_plugin_raising_in_callback_connect_is_deactivated(tmp_path):
    write_plugin(
        tmp_path,
        "BadConnect",
        code="""
            from errbot import BotPlugin, botcmd


            class BadConnect(BotPlugin):
                def callback_connect(self):
                    raise RuntimeError("no connection")

                @botcmd
                def badconnect_hello(self, msg, args):
                    return "should not exist"
            """,
    )
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert "BadConnect" not in active_names(testbot)
        assert "no connection" in startup_report(startup)
        assert "not found" in testbot.exec_command("!badconnect_hello")


def test_module_without_plugin_class(tmp_path):
    folder = write_plugin(tmp_path, "Empty", code="VALUE = 1\n")
    write_plugin(tmp_path, "Healthy")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert "Healthy" in active_names(testbot)
        assert f"Did not find any plugin in {folder / 'empty.plug'}." in startup_report(startup)


def test_module_with_two_plugin_classes_loads_the_first_by_name(tmp_path, caplog):
    write_plugin(
        tmp_path,
        "Twice",
        code="""
            from errbot import BotPlugin, botcmd


            class Zulu(BotPlugin):
                @botcmd
                def which(self, msg, args):
                    return "Zulu"


            class Alpha(BotPlugin):
                @botcmd
                def which(self, msg, args):
                    return "Alpha"
            """,
    )
    with caplog.at_level(logging.WARNING), running_bot(str(tmp_path)) as (testbot, startup):
        assert testbot.exec_command("!which") == "Alpha"
        assert startup == []
    assert any(
        "Contains more than one plugin, only one will be loaded." in m for m in caplog.messages
    )


def test_plugin_subclassing_another_plugin_class(tmp_path):
    """A plugin deriving from an imported plugin class loads the derived class."""
    write_plugin(tmp_path, "Parent", module="errtest_parent_mod")
    write_plugin(
        tmp_path,
        "Child",
        code="""
            from errbot import botcmd
            from errtest_parent_mod import ParentPlugin


            class Child(ParentPlugin):
                @botcmd
                def child_hello(self, msg, args):
                    return "hello from the child"
            """,
    )
    with running_bot(str(tmp_path)) as (testbot, startup):
        child = testbot.bot.plugin_manager.get_plugin_obj_by_name("Child")
        assert type(child).__name__ == "Child"
        assert testbot.exec_command("!child_hello") == "hello from the child"


# -- command clashes ---------------------------------------------------------------------------


def test_command_clash_renames_the_second_and_warns_admins():
    dirs = [str(PLUGINS / "clash_first"), str(PLUGINS / "clash_second")]
    with running_bot(dirs) as (testbot, startup):
        assert (
            "ClashSecond.clash clashes with FirstClasher.first_clash "
            "so it has been renamed clashsecond-clash"
        ) in startup
        assert testbot.exec_command("!clash") == "first clash"
        assert testbot.exec_command("!clashsecond-clash") == "second clash"
        assert testbot.exec_command("!second_only") == "no clash here"
        commands = testbot.bot.commands
        assert "clash" in commands and "clashsecond-clash" in commands


def test_renamed_command_is_withdrawn_with_its_plugin():
    dirs = [str(PLUGINS / "clash_first"), str(PLUGINS / "clash_second")]
    with running_bot(dirs) as (testbot, _):
        testbot.bot.plugin_manager.deactivate_plugin("ClashSecond")
        assert "clashsecond-clash" not in testbot.bot.commands
        assert testbot.exec_command("!clash") == "first clash"
        testbot.bot.plugin_manager.deactivate_plugin("ClashFirst")
        assert "clash" not in testbot.bot.commands
        # Re-activated alone, the second plugin gets its own name back.
        testbot.bot.plugin_manager.activate_plugin("ClashSecond")
        assert testbot.exec_command("!clash") == "second clash"


def test_single_module_distribution_does_not_drag_in_its_neighbours(tmp_path, monkeypatch):
    """An entry point naming a plain module (no package) contributes that distribution's
    descriptors, not everything else installed in the same site-packages."""
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "errtest_single.plug").write_text(
        "[Core]\nName = SingleModule\nModule = errtest_single\n"
    )
    (site / "errtest_single.py").write_text(
        textwrap.dedent(
            """
            from errbot import BotPlugin, botcmd


            class SingleModule(BotPlugin):
                @botcmd
                def single_hello(self, msg, args):
                    return "hello from a single module"
            """
        )
    )
    dist_info = site / "errtest_single-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: errtest-single\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text("[errbot.plugins]\nsingle = errtest_single\n")
    (dist_info / "RECORD").write_text(
        "errtest_single.py,,\nerrtest_single.plug,,\nerrtest_single-1.0.dist-info/RECORD,,\n"
    )
    # Another installed package that happens to ship a .plug but declares no entry point.
    write_plugin(site, "Neighbour", module="errtest_neighbour")
    monkeypatch.syspath_prepend(str(site))
    with running_bot(None) as (testbot, startup):
        assert testbot.exec_command("!single_hello") == "hello from a single module"
        assert "Neighbour" not in loaded_names(testbot)
        assert startup == []


def test_plugin_skipping_super_activate_stays_inactive_silently(tmp_path):
    write_plugin(
        tmp_path,
        "Shy",
        code="""
            from errbot import BotPlugin, botcmd


            class Shy(BotPlugin):
                connected = 0

                def activate(self):
                    if self.mode == "test":
                        return  # deliberately stay inactive, as VersionChecker does
                    super().activate()

                def callback_connect(self):
                    self.connected += 1

                @botcmd
                def shy_hello(self, msg, args):
                    return "hello"
            """,
    )
    with running_bot(str(tmp_path)) as (testbot, startup):
        shy = testbot.bot.plugin_manager.get_plugin_obj_by_name("Shy")
        assert shy is not None and not shy.is_activated
        assert "Shy" not in active_names(testbot)
        assert startup == []
        assert shy.connected == 0
        assert "not found" in testbot.exec_command("!shy_hello")


def test_plugin_raising_in_deactivate_is_still_withdrawn(tmp_path):
    write_plugin(
        tmp_path,
        "BadDeactivate",
        code="""
            from errbot import BotPlugin, botcmd


            class BadDeactivate(BotPlugin):
                def deactivate(self):
                    raise RuntimeError("I refuse to go")

                @botcmd
                def baddeactivate_hello(self, msg, args):
                    return "still here"
            """,
    )
    with running_bot(str(tmp_path)) as (testbot, _):
        manager = testbot.bot.plugin_manager
        plugin = manager.get_plugin_obj_by_name("BadDeactivate")
        plugin["kept"] = "value"
        assert testbot.exec_command("!baddeactivate_hello") == "still here"
        manager.deactivate_plugin("BadDeactivate")
        assert not plugin.is_activated
        assert "BadDeactivate" not in active_names(testbot)
        assert "not found" in testbot.exec_command("!baddeactivate_hello")
        # It can come back, with its storage.
        manager.activate_plugin("BadDeactivate")
        assert testbot.exec_command("!baddeactivate_hello") == "still here"
        assert plugin["kept"] == "value"


def test_missing_module_file_is_reported(tmp_path):
    folder = tmp_path / "ghostly"
    folder.mkdir()
    (folder / "ghostly.plug").write_text("[Core]\nName = Ghostly\nModule = not_there\n")
    write_plugin(tmp_path, "Healthy")
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert "Healthy" in active_names(testbot)
        report = startup_report(startup)
        assert str(folder / "ghostly.plug") in report
        assert "not_there" in report


def test_relative_import_inside_a_plugin(tmp_path):
    folder = write_plugin(
        tmp_path,
        "Relative",
        module="errtest_relative_main",
        code="""
            from errbot import BotPlugin, botcmd

            from .errtest_relative_helper import ANSWER


            class Relative(BotPlugin):
                @botcmd
                def relative(self, msg, args):
                    return ANSWER
            """,
    )
    (folder / "errtest_relative_helper.py").write_text('ANSWER = "relatively imported"\n')
    with running_bot(str(tmp_path)) as (testbot, startup):
        assert startup == []
        assert testbot.exec_command("!relative") == "relatively imported"
