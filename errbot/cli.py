"""The `errbot` command: start the bot, or one of the one-shot modes (--init, --new-plugin...).

Start-up time matters here (`errbot -v` is benchmarked), so only `os`/`sys` and the version are
imported at module level; every mode imports what it needs when it runs.
"""

from __future__ import annotations

import os
import sys

from errbot.version import VERSION

# typing.TYPE_CHECKING without importing typing (~10 ms); type checkers treat it the same.
TYPE_CHECKING = False

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from pathlib import Path
    from types import FrameType

    from errbot.settings import Config

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_TEMPLATES = os.path.join(_PACKAGE_DIR, "templates")
PLUGIN_NAME_PATTERN = r"^[a-zA-Z][a-zA-Z0-9 _-]*$"


def _error(message: str) -> None:
    """Report a failure as one line on stderr."""
    print(f"errbot: {message}".replace("\n", " "), file=sys.stderr)


def _build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="errbot",
        description="Run an Errbot chatbot, or prepare what it needs.",
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    modes.add_argument("-i", "--init", nargs="?", const=".", metavar="DIR",
                       help="create a working directory with a config.py, an example plugin "
                            "and data directories (default: the current directory)")
    modes.add_argument("-l", "--list", action="store_true",
                       help="list the backends the bot can use and exit")
    modes.add_argument("--new-plugin", nargs="?", const=".", metavar="DIR",
                       help="write the skeleton of a new plugin into DIR "
                            "(default: the current directory)")
    modes.add_argument("-T", "--text", action="store_true",
                       help="start on the console (Text backend), whatever BACKEND says")
    modes.add_argument("-G", "--graphic", action="store_true",
                       help="start with the graphic console, a chat page in the browser on "
                            "127.0.0.1 (Graphic backend), whatever BACKEND says")
    modes.add_argument("--storage-migrate", nargs=2, metavar=("FROM", "TO"),
                       help="copy every storage namespace from the storage plugin FROM to TO "
                            "(e.g. Shelf SQLite) and verify the copy; stop the bot first")
    modes.add_argument("-r", "--restore", nargs="?", const="", metavar="FILE",
                       help="restore a bot from a backup script written by !backup "
                            "(default: <BOT_DATA_DIR>/backup.py)")
    modes.add_argument("--storage-get", metavar="NS",
                       help="print the content of the storage namespace NS as a Python dict")
    modes.add_argument("--storage-set", metavar="NS",
                       help="replace the content of the namespace NS by the Python dict "
                            "literal read on stdin")
    modes.add_argument("--storage-merge", metavar="NS",
                       help="deep-merge the Python dict literal read on stdin into the "
                            "namespace NS, key by key")
    modes.add_argument("--storage-list", action="store_true",
                       help="list the storage namespaces that hold data")
    parser.add_argument("--storage-migrate-config", metavar="JSON",
                        help="the STORAGE_CONFIG of the TO storage of --storage-migrate, "
                             "as a JSON object (see docs/storage.md)")
    parser.add_argument("--storage-migrate-overwrite", action="store_true",
                        help="let --storage-migrate replace namespaces that hold data in TO")
    parser.add_argument("-c", "--config", metavar="PATH",
                        help="the configuration file (default: ./config.py)")
    if os.name != "nt":
        parser.add_argument("-d", "--daemon", action="store_true",
                            help="run the bot in the background")
        parser.add_argument("-p", "--pidfile", metavar="PATH",
                            help="the pid file of the background bot "
                                 "(default: <BOT_DATA_DIR>/err.pid)")

    wizard = parser.add_argument_group(
        "new plugin", "answers for --new-plugin; giving --name skips the questions"
    )
    wizard.add_argument("--name", help="the plugin name (letters, digits, spaces, _ and -)")
    wizard.add_argument("--description", help="a one-line description")
    wizard.add_argument("--errbot-min", metavar="VERSION",
                        help='the lowest Errbot version supported, x.y.z or "CURRENT"')
    wizard.add_argument("--errbot-max", metavar="VERSION",
                        help='the highest Errbot version supported, x.y.z or "CURRENT"')
    wizard.add_argument("--force", action="store_true",
                        help="overwrite existing plugin files without asking")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `errbot` console script; returns the process exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    # The most frequent probe answers before argparse is even imported.
    if arguments in (["-v"], ["--version"]):
        print(f"Errbot version {VERSION}")
        return 0

    parser = _build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # -h, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else 2

    wizard_flags = [flag for flag, value in (
        ("--name", args.name), ("--description", args.description),
        ("--errbot-min", args.errbot_min), ("--errbot-max", args.errbot_max),
        ("--force", args.force or None),
    ) if value is not None]
    if wizard_flags and args.new_plugin is None:
        _error(f"{', '.join(wizard_flags)} only apply to --new-plugin.")
        return 2

    if args.version:
        print(f"Errbot version {VERSION}")
        return 0
    if args.init is not None:
        return init_directory(args.init)
    if args.new_plugin is not None:
        return new_plugin(args)
    if args.storage_migrate is not None:
        from errbot.storage.migrate import migrate_command

        return migrate_command(args.config, *args.storage_migrate,
                               args.storage_migrate_config, args.storage_migrate_overwrite)
    for action in ("get", "set", "merge"):
        namespace = getattr(args, f"storage_{action}")
        if namespace is not None:
            from errbot.backup import storage_command

            return storage_command(args.config, action, namespace)
    if args.storage_list:
        from errbot.backup import storage_command

        return storage_command(args.config, "list")
    if args.restore is not None:
        if getattr(args, "daemon", False):
            _error("You cannot restore in daemon mode.")
            return 1
        from errbot.backup import restore_command

        return restore_command(args.config, args.restore or None)
    if args.list:
        return list_backends(args.config)
    return start(args)


# --- errbot --init ----------------------------------------------------------------------------


def _py_string(text: str) -> str:
    """A Python literal for ``text``, double-quoted when that needs no escaping."""
    if '"' not in text and "\\" not in text and text.isprintable():
        return f'"{text}"'
    return repr(text)


def _render(relative: str, **values: str) -> str:
    from string import Template

    with open(os.path.join(_TEMPLATES, relative), encoding="utf-8") as handle:
        text = Template(handle.read()).substitute(values)
    return text if text.endswith("\n") else text + "\n"


def _create_file(path: Path, content: str) -> bool:
    """Write ``path`` unless it exists; False if it was kept.

    The content is written to a temporary file first and linked into place, so a crash never
    leaves a half-written file that a later run would then keep.
    """
    import tempfile

    if path.exists():
        return False
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    finally:
        os.unlink(temporary)
    return True


def init_directory(target: str) -> int:
    """`errbot --init [DIR]`: lay out a ready-to-run bot directory; existing files are kept."""
    from pathlib import Path

    base = Path(target).expanduser().resolve()
    try:
        example_dir = base / "plugins" / "err-example"
        for directory in (base / "data", base / "backend-plugins", example_dir):
            directory.mkdir(parents=True, exist_ok=True)
        files = {
            base / "config.py": _render(
                "init/config.py.tmpl",
                data_dir=_py_string(str(base / "data")),
                plugin_dir=_py_string(str(base / "plugins")),
                backend_dir=_py_string(str(base / "backend-plugins")),
                log_file=_py_string(str(base / "errbot.log")),
            ),
            example_dir / "example.plug": _render("init/example.plug.tmpl"),
            example_dir / "example.py": _render("init/example.py.tmpl"),
        }
        kept = [path for path, content in files.items() if not _create_file(path, content)]
    except (OSError, ValueError) as exc:
        print(f"The initialization of your errbot directory failed: {exc}.", file=sys.stderr)
        return 1

    for path in kept:
        print(f"Kept the existing {path} (not overwritten).")
    print("Your Errbot directory has been correctly initialized!")
    if base == Path.cwd().resolve():
        print('Just do "errbot" and it should answer on the console.')
    else:
        print(f'Just do "cd {base}" then "errbot" and it should answer on the console.')
    return 0


# --- errbot --new-plugin ----------------------------------------------------------------------


def plugin_module_name(name: str) -> str:
    """The module (and file) name for a plugin name: "My Plugin" -> "my_plugin".

    Hyphens become underscores too, so the module and the generated method names are
    valid Python identifiers.
    """
    import re

    return re.sub(r"[\s-]", "_", name.strip().lower())


def plugin_class_name(name: str) -> str:
    """The class name for a plugin name: "my plugin" -> "MyPlugin"."""
    import keyword
    import re

    words = [w for w in re.split(r"[\s_-]+", name.strip()) if w]
    class_name = "".join(word.capitalize() for word in words)
    # "none", "true" or "false" would give a keyword as class name.
    return class_name + "Plugin" if keyword.iskeyword(class_name) else class_name


def _check_plugin_name(answer: str) -> str | None:
    import re

    if re.match(PLUGIN_NAME_PATTERN, answer):
        return None
    return (f'"{answer}" is not a valid plugin name: start with a letter, then use letters, '
            "digits, spaces, _ or -.")


def _parse_version_answer(answer: str) -> str | None:
    """Normalise a min/max answer: "" -> None, "CURRENT" -> this version; ValueError if bad."""
    from errbot.plugin_info import errbot_version_tuple

    answer = answer.strip()
    if not answer:
        return None
    if answer.upper() == "CURRENT":
        return VERSION
    errbot_version_tuple(answer)
    return answer


def _ask(question: str, check: Callable[[str], str | None] | None = None) -> str:
    """Ask until the answer passes ``check`` (returns an error text or None); EOFError aborts."""
    while True:
        answer = input(f"{question}\n> ").strip()
        problem = check(answer) if check else None
        if problem is None:
            return answer
        print(problem)


def _check_version_answer(answer: str) -> str | None:
    try:
        _parse_version_answer(answer)
    except ValueError as exc:
        return f"{exc}; try again."
    return None


def _plugin_answers(args: argparse.Namespace) -> dict[str, str | None]:
    """Name, description and version bounds, from the flags or by asking."""
    if args.name is not None:
        problem = _check_plugin_name(args.name.strip())
        if problem:
            raise ValueError(problem)
        return {
            "name": args.name.strip(),
            "description": (args.description or "").strip(),
            "min": _parse_version_answer(args.errbot_min or ""),
            "max": _parse_version_answer(args.errbot_max or ""),
        }
    name = _ask("What should the name of your new plugin be?", _check_plugin_name)
    description = args.description or _ask(
        "What may I use as a short (one-line) description of your plugin?"
    )
    version_help = (
        "Leave blank to support any version or input CURRENT to select the current "
        f"version ({VERSION})."
    )
    minimum = args.errbot_min or _ask(
        f"Which minimum version of Errbot will your plugin work with?\n{version_help}",
        _check_version_answer,
    )
    maximum = args.errbot_max or _ask(
        f"Which maximum version of Errbot will your plugin work with?\n{version_help}",
        _check_version_answer,
    )
    return {
        "name": name,
        "description": description.strip(),
        "min": _parse_version_answer(minimum),
        "max": _parse_version_answer(maximum),
    }


def _plugin_files(answers: dict[str, str | None]) -> tuple[str, str, str]:
    """(module name, .plug text, .py text) for the wizard's answers."""
    name = answers["name"] or ""
    description = " ".join((answers["description"] or "").split())
    module = plugin_module_name(name)
    errbot_section = ""
    if answers["min"] or answers["max"]:
        errbot_section = "\n[Errbot]\n"
        if answers["min"]:
            errbot_section += f"Min = {answers['min']}\n"
        if answers["max"]:
            errbot_section += f"Max = {answers['max']}\n"
    plug = _render(
        "new_plugin/plugin.plug.tmpl",
        name=name,
        module=module,
        # configparser interpolation treats a bare % as syntax.
        description=description.replace("%", "%%"),
        errbot_section=errbot_section,
    ).rstrip("\n") + "\n"
    docstring = description or f"The {name} plugin."
    docstring = docstring.replace("\\", "\\\\").replace('"', '\\"')
    code = _render(
        "new_plugin/plugin.py.tmpl",
        name=name,
        module=module,
        class_name=plugin_class_name(name),
        docstring=docstring,
    )
    return module, plug, code


def new_plugin(args: argparse.Namespace) -> int:
    """`errbot --new-plugin [DIR]`: write ``<module>.plug`` and ``<module>.py`` into DIR."""
    from pathlib import Path

    directory = Path(args.new_plugin).expanduser().resolve()
    interactive = args.name is None
    try:
        answers = _plugin_answers(args)
    except (EOFError, KeyboardInterrupt):
        print()
        _error("--new-plugin aborted: no answer given, nothing was written.")
        return 1
    except ValueError as exc:
        _error(str(exc))
        return 1

    module, plug, code = _plugin_files(answers)
    plug_path, py_path = directory / f"{module}.plug", directory / f"{module}.py"
    existing = [p for p in (plug_path, py_path) if p.exists()]
    if existing and not args.force:
        listed = " and ".join(str(p) for p in existing)
        if not interactive:
            _error(f"{listed} already exist(s); use --force to overwrite.")
            return 1
        try:
            answer = input(f'{listed} already exist(s). Type "overwrite" to overwrite them, '
                           "or anything else to abort.\n> ")
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer.strip() != "overwrite":
            _error("--new-plugin aborted, nothing was written.")
            return 1

    try:
        directory.mkdir(parents=True, exist_ok=True)
        plug_path.write_text(plug, encoding="utf-8")
        py_path.write_text(code, encoding="utf-8")
    except OSError as exc:
        _error(f"cannot write the plugin: {exc}")
        return 1
    print(f"Created {plug_path} and {py_path}.")
    print(f"Put {directory} (or a directory above it) in BOT_EXTRA_PLUGIN_DIR to load it.")
    return 0


# --- errbot --list ----------------------------------------------------------------------------


def list_backends(config_path: str | None) -> int:
    """`errbot --list`: the backend Names found in every place the bot looks for them."""
    from types import SimpleNamespace

    from errbot.bootstrap import backend_search_roots
    from errbot.plugin_info import PluginDescriptorError, PluginInfo, find_descriptors
    from errbot.settings import ConfigError, load_config

    config: object = SimpleNamespace()
    explicit = config_path is not None
    if explicit or os.path.isfile("config.py"):
        try:
            config = load_config(config_path)
        except ConfigError as exc:
            if explicit:
                _error(str(exc))
                return 1
            # Listing still helps someone whose config.py is broken: say so and go on.
            _error(f"{exc} (listing built-in and installed backends only)")

    names: list[str] = []
    for descriptor in find_descriptors(backend_search_roots(config)):
        try:
            name = PluginInfo.load(descriptor).name
        except PluginDescriptorError as exc:
            _error(f"skipping a broken backend descriptor: {exc}")
            continue
        if name not in names:
            names.append(name)
    print("Available backends:")
    for name in names:
        print(f"\t\t{name}")
    return 0


# --- starting the bot -------------------------------------------------------------------------


def _load_checked_config(args: argparse.Namespace) -> Config:
    """Load, default and validate the configuration; raises ConfigError."""
    from errbot.settings import apply_defaults, load_config, validate

    config = load_config(args.config)
    if args.text:
        config.BACKEND = "Text"
    elif args.graphic:
        config.BACKEND = "Graphic"
    apply_defaults(config)
    validate(config)
    return config


def start(args: argparse.Namespace) -> int:
    """Start the bot in the foreground (or in the background with -d) until it stops."""
    daemon = getattr(args, "daemon", False)
    if daemon and args.text:
        _error("You cannot run in text and daemon mode at the same time")
        return 1
    if daemon and args.graphic:
        _error("You cannot run in graphic and daemon mode at the same time")
        return 1

    from errbot.settings import ConfigError

    try:
        config = _load_checked_config(args)
    except ConfigError as exc:
        _error(str(exc))
        return 1

    if daemon:
        pidfile = args.pidfile or os.path.join(os.fspath(config.BOT_DATA_DIR), "err.pid")
        return _start_daemon(config, pidfile)

    from errbot.logs import setup_logging

    try:
        setup_logging(config)
    except ConfigError as exc:
        _error(str(exc))
        return 1
    _install_debug_signal()
    _stop_on_sigterm()
    return _run_bot(config)


def _stop_on_sigterm() -> None:
    """SIGTERM (service managers, `docker stop`) stops the bot as Ctrl-C does: plugins are
    deactivated and storage closed."""
    import signal

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _run_bot(config: Config) -> int:
    import logging

    import errbot.bootstrap as boot
    from errbot.storage import StoreException

    bootstrap = boot.bootstrap
    backend_not_found = getattr(boot, "BackendNotFoundError", ())

    try:
        bootstrap(config.BACKEND, config)
    except KeyboardInterrupt:
        return 0
    except boot.BackendDependencyError as exc:
        _error(f"BACKEND = {config.BACKEND!r}: {exc}")
        return 1
    except backend_not_found as exc:
        _error(f"BACKEND = {config.BACKEND!r}: {exc} (errbot --list shows the available ones)")
        return 1
    except StoreException as exc:
        _error(f"STORAGE = {getattr(config, 'STORAGE', None)!r}: {exc}")
        return 1
    except Exception as exc:
        logging.getLogger("errbot.cli").critical("The bot stopped on an error: %s", exc,
                                                 exc_info=True)
        return 1
    return 0


def _install_debug_signal() -> None:
    """SIGUSR1 opens a Python console in the running bot's main thread (a debugging aid)."""
    import signal

    if not hasattr(signal, "SIGUSR1"):
        return

    def open_console(signum: int, frame: FrameType | None) -> None:
        import code

        namespace = dict(frame.f_globals) if frame else {}
        if frame:
            namespace.update(frame.f_locals)
        code.interact(banner="Errbot debug console (Ctrl-D resumes the bot)", local=namespace)

    signal.signal(signal.SIGUSR1, open_console)


# --- daemon mode ------------------------------------------------------------------------------


class PidFileError(Exception):
    """Another bot holds the pid file, or it cannot be written."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def acquire_pidfile(path: str) -> int:
    """Lock ``path`` and write our pid into it; return the open descriptor (keep it open).

    A pid file whose process is gone is stale and taken over. It is refused when another
    process holds its lock or the pid it names is still running.
    """
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise PidFileError(f"cannot open the pid file {path}: {exc.strerror}.") from exc
    try:
        recorded = os.read(fd, 64).decode("ascii", "replace").strip()
        pid = int(recorded) if recorded.isdigit() else None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PidFileError(_already_running(pid, path)) from None
        if pid is not None and pid != os.getpid() and _pid_alive(pid):
            raise PidFileError(_already_running(pid, path))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _already_running(pid: int | None, path: str) -> str:
    who = f"with pid {pid}" if pid is not None else "(its pid is not written yet)"
    return (f"Errbot is already running {who} according to {path}; stop it first, or delete "
            "the pid file if that process is not Errbot.")


def release_pidfile(fd: int, path: str) -> None:
    """Remove the pid file if it still names this process, then drop the lock."""
    try:
        recorded = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        if recorded == str(os.getpid()):
            os.unlink(path)
    except OSError:
        pass
    finally:
        os.close(fd)


def _start_daemon(config: Config, pidfile: str) -> int:
    """Fork into the background; the foreground process reports how the start went.

    Classic double fork: the session leader forks again so the daemon can never reacquire a
    controlling terminal. A pipe carries "ok <pid>" or an error back to the terminal, so
    problems found before the bot runs (pid file, log file) are not lost in /dev/null.
    """
    # Imported before forking so that a broken installation fails on the terminal.
    from errbot.bootstrap import bootstrap  # noqa: F401

    pidfile = os.path.abspath(pidfile)
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    first = os.fork()
    if first > 0:
        os.close(write_end)
        os.waitpid(first, 0)
        chunks = []
        while chunk := os.read(read_end, 4096):
            chunks.append(chunk)
        os.close(read_end)
        report = b"".join(chunks).decode("utf-8", "replace")
        if report.startswith("ok "):
            print(f"Errbot is running in the background with pid {report[3:].strip()} "
                  f"(pid file {pidfile}).")
            return 0
        _error(report or "the background bot exited before it started.")
        return 1

    # First child: new session, then fork the daemon itself.
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    return _daemon_main(config, pidfile, write_end)


def _daemon_main(config: Config, pidfile: str, report_fd: int) -> int:
    import signal

    from errbot.logs import setup_logging
    from errbot.settings import ConfigError

    def report(text: str) -> None:
        os.write(report_fd, text.encode("utf-8"))
        os.close(report_fd)

    try:
        lock = acquire_pidfile(pidfile)
    except PidFileError as exc:
        report(str(exc))
        return 1
    try:
        try:
            setup_logging(config, console=False)
        except ConfigError as exc:
            report(str(exc))
            return 1
        _detach_stdio()
        # A plain `kill` becomes the same clean stop as Ctrl-C in the foreground.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        report(f"ok {os.getpid()}")
        return _run_bot(config)
    except KeyboardInterrupt:  # SIGTERM before the bot got going is still a clean stop
        return 0
    finally:
        release_pidfile(lock, pidfile)


def _detach_stdio() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for stream_fd in (0, 1, 2):
        os.dup2(devnull, stream_fd)
    os.close(devnull)
