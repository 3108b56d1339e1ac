# size: the batch forecast path: loading an artifact, checking fresh data and producing rows, in order
"""``wq forecast``: forecasts from verified artifacts and fresh data, written exactly once to the store.

Steps (issue 6, items 2-4), for each artifact:

1. **Load** the artifact (:func:`load_batch_model`): the manifest and every file's sha256 are checked
   (:func:`wq.batch.artifact.read_artifact`), then ``meta.batch_format``, the pipeline (validated) and
   the model (weights with ``weights_only=True``, their shapes checked by ``load_state_dict``). Any
   problem is one :class:`~wq.errors.ArtifactError`.
2. **Read fresh data** the way the training data were read: the artifact's pipeline ``[data]`` settings
   (so the same gap rule: fill limit, fill method, long gaps) with the path given, else the path the
   model was trained on.
3. **Check** them against the training data's fingerprint (:func:`wq.batch.artifact.check_fresh_data`):
   the same columns and the same frequency, also for the observed rows alone (the median step between
   rows with an observed value: weekly data on a daily grid, filled by the gap rule, are refused). Gaps
   beyond the pipeline's rule are the data layer's error.
4. **As-of times.** Default: the last time in the data. ``as_of``: that time (it must be on the data's
   grid and inside the data). ``backfill=(FROM, TO)``: every time of the data's grid in [FROM, TO].
   Only data up to each as-of time are used: the frame is cut at the (last) as-of time and every
   preprocessing stage is causal, so the forecast from t depends on rows <= t only, exactly as if it
   had been made at t. Backfill makes all as-of times in one vectorised call
   (``Forecaster.predict_array``), which gives the same values as one run per day. The data
   layer fills short gaps by the pipeline's rule on the file as it is now: with ``fill_method="ffill"``
   a filled value at t depends on data <= t only, so this equals what it gave then (revisions of old
   values in the file cannot be undone); ``fill_method="linear"`` uses the next observation and is
   refused for an as-of time before the end of the data (:class:`~wq.errors.ConfigError`).
5. **Staleness** (:mod:`wq.batch.staleness`): ``max_staleness`` (the option, else the pipeline's
   ``[batch] max_staleness``) is a duration, ``"none"`` (not checked), or unset: then the default
   refuses data whose last complete *observed* row (every target and driver present and not filled by
   the data layer) is more than one step of the trained frequency before the forecast origin (the as-of
   time; for the default as-of, the newest period of the data's grid that has ended by ``now``).
6. **Write** all rows of all artifacts in one transaction (:class:`~wq.batch.store.ForecastStore`,
   SQLite in WAL mode, or :func:`~wq.batch.store.write_csv`), keyed by (pipeline, model version,
   as-of, target, step) with the value, its valid time, the issue time and the fingerprint of the data
   up to the as-of time (``data_sha256``): the same as-of on the same data leaves the store unchanged,
   another as-of appends, a different value from revised data is stored as a new version beside the
   one issued, and a failure at any point (including in any artifact or data file) writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wq.batch.artifact import MANIFEST, Artifact, check_fresh_data, read_artifact
from wq.batch.staleness import check_one_step, check_scheduled, check_staleness, parse_staleness, parse_time
from wq.batch.train import BATCH_FORMAT, MODEL_PREFIX, PIPELINE_FILE
from wq.errors import ArtifactError, ConfigError, DataError

__all__ = [
    "BatchModel",
    "FreshData",
    "ForecastRun",
    "load_batch_model",
    "find_artifacts",
    "read_fresh_data",
    "resolve_as_ofs",
    "check_staleness",
    "forecast_rows",
    "batch_forecast",
]

ROW_COLUMNS = ["pipeline", "model_version", "as_of", "target", "step", "time", "value", "data_sha256"]
Progress = Callable[[str], None] | None

BLOCK = 128
"""Origins per model call (see :func:`forecast_rows`)."""


# --------------------------------------------------------------------------- artifacts


@dataclass
class BatchModel:
    """A verified artifact with its pipeline and model, ready to forecast."""

    path: Path
    artifact: Artifact
    pipeline: Any
    model: Any

    @property
    def version_id(self) -> str:
        return self.artifact.version_id

    @property
    def name(self) -> str:
        """The pipeline's name (the store's ``pipeline`` column)."""
        return str(self.artifact.meta["pipeline"])

    @property
    def meta(self) -> dict[str, Any]:
        return self.artifact.meta

    @property
    def fingerprint(self) -> dict[str, Any]:
        return dict(self.artifact.meta["fingerprint"])

    @property
    def targets(self) -> list[str]:
        return list(self.model.targets)

    @property
    def columns(self) -> list[str]:
        """Columns the model reads: targets, then drivers, then known-future driver columns."""
        return list(dict.fromkeys([*self.model.targets, *getattr(self.model, "drivers", []),
                                   *getattr(self.model, "future_columns", [])]))

    @property
    def validation_mape(self) -> dict[str, float] | None:
        """Step-1 validation MAPE per target at training time (targets without one are left out)."""
        val = (self.artifact.meta.get("validation") or {}).get("mape")
        if not val:
            return None
        return {k: float(v) for k, v in val.items() if v is not None}

    @property
    def data_path(self) -> str:
        """The data file the model was trained on: the default for fresh data."""
        return str(self.artifact.meta["data"]["path"])

    @property
    def batch_settings(self) -> dict[str, Any]:
        return self.pipeline.batch.model_dump()


def _artifact_error(root: Path, exc: Exception) -> ArtifactError:
    """The error on one line (torch's shape errors span several), prefixed with the artifact."""
    text = re.sub(r"\s*\n\s*", "; ", str(exc).strip())
    return ArtifactError(text if text.startswith(f"artifact {root}") else f"artifact {root}: {text}")


def load_batch_model(path: str | os.PathLike[str]) -> BatchModel:
    """Load and verify an artifact written by :func:`wq.batch.train.train_artifact`.

    Raises :class:`~wq.errors.ArtifactError` for a missing directory or file, a hash mismatch, an
    edited manifest or file, a newer artifact or batch format, an invalid pipeline, or weights that do
    not fit the model; the message names the artifact and the reason.
    """
    import tomllib

    from wq.config import Pipeline
    from wq.models.registry import model_from_files

    root = Path(path)
    artifact = read_artifact(root)
    meta = artifact.meta
    fmt = meta.get("batch_format") if isinstance(meta, Mapping) else None
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        raise ArtifactError(f"artifact {root}: not a model artifact of `wq train` (no batch_format in its manifest)")
    if fmt > BATCH_FORMAT:
        raise ArtifactError(
            f"artifact {root}: batch format {fmt} is newer than this wq supports ({BATCH_FORMAT}); upgrade wq"
        )
    missing = [k for k in ("pipeline", "fingerprint", "data", "targets") if k not in meta]
    if missing:
        raise ArtifactError(f"artifact {root}: its manifest's meta lacks {', '.join(map(repr, missing))}")
    try:
        raw = tomllib.loads(artifact.text(PIPELINE_FILE))
        pipeline = Pipeline.from_dict(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ArtifactError(f"artifact {root}: {PIPELINE_FILE} is not valid TOML: {exc}") from None
    except ConfigError as exc:
        raise ArtifactError(f"artifact {root}: {PIPELINE_FILE} is not a valid pipeline: {exc}") from None
    files = {name[len(MODEL_PREFIX):]: artifact.bytes(name) for name in artifact.files if name.startswith(MODEL_PREFIX)}
    try:
        model = model_from_files(files)
    except ArtifactError as exc:
        raise _artifact_error(root, exc) from None
    except ConfigError as exc:  # e.g. an unknown model name in model.json
        raise _artifact_error(root, ConfigError(f"the model does not load: {exc}")) from None
    if list(model.targets) != list(meta["targets"]):
        raise ArtifactError(
            f"artifact {root}: the model forecasts {list(model.targets)}, the manifest says {list(meta['targets'])}"
        )
    return BatchModel(path=root, artifact=artifact, pipeline=pipeline, model=model)


def find_artifacts(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Artifact directories from the given paths, in order, without repeats: a directory holding a
    manifest is an artifact; any other directory stands for its sub-directories that hold one
    (sorted by name; hidden ones, like an unfinished ``.name.tmp-*``, are skipped)."""
    out: list[Path] = []
    for given in paths:
        p = Path(given)
        if not p.is_dir():
            raise ArtifactError(f"artifact {p}: no such directory")
        if (p / MANIFEST).exists():
            found = [p]
        else:
            found = sorted(c for c in p.iterdir() if c.is_dir() and not c.name.startswith(".") and (c / MANIFEST).exists())
            if not found:
                raise ArtifactError(f"artifact {p}: no {MANIFEST} in it nor in any folder inside it")
        for f in found:
            if f.resolve() not in {o.resolve() for o in out}:
                out.append(f)
    return out


# --------------------------------------------------------------------------- fresh data


@dataclass
class FreshData:
    """A loaded fresh data frame, where it came from, which values were observed (not filled)
    and the data layer's settings of its gap rule."""

    frame: pd.DataFrame
    observed: pd.DataFrame
    path: Path
    notes: list[str]
    fill_method: str


def read_fresh_data(bm: BatchModel, data_path: str | os.PathLike[str] | None = None) -> FreshData:
    """Read fresh data with the artifact's data settings (``data_path`` or the training file) and check
    them against its fingerprint: columns and frequency (:func:`~wq.batch.artifact.check_fresh_data`)."""
    from wq.data.load import load

    from wq.data.future import add_future_drivers

    path = data_path if data_path is not None else bm.data_path
    spec = bm.pipeline.data_spec(path)
    loaded = load(spec)
    frame = add_future_drivers(loaded.frame, spec, bm.model.horizon, loaded.notes)
    source = f"fresh data {spec.path}"
    check_fresh_data(frame, bm.fingerprint, required_columns=bm.columns, source=source)
    filled = getattr(loaded, "filled", None)
    if filled is None:
        observed = frame.notna()
    else:
        observed = ~filled.reindex(index=frame.index, columns=frame.columns, fill_value=False).astype(bool)
        observed &= frame.notna()
    _check_observed_step(frame.index[observed.any(axis=1).to_numpy()], bm.fingerprint.get("freq"), source)
    return FreshData(frame=frame, observed=observed, path=Path(spec.path), notes=list(loaded.notes),
                     fill_method=str(spec.fill_method))


def _check_observed_step(times: pd.DatetimeIndex, freq: str | None, source: str) -> None:
    """A changed frequency that the data layer's grid would hide: with ``freq = "D"`` in the pipeline, weekly
    data land on the daily grid and short gaps are filled, so the frame looks daily. The median step between
    rows with at least one observed (not filled) value must equal the trained step (fixed steps only)."""
    if not freq or len(times) < 3:
        return
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (ValueError, TypeError):  # calendar steps (months, business days) have no fixed length
        return
    median = pd.Timedelta(int(np.median(np.diff(times.asi8))))
    if median != step:
        raise DataError(
            f"{source}: frequency changed: the observations are {median} apart (median step of the rows with an "
            f"observed value), the model was trained at {freq!r}"
        )


def resolve_as_ofs(
    index: pd.DatetimeIndex, as_of: object = None, backfill: tuple[object, object] | None = None, *, source: str = "data"
) -> pd.DatetimeIndex:
    """The as-of times of a run (see the module docstring, item 4): the last time of ``index``;
    ``as_of``, which must be a time of ``index``; or every time of ``index`` in ``backfill = (FROM, TO)``
    (inclusive; TO must not be after the last time). Errors: :class:`~wq.errors.DataError`."""
    if as_of is not None and backfill is not None:
        raise ConfigError("give either an as-of time or a backfill range, not both")
    if len(index) == 0:
        raise DataError(f"{source}: no rows")
    last = index[-1]
    if backfill is not None:
        lo, hi = (parse_time(backfill[0], "backfill FROM"), parse_time(backfill[1], "backfill TO"))
        if lo > hi:
            raise ConfigError(f"backfill range is empty: FROM {lo} is after TO {hi}")
        if hi > last:
            raise DataError(f"{source}: the data end at {last}, before the backfill end {hi}")
        out = index[(index >= lo) & (index <= hi)]
        if len(out) == 0:
            raise DataError(f"{source}: no time of the data in the backfill range {lo} .. {hi}")
        return pd.DatetimeIndex(out, name="as_of")
    if as_of is None:
        return pd.DatetimeIndex([last], name="as_of")
    ts = parse_time(as_of, "as-of time")
    if ts > last:
        raise DataError(f"{source}: the data end at {last}, before the as-of time {ts}")
    if ts < index[0]:
        raise DataError(f"{source}: the data start at {index[0]}, after the as-of time {ts}")
    if index.get_indexer([ts])[0] < 0:
        raise DataError(f"{source}: as-of time {ts} is not a time of the data's grid (freq {index.freqstr})")
    return pd.DatetimeIndex([ts], name="as_of")


def _min_origin(model: Any) -> int:
    """Smallest origin position the model can forecast from (its lags, moving average and season)."""
    return int(model.min_history) - 1


# --------------------------------------------------------------------------- forecasting


def data_fingerprints(frame: pd.DataFrame, columns: Sequence[str], positions: np.ndarray) -> np.ndarray:
    """sha256 (hex) of the data a forecast from each origin position uses: the column names, then the
    64-bit row hashes (:func:`pandas.util.hash_pandas_object`, values and time) of ``columns`` in rows
    0 .. position. Equal for equal data up to the origin, whatever follows it. One incremental hash over
    the rows in order, read at each position (a loop over origins, not rows)."""
    rows = pd.util.hash_pandas_object(frame.loc[:, list(columns)], index=True).to_numpy(dtype=np.uint64)
    rows = rows.astype("<u8")
    digest = hashlib.sha256(json.dumps([str(c) for c in columns]).encode())
    out = np.empty(len(positions), dtype=object)
    done = 0
    for i in np.argsort(positions, kind="stable"):
        upto = int(positions[i]) + 1
        if upto > done:
            digest.update(rows[done:upto].tobytes())
            done = upto
        out[i] = digest.copy().hexdigest()
    return out


def forecast_rows(bm: BatchModel, frame: pd.DataFrame, as_ofs: pd.DatetimeIndex) -> pd.DataFrame:
    """Store rows (:data:`ROW_COLUMNS`) of ``bm``'s forecasts from each as-of time, using only the rows
    of ``frame`` up to the last as-of time.

    All as-of times are forecast together (``Forecaster.predict_array``, vectorised) in blocks of
    :data:`BLOCK` origins, the last block padded by repeating its last origin, so that a forecast's
    value does not depend on how many as-of times share the call: a backfill equals separate runs,
    bit for bit (checked in the tests on this machine's kernels)."""
    positions = frame.index.get_indexer(as_ofs)
    if (positions < 0).any():
        bad = as_ofs[positions < 0][0]
        raise DataError(f"as-of time {bad} is not a time of the data")
    first = _min_origin(bm.model)
    if positions.min() < first:
        raise DataError(
            f"as-of time {as_ofs[int(np.argmin(positions))]} has too little history before it: the model "
            f"needs {first} rows before the as-of time (earliest possible as-of: {frame.index[first]})"
        )
    _check_future_values(bm, frame, as_ofs, positions)
    upto = frame.iloc[: int(positions.max()) + 1]
    model = bm.model
    # Fixed-size blocks (the last padded by repeating its last origin): every forecast goes through the
    # same kernels whatever the number of as-of times, so a backfill equals one run per day bit for bit
    # (float32 networks otherwise differ in the last bits with the batch size).
    k = len(positions)
    padded = np.concatenate([positions, np.full((-k) % BLOCK, positions[-1])]).astype(np.int64)
    values = np.concatenate([
        np.asarray(model.predict_array(upto, upto.index[padded[i:i + BLOCK]]), dtype=np.float64)
        for i in range(0, len(padded), BLOCK)
    ])[:k]
    long = model.to_long(upto, positions, values)
    bad = ~np.isfinite(long["predicted"].to_numpy())
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"artifact {bm.path}: the forecast of {long['target'].iloc[i]!r} from {long['origin'].iloc[i]} "
            f"(step {long['step'].iloc[i]}) is not a finite number (its input window touches missing values: a gap "
            f"the data layer kept); nothing written"
        )
    sha = data_fingerprints(upto, [c for c in bm.columns if c in upto.columns], positions)
    per_origin = long["target"].size // max(len(positions), 1)
    return pd.DataFrame({
        "pipeline": bm.name,
        "model_version": bm.version_id,
        "as_of": long["origin"].to_numpy(),
        "target": long["target"].to_numpy(),
        "step": long["step"].to_numpy(dtype=np.int64),
        "time": long["time"].to_numpy(),
        "value": long["predicted"].to_numpy(dtype=np.float64),
        "data_sha256": np.repeat(sha, per_origin),
    }, columns=ROW_COLUMNS)


def _check_future_values(bm: BatchModel, frame: pd.DataFrame, as_ofs: pd.DatetimeIndex, positions: np.ndarray) -> None:
    """Every known-future driver value the forecasts need (valid times of the steps ahead of each as-of time)
    must be there: DataError naming the driver and valid time (:mod:`wq.data.future`)."""
    from wq.data.future import missing_future

    drivers = list(getattr(bm.model, "future_drivers", []))
    gap = missing_future(frame, drivers, bm.model.horizon, positions)
    if gap is None:
        return
    driver, origin, valid = gap
    spec = bm.pipeline.data_spec(bm.data_path)
    if spec.future_source == "observed":
        raise DataError(f"artifact {bm.path}: known-future driver {driver!r} has no value for valid time {valid}: "
                        f"future_drivers_source = 'observed' (perfect forecasts) is a backtest option; a forecast "
                        f"needs issued forecasts (future_drivers_file)")
    raise DataError(f"issued forecasts {spec.future_drivers_file}: no value of known-future driver {driver!r} for "
                    f"valid time {valid} issued at or before the as-of time {origin}; nothing written")


def _check_fresh_enough(bm: BatchModel, fresh: FreshData, as_ofs: pd.DatetimeIndex | None, rule: Any,
                        now: pd.Timestamp | None, source: str) -> None:
    """The staleness rule (:mod:`wq.batch.staleness`) on the complete, observed rows of ``fresh``: against
    the given as-of times, else against ``now`` (default: the current UTC time)."""
    if isinstance(rule, str) and rule == "none":
        return
    frame = fresh.frame
    cols = [c for c in bm.columns if c in fresh.observed.columns]
    complete = frame.index[fresh.observed[cols].all(axis=1).to_numpy()]
    freq = bm.fingerprint.get("freq") or bm.meta.get("freq")
    if as_ofs is None:
        check_scheduled(complete, freq, frame.index[-1], rule, now, source=source)
    elif isinstance(rule, pd.Timedelta):
        check_staleness(complete, as_ofs, rule, source=source)
    else:
        check_one_step(complete, as_ofs, freq, source=source)


@dataclass
class ForecastRun:
    """Outcome of :func:`batch_forecast`: the rows written (or that would be), per artifact a summary,
    the store's counts (None for a dry run) and the seconds taken."""

    rows: pd.DataFrame
    summaries: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None
    destination: str | None = None
    seconds: float = 0.0
    alarms: pd.DataFrame | None = None  # forecasts at or above their pipeline's warn threshold (wq.batch.probabilistic)


# size: one run in order: origins, freshness, forecast, one store transaction, the summary
def batch_forecast(
    artifacts: Sequence[str | os.PathLike[str]] | Sequence[BatchModel],
    *,
    data: str | os.PathLike[str] | None = None,
    as_of: object = None,
    backfill: tuple[object, object] | None = None,
    store: str | os.PathLike[str] | None = None,
    csv: str | os.PathLike[str] | None = None,
    now: object = None,
    max_staleness: object = None,
    issued_at: pd.Timestamp | None = None,
    on_conflict: str = "version",
    threads: int | None = None,
    progress: Progress = None,
) -> ForecastRun:
    """Forecast with every artifact and write all rows in one transaction (see the module docstring).

    ``artifacts``: artifact directories (or folders of them, see :func:`find_artifacts`) or loaded
    :class:`BatchModel` objects. ``data``: one data file for all artifacts (default: each artifact's
    training file). ``store`` (SQLite) or ``csv``: where to write; neither: nothing is written (dry
    run). ``max_staleness``: a duration or ``"none"``, overriding each pipeline's ``[batch] max_staleness``;
    unset in both: the default rule (:mod:`wq.batch.staleness`: at most one step before the origin).
    ``now``: the reference time of the staleness check for the default as-of (default: current UTC time).
    ``on_conflict``: ``"version"`` (a revised value is stored as a new version beside the one issued) or
    ``"error"``.
    ``threads``: torch CPU threads for the networks (set only when a loaded model imported torch).
    Every artifact is loaded, checked and forecast before anything is written.
    """
    from wq.batch.probabilistic import add_probabilistic, alarms
    from wq.batch.store import ForecastStore, write_csv

    t0 = time.perf_counter()
    if store is not None and csv is not None:
        raise ConfigError("give either a store (SQLite) or a CSV file, not both")
    if isinstance(artifacts, (str, os.PathLike)):
        artifacts = [artifacts]
    bms: list[BatchModel] = []
    for item in artifacts:
        if isinstance(item, BatchModel):
            bms.append(item)
        else:
            bms.extend(load_batch_model(p) for p in find_artifacts([item]))
    if not bms:
        raise ArtifactError("no artifact given")
    if len({(b.name, b.version_id) for b in bms}) != len(bms):
        dup = [f"{b.name} {b.version_id}" for b in bms]
        raise ArtifactError(f"the same artifact (pipeline and version) is given twice: {dup}")
    if threads and "torch" in sys.modules:  # set only when a loaded model needs torch: no import for others
        sys.modules["torch"].set_num_threads(int(threads))
    reference_now = None if now is None else parse_time(now, "now")
    cache: dict[str, FreshData] = {}
    pieces, summaries, warned = [], [], []
    for bm in bms:
        path = str(Path(data).resolve()) if data is not None else bm.data_path
        key = f"{path}\x00{sorted(bm.pipeline.data_spec(path).to_mapping().items())!r}\x00{bm.model.horizon}"
        fresh = cache.get(key)
        if fresh is None:
            fresh = cache[key] = read_fresh_data(bm, path)
        frame = fresh.frame
        source = f"fresh data {fresh.path}"
        explicit = as_of is not None or backfill is not None
        as_ofs = resolve_as_ofs(frame.index, as_of, backfill, source=source)
        if as_ofs[-1] < frame.index[-1] and fresh.fill_method == "linear":
            raise ConfigError(
                f"{source}: fill_method 'linear' fills a gap from the next observation, so data after the as-of "
                f"time {as_ofs[-1]} would leak into its forecast; use fill_method = 'ffill' for past as-of times"
            )
        rule = parse_staleness(max_staleness if max_staleness is not None else bm.batch_settings.get("max_staleness"))
        _check_fresh_enough(bm, fresh, as_ofs if explicit else None, rule, reference_now, source)
        train_end = pd.Timestamp(bm.fingerprint["end"])
        train_start = pd.Timestamp(bm.fingerprint["start"])
        if progress and frame.index[0] != train_start:
            progress(f"note: fresh data start at {frame.index[0]}, the training data at {train_start}: causal stages "
                     "give the same values only once their windows hold enough history")
        rows = add_probabilistic(bm, forecast_rows(bm, frame, as_ofs), frame, store)
        pieces.append(rows)
        warned.append(alarms(bm, rows))
        summary = {
            "artifact": str(bm.path),
            "pipeline": bm.name,
            "model_version": bm.version_id,
            "data": str(fresh.path),
            "as_of_first": as_ofs[0],
            "as_of_last": as_ofs[-1],
            "as_ofs": len(as_ofs),
            "rows": len(rows),
            "in_sample": int((as_ofs < train_end).sum()),
        }
        summaries.append(summary)
        if progress:
            span = str(as_ofs[0]) if len(as_ofs) == 1 else f"{as_ofs[0]} .. {as_ofs[-1]} ({len(as_ofs)} as-of times)"
            progress(f"forecast {bm.name} {bm.version_id}: as-of {span}, {len(rows)} rows from {fresh.path}")
            if summary["in_sample"]:
                progress(f"note: the forecasts from {summary['in_sample']} as-of time(s) before {train_end} are in-sample: "
                         "the model was trained on the days they forecast")
    rows = pd.concat(pieces, ignore_index=True)
    result = None
    destination = None
    if store is not None:
        destination = str(store)
        result = ForecastStore(store).write(rows, on_conflict=on_conflict, issued_at=issued_at)
    elif csv is not None:
        destination = str(csv)
        result = write_csv(rows, csv, on_conflict=on_conflict, issued_at=issued_at)
    if progress and result is not None:
        progress(f"wrote {destination}: {result.inserted} inserted, {result.unchanged} unchanged, "
                 f"{result.revised} revised")
    return ForecastRun(rows=rows, summaries=summaries, result=result, destination=destination,
                       seconds=time.perf_counter() - t0, alarms=pd.concat(warned, ignore_index=True))
