"""The ``wq`` command: one module per group of subcommands, each with ``register(subparsers)``; shared options
in :mod:`wq.cli.common`. No other package parses arguments.

Exit codes: 0 success, 2 bad input (data, pipeline, option, artifact: one line on stderr, no traceback),
1 an unexpected error (set WQ_DEBUG=1 for the traceback), 130 interrupted, 141 stdout closed by its reader
(quiet exit, as a GNU tool under a shell). Progress and log lines go to stderr with timestamps.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import traceback
import warnings

from wq.cli.common import Parser, show_warning
from wq.errors import WqError

COMMANDS = ("wq.cli.data", "wq.cli.run", "wq.cli.batch", "wq.cli.tune", "wq.cli.augment", "wq.cli.dashboard")
"""Modules that add subcommands, in help order."""


def build_parser(modules: tuple[str, ...] = COMMANDS, prog: str = "wq") -> argparse.ArgumentParser:
    """The parser of ``wq`` with the subcommands of ``modules``."""
    from wq import __version__

    parser = Parser(prog=prog, description="Forecasting water quality and water demand.")
    parser.add_argument("--version", action="version", version=f"wq {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in modules:
        importlib.import_module(module).register(sub)
    return parser


EXIT_BROKEN_PIPE = 141
"""Exit status when the reader of stdout went away (``wq forecast --print | head -1``): 128 + SIGPIPE, what a
shell reports for a GNU tool in the same place; wq exits quietly, without a traceback."""

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f]")


def _one_line(text: object) -> str:
    """A message as one plain line: terminal escape codes and control characters removed, line breaks joined."""
    return re.sub(r"\s*\n\s*", "; ", _CONTROL.sub("", str(text)).strip())


def _quiet_broken_pipe() -> int:
    """Point stdout and stderr at /dev/null so that Python's final flush stays silent too."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):  # not a real file (captured in tests)
            pass
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def dispatch(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command with wq's exit codes: 0 ok, 2 bad input (one line on
    stderr), 130 interrupted, 141 stdout closed by its reader (quiet), 1 unexpected (one line; the
    traceback with WQ_DEBUG=1)."""
    try:
        args = parser.parse_args(argv)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in Python's exit handler
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except WqError as exc:
        print(f"wq: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wq: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, traceback on request
        if os.environ.get("WQ_DEBUG"):
            traceback.print_exc()
        print(f"wq: unexpected error: {type(exc).__name__}: {_one_line(exc)} (set WQ_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    previous, warnings.showwarning = warnings.showwarning, show_warning
    try:
        return dispatch(build_parser(), argv)
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    sys.exit(main())
