"""``wq dashboard``: the operations page of a forecast store (see :mod:`wq.report.dashboard`).

Exit codes: 0 written; 2 bad input (a missing store, a file that is not a wq store, data lacking a target
column, a bad option: one line on stderr, nothing written); 1 an unexpected error.
"""

from __future__ import annotations

from wq.cli.common import log, positive_int

__all__ = ["register", "cmd_dashboard"]


def cmd_dashboard(args) -> int:
    """``wq dashboard --store S --data D --out DIR [--artifact A] [--weeks 6]``."""
    from wq.report.dashboard import build_dashboard

    path = build_dashboard(args.store, args.out, data=args.data, artifacts=tuple(args.artifact or ()),
                           weeks=args.weeks, time=args.time)
    if not args.quiet:
        log(f"dashboard: wrote {path}")
    print(path)
    return 0


def register(sub) -> None:
    """Add ``dashboard`` to the ``wq`` command."""
    p = sub.add_parser("dashboard", help="write a static operations page (one self-contained HTML file) of a store")
    p.add_argument("--store", required=True, metavar="PATH", help="SQLite forecast store")
    p.add_argument("--data", help="observations (default with --artifact: the artifact's training file)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for index.html (created when absent)")
    p.add_argument("--artifact", action="append", metavar="DIR",
                   help="show this artifact's forecasts with its [limits] and alarm levels (repeatable)")
    p.add_argument("--weeks", type=positive_int, default=6, help="weeks of issued forecasts shown and scored (default 6)")
    p.add_argument("--time", help="time column of --data without --artifact (default: the first column)")
    p.add_argument("--quiet", action="store_true", help="no log line")
    p.set_defaults(func=cmd_dashboard)
