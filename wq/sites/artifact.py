"""``wq train`` for a multi-site pipeline: the week-ahead model of every site in one verified artifact.

1. Load the sites (:func:`wq.sites.data.load_sites`) over the whole record: no test hold-out (a deployed model
   learns from everything); fitting part = all but the last ``[split] validation`` fraction.
2. Scale each site by the mean and standard deviation of its fitting part (as ``wq run``).
3. Choose the strategy and the pooling on the validation tail exactly as ``wq run`` does
   (:func:`wq.sites.run.choose`; a declared ``direct``/``recursive``, ``local``/``global`` is taken as it is,
   but still scored for the intervals), then refit the chosen one on all the data.
4. Intervals: the chosen candidate's validation errors (observed - forecast, in each site's scaled units) per
   lead time, pooled over sites, origins and the lead times within :data:`LEAD_WINDOW` hours; the split-conformal
   quantile of their absolute values per ``[evaluate] levels`` (the ``ceil((n + 1) level)``-th smallest; the
   largest error when n is too small, with a note) is stored per lead time; ``wq forecast`` adds
   ``forecast -/+ q sd_site``.
5. Write the artifact (:func:`wq.batch.artifact.write_artifact`: atomic, manifest of sha256 hashes, signed with
   ``WQ_ARTIFACT_KEY`` when set, an existing artifact replaced only with ``overwrite`` and only when it
   verifies). Layout::

       manifest.json        meta: kind "sites", sites and their scales, strategy, pooling, settings, drivers,
                            horizon, frequency, time zone, holidays, choices, interval quantiles
       pipeline.toml        the pipeline as trained
       sites/model_<i>.skops  the fitted gradient-boosting regressors (one per site, or one global)

   Regressors are saved with skops and loaded with the exact allow-list of the ``hgb`` model
   (:func:`wq.models.tabular.load_skops_model`): nothing a user loads can run code. A global model's site
   identity is a categorical feature, for which scikit-learn keeps a column transformer holding a function
   (``check_array``); it is not saved: the model is stored without it and its ordinal encoding of the site
   code is redone in numpy on load (:class:`SiteCoded`; the categories are in the manifest), which gives the
   same predictions (tested).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from wq.errors import ArtifactError, ConfigError, DataError
from wq.sites import model as M
from wq.sites.features import feature_names

KIND = "sites"
MODEL_DIR = "sites/"
PIPELINE_FILE = "pipeline.toml"
LEAD_WINDOW = 3
"""Interval pools: the validation errors of the lead times within this many hours of each lead time."""


class SiteCoded:
    """A global regressor whose last feature (the site code) is ordinal-encoded in numpy as scikit-learn's
    column transformer did at fit time: code -> its index in ``categories`` (NaN when unknown), moved first."""

    def __init__(self, model: Any, categories: np.ndarray):
        self.model = model
        self.categories = np.asarray(categories, dtype=np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        code = X[:, -1]
        idx = np.clip(np.searchsorted(self.categories, code), 0, len(self.categories) - 1)
        enc = np.where(self.categories[idx] == code, idx.astype(np.float64), np.nan)
        return self.model.predict(np.column_stack([enc, X[:, :-1]]))


def settings_of(pipeline) -> M.HGBSettings:
    """The regressor's settings from ``[model]`` and the pipeline's seed."""
    m = pipeline.model
    return M.HGBSettings(horizon=m.horizon, max_iter=m.max_iter, learning_rate=m.learning_rate,
                         max_leaf_nodes=m.max_leaf_nodes, rows=m.rows, seed=pipeline.seed)


def model_bytes(model: Any) -> tuple[bytes, list[float] | None]:
    """skops bytes of a fitted regressor and, for a categorical (global) one, its site categories; the column
    transformer (which holds a function) is left out (see the module docstring)."""
    import skops.io as sio

    pre = getattr(model, "_preprocessor", None)
    if pre is None:
        return sio.dumps(model), None
    cats = [float(c) for c in pre.named_transformers_["encoder"].categories_[0] if np.isfinite(c)]
    bare = copy.copy(model)
    bare._preprocessor = None
    return sio.dumps(bare), cats


def conformal_quantiles(errors: np.ndarray, levels: list[float], window: int = LEAD_WINDOW) -> dict:
    """Per level and lead time h, the split-conformal quantile of the |errors| (n, H) (scaled, NaN skipped) of the
    lead times h - window .. h + window (clipped to 1 .. H): 30 validation origins x sites per lead time alone
    give quantiles that jump from one hour to the next; seven neighbouring hours smooth them."""
    from wq.evaluate.conformal import conformal_rank

    out: dict[str, Any] = {"levels": [float(v) for v in levels], "window": int(window), "q": {}, "n": []}
    H = errors.shape[1]
    pooled = [np.abs(errors[:, max(h - window, 0):h + window + 1]).ravel() for h in range(H)]
    pooled = [np.sort(p[np.isfinite(p)]) for p in pooled]
    n = np.array([len(p) for p in pooled])
    out["n"] = [int(v) for v in n]
    for lv in levels:
        q = [float(p[min(conformal_rank(len(p), lv), len(p)) - 1]) if len(p) else None for p in pooled]
        out["q"][_level_key(lv)] = q
    need = max((math.ceil(1 / (1 - lv)) - 1 for lv in levels), default=0)
    out["exact"] = bool(len(n) and n.min() >= need)
    return out


def _level_key(level: float) -> str:
    from wq.evaluate.conformal import level_key

    return level_key(level)


@dataclass
class SitesTrainResult:
    """Outcome of :func:`train_sites`: the artifact, its version, the fitted regressors (one per site), the
    per-site arrays they were fitted on, the loaded data, the choice table and the manifest's meta."""

    path: Path
    version_id: str
    models: list
    arrays: list
    data: Any
    choices: Any
    meta: dict
    seconds: float


def _fit_all(pipeline, data, st, jobs, scheduler, progress):
    """Choose on the validation tail, refit on all data: (arrays, models, choices, errors of the chosen)."""
    from wq.sites.run import choose, fit_candidate, site_arrays

    m = pipeline.model
    T = len(data.y)
    n_fit = T - int(round(T * pipeline.split.validation))
    holidays = pipeline.holidays if "holiday" in pipeline.calendar else None
    arrays = site_arrays(data, n_fit, st.horizon, holidays)
    if n_fit >= T - st.horizon:
        if "auto" in (m.strategy, m.pooling):
            raise ConfigError(f"[split] validation = {pipeline.split.validation}: the validation tail ({T - n_fit} "
                              f"steps) must exceed the horizon ({st.horizon}) to choose strategy/pooling 'auto'")
        choices, errors = None, {}
        strat, pool = m.strategy, m.pooling
    else:
        errors = {}
        choices = choose(arrays, n_fit, T, st, m.strategy, m.pooling, jobs, scheduler, progress, errors)
        strat, pool = str(choices.loc[0, "strategy"]), str(choices.loc[0, "pooling"])
    models = fit_candidate(arrays, T, strat, pool, st, jobs, scheduler)
    bad = [sa.name for sa, mod in zip(arrays, models) if mod is None]
    if bad:
        raise DataError(f"site(s) {', '.join(map(repr, bad))}: fewer than 50 training rows; nothing written")
    return arrays, models, (strat, pool), choices, errors.get((strat, pool))


def _meta(pipeline, data, st, chosen, choices, errors, arrays, entries, spec) -> dict:
    """The manifest's meta of a multi-site artifact (see the module docstring)."""
    from wq.batch.train import BATCH_FORMAT

    idx = data.y.index
    levels = list(pipeline.evaluate.levels)
    return {
        "batch_format": BATCH_FORMAT, "kind": KIND, "pipeline": pipeline.name, "model": "hgb",
        "targets": list(pipeline.targets[:1]), "sites": list(data.sites), "drivers": list(data.drivers),
        "horizon": int(st.horizon), "freq": data.freq, "tz": data.tz,
        "holidays": pipeline.holidays if "holiday" in pipeline.calendar else None,
        "strategy": chosen[0], "pooling": chosen[1], "settings": asdict(st),
        "scales": {sa.name: [float(sa.scale[0]), float(sa.scale[1])] for sa in arrays},
        "n_features": len(feature_names(len(data.drivers), False)), "models": entries,
        "choices": None if choices is None else choices.drop(columns=["seconds"]).to_dict("records"),
        "conformal": conformal_quantiles(errors, levels) if errors is not None and levels else None,
        "fingerprint": {"start": str(idx[0]), "end": str(idx[-1]), "freq": data.freq, "sites": list(data.sites)},
        "data": {"path": str(spec.path)},
        "validation": {"mape": None, "fraction": float(pipeline.split.validation)},
        "train": {"rows": int(len(idx)), "seed": pipeline.seed, "data_notes": [str(n) for n in data.notes]},
    }


def _entries(models: list, sites: list[str], pooling: str) -> tuple[list[dict], dict[str, bytes]]:
    """Manifest entries and skops files of the fitted regressors: one per site, or one global."""
    groups = [(models[0], list(sites))] if pooling == "global" else [(m, [s]) for m, s in zip(models, sites)]
    entries, files = [], {}
    for i, (model, names) in enumerate(groups):
        data, cats = model_bytes(model)
        name = f"{MODEL_DIR}model_{i}.skops"
        files[name] = data
        entries.append({"file": name, "sites": names, "categories": cats})
    return entries, files


def train_sites(pipeline, artifact_dir, *, data_path=None, overwrite: bool = False, jobs: int = 1,
                scheduler: Any = None, progress: Callable[[str], None] | None = None) -> SitesTrainResult:
    """Fit a multi-site pipeline on all its data and write the artifact (see the module docstring).
    Errors (:class:`~wq.errors.DataError`, :class:`~wq.errors.ConfigError`, :class:`~wq.errors.ArtifactError`)
    are raised before anything is written; an existing artifact is kept unless ``overwrite``."""
    from wq.batch.artifact import check_replaceable, read_artifact, write_artifact
    from wq.batch.signing import artifact_key
    from wq.sites.data import load_sites
    from wq.sites.run import check_models

    t0 = time.perf_counter()
    target = Path(artifact_dir)
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise ArtifactError(f"artifact {target}: already exists (use --overwrite to replace it)")
        check_replaceable(target)
    artifact_key()
    learned, _ = check_models(pipeline, [pipeline.model_name])
    if learned != "hgb":
        raise ConfigError(f"[model] name: a multi-site artifact holds the 'hgb' week-ahead model; got "
                          f"{pipeline.model_name!r}")
    if data_path is not None:
        pipeline = pipeline.with_params(data__path=str(Path(data_path).resolve()))
    spec = pipeline.data_spec()
    data = load_sites(spec)
    st = settings_of(pipeline)
    if progress:
        progress(f"train {pipeline.name}: {len(data.sites)} sites, {len(data.y)} steps "
                 f"{data.y.index[0]} .. {data.y.index[-1]} from {spec.path}")
    arrays, models, chosen, choices, errors = _fit_all(pipeline, data, st, jobs, scheduler, progress)
    entries, files = _entries(models, data.sites, chosen[1])
    files[PIPELINE_FILE] = pipeline.to_toml().encode("utf-8")
    meta = _meta(pipeline, data, st, chosen, choices, errors, arrays, entries, spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    path = write_artifact(target, files, meta, overwrite=overwrite)
    version = read_artifact(path).version_id
    seconds = time.perf_counter() - t0
    conf = meta["conformal"]
    if progress and conf and not conf["exact"]:
        progress(f"note: as few as {min(conf['n'])} validation errors per lead time: the widest intervals are the "
                 f"largest errors and their coverage is not guaranteed")
    if progress:
        progress(f"train {pipeline.name}: wrote artifact {path} version {version} ({chosen[0]}/{chosen[1]}, "
                 f"{len(data.sites)} sites; {seconds:.1f} s)")
    return SitesTrainResult(path, version, models, arrays, data, choices, meta, seconds)


def is_sites_artifact(path) -> bool:
    """Whether the folder holds a manifest whose meta says kind "sites" (not verified here: loading does)."""
    import json

    try:
        manifest = json.loads((Path(path) / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and isinstance(manifest.get("meta"), dict) \
        and manifest["meta"].get("kind") == KIND


@dataclass
class SitesModel:
    """A verified multi-site artifact, ready to forecast: its pipeline, meta and one regressor per site."""

    path: Path
    artifact: Any
    pipeline: Any
    models: list
    settings: M.HGBSettings

    @property
    def meta(self) -> dict:
        return self.artifact.meta

    @property
    def name(self) -> str:
        return str(self.meta["pipeline"])

    @property
    def version_id(self) -> str:
        return self.artifact.version_id

    @property
    def sites(self) -> list[str]:
        return list(self.meta["sites"])

    @property
    def target(self) -> str:
        return str(self.meta["targets"][0])

    @property
    def data_path(self) -> str:
        return str(self.meta["data"]["path"])

    @property
    def validation_mape(self) -> None:
        return None

    @property
    def batch_settings(self) -> dict[str, Any]:
        return self.pipeline.batch.model_dump()

    def observations(self, data=None):
        """Observed values (never filled) of every site as columns ``<target>@<site>`` (the store's targets)."""
        from wq.sites.data import load_sites

        y = load_sites(self.pipeline.data_spec(data if data is not None else self.data_path)).y
        return y.rename(columns=lambda s: f"{self.target}@{s}")


def _check_meta(root: Path, meta: Any) -> None:
    from wq.batch.train import BATCH_FORMAT

    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise ArtifactError(f"artifact {root}: not a multi-site artifact (kind {KIND!r})")
    fmt = meta.get("batch_format")
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt > BATCH_FORMAT:
        raise ArtifactError(f"artifact {root}: batch format {fmt!r} is not one this wq reads ({BATCH_FORMAT})")
    need = ("pipeline", "targets", "sites", "drivers", "horizon", "freq", "strategy", "pooling", "settings",
            "scales", "n_features", "models", "data")
    missing = [k for k in need if k not in meta]
    if missing:
        raise ArtifactError(f"artifact {root}: its manifest's meta lacks {', '.join(map(repr, missing))}")
    if meta["strategy"] not in ("direct", "recursive") or meta["pooling"] not in ("local", "global"):
        raise ArtifactError(f"artifact {root}: strategy {meta['strategy']!r} / pooling {meta['pooling']!r} unknown")
    if set(meta["scales"]) != set(meta["sites"]) or not all(
            isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) and math.isfinite(x) for x in v)
            for v in meta["scales"].values()):
        raise ArtifactError(f"artifact {root}: the site scales do not match its sites")


def _load_models(root: Path, artifact, meta: dict) -> list:
    """One regressor per site (the same object for every site of a global model), each through the allow-list."""
    from wq.models.tabular import load_skops_model

    by_site: dict[str, Any] = {}
    n_features = int(meta["n_features"])
    for entry in meta["models"]:
        file = str(entry.get("file"))
        if file not in artifact.files:
            raise ArtifactError(f"artifact {root}: {file} is not a file of its manifest")
        cats = entry.get("categories")
        where = f"artifact {root}: {file}"
        model = load_skops_model(artifact.bytes(file), "hgb", n_features + (meta["pooling"] == "global"), where)
        if cats is not None:
            if not isinstance(cats, list) or not all(isinstance(c, (int, float)) for c in cats) or not cats:
                raise ArtifactError(f"{where}: its site categories are not a list of numbers")
            if getattr(model, "_preprocessor", None) is not None:
                raise ArtifactError(f"{where}: holds a column transformer; refused")
            model = SiteCoded(model, np.sort(np.asarray(cats, dtype=np.float64)))
        for site in entry.get("sites") or []:
            by_site[str(site)] = model
    missing = [s for s in meta["sites"] if s not in by_site]
    if missing:
        raise ArtifactError(f"artifact {root}: no model for site(s) {missing}")
    return [by_site[s] for s in meta["sites"]]


def load_sites_model(path) -> SitesModel:
    """Load and verify a multi-site artifact (manifest, hashes, signature when a key is set, the pipeline, every
    regressor through the skops allow-list); any problem is one :class:`~wq.errors.ArtifactError`."""
    import tomllib

    from wq.batch.artifact import read_artifact
    from wq.config import Pipeline

    root = Path(path)
    artifact = read_artifact(root)
    meta = artifact.meta
    _check_meta(root, meta)
    try:
        pipeline = Pipeline.from_dict(tomllib.loads(artifact.text(PIPELINE_FILE)))
    except (tomllib.TOMLDecodeError, ConfigError) as exc:
        raise ArtifactError(f"artifact {root}: {PIPELINE_FILE} is not a valid pipeline: {exc}") from None
    try:
        st = M.HGBSettings(**meta["settings"])
    except TypeError as exc:
        raise ArtifactError(f"artifact {root}: its model settings do not load: {exc}") from None
    return SitesModel(root, artifact, pipeline, _load_models(root, artifact, meta), st)
