"""The contract every wq forecaster follows.

A forecaster is fitted on the training part of a frame (raw units, regular DatetimeIndex); the last
``val_fraction`` of that part is held back for early stopping and model choice. It then forecasts the next
``horizon`` steps from any origin of any later frame that starts where the training frame started, using only
data up to each origin.

Public API: ``fit(frame, val_fraction)``, ``predict(frame, origins)`` (a long frame ``origin, time, step,
target, predicted``), ``predict_at(frame, origin)``, ``predict_array(frame, origins)`` (an array (N, horizon,
k)), ``min_history``, ``save(directory)`` / ``load(directory)``, and the estimator protocol
(``get_params`` / ``set_params`` with nested names, ``repr``). Subclasses implement ``fit``,
``_predict_positions`` and the JSON state (``get_state`` / ``from_state`` plus binary ``blobs``). Fitted
forecasters save to plain files: JSON for settings and fitted state, ``torch.save`` state dicts (loaded with
``weights_only=True``) for networks, skops with an allow-list for scikit-learn. Loading a saved model of any
kind by its name is the registry's job (:func:`wq.models.registry.load_model`).
"""

from __future__ import annotations

import io
import json
import re
from abc import ABCMeta, abstractmethod
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from wq.errors import ArtifactError, DataError
from wq.estimator import Estimator

FORMAT_VERSION = 1
PREDICTION_COLUMNS = ["origin", "time", "step", "target", "predicted"]


class Forecaster(Estimator, metaclass=ABCMeta):
    """Base class of wq's forecasters; see the module docstring for the contract."""

    name: str = ""

    # -- API ------------------------------------------------------------------------------------------------
    @abstractmethod
    def fit(self, frame: pd.DataFrame, val_fraction: float = 0.2,
            progress: Callable[[str], None] | None = None) -> "Forecaster":
        """Fit on ``frame``, the training part only.

        Parameters
        ----------
        frame : pandas.DataFrame
            Training rows in original units, on a regular ``DatetimeIndex``; targets, drivers and calendar
            columns as the model was built with. Nothing after the training part may be in it.
        val_fraction : float, default 0.2
            Trailing share of the training windows held out for early stopping (learned models only).
        progress : callable, optional
            Called with one-line progress messages.

        Returns
        -------
        Forecaster
            ``self``, fitted.
        """

    @abstractmethod
    def _predict_positions(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        """Forecasts (N, horizon, k) in original units from the origins at integer ``positions``."""

    @property
    def min_history(self) -> int:
        """Rows of history a forecast origin needs (the origin's own row included)."""
        return 1

    def predict_array(self, frame: pd.DataFrame, origins: Sequence | pd.DatetimeIndex | None = None) -> np.ndarray:
        """Forecasts as an array, in original units.

        Parameters
        ----------
        frame : pandas.DataFrame
            History starting where the training frame started, up to (at least) the origins.
        origins : sequence of timestamps, optional
            Forecast origins, each a time in ``frame.index`` (default: the last row).

        Returns
        -------
        numpy.ndarray
            Shape (N, horizon, k) for N origins and k targets; NaN from an origin whose inputs touch a gap
            (the origin is skipped, never filled).
        """
        self.check_fitted()
        return self._predict_positions(frame, self.positions(frame, origins))

    def predict(self, frame: pd.DataFrame, origins: Sequence | pd.DatetimeIndex | None = None) -> pd.DataFrame:
        """Forecast ``horizon`` steps ahead from each origin, using only rows up to that origin.

        Parameters
        ----------
        frame : pandas.DataFrame
            History starting where the training frame started.
        origins : sequence of timestamps, optional
            Forecast origins in ``frame.index`` (default: the last row).

        Returns
        -------
        pandas.DataFrame
            Long frame with columns ``origin, time, step, target, predicted`` (original units).
        """
        self.check_fitted()
        positions = self.positions(frame, origins)
        return self.to_long(frame, positions, self._predict_positions(frame, positions))

    def predict_at(self, frame: pd.DataFrame, origin: Any) -> pd.DataFrame:
        """The forecast made at one origin from the rows up to it.

        Parameters
        ----------
        frame : pandas.DataFrame
            History containing ``origin``.
        origin : timestamp-like
            The forecast origin, a time in ``frame.index``.

        Returns
        -------
        pandas.DataFrame
            As :meth:`predict`, for this origin only.
        """
        return self.predict(frame, origins=pd.DatetimeIndex([pd.Timestamp(origin)]))

    # -- helpers ----------------------------------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "freq_")

    def check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            from wq.errors import NotFittedError

            raise NotFittedError(f"{self.name or type(self).__name__} is not fitted: call fit() first")

    def _check_frame(self, frame: pd.DataFrame, columns: Sequence[str]) -> None:
        """The columns must be there; missing values (NaN: gaps kept by the data layer) are allowed, infinite
        ones are not. A forecast whose inputs touch a gap is NaN (the origin is skipped, never filled)."""
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(f"column(s) {missing} not in the data (available: {list(frame.columns)})")
        inf = np.isinf(frame[list(columns)].to_numpy(dtype=np.float64))
        if inf.any():
            i, j = np.argwhere(inf)[0]
            raise DataError(f"column {list(columns)[j]!r} has an infinite value at {frame.index[i]}")

    @staticmethod
    def positions(frame: pd.DataFrame, origins) -> np.ndarray:
        """Integer positions in ``frame`` of the origin timestamps (default: the last row)."""
        if origins is None:
            return np.array([len(frame) - 1])
        idx = pd.DatetimeIndex(origins)
        pos = frame.index.get_indexer(idx)
        if (pos < 0).any():
            bad = idx[pos < 0][0]
            raise DataError(f"forecast origin {bad} is not a time in the data")
        return pos.astype(np.int64)

    def future_index(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        """Valid times (N, horizon) of the forecasts from each origin position."""
        offset = pd.tseries.frequencies.to_offset(self.freq_)
        base = frame.index[positions]
        return np.stack([(base + s * offset).to_numpy() for s in range(1, self.horizon + 1)], axis=1)

    def to_long(self, frame: pd.DataFrame, positions: np.ndarray, values: np.ndarray) -> pd.DataFrame:
        """The long frame (``origin, time, step, target, predicted``) of forecasts (N, h, k) from ``positions``."""
        n, h, k = values.shape
        times = self.future_index(frame, positions)
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

    @classmethod
    @abstractmethod
    def from_state(cls, state: dict, files: dict[str, bytes]) -> "Forecaster":
        """Rebuild a fitted forecaster from :meth:`get_state` and the binary files of :meth:`blobs`."""

    def blobs(self) -> dict[str, bytes]:
        """Binary files besides the JSON state (weights, skops models). Empty by default."""
        return {}

    def to_files(self) -> dict[str, bytes]:
        """``model.json`` (format, model name, class, state) plus the binary files."""
        self.check_fitted()
        state = {"format": FORMAT_VERSION, "model": self.name, "class": type(self).__name__,
                 "state": self.get_state()}
        files = {"model.json": json.dumps(state, indent=1, sort_keys=True).encode()}
        files.update(self.blobs())
        return files

    def save(self, directory: str | Path) -> Path:
        """Save the fitted model: ``model.json`` plus weights or skops files, no pickle.

        Parameters
        ----------
        directory : str or Path
            Folder to write into (created when missing).

        Returns
        -------
        Path
            ``directory``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in self.to_files().items():
            (directory / name).write_bytes(data)
        return directory

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> "Forecaster":
        """A fitted forecaster of this class from :meth:`to_files` output (ArtifactError when it is not)."""
        state = read_model_json(files)
        if state.get("class", cls.__name__) != cls.__name__:
            raise ArtifactError(f"saved model is a {state.get('class')}, not a {cls.__name__}; load it with "
                                f"wq.models.load_model")
        try:
            return cls.from_state(state["state"], files)
        except ArtifactError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as exc:
            raise ArtifactError(
                f"model state of {state['model']!r} does not load: {type(exc).__name__}: {exc}") from None

    @classmethod
    def load(cls, directory: str | Path) -> "Forecaster":
        """Load a fitted forecaster saved with :meth:`save` (JSON and ``weights_only`` torch loading only).

        Parameters
        ----------
        directory : str or Path
            Folder written by :meth:`save`.

        Returns
        -------
        Forecaster
            The fitted model; :class:`wq.errors.ArtifactError` when the folder is not a saved model of this class.
        """
        return cls.from_files(read_directory(directory))


def subclass_named(name: str) -> type[Forecaster] | None:
    """The loaded :class:`Forecaster` subclass called ``name`` (None when no imported module defines it): how a
    combination of models (the ensemble, auto) loads its members without knowing the registry."""
    todo = list(Forecaster.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__name__ == name:
            return cls
        todo.extend(cls.__subclasses__())
    return None


def read_directory(directory: str | Path) -> dict[str, bytes]:
    """The files of a saved model directory, by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"model directory {directory} does not exist")
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def read_model_json(files: dict[str, bytes]) -> dict:
    """The checked ``model.json`` of a saved model (ArtifactError when missing, malformed or of another format)."""
    try:
        state = json.loads(files["model.json"])
    except KeyError:
        raise ArtifactError("model.json is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"model.json is not valid JSON: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
        got = state.get("format") if isinstance(state, dict) else None
        raise ArtifactError(f"model format {got} is not supported (this wq reads {FORMAT_VERSION})")
    if not isinstance(state.get("model"), str) or not isinstance(state.get("state"), dict):
        raise ArtifactError("model.json is not a wq model state (an object with 'format', 'model' and 'state')")
    return state


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
