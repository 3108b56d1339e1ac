"""``wq forecast`` with a multi-site artifact: every site's week-ahead forecast from one origin, one transaction.

1. Load the artifact (:func:`wq.sites.artifact.load_sites_model`: verified; regressors through the allow-list).
2. Read the fresh data with the artifact's ``[data]`` settings (:func:`wq.sites.data.load_sites`; the path
   given, else the training file) and check it: the same frequency; every site of the artifact present and no
   site the artifact does not know (a new meter needs ``wq train`` again); the drivers as columns.
3. Origin: the last time of the data's grid, or ``as_of`` (a time of the grid). Only the data up to the origin
   are used; each site is scaled with the mean and standard deviation stored at training, so a forecast does
   not depend on anything after its origin.
4. **Too little fresh data for a site.** Too little history is an error: a site needs at least one week (168
   observed values) in the four weeks and a day before the origin, else the run stops naming the site and
   nothing is written (a file cut too short, a new meter: bad input). A site in an **outage at the origin** (no
   observation in the last 24 hours, which every network of meters has now and then) is **skipped with a
   warning** on stderr naming it and the origin, and the summary line counts it; the other sites are forecast
   and written (one meter down must not stop the week-ahead plan of the others). When every site is in an
   outage, that is an error.
5. Rows: target ``<target>@<site>`` (:mod:`wq.sites.store`), step 1..H, the valid time, the value, the
   fingerprint of the site's data up to the origin, and with ``[evaluate] levels`` the bounds
   ``lower_<level>``/``upper_<level>`` (forecast -/+ the stored conformal quantile of the lead time times the
   site's standard deviation). All rows of all sites go to the store in one transaction (a bad row: nothing
   written); ``wq score`` and ``wq dashboard`` with ``--artifact`` read them per site.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from wq.batch.staleness import check_scheduled, parse_staleness, parse_time
from wq.errors import ArtifactError, ConfigError, DataError
from wq.sites import model as M
from wq.sites.features import DAY, HISTORY, WEEK


@dataclass
class SitesForecast:
    """Outcome of :func:`forecast_sites_batch`: rows, per artifact a summary, the store's counts, seconds."""

    rows: pd.DataFrame
    summaries: list[dict]
    result: Any
    destination: str | None
    seconds: float


def _origin(index: pd.DatetimeIndex, as_of, source: str) -> int:
    if as_of is None:
        return len(index) - 1
    ts = parse_time(as_of, "as-of time")
    pos = index.get_indexer([ts])[0]
    if pos < 0:
        raise DataError(f"{source}: as-of time {ts} is not a time of the data's grid ({index[0]} .. {index[-1]})")
    return int(pos)


def _names(sites: list[str]) -> str:
    """Up to five site names quoted, then how many more."""
    more = f" and {len(sites) - 5} more" if len(sites) > 5 else ""
    return ", ".join(map(repr, sites[:5])) + more


def check_sites(sm, data, source: str) -> None:
    """The fresh data hold exactly the artifact's sites, its drivers and its frequency (DataError otherwise)."""
    unknown = [s for s in data.sites if s not in sm.sites]
    if unknown:
        raise DataError(f"{source}: site(s) {_names(unknown)} unknown to artifact {sm.path} "
                        f"(trained on {len(sm.sites)} sites); train again to forecast them; nothing written")
    missing = [s for s in sm.sites if s not in data.sites]
    if missing:
        raise DataError(f"{source}: no data for site(s) {_names(missing)} of artifact {sm.path}; "
                        f"nothing written")
    if pd.tseries.frequencies.to_offset(data.freq) != pd.tseries.frequencies.to_offset(sm.meta["freq"]):
        raise DataError(f"{source}: frequency {data.freq!r}, the artifact was trained at {sm.meta['freq']!r}")
    if list(data.drivers) != list(sm.meta["drivers"]):
        raise DataError(f"{source}: drivers {list(data.drivers)}, the artifact was trained with {sm.meta['drivers']}")


def check_history(y: np.ndarray, site: str, pos: int, origin, source: str) -> str | None:
    """DataError with fewer than a week of observed values in the HISTORY steps up to ``pos``; the reason to skip
    the site (an outage: no observation in the last day before the origin), else None."""
    recent = y[max(pos - HISTORY + 1, 0):pos + 1]
    n = int(np.isfinite(recent).sum())
    if n < WEEK:
        raise DataError(f"{source}: site {site!r} has {n} observed values in the {HISTORY} hours up to the origin "
                        f"{origin}; the model needs at least {WEEK} (one week); nothing written")
    if not np.isfinite(recent[-DAY:]).any():
        return f"site {site!r}: no observation in the {DAY} hours before the origin {origin} (an outage)"
    return None


def site_inputs(sm, data, pos: int, source: str, skipped: list[str] | None = None) -> list[M.SiteArrays]:
    """Per-site arrays up to ``pos`` with the stored scales and codes (the artifact's site order); a site in an
    outage at the origin is left out and its reason appended to ``skipped``."""
    from wq.sites.features import calendar_table, driver_table

    idx = data.y.index[:pos + 1]
    H = sm.settings.horizon
    ext = idx.append(pd.date_range(idx[-1], periods=H + 1, freq=data.freq)[1:])
    cal = calendar_table(ext, sm.meta.get("tz"), sm.meta.get("holidays"))
    out = []
    for code, site in enumerate(sm.sites):
        y = data.y[site].to_numpy(np.float64)[:pos + 1]
        reason = check_history(y, site, pos, idx[-1], source)
        if reason is not None:
            if skipped is not None:
                skipped.append(reason)
            continue
        mean, sd = (float(v) for v in sm.meta["scales"][site])
        drv = driver_table([data.drivers[d][site].to_numpy(np.float64)[:pos + 1] for d in data.drivers], pos + 1)
        out.append(M.SiteArrays(site, code, (y - mean) / sd, (mean, sd), drv, cal))
    if not out:
        raise DataError(f"{source}: every site is in an outage at the origin {idx[-1]} (no observation in the last "
                        f"{DAY} hours); nothing written")
    return out


def _data_sha(sa: M.SiteArrays) -> str:
    digest = hashlib.sha256(sa.name.encode())
    digest.update(np.ascontiguousarray(sa.y).tobytes())
    digest.update(np.ascontiguousarray(sa.drv).tobytes())
    return digest.hexdigest()


def forecast_values(sm, arrays: list[M.SiteArrays]) -> dict[str, np.ndarray]:
    """(H,) forecasts of every site from the last position of its arrays."""
    from wq.sites.run import forecast_sites

    origin = np.array([len(arrays[0].y) - 1])
    models = [sm.models[sa.code] for sa in arrays]
    preds = forecast_sites(models, arrays, origin, sm.meta["strategy"], sm.meta["pooling"], sm.settings)
    return {sa.name: p[0] for sa, p in zip(arrays, preds)}


def forecast_rows(sm, data, as_of=None, source: str = "fresh data", skipped: list[str] | None = None) -> pd.DataFrame:
    """Store rows of every site's forecast from the origin (see the module docstring); the sites left out for an
    outage at the origin are appended to ``skipped`` (with the reason)."""
    from wq.sites.store import store_rows

    check_sites(sm, data, source)
    pos = _origin(data.y.index, as_of, source)
    arrays = site_inputs(sm, data, pos, source, skipped)
    values = forecast_values(sm, arrays)
    bad = [s for s, v in values.items() if not np.isfinite(v).all()]
    if bad:
        raise DataError(f"{source}: the forecast of site(s) {bad[:5]} is not finite; nothing written")
    H = sm.settings.horizon
    rows = store_rows(sm.name, sm.version_id, sm.target, data.y.index[pos], data.freq, values)
    rows["data_sha256"] = np.repeat([_data_sha(sa) for sa in arrays], H)
    conf = sm.meta.get("conformal")
    if conf:
        sd = np.repeat([sa.scale[1] for sa in arrays], H)
        for key, q in conf["q"].items():
            width = np.tile(np.array([np.nan if v is None else v for v in q], dtype=np.float64), len(arrays)) * sd
            rows[f"lower_{key}"] = rows["value"] - width
            rows[f"upper_{key}"] = rows["value"] + width
    return rows


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr)


def check_fresh(data, now=None, max_staleness=None, source: str = "fresh data") -> None:
    """The staleness rule of a scheduled run (no as-of) across all sites, as :mod:`wq.batch.staleness` states it
    for one series (:func:`~wq.batch.staleness.check_scheduled`), on the times at which any site has an
    observation: by default the newest must be at most one step before the newest period of the grid ended by
    ``now`` (default: the current UTC time); a duration allows that much age from ``now``; ``"none"`` skips the
    check. A meter export that stopped is refused, not forecast from again."""
    observed = data.y.index[data.y.notna().any(axis=1).to_numpy()]
    check_scheduled(observed, data.freq, data.y.index[-1], parse_staleness(max_staleness),
                    None if now is None else parse_time(now, "now"), source=source)


def load_fresh(sm, data_path=None):
    """The fresh data of a multi-site artifact, read with its ``[data]`` settings."""
    from wq.sites.data import load_sites

    return load_sites(sm.pipeline.data_spec(data_path if data_path is not None else sm.data_path))


def forecast_sites_batch(artifacts, *, data=None, as_of=None, store=None, csv=None, on_conflict: str = "version",
                         progress: Callable[[str], None] | None = None,
                         warn: Callable[[str], None] | None = None, now=None,
                         max_staleness=None) -> SitesForecast:
    """Forecast every site of every multi-site artifact and write all rows in one transaction (SQLite ``store``
    or ``csv``; neither: a dry run). Everything is loaded, checked and forecast before anything is written.
    ``warn``: where the line of a site skipped for an outage goes (default: stderr). Without ``as_of`` the
    data must be fresh (:func:`check_fresh` with ``now`` and ``max_staleness``)."""
    from wq.batch.store import ForecastStore, write_csv
    from wq.sites.artifact import load_sites_model

    t0 = time.perf_counter()
    if store is not None and csv is not None:
        raise ConfigError("give either a store (SQLite) or a CSV file, not both")
    pieces, summaries = [], []
    for path in artifacts:
        sm = load_sites_model(path)
        fresh = load_fresh(sm, data)
        source = f"fresh data {sm.pipeline.data_spec(data if data is not None else sm.data_path).path}"
        skipped: list[str] = []
        rows = forecast_rows(sm, fresh, as_of, source, skipped)
        if as_of is None:
            rule = max_staleness if max_staleness not in (None, "") else sm.pipeline.batch.max_staleness
            check_fresh(fresh, now, rule, source)
        pieces.append(rows)
        for reason in skipped:
            (warn or _stderr)(f"warning: {source}: {reason}: skipped, no forecast written for it")
        summaries.append({"artifact": str(path), "pipeline": sm.name, "model_version": sm.version_id,
                          "sites": len(sm.sites) - len(skipped), "skipped": len(skipped), "as_of": rows["as_of"].iloc[0],
                          "horizon": sm.settings.horizon,
                          "rows": len(rows), "intervals": sorted({c[6:] for c in rows if c.startswith("lower_")})})
        if progress:
            progress(f"forecast {sm.name} {sm.version_id}: {len(sm.sites) - len(skipped)} sites from "
                     f"{rows['as_of'].iloc[0]}, {len(rows)} rows")
    if not pieces:
        raise ArtifactError("no artifact given")
    rows = pd.concat(pieces, ignore_index=True)
    result = destination = None
    if store is not None:
        destination = str(store)
        result = ForecastStore(store).write(rows, on_conflict=on_conflict)
    elif csv is not None:
        destination = str(csv)
        result = write_csv(rows, csv, on_conflict=on_conflict)
    return SitesForecast(rows, summaries, result, destination, time.perf_counter() - t0)
