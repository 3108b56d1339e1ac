"""``python -m wq.batch {train,forecast,score} ...``: the batch commands without the rest of ``wq``.

The same commands, options, output and exit codes as ``wq train|forecast|score`` (0 ok, 2 bad input, 1
unexpected, 3 drift with ``score --fail-on-drift``), but the other command modules (tuning,
augmentation) are not imported, so a scheduled forecast's start-up does not grow with theirs. Used by
``pipelines/daily_forecast.sh``.
"""

from __future__ import annotations

import os
import sys
import traceback

from wq import cli
from wq.batch import commands  # noqa: F401 - registers train/forecast/score
from wq.errors import WqError


def main(argv: list[str] | None = None) -> int:
    """Parse and run one batch command; errors are reported as by :func:`wq.cli.main`."""
    try:
        parser = cli.build_parser()
        parser.prog = "python -m wq.batch"
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except WqError as exc:
        print(f"wq: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wq: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence, as in wq.cli.main
        if os.environ.get("WQ_DEBUG"):
            traceback.print_exc()
        print(f"wq: unexpected error: {type(exc).__name__}: {exc} (set WQ_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
