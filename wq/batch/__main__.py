"""``python -m wq.batch {train,forecast,score} ...``: the batch commands without the rest of ``wq``.

The same commands, options, output and exit codes as ``wq train|forecast|score`` (0 ok, 2 bad input, 1
unexpected, 3 drift with ``score --fail-on-drift``), but the other command modules (tuning,
augmentation) are not imported, so a scheduled forecast's start-up does not grow with theirs. Used by
``pipelines/daily_forecast.sh``.
"""

from __future__ import annotations

import sys

from wq import cli


def main(argv: list[str] | None = None) -> int:
    """Parse and run one batch command, with the exit codes of :func:`wq.cli.dispatch`."""
    return cli.dispatch(cli.build_parser(("wq.cli.batch",), prog="python -m wq.batch"), argv)


if __name__ == "__main__":
    sys.exit(main())
