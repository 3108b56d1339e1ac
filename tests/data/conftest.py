"""Helpers for the data-layer tests: small files written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture
def write(tmp_path: Path):
    """write(name, text) -> path of a text file in tmp_path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write


@pytest.fixture
def daily_csv():
    """daily_csv(values, start, column, skip) -> CSV text (see _daily_csv)."""
    return _daily_csv


def _daily_csv(values, start: str = "2024-01-01", column: str = "flow", skip=()) -> str:
    """CSV text with a `date` column (daily from `start`) and one value column; `None` writes an empty cell,
    positions in `skip` are left out (absent rows)."""
    import pandas as pd

    days = pd.date_range(start, periods=len(values), freq="D")
    lines = [f"date,{column}"]
    for i, (d, v) in enumerate(zip(days, values)):
        if i in skip:
            continue
        lines.append(f"{d.date()},{'' if v is None else v}")
    return "\n".join(lines) + "\n"
