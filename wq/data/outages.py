"""Simulated sensor outages: blank runs of rows in a complete record, to test how gaps are handled.

Real sensors go dark for days (a fouled probe, a dead logger, an analyser sent for repair). :func:`blank_outages`
places outages of given lengths at random, reproducibly from a seed, inside a record: never touching its
first or last ``margin`` rows and with at least ``margin`` observed rows between two outages, so each outage
stays one gap of exactly its length.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from wq.errors import ConfigError

__all__ = ["blank_outages"]


def blank_outages(frame: pd.DataFrame, lengths: Sequence[int], columns: Sequence[str] | None = None,
                  seed: int = 0, margin: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A copy of ``frame`` with one run of missing values per entry of ``lengths`` (rows) in ``columns``
    (default: all), and the table of outages (start, end, length), in time order.

    Positions: the free rows (those not needed by the outages and the ``margin`` rows around them) are split
    into ``len(lengths) + 1`` spaces by a uniformly drawn composition (``numpy.random.default_rng(seed)``);
    the outages keep the given order of ``lengths``."""
    lengths = np.asarray(lengths, dtype=int)
    if lengths.ndim != 1 or (lengths < 1).any():
        raise ConfigError(f"outage lengths must be positive integers, got {list(lengths)}")
    if isinstance(margin, bool) or int(margin) < 1:
        raise ConfigError(f"margin must be at least 1 row, got {margin!r}")
    cols = list(frame.columns) if columns is None else list(columns)
    unknown = [c for c in cols if c not in frame.columns]
    if unknown:
        raise ConfigError(f"outage columns {unknown} not in the frame; columns: {', '.join(map(str, frame.columns))}")
    k, n = len(lengths), len(frame)
    free = n - int(lengths.sum()) - (k + 1) * margin
    if free < 0:
        raise ConfigError(f"{k} outages of {int(lengths.sum())} rows in all do not fit in {n} rows "
                          f"with margin {margin}")
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.integers(0, free + 1, size=k))
    spaces = np.diff(np.concatenate(([0], cuts))) + margin  # rows observed before each outage
    before = np.concatenate(([0], np.cumsum(lengths)[:-1]))  # outage rows before each outage
    starts = np.cumsum(spaces) + before
    ends = starts + lengths  # exclusive
    rows = np.repeat(starts, lengths) + np.arange(int(lengths.sum())) - np.repeat(before, lengths)
    out = frame.copy()
    out.iloc[rows, [frame.columns.get_loc(c) for c in cols]] = np.nan
    table = pd.DataFrame({"start": frame.index[starts], "end": frame.index[ends - 1], "length": lengths})
    return out, table
