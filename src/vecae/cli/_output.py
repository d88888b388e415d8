"""Console output for the command line: human tables, ``--json``, progress and errors.

Conventions every command follows:

* results for people go to stdout as rich tables; with ``--json`` stdout holds exactly one
  JSON document and nothing else;
* progress bars, warnings and errors go to stderr; ``--quiet`` turns the progress bars off;
* an error is one line, ``error: <message>``, and a non-zero exit status; no traceback unless
  ``VECAE_DEBUG=1`` is set.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from vecae._exceptions import VecaeError

__all__ = [
    "EXIT_ERROR",
    "CliError",
    "Output",
    "atomic_path",
    "claim_output",
    "guarded",
    "jsonable",
    "one_line",
]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what shells report for a process killed by it
DEBUG_ENV = "VECAE_DEBUG"

F = TypeVar("F", bound=Callable[..., Any])
# Resources a command holds until it returns (the claims on its outputs).
_COMMAND_STACK: ContextVar[contextlib.ExitStack[bool | None] | None] = ContextVar(
    "vecae_command_stack", default=None
)


class CliError(Exception):
    """A problem the command line itself detects (bad combination of options, and so on)."""


def one_line(text: object) -> str:
    """Collapse a message onto one line."""
    return " ".join(str(text).split())


def jsonable(value: Any) -> Any:
    """Plain JSON data: numpy scalars and arrays become Python values, NaN/Inf become None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist") and not isinstance(value, str):
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Output:
    """Where a command writes: stdout for results, stderr for progress and diagnostics."""

    def __init__(self, *, json_mode: bool = False, quiet: bool = False) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        # file=None: rich looks sys.stdout/sys.stderr up at every write, so redirection works.
        self.out = Console(highlight=False, soft_wrap=False)
        self.err = Console(stderr=True, highlight=False)

    @property
    def show_progress(self) -> bool:
        return not self.quiet

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """Human output (tables, summaries); suppressed with ``--json``."""
        if not self.json_mode:
            self.out.print(*objects, **kwargs)

    def info(self, message: str) -> None:
        """A status line for people, on stderr; suppressed by ``--quiet`` and ``--json``."""
        if not self.quiet and not self.json_mode:
            self.err.print(message, highlight=False)

    def emit_json(self, data: Any) -> None:
        """The single JSON document of ``--json`` mode."""
        if self.json_mode:
            sys.stdout.write(json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")
            sys.stdout.flush()

    @contextlib.contextmanager
    def progress(self, label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr; yields ``advance(n)``.

        Silent with ``--quiet``, and when stderr is not a terminal (a log file or a pipe
        would only get the bar's last frame, which reads as noise before an error line).
        """
        if not self.show_progress or not self.err.is_terminal:
            yield lambda n: None
            return
        columns = (
            [SpinnerColumn(), TextColumn(label), BarColumn(), MofNCompleteColumn()]
            if total is not None
            else [SpinnerColumn(), TextColumn(label), TextColumn("{task.completed:,} rows")]
        )
        with Progress(*columns, TimeElapsedColumn(), console=self.err, transient=False) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        """A spinner for a step without a measurable amount of work (terminals only)."""
        if not self.show_progress or not self.err.is_terminal:
            yield
            return
        with Progress(
            SpinnerColumn(),
            TextColumn(label),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=1)
            yield
            bar.update(task, completed=1)


def _print_error(message: str) -> None:
    sys.stderr.write(f"error: {one_line(message)}\n")
    sys.stderr.flush()


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    sys.stderr.write(f"warning: {one_line(message)}\n")
    sys.stderr.flush()


class Terminated(BaseException):
    """SIGTERM arrived (``timeout``, systemd, Docker, ``kill``).

    Raised from the signal handler so that the stack unwinds exactly as on Ctrl-C: every
    ``finally`` runs, staging files are removed and claims are released before the exit.
    """


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def guarded(fn: F) -> F:
    """Run a command with the command line's error and warning conventions.

    Expected failures (bad input, missing files, existing outputs, library errors) print one
    ``error:`` line and exit 1. Anything else prints its type and message and a hint to rerun
    with ``VECAE_DEBUG=1``, which re-raises it so the traceback shows.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(os.environ.get(DEBUG_ENV))
        with warnings.catch_warnings(), contextlib.ExitStack() as stack:
            token = _COMMAND_STACK.set(stack)
            stack.callback(_COMMAND_STACK.reset, token)
            if threading.current_thread() is threading.main_thread():
                previous = signal.signal(signal.SIGTERM, _on_sigterm)
                stack.callback(signal.signal, signal.SIGTERM, previous)
            warnings.resetwarnings()
            warnings.simplefilter("ignore")
            warnings.simplefilter("default", UserWarning)
            warnings.showwarning = _show_warning
            try:
                return fn(*args, **kwargs)
            except (typer.Exit, typer.Abort, typer.TyperException):
                raise  # typer's own exits and usage errors keep their behaviour
            except KeyboardInterrupt:
                if debug:
                    raise
                _print_error("interrupted")
                raise typer.Exit(EXIT_INTERRUPTED) from None
            except Terminated:
                _print_error("terminated")
                raise typer.Exit(EXIT_TERMINATED) from None
            except (CliError, VecaeError, OSError, ValueError) as exc:
                if debug:
                    raise
                _print_error(_describe(exc))
                raise typer.Exit(EXIT_ERROR) from None
            except Exception as exc:
                if debug:
                    raise
                _print_error(
                    f"unexpected {type(exc).__name__}: {exc} "
                    f"(rerun with {DEBUG_ENV}=1 to see the traceback)"
                )
                raise typer.Exit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


def _describe(exc: BaseException) -> str:
    """The message of an expected error; OS errors name the path and the reason."""
    if isinstance(exc, OSError) and not isinstance(exc, VecaeError) and exc.filename:
        reason = exc.strerror or type(exc).__name__
        return f"{exc.filename}: {reason.lower() if reason[:1].isupper() else reason}"
    text = str(exc)
    return text if text else type(exc).__name__


def claim_output(
    path: Path,
    overwrite: bool,
    *,
    kind: str | None = None,
    inputs: Iterable[Path | None] = (),
) -> None:
    """Claim ``path`` for this command and check it may be written, before any work.

    The claim (:func:`vecae._artefact.claim`) is held until the command returns, so a second
    process writing the same output is refused at once, and the library's own atomic write
    of the output re-enters it. ``kind`` is the artefact kind of a directory output
    (``None`` for a file); ``inputs`` are the paths the command reads.
    """
    from vecae import _artefact

    stack = _COMMAND_STACK.get()
    if stack is None:
        raise RuntimeError("claim_output() outside a guarded command")
    claimed = _artefact.claim(path, make_parents=kind is not None)
    target: Path = stack.enter_context(claimed)
    _artefact.check_destination(
        target,
        kind=kind,
        overwrite=overwrite,
        inputs=[p for p in inputs if p is not None],
        source=str(path),
    )


@contextlib.contextmanager
def atomic_path(path: Path, *, overwrite: bool) -> Iterator[Path]:
    """A claimed temporary file beside ``path``; it becomes ``path`` only if the block succeeds."""
    from vecae._artefact import FileOutput

    output = FileOutput(path, overwrite=overwrite)
    try:
        yield output.temp
    except BaseException:
        output.abort()
        raise
    output.commit()
