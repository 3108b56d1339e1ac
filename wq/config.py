"""Pipeline files: TOML -> validated settings, with every default in one place (:data:`DEFAULTS`).

A pipeline names its data, target(s), drivers, split, preprocessing, model, comparison models, augmentation,
tuning and batch settings. Unknown sections or keys are errors (a typo must not silently fall back to a
default). Relative data paths are resolved against the pipeline file's folder.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wq.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PIPELINE = REPO_ROOT / "pipelines" / "sample.toml"

DEFAULTS: dict[str, Any] = {
    "name": "pipeline",
    "seed": 7,
    "description": "",
    "data": {"calendar": [], "holidays": "US"},
    "split": {"test": 0.4, "validation": 0.2},
    "preprocess": {
        "outliers": {"k": 3.0, "neighbours": 3},
        "moving_average": {"window": 1},
        "scale": True,
        "wavelet": {"wavelet": "db4", "level": 2, "window": 64, "mode": "causal"},
        "pca": {"variance": 0.9},
        "driver_outliers": False,
    },
    "model": {
        "name": "dwt-pca-lstm", "lags": 7, "horizon": 1, "hidden": 32, "layers": 1, "dropout": 0.1,
        "epochs": 300, "patience": 20, "batch": 64, "lr": 1e-3, "device": "cpu", "season": 0,
        "C": 10.0, "epsilon": 0.01, "max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 15,
        "l2_regularization": 0.0, "change": True,
    },
    "compare": {"models": []},
    "evaluate": {"peak_quantile": 0.9, "zeros": "skip", "folds": 0},
    "augment": {"method": "none", "ratio": 0.0, "gate": False, "epochs": 0, "seed_offset": 0, "settings": {}},
    "tune": {
        "strategy": "ga", "population": 12, "generations": 6, "cxpb": 0.7, "mutpb": 0.3,
        "selection": "tournament", "crossover": "blend", "folds": 3, "metric": "MAPE", "workers": 1,
        "max_evals": 0, "time_limit": 0, "epochs": 0, "space": {},
    },
    "batch": {"max_staleness": "", "drift_threshold": 0.0, "drift_window": 7},
}
TABLE_VALUED = {("preprocess", "outliers"), ("preprocess", "moving_average"), ("preprocess", "wavelet"),
                ("preprocess", "pca"), ("tune", "space"), ("augment", "settings")}
PREPROCESS_KEYS = {
    "outliers": {"k", "neighbours", "window"},
    "moving_average": {"window", "centered"},
    "wavelet": {"method", "wavelet", "level", "window", "mode", "threshold"},
    "pca": {"variance", "n_components"},
}


def _suggest(key: str, valid) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _merge(defaults: dict, given: dict, where: str, strict: bool = True) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        if strict and key not in defaults:
            raise ConfigError(f"unknown key {where}{key!r}{_suggest(key, defaults)}; valid keys: {sorted(defaults)}")
        out[key] = value
    return out


@dataclass
class Pipeline:
    """Validated pipeline settings. ``raw`` keeps the merged tables; accessors give typed views."""

    raw: dict
    source: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    # -- construction ----------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, given: dict, source: Path | None = None, base_dir: Path | None = None) -> "Pipeline":
        merged: dict[str, Any] = {}
        for key in given:
            if key not in DEFAULTS:
                raise ConfigError(f"unknown section or key {key!r}{_suggest(key, DEFAULTS)} in the pipeline; "
                                  f"valid: {sorted(DEFAULTS)}")
        for key, default in DEFAULTS.items():
            value = given.get(key, default)
            if isinstance(default, dict):
                if not isinstance(value, dict):
                    raise ConfigError(f"[{key}] must be a table")
                strict = key != "data"  # the data layer validates its own keys
                merged[key] = _merge(default, value, f"[{key}] ", strict=strict)
            else:
                merged[key] = value
        pipe = cls(merged, source, base_dir or (source.parent if source else Path.cwd()))
        pipe.validate()
        return pipe

    @classmethod
    def load(cls, path: str | Path | None) -> "Pipeline":
        path = Path(path) if path else DEFAULT_PIPELINE
        if not path.is_file():
            raise ConfigError(f"pipeline file {path} does not exist")
        try:
            given = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(given, source=path.resolve(), base_dir=path.resolve().parent)

    def copy(self) -> "Pipeline":
        return Pipeline(copy.deepcopy(self.raw), self.source, self.base_dir)

    # -- validation ----------------------------------------------------------------------------------------
    def validate(self) -> None:
        from wq.models.registry import MODEL_NAMES

        r = self.raw
        if not isinstance(r["seed"], int):
            raise ConfigError(f"seed must be an integer, got {r['seed']!r}")
        test, val = r["split"]["test"], r["split"]["validation"]
        if not (0 < float(test) < 1) or not (0 <= float(val) < 1):
            raise ConfigError(f"[split] test must be in (0, 1) and validation in [0, 1) (got test={test}, validation={val})")
        if not self.targets:
            raise ConfigError("[data] target is missing: name the column(s) to forecast")
        overlap = set(self.targets) & set(self.drivers)
        if overlap:
            raise ConfigError(f"column(s) {sorted(overlap)} are both target and driver")
        for name in [self.model_name, *self.compare]:
            if name not in MODEL_NAMES:
                raise ConfigError(f"unknown model {name!r}{_suggest(name, MODEL_NAMES)}; known models: {', '.join(MODEL_NAMES)}")
        m = r["model"]
        for key in ("lags", "horizon", "epochs", "patience", "batch", "hidden", "layers"):
            if not isinstance(m[key], int) or m[key] < 1:
                raise ConfigError(f"[model] {key} must be a positive integer, got {m[key]!r}")
        if not 0 <= float(m["dropout"]) < 1:
            raise ConfigError(f"[model] dropout must be in [0, 1), got {m['dropout']}")
        for stage, keys in PREPROCESS_KEYS.items():
            value = r["preprocess"][stage]
            if value in (False, None):
                r["preprocess"][stage] = None
                continue
            if not isinstance(value, dict):
                raise ConfigError(f"[preprocess] {stage} must be a table or false")
            unknown = set(value) - keys
            if unknown:
                raise ConfigError(f"[preprocess] {stage}: unknown key(s) {sorted(unknown)}; valid: {sorted(keys)}")
        wav = r["preprocess"]["wavelet"]
        if wav is not None and wav.get("mode", "causal") not in ("causal", "offline"):
            raise ConfigError(f"[preprocess] wavelet mode must be 'causal' or 'offline', got {wav.get('mode')!r}")
        if wav is not None and wav.get("method", "dwt") not in ("dwt", "atrous"):
            raise ConfigError(f"[preprocess] wavelet method must be 'dwt' or 'atrous', got {wav.get('method')!r}")
        if wav is not None and wav.get("method") == "atrous" and wav.get("mode", "causal") != "causal":
            raise ConfigError("[preprocess] wavelet method 'atrous' is causal only; the whole-series transform "
                              "is method 'dwt' with mode 'offline'")
        if r["evaluate"]["zeros"] not in ("skip", "error"):
            raise ConfigError("[evaluate] zeros must be 'skip' or 'error'")

    # -- typed views --------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.raw["name"])

    @property
    def seed(self) -> int:
        return int(self.raw["seed"])

    @property
    def targets(self) -> list[str]:
        t = self.raw["data"].get("target", self.raw["data"].get("targets", []))
        return [t] if isinstance(t, str) else list(t)

    @property
    def drivers(self) -> list[str]:
        return list(self.raw["data"].get("drivers", []))

    @property
    def calendar(self) -> list[str]:
        return list(self.raw["data"].get("calendar", []))

    @property
    def model_name(self) -> str:
        return str(self.raw["model"]["name"])

    @property
    def compare(self) -> list[str]:
        return list(self.raw["compare"]["models"])

    @property
    def preprocess(self) -> dict:
        return copy.deepcopy(self.raw["preprocess"])

    @property
    def wavelet_mode(self) -> str:
        wav = self.raw["preprocess"]["wavelet"]
        return "none" if wav is None else wav.get("mode", "causal")

    def data_spec(self, path: str | Path | None = None):
        """The data layer's :class:`~wq.data.load.DataSpec` for this pipeline (``path`` overrides the file)."""
        from wq.data.load import DataSpec

        table = {k: v for k, v in self.raw["data"].items() if k not in ("calendar", "holidays", "target", "targets")}
        table["targets"] = self.targets
        table["drivers"] = self.drivers
        if path is not None:
            table["path"] = str(Path(path).resolve())
        if "path" not in table:
            raise ConfigError("[data] path is missing: give the data file (or --data PATH)")
        return DataSpec.from_mapping(table, base_dir=self.base_dir)

    def make_model(self, name: str | None = None, seed: int | None = None):
        from wq.models.registry import make_model

        m = self.raw["model"]
        return make_model(
            name or self.model_name, targets=self.targets, drivers=self.drivers, calendar=self.calendar,
            lags=m["lags"], horizon=m["horizon"], preprocess=self.preprocess, model=m,
            seed=self.seed if seed is None else seed, season=m["season"] or None,
            holidays=self.raw["data"].get("holidays", "US"), change=bool(m["change"]),
        )

    # -- edits ---------------------------------------------------------------------------------------------
    def set(self, dotted: str, value: Any) -> None:
        """Set a setting by its dotted path, e.g. ``"preprocess.wavelet.level"`` (used by the tuner)."""
        keys = dotted.split(".")
        node = self.raw
        for key in keys[:-1]:
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
        node[keys[-1]] = value

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.raw
        for key in dotted.split("."):
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    def to_toml(self) -> str:
        import tomli_w

        raw = copy.deepcopy(self.raw)
        for stage in PREPROCESS_KEYS:
            if raw["preprocess"][stage] is None:
                raw["preprocess"][stage] = False
        data = raw["data"]
        if "path" in data and self.source is not None:
            p = Path(data["path"])
            data["path"] = str(p if p.is_absolute() else (self.base_dir / p).resolve())
        return tomli_w.dumps(_drop_none(raw))


def _drop_none(d):
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d
