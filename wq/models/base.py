"""The contract every wq forecaster follows.

A forecaster is fitted on the training part of a frame (raw units, regular DatetimeIndex); the last
``val_fraction`` of that part is held back for early stopping and model choice. It then forecasts the next
``horizon`` steps from any origin of any later frame that starts where the training frame started, using only
data up to each origin. Fitted forecasters save to and load from plain files: JSON for settings and fitted
state, ``torch.save`` state dicts (loaded with ``weights_only=True``) for networks, skops for scikit-learn.
"""

from __future__ import annotations

import io
import json
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from wq.errors import ArtifactError, ConfigError, DataError

FORMAT_VERSION = 1
PREDICTION_COLUMNS = ["origin", "time", "step", "target", "predicted"]


class Forecaster(ABC):
    """Base class: ``fit(frame, val_fraction)``, ``predict(frame, origins)``, ``to_files``/``from_files``."""

    name: str = ""

    def __init__(self, targets: Sequence[str], horizon: int = 1, seed: int = 0):
        self.targets = list(targets)
        self.horizon = int(horizon)
        self.seed = int(seed)
        if not self.targets:
            raise ConfigError("at least one target column is needed")
        if self.horizon < 1:
            raise ConfigError(f"horizon must be >= 1, got {horizon}")

    # -- API ------------------------------------------------------------------------------------------------
    @abstractmethod
    def fit(self, frame: pd.DataFrame, val_fraction: float = 0.2,
            progress: Callable[[str], None] | None = None) -> "Forecaster":
        """Fit on ``frame`` (the training part only)."""

    @abstractmethod
    def _predict_positions(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        """Forecasts (N, horizon, k) in original units from the origins at integer ``positions``."""

    def predict(self, frame: pd.DataFrame, origins: Sequence | pd.DatetimeIndex | None = None) -> pd.DataFrame:
        """Forecast ``horizon`` steps ahead from each origin (timestamps in ``frame.index``; default: the last
        row). Only rows up to each origin are used. Returns a long frame with columns
        ``origin, time, step, target, predicted``."""
        self._check_fitted()
        positions = self._positions(frame, origins)
        values = self._predict_positions(frame, positions)
        return self._long(frame, positions, values)

    # -- helpers ----------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "freq_"):
            raise RuntimeError(f"{self.name} is not fitted: call fit() first")

    def _check_frame(self, frame: pd.DataFrame, columns: Sequence[str]) -> None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(f"column(s) {missing} not in the data (available: {list(frame.columns)})")
        nan = frame[list(columns)].isna()
        if nan.to_numpy().any():
            col = nan.any().idxmax()
            row = frame.index[nan[col].to_numpy().argmax()]
            raise DataError(f"column {col!r} has a missing value at {row}; fill or drop gaps in the data layer first")

    @staticmethod
    def _positions(frame: pd.DataFrame, origins) -> np.ndarray:
        if origins is None:
            return np.array([len(frame) - 1])
        idx = pd.DatetimeIndex(origins)
        pos = frame.index.get_indexer(idx)
        if (pos < 0).any():
            bad = idx[pos < 0][0]
            raise DataError(f"forecast origin {bad} is not a time in the data")
        return pos.astype(np.int64)

    def _future_index(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        """Valid times (N, horizon) of the forecasts from each origin position."""
        offset = pd.tseries.frequencies.to_offset(self.freq_)
        base = frame.index[positions]
        return np.stack([(base + s * offset).to_numpy() for s in range(1, self.horizon + 1)], axis=1)

    def _long(self, frame: pd.DataFrame, positions: np.ndarray, values: np.ndarray) -> pd.DataFrame:
        n, h, k = values.shape
        times = self._future_index(frame, positions)
        origin = np.repeat(frame.index[positions].to_numpy(), h * k)
        time = np.repeat(times.reshape(-1), k)
        step = np.tile(np.repeat(np.arange(1, h + 1), k), n)
        target = np.tile(np.array(self.targets, dtype=object), n * h)
        return pd.DataFrame({"origin": origin, "time": time, "step": step, "target": target,
                             "predicted": values.reshape(-1)}, columns=PREDICTION_COLUMNS)

    # -- persistence ------------------------------------------------------------------------------------------
    @abstractmethod
    def get_state(self) -> dict:
        """JSON-serialisable settings and fitted state (without network weights / sklearn blobs)."""

    def blobs(self) -> dict[str, bytes]:
        """Binary files besides the JSON state (weights, skops models). Empty by default."""
        return {}

    def to_files(self) -> dict[str, bytes]:
        self._check_fitted()
        state = {"format": FORMAT_VERSION, "model": self.name, "state": self.get_state()}
        files = {"model.json": json.dumps(state, indent=1, sort_keys=True).encode()}
        files.update(self.blobs())
        return files

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in self.to_files().items():
            (directory / name).write_bytes(data)
        return directory

    @staticmethod
    def from_files(files: dict[str, bytes]) -> "Forecaster":
        from wq.models.registry import model_class

        try:
            state = json.loads(files["model.json"])
        except KeyError:
            raise ArtifactError("model.json is missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ArtifactError(f"model.json is not valid JSON: {exc}") from None
        if not isinstance(state, dict) or not isinstance(state.get("state"), dict) or not isinstance(
                state.get("model"), str):
            raise ArtifactError("model.json is not a wq model state (an object with 'format', 'model' and 'state')")
        if state.get("format") != FORMAT_VERSION:
            raise ArtifactError(f"model format {state.get('format')} is not supported (this wq reads {FORMAT_VERSION})")
        cls = model_class(state["model"])
        try:
            return cls.from_state(state["state"], files)
        except ArtifactError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as exc:
            raise ArtifactError(
                f"model state of {state['model']!r} does not load: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def load(directory: str | Path) -> "Forecaster":
        directory = Path(directory)
        if not directory.is_dir():
            raise ArtifactError(f"model directory {directory} does not exist")
        return Forecaster.from_files({p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()})


def torch_bytes(tensors: dict) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(tensors, buf)
    return buf.getvalue()


_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def torch_refusal(exc: BaseException, limit: int = 160) -> str:
    """Why ``torch.load(..., weights_only=True)`` refused a file, in one plain short line.

    torch's own message spans several lines with terminal escape codes and advice to load with
    ``weights_only=False`` (which would run the file's code); this keeps the reason only: the pickled call
    it refused ("Unsupported global: GLOBAL builtins.exec") or the first line of the message."""
    text = _ESCAPES.sub("", str(exc))
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        return f"it holds a pickled call to {found.group(1)}, not plain tensors (refused by weights_only=True)"
    found = re.search(r"WeightsUnpickler error: ([^\n]+)", text)
    line = found.group(1) if found else next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = line or type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def torch_load_bytes(data: bytes) -> dict:
    """A torch state dict (names -> tensors) from bytes, loaded with ``weights_only=True``; anything else
    is an :class:`~wq.errors.ArtifactError` with a one-line reason."""
    import torch

    try:
        state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any failure to read weights is an artifact problem
        raise ArtifactError(f"weights cannot be loaded safely: {torch_refusal(exc)}") from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ArtifactError(f"weights file holds a {type(state).__name__} that is not a dict of named tensors")
    return state
