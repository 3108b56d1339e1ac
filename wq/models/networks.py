"""Neural component regressors (LSTM, RNN, GRU, BP/MLP) and their training loop.

A component maps a :class:`~wq.windows.WindowSet` (lags of its input channels, known-future calendar) to the
next ``horizon`` values of its target channels. The recurrent networks read the lag sequence and feed their
last hidden state, together with the calendar of the target days, to a linear head (direct multi-output).
The BP network of the DWT-PCA-BP comparison model is a multilayer perceptron with one hidden layer of 20
sigmoid units on the flattened lags (as the back-propagation networks of that study).

Training: Adam on the mean squared error in scaled units, mini-batches drawn by index from tensors built once,
early stopping on the validation windows (the tail of the training part) with the best weights restored.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Callable

import numpy as np
import torch
from torch import nn

from wq.estimator import Estimator
from wq.models.params import CELLS, NeuralParams
from wq.windows import WindowSet

__all__ = ["CELLS", "SequenceNet", "MLPNet", "NeuralComponent"]


class SequenceNet(nn.Module):
    """Recurrent encoder over the lags + linear head on [last hidden state, future calendar]."""

    def __init__(self, cell: str, n_inputs: int, n_future: int, n_outputs: int, hidden: int = 32,
                 layers: int = 1, dropout: float = 0.0):
        super().__init__()
        rnn_cls = {"lstm": nn.LSTM, "rnn": nn.RNN, "gru": nn.GRU}[cell]
        self.rnn = rnn_cls(n_inputs, hidden, num_layers=layers, batch_first=True,
                           dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden + n_future, n_outputs)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        last = self.drop(out[:, -1, :])
        return self.head(torch.cat([last, z], dim=1))


class MLPNet(nn.Module):
    """Back-propagation network: flattened lags + calendar -> one hidden sigmoid layer -> outputs."""

    def __init__(self, n_inputs: int, lags: int, n_future: int, n_outputs: int, hidden: int = 20,
                 dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_inputs * lags + n_future, hidden), nn.Sigmoid(), nn.Dropout(dropout),
            nn.Linear(hidden, n_outputs),
        )

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x.flatten(1), z], dim=1))


class NeuralComponent(Estimator, params=NeuralParams):
    """A trainable network for one component (one part of the target).

    Parameters (:class:`wq.models.params.NeuralParams`, the network keys of the pipeline's ``[model]``
    table): ``cell`` (lstm, rnn, gru, mlp), ``hidden``, ``layers``, ``dropout``, ``epochs`` (maximum),
    ``patience`` (early stopping, epochs without validation improvement), ``batch``, ``lr``, ``device``.
    """

    kind = "neural"
    accepts_missing = False  # a NaN input would poison the whole forward pass: complete windows only

    # -- construction -------------------------------------------------------------------------------------
    def check_params(self):
        params = super().check_params()
        if self.seeds > 1 and self.layers > 1:
            from wq.errors import ConfigError

            raise ConfigError(f"[model] seeds = {self.seeds}: a seed ensemble is built of one-layer networks; "
                              f"set layers = 1 or seeds = 1")
        return params

    def _build(self, n_inputs: int, lags: int, n_future: int, n_outputs: int, seed: int = 0) -> nn.Module:
        if self.seeds > 1:  # K networks as one batched network (wq.models.seeds)
            from wq.models.seeds import StackedNet

            return StackedNet(self.seeds, self.cell, n_inputs, lags, n_future, n_outputs, self.hidden,
                              dropout=self.dropout, seed=seed)
        if self.cell == "mlp":
            return MLPNet(n_inputs, lags, n_future, n_outputs, hidden=self.hidden, dropout=self.dropout)
        return SequenceNet(self.cell, n_inputs, n_future, n_outputs, hidden=self.hidden, layers=self.layers,
                           dropout=self.dropout)

    # -- training -----------------------------------------------------------------------------------------
    # size: the training loop with early stopping and best-epoch restore
    def fit(self, train: WindowSet, val: WindowSet | None, seed: int,
            progress: Callable[[str], None] | None = None, label: str = "") -> "NeuralComponent":
        t0 = time.perf_counter()
        self.check_params()
        device = torch.device(self.device)
        n, lags, n_inputs = train.X.shape
        self.shape_ = {"lags": int(lags), "n_inputs": int(n_inputs), "n_future": int(train.Z.shape[1]),
                       "horizon": int(train.Y.shape[1]), "n_targets": int(train.Y.shape[2])}
        n_outputs = self.shape_["horizon"] * self.shape_["n_targets"]
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        model = self._build(n_inputs, lags, self.shape_["n_future"], n_outputs, seed=seed).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        loss_fn = nn.MSELoss()

        X = torch.as_tensor(train.X, device=device)
        Z = torch.as_tensor(train.Z, device=device)
        Y = torch.as_tensor(train.Y.reshape(n, -1), device=device)
        has_val = val is not None and len(val) > 0
        if has_val:
            Xv = torch.as_tensor(val.X, device=device)
            Zv = torch.as_tensor(val.Z, device=device)
            Yv = torch.as_tensor(val.Y.reshape(len(val), -1), device=device)

        batch = max(1, min(self.batch, n))
        if self.seeds > 1:
            return self._fit_stacked(model, (X, Z, Y), (Xv, Zv, Yv) if has_val else None, batch, gen, progress,
                                     label, t0)
        n_batches = math.ceil(n / batch)
        best = math.inf
        best_state = copy.deepcopy(model.state_dict())
        best_epoch = 0
        bad = 0
        history: list[tuple[float, float]] = []
        for epoch in range(1, self.epochs + 1):
            model.train()
            perm = torch.randperm(n, generator=gen).to(device)
            total = 0.0
            for b in range(n_batches):
                idx = perm[b * batch:(b + 1) * batch]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(X[idx], Z[idx]), Y[idx])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            train_loss = total / n
            if has_val:
                model.eval()
                with torch.no_grad():
                    val_loss = float(loss_fn(model(Xv, Zv), Yv))
            else:
                val_loss = train_loss
            history.append((train_loss, val_loss))
            if val_loss < best - 1e-9:
                best, best_epoch, bad = val_loss, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad += 1
            if progress is not None and (epoch % 10 == 0 or epoch == 1):
                progress(f"{label} epoch {epoch}/{self.epochs} train {train_loss:.5f} val {val_loss:.5f}")
            if bad >= self.patience:
                break
        model.load_state_dict(best_state)
        model.eval()
        self.model_ = model
        self.best_epoch_ = best_epoch
        self.epochs_run_ = len(history)
        self.val_loss_ = best
        self.history_ = history
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _fit_stacked(self, model, data, val, batch, gen, progress, label, t0) -> "NeuralComponent":
        from wq.models.seeds import fit_stacked

        res = fit_stacked(model, *data, val, self.epochs, self.patience, batch, self.lr, gen, progress, label)
        self.model_ = model
        self.best_epoch_, self.epochs_run_ = res["best_epoch"], res["epochs_run"]
        self.val_loss_, self.history_ = res["val_loss"], res["history"]
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def predict(self, ws: WindowSet) -> np.ndarray:
        device = torch.device(self.device)
        with torch.no_grad():
            out = self.model_(torch.as_tensor(ws.X, device=device), torch.as_tensor(ws.Z, device=device))
        return out.cpu().numpy().astype(np.float64).reshape(len(ws), self.shape_["horizon"],
                                                              self.shape_["n_targets"])

    # -- persistence ----------------------------------------------------------------------------------------
    def get_state(self) -> tuple[dict, dict[str, torch.Tensor]]:
        config = {k: v for k, v in self.get_params(deep=False).items() if k != "device"}
        meta = {"kind": self.kind, "config": config, "shape": self.shape_,
                "best_epoch": self.best_epoch_, "epochs_run": self.epochs_run_, "val_loss": self.val_loss_}
        weights = {k: v.detach().cpu().clone() for k, v in self.model_.state_dict().items()}
        return meta, weights

    @classmethod
    def from_state(cls, meta: dict, weights: dict[str, torch.Tensor], device: str = "cpu") -> "NeuralComponent":
        comp = cls(**meta["config"], device=device)
        comp.shape_ = dict(meta["shape"])
        s = comp.shape_
        model = comp._build(s["n_inputs"], s["lags"], s["n_future"], s["horizon"] * s["n_targets"])
        model.load_state_dict(weights)  # raises on a shape mismatch
        comp.model_ = model.to(torch.device(device)).eval()
        comp.best_epoch_ = meta.get("best_epoch", 0)
        comp.epochs_run_ = meta.get("epochs_run", 0)
        comp.val_loss_ = meta.get("val_loss", math.nan)
        comp.history_ = []
        return comp
