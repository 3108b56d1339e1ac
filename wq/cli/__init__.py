"""The ``wq`` command: one module per group of subcommands, each with ``register(subparsers)``; shared options
in :mod:`wq.cli.common`. No other package parses arguments.

Exit codes: 0 success, 2 bad input (data, pipeline, option, artifact: one line on stderr, no traceback),
1 an unexpected error (set WQ_DEBUG=1 for the traceback), 130 interrupted. Progress and log lines go to
stderr with timestamps.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings

from wq.cli.common import Parser, show_warning
from wq.errors import WqError

COMMANDS = ("wq.cli.data", "wq.cli.run", "wq.cli.batch", "wq.cli.tune", "wq.cli.augment")
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


def dispatch(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command with wq's exit codes: 0 ok, 2 bad input (one line on
    stderr), 130 interrupted, 1 unexpected (one line; the traceback with WQ_DEBUG=1)."""
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except WqError as exc:
        print(f"wq: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wq: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, traceback on request
        if os.environ.get("WQ_DEBUG"):
            traceback.print_exc()
        print(f"wq: unexpected error: {type(exc).__name__}: {exc} (set WQ_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    previous, warnings.showwarning = warnings.showwarning, show_warning
    try:
        return dispatch(build_parser(), argv)
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    sys.exit(main())
