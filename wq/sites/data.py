"""Multi-site data: a long file (``time, site, value, drivers``; ``[data] site = "site"``) or a wide one (one
target column per site; ``[data] sites = ["a", "b"]``) read onto one regular UTC grid.

Rules (each one written to the notes of the run):

- Times with offsets (``2023-03-06 00:00+01:00``) are instants, converted to UTC. Naive times with ``[data] tz``
  (alias ``timezone``) are local wall times, read by :func:`wq.data.times.localize_wall_times`: the repeated
  fall-back hour is summer time at its first occurrence and winter time at the second, the nonexistent
  spring-forward hour is dropped. Naive times without a zone are taken as UTC.
- Repeated (time, site) rows are averaged; the grid runs from the first to the last time at the frequency
  (``[data] freq`` or inferred); a missing hour (an outage) is a NaN, never filled: the models skip windows
  that need it and the scorer skips missing observations.
- ``target``: the value column of a long file; in a wide file only the name of the quantity (the ``sites``
  columns hold the values).
- Drivers: a column of the long file is per site when its values differ between sites at the same time and
  shared otherwise (both are held per site); in a wide file the drivers are shared by all sites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wq.data.times import localize_wall_times, to_utc_naive
from wq.errors import ConfigError, DataError

_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")


@dataclass
class SiteData:
    """Sites on one grid: ``y`` (time x site), ``drivers`` (name -> time x site), ``freq``, ``tz`` and notes."""

    y: pd.DataFrame
    drivers: dict[str, pd.DataFrame]
    freq: str
    tz: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def sites(self) -> list[str]:
        return [str(c) for c in self.y.columns]

    def subset(self, sites: list[str]) -> "SiteData":
        """The same data for some sites only."""
        return SiteData(self.y[sites], {k: v[sites] for k, v in self.drivers.items()}, self.freq, self.tz,
                        list(self.notes))


def parse_times(values: pd.Series, tz: str | None, fmt: str | None, where: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Times of a column -> (UTC-naive times, rows kept); see the module docstring for the rules."""
    text = values.astype(str)
    try:
        if text.str.contains(_OFFSET).any():
            t = pd.DatetimeIndex(to_utc_naive(pd.to_datetime(text, utc=True, format=fmt)))
            return t, np.ones(len(t), bool)
        t = pd.DatetimeIndex(pd.to_datetime(text, format=fmt))
    except (ValueError, TypeError) as exc:
        raise DataError(f"{where}: times do not parse ({exc})") from None
    if tz is None or tz.upper() == "UTC":
        return t, np.ones(len(t), bool)
    out, nonexistent, _ = localize_wall_times(t, tz)
    return pd.DatetimeIndex(out[~nonexistent]), ~nonexistent


def load_sites(spec) -> SiteData:
    """Read a multi-site file described by a :class:`wq.data.spec.DataSpec` with ``site`` or ``sites``."""
    path = spec.path
    if not path.exists():
        raise DataError(f"data file {path} does not exist")
    if path.is_dir():
        raise DataError(f"data file {path} is a folder, not a file")
    try:
        raw = pd.read_csv(path, sep=spec.sep or ",", na_values=spec.na_values)
    except pd.errors.EmptyDataError:
        raise DataError(f"file {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"file {path}: cannot be parsed: {' '.join(str(exc).split())}") from None
    time_col = spec.time or raw.columns[0]
    need = [time_col, *([spec.site, *spec.targets[:1]] if spec.site else spec.sites), *spec.drivers]
    missing = [c for c in dict.fromkeys(need) if c and c not in raw.columns]
    if spec.site and not spec.targets:
        raise ConfigError("[data] site: a long file needs its value column as 'target'")
    if missing:
        raise DataError(f"file {path}: missing column(s) {missing}; it has {list(raw.columns)}")
    t, keep = parse_times(raw[time_col], spec.tz, spec.time_format, f"file {path}, column {time_col!r}")
    raw = raw.loc[keep].assign(**{time_col: t})
    for c in dict.fromkeys([*(spec.targets[:1] if spec.site else spec.sites), *spec.drivers]):
        values = pd.to_numeric(raw[c], errors="coerce")
        bad = values.isna() & raw[c].notna()
        if bad.any():
            first = raw.index[bad.to_numpy()][0]
            raise DataError(f"file {path}, column {c!r}: {int(bad.sum())} non-numeric value(s), the first "
                            f"{raw.at[first, c]!r} in data row {int(first) + 1} (after the header)")
        raw[c] = values
    notes = [f"{int((~keep).sum())} rows at nonexistent local times (spring forward, {spec.tz}) dropped."] \
        if (~keep).any() else []
    if spec.site:
        raw[spec.site] = raw[spec.site].astype(str)
        n_dup = int(raw.duplicated([time_col, spec.site]).sum())
        wide = {c: raw.pivot_table(index=time_col, columns=spec.site, values=c, aggfunc="mean", dropna=False)
                for c in [spec.targets[0], *spec.drivers]}
        y = wide.pop(spec.targets[0])
        drivers = wide
    else:
        n_dup = int(raw.duplicated([time_col]).sum())
        g = raw.groupby(time_col)[[*spec.sites, *spec.drivers]].mean()
        y = g[spec.sites]
        drivers = {d: pd.DataFrame(np.repeat(g[[d]].to_numpy(), len(spec.sites), 1), index=g.index,
                                   columns=spec.sites) for d in spec.drivers}
    if n_dup:
        notes.append(f"{n_dup} repeated (time, site) rows averaged.")
    if y.index.nunique() < 2:
        raise DataError(f"file {path}: fewer than two distinct times ({y.index.nunique()}); nothing to forecast from")
    freq = spec.freq or _infer(y.index)
    grid = pd.date_range(y.index.min(), y.index.max(), freq=freq, name="time")
    y = y.reindex(grid).astype(np.float64)
    y.columns = [str(c) for c in y.columns]
    drivers = {k: v.reindex(grid).reindex(columns=y.columns).astype(np.float64) for k, v in drivers.items()}
    notes.append(f"{y.shape[1]} sites on one {freq} grid of {len(grid)} steps ({grid[0]} .. {grid[-1]} UTC); "
                 f"{int(y.isna().sum().sum())} site-hours missing (outages, never filled).")
    return SiteData(y, drivers, freq, spec.tz, notes)


def _infer(index: pd.DatetimeIndex) -> str:
    """The most common spacing of the times, as a frequency string."""
    diffs = pd.Series(index.sort_values().unique()).diff().dropna()
    if diffs.empty:
        raise DataError("the data have fewer than two distinct times")
    return pd.tseries.frequencies.to_offset(diffs.mode().iloc[0]).freqstr
