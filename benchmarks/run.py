"""The wq benchmark suite (issue 7): accuracy against peers, speed against the machine's limit, growth with data.

    python benchmarks/run.py [--quick] [--only accuracy,speed,growth] [--out DIR] [--datasets ...]
                                  [--repeats N] [--threads N] [--tune] [--tuned DATASET=TOML]

Writes Markdown (README.md), PNG figures and CSVs of every number to reports/benchmarks/ (reports/benchmarks/quick/
with --quick). Needs the bench extra (statsforecast): pip install -e '.[bench]'. See docs/benchmarks.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.suite import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
