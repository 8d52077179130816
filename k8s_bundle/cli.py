"""The `k8s-bundle` command line.

Each area registers its sub-commands from a light `cli` module (stdlib imports only at module
level) so that `collect`, `redact` and `verify` never import the analyzer's heavy dependencies:
the static collector binary leaves polars and jinja2 out.
"""
from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
from typing import Any, Callable, Sequence

from k8s_bundle.bundle.layout import FORMAT_VERSION
from k8s_bundle import __version__
from k8s_bundle.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_NO_SPACE, UserError, shown

_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))

# (module, function) pairs; each function takes the sub-parsers object and registers commands,
# setting `func` (args -> exit code) on each parser.
_REGISTRARS: list[tuple[str, str]] = [
    ("k8s_bundle.collector.cli", "register"),
    ("k8s_bundle.redact.cli", "register"),
    ("k8s_bundle.analyzer.cli", "register"),
    ("k8s_bundle.serve.cli", "register"),
]


def version_text() -> str:
    return f"k8s-bundle {__version__} (bundle format {FORMAT_VERSION})"


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="k8s-bundle",
        description="Collect, redact and analyze offline support bundles for Kubernetes nodes.",
    )
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, func_name in _REGISTRARS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # an area left out of this build (see analyzer_missing below)
        getattr(module, func_name)(sub)
    if "analyze" not in sub.choices:
        _register_missing_analyzer(sub)
    return parser


def _register_missing_analyzer(sub: argparse._SubParsersAction) -> None:
    """The collector-only binary still answers `analyze` and `rules` with a clear message."""
    for name, what in (("analyze", "analyze a bundle"), ("diff", "compare two bundles"),
                       ("rules", "list, lint and test rules"), ("serve", "browse bundles with kubectl")):
        if name in sub.choices:
            continue            # `serve`'s light cli module imports without the analyzer
        p = sub.add_parser(name, help=f"(not in this build) {what}", add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_analyzer_missing)


def _analyzer_missing(args: argparse.Namespace) -> int:
    raise UserError(
        "this is the collector-only binary; the analyzer is not inside it. "
        "Install the analyzer on an admin host with `pip install k8s-bundle` (or from the "
        "source tree: `pip install .`) and run `k8s-bundle analyze BUNDLE` there."
    )


def _term_is_an_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class _QuietWhenClosed:
    """Standard output or error for one run. When the reader goes away (`verify x | head -1`),
    the rest of the output is dropped and the command runs to its end, so the exit code is the
    command's real outcome (verify 1 when secrets were found, analyze 3) and not 0: a script's
    `verify x | head` must not read as clean. The file descriptor is pointed at /dev/null so
    Python's own flush at exit does not complain either."""

    def __init__(self, stream: Any, closed: list[bool] | None = None) -> None:
        self._stream = stream
        self._closed = closed if closed is not None else [False]   # shared with .buffer

    def write(self, data: Any) -> int:
        if not self._closed[0]:
            try:
                return self._stream.write(data)
            except BrokenPipeError:
                self._silence()
        return len(data)

    def flush(self) -> None:
        if not self._closed[0]:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._silence()

    @property
    def buffer(self) -> "_QuietWhenClosed":
        return _QuietWhenClosed(self._stream.buffer, self._closed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _silence(self) -> None:
        self._closed[0] = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self._stream.fileno())
            finally:
                os.close(null)
        except (OSError, ValueError, AttributeError):   # no descriptor (a test's capture)
            pass


def main(argv: Sequence[str] | None = None) -> int:
    # SIGTERM (timeout, systemd, a deleted pod) unwinds like Ctrl-C, so `redact` and `analyze`
    # remove their hidden output parts on the way out; `collect` sets its own handlers for the
    # run (a partial bundle). Restored on return: main() also runs inside tests.
    on_main_thread = threading.current_thread() is threading.main_thread()
    old_term = signal.signal(signal.SIGTERM, _term_is_an_interrupt) if on_main_thread else None
    old_out, old_err = sys.stdout, sys.stderr
    # None when started with the descriptor closed (`>&-`): left None, print() then writes nothing
    if old_out is not None:
        sys.stdout = _QuietWhenClosed(old_out)     # type: ignore[assignment]
    if old_err is not None:
        sys.stderr = _QuietWhenClosed(old_err)     # type: ignore[assignment]
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = old_out, old_err
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("K8S_BUNDLE_DEBUG") == "1"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
        if func is None:
            parser.print_help(sys.stderr)
            return 2
        return int(func(args) or 0)
    except UserError as exc:
        # escaped: a message names paths from the command line or a bundle, and an ESC or OSC
        # sequence in one must not reach the terminal (nor a newline split the one line)
        print(f"k8s-bundle: error: {shown(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("k8s-bundle: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # not from stdout or stderr (_QuietWhenClosed drops those): a pipe the command wrote
        # to itself went away
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into one line
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            # standard output on a full disk (`analyze -o - > file`, `verify x > file`): the
            # place is full, not our bug; the files we create handle this in safe_output
            print("k8s-bundle: error: no space left on device while writing standard output",
                  file=sys.stderr)
            return EXIT_NO_SPACE
        if debug:
            raise
        print(
            f"k8s-bundle: internal error: {type(exc).__name__}: {shown(str(exc))} "
            "(run again with --debug for the traceback and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
