"""The interactive console of the Text backend, built on prompt_toolkit.

`run_console` owns the terminal while the bot serves: it reads messages with a prompt (history,
tab completion of command names, a multi-line mode) and hands them to the backend. Everything
else that reaches the terminal meanwhile (replies from slow commands and pollers, log lines,
a plugin's ``print``) goes through one `TerminalWriter`, which erases the prompt, prints the
text and draws the prompt again with what was being typed, so the input line is never broken.

prompt_toolkit is the ``text`` extra; `TextBackend` only imports this module once it knows
prompt_toolkit is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session, get_app_or_none
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import create_input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output, create_output
from prompt_toolkit.styles import Style

from errbot.rendering import ansi

if TYPE_CHECKING:
    from errbot.backends.text import TextBackend

log = logging.getLogger(__name__)

HISTORY_FILE = "text_history"

# Prompt colours per TEXT_COLOR_THEME; any other theme name means no colours.
THEMES: dict[str, dict[str, str]] = {
    "light": {
        "admin": "ansired bold",
        "user": "ansigreen bold",
        "place": "ansiblue",
        "mode": "ansimagenta",
        "prompt": "ansiblue bold",
        "continuation": "ansigray",
    },
    "dark": {
        "admin": "ansibrightred bold",
        "user": "ansibrightgreen bold",
        "place": "ansibrightcyan",
        "mode": "ansibrightmagenta",
        "prompt": "ansibrightcyan bold",
        "continuation": "ansibrightblack",
    },
}


def intro(backend: TextBackend) -> str:
    """The Markdown greeting printed when the console starts."""
    p = backend.prefix
    who = "a bot admin" if backend.is_admin(backend.user) else "a user"
    where = f"in the room **{backend.room}**" if backend.room else "one-on-one with the bot"
    lines = [f"You are **{backend.user}**, {who}, talking {where}.", ""]
    if "inroom" in backend.commands:
        lines += [
            f"- `{p}inroom [#room]` talks in a room, `{p}inperson` one-on-one again.",
            f"- `{p}asuser [name]` speaks as a normal user, `{p}asadmin` as the admin.",
            f"- `{p}ml` switches multi-line messages on and off "
            "(an empty line sends the message).",
        ]
    lines.append("- Tab completes command names. Ctrl-D or Ctrl-C quits.")
    return "\n".join(lines)


class CommandCompleter(Completer):
    """Completes the command at the start of the message: ``!ec`` Tab gives ``!echo``.

    Names come from the bot's command table as they are typed: with the prefix, and
    underscores shown as spaces (``!log tail``).
    """

    def __init__(self, backend: TextBackend) -> None:
        self.backend = backend

    def _names(self) -> list[str]:
        for _ in range(3):  # plugins may be (de)activated while we read the table
            try:
                return sorted(self.backend.all_commands)
            except RuntimeError:
                continue
        return []

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        typed = document.text_before_cursor
        if "\n" in typed:
            return
        prefix = self.backend.prefix
        if typed and not typed.startswith(prefix):
            return
        wanted = typed[len(prefix) :].replace(" ", "_") if typed else ""
        for name in self._names():
            if not name.startswith(wanted):
                continue
            spoken = prefix + name.replace("_", " ")
            yield Completion(
                spoken,
                start_position=-len(typed),
                display_meta=self._summary(name),
            )

    def _summary(self, name: str) -> str:
        command = self.backend.all_commands.get(name)
        doc = (getattr(command, "__doc__", None) or "").strip()
        return doc.splitlines()[0] if doc else ""


def _same_terminal(stream: Any, terminal: TextIO) -> bool:
    """Whether ``stream`` writes to the terminal ``terminal`` (e.g. stderr next to stdout)."""
    try:
        return bool(stream.isatty()) and os.path.sameopenfile(stream.fileno(), terminal.fileno())
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def _through(writer: TerminalWriter, terminal: TextIO) -> Iterator[None]:
    """Send log records, ``print`` and the bot's replies meant for ``terminal`` via ``writer``."""
    handlers: list[tuple[logging.StreamHandler[Any], Any]] = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            if _same_terminal(handler.stream, terminal):
                handlers.append((handler, handler.setStream(writer)))  # type: ignore[arg-type]
    saved_out, saved_err = sys.stdout, sys.stderr
    if _same_terminal(sys.stdout, terminal):
        sys.stdout = writer  # type: ignore[assignment]
    if _same_terminal(sys.stderr, terminal):
        sys.stderr = writer  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
        for handler, stream in handlers:
            handler.setStream(stream)


def _history(backend: TextBackend) -> History:
    data_dir = getattr(backend.bot_config, "BOT_DATA_DIR", None)
    if data_dir:
        path = Path(data_dir) / HISTORY_FILE
        try:
            path.touch(exist_ok=True)
            return FileHistory(str(path))
        except OSError as exc:
            log.warning("Keeping the console history in memory: %s", exc)
    return InMemoryHistory()


def _key_bindings(backend: TextBackend) -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter", filter=Condition(lambda: backend.multiline))
    def _enter(event: KeyPressEvent) -> None:
        # Multi-line mode: Enter starts a new line; Enter on an empty last line sends.
        buffer = event.current_buffer
        document = buffer.document
        if document.is_cursor_at_the_end and (
            not document.text or document.text.endswith("\n")
        ):
            buffer.text = document.text.rstrip("\n")
            buffer.validate_and_handle()
        else:
            buffer.newline(copy_margin=False)

    return bindings


def _message(backend: TextBackend) -> StyleAndTextTuples:
    frm, to = backend.conversation()
    role = "class:admin" if backend.is_admin(backend.user) else "class:user"
    parts: StyleAndTextTuples = [
        (role, f"[{frm}"),
        ("class:place", " ➡ "),
        (role, f"{to}]"),
    ]
    if backend.multiline:
        parts.append(("class:mode", " (multi-line)"))
    parts.append(("class:prompt", " >>> "))
    return parts


def _continuation(width: int, line_number: int, wrap_count: int) -> StyleAndTextTuples:
    return [("class:continuation", "... ".rjust(width))]


class TerminalWriter:
    """A file-like object printing above the prompt, from any thread.

    Whatever is written is handed to the prompt's event loop, which prints it at once when no
    prompt is on screen, and otherwise erases the prompt, prints and draws the prompt again.
    Deciding and printing on the loop's own thread leaves no window in
    which text could land in the middle of a prompt being drawn. Text is sent on by whole
    lines (or on flush), so a ``print`` is never split across redraws.
    """

    def __init__(self, output: Output, loop: asyncio.AbstractEventLoop) -> None:
        self._output = output
        self._loop: asyncio.AbstractEventLoop | None = loop
        # get_app_or_none finds the running prompt through the context of the loop's task.
        self._context = contextvars.copy_context()
        self._lock = threading.Lock()
        self._partial: list[str] = []
        self._pending: deque[str] = deque()

    def write(self, data: str) -> int:
        with self._lock:
            if "\n" not in data:
                self._partial.append(data)
                return len(data)
            head, tail = data.rsplit("\n", 1)
            text = "".join(self._partial) + head + "\n"
            self._partial = [tail] if tail else []
        self._send(text)
        return len(data)

    def flush(self) -> None:
        with self._lock:
            text = "".join(self._partial)
            self._partial = []
        if text:
            self._send(text)

    def _send(self, text: str) -> None:
        self._pending.append(text)
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._print_pending, context=self._context)
                return
            except RuntimeError:  # the loop has just been closed
                pass
        self._print_now()

    def _print_pending(self) -> None:
        app = get_app_or_none()
        if app is None or not app.is_running:
            self._print_now()
            return
        # What run_in_terminal does, except that the terminal stays in raw mode: a key
        # pressed meanwhile still goes to the prompt, instead of being echoed by the
        # terminal (or taken as end of input, for Ctrl-D).
        app.renderer.erase()
        self._print_now()
        app.renderer.request_absolute_cursor_position()
        app.invalidate()

    def _print_now(self) -> None:
        with self._lock:
            chunks = []
            while self._pending:
                chunks.append(self._pending.popleft())
            if chunks:
                self._output.enable_autowrap()
                self._output.write_raw("".join(chunks))
                self._output.flush()

    def close(self) -> None:
        """From now on print directly (the prompt is gone); print what is still queued."""
        self._loop = None
        self.flush()
        self._print_now()

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._output.fileno()

    @property
    def encoding(self) -> str:
        return self._output.encoding()


def run_console(backend: TextBackend, stdin: TextIO, stdout: TextIO) -> bool:
    """Serve the bot on the terminal until Ctrl-D (returns False) or Ctrl-C (returns True)."""
    with create_app_session(input=create_input(stdin), output=create_output(stdout)) as app:
        return asyncio.run(_serve(backend, app.output, stdout))


async def _serve(backend: TextBackend, output: Output, stdout: TextIO) -> bool:
    writer = TerminalWriter(output, asyncio.get_running_loop())
    try:
        with _through(writer, stdout):
            backend.redirect_output(writer)
            try:
                return await _prompt_loop(backend)
            finally:
                backend.redirect_output(None)
    finally:
        writer.close()


async def _prompt_loop(backend: TextBackend) -> bool:
    session: PromptSession[str] = PromptSession(
        history=_history(backend),
        completer=CommandCompleter(backend),
        complete_while_typing=False,
        key_bindings=_key_bindings(backend),
        multiline=Condition(lambda: backend.multiline),
        prompt_continuation=_continuation,
        style=Style.from_dict(THEMES.get(backend.color_theme, {})),
        include_default_pygments_style=False,
    )
    backend.write_conversation(ansi().convert(intro(backend)))
    while True:
        try:
            text = await session.prompt_async(lambda: _message(backend))
        except EOFError:  # Ctrl-D
            return False
        except KeyboardInterrupt:  # Ctrl-C
            return True
        if text.strip():
            backend.send_console_message(text.rstrip("\n"))
