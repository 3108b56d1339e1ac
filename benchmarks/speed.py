"""Speed against the machine's limit: training epochs of the recurrent models against a FLOP floor, and the causal
wavelet transform against a plain memory-bound pass over the same windows.

**Floor of an epoch.** :func:`epoch_flops` counts the floating-point operations of one training epoch of
:class:`wq.models.networks.SequenceNet` (a recurrent cell over ``lags`` steps, a linear head on the last hidden
state and the calendar of the target days) from the layer sizes. Matrix products, per sample:

- forward, per step and layer: ``2 G H (F_l + H)`` with G = 4 gates (LSTM), 3 (GRU), 1 (RNN), H hidden units,
  F_1 = number of inputs and F_l = H above the first layer; head ``2 (H + C) O`` (C calendar inputs, O outputs);
- backward: the weight gradients repeat the forward products; the gradient through the recurrence adds
  ``2 G H H`` per step but the first, the gradient of each layer's input ``2 G H F_l`` for layers above the first
  (the data need none), and the head's input gradient ``2 (H + C) O``. This is exactly what
  ``torch.utils.flop_counter.FlopCounterMode`` counts for the unrolled cell (tests check it);
- element-wise work (gate non-linearities, cell update, bias adds: about ``(3 G + 6) H`` per step forward and
  twice that backward), Adam (about 12 operations per parameter and step) and the validation forward pass of
  every epoch are added at the same rate; they are a few per cent.

The floor is FLOPs / the machine's float32 matrix-multiply rate, measured in the same run with torch
(:func:`matmul_rate`: square products of a few sizes, the best median). An epoch cannot be faster; the ratio
measured / floor says how far from the hardware the training loop runs. :func:`epoch_breakdown` then explains the
gap: the same epoch at batch sizes 32 .. 1024 (a line through epoch time against the number of batches gives the
fixed cost per optimisation step: Python loop, autograd bookkeeping, optimizer, kernel launches), with 1 and 2
threads, the rate of the matrix products at the network's own small shapes, and the one-off data preparation
(preprocessing and windows) of a real fit.

**Wavelet.** The causal transform of T points with window L does wavedec + threshold + waverec on the (T, L)
matrix of trailing windows. The memory-bound reference is one pass that materialises the same (T, L) float64
windows and sums them (``np.ascontiguousarray(sliding_window_view(x, L)).sum()``), i.e. the least any method
that reads every window must do; the ratio is transform time / pass time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from benchmarks.machine import median_time

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
ADAM_FLOPS_PER_PARAM = 12


@dataclass(frozen=True)
class NetShape:
    """Sizes of one recurrent component: ``n_train`` / ``n_val`` windows, ``lags`` steps of ``n_inputs``
    channels, ``n_future`` calendar inputs, ``n_outputs`` outputs (horizon x targets)."""

    cell: str
    n_train: int
    n_val: int
    lags: int
    n_inputs: int
    hidden: int
    layers: int
    n_future: int
    n_outputs: int
    batch: int


def n_parameters(s: NetShape) -> int:
    """Trainable parameters of SequenceNet: per layer G H (F_l + H) weights and 2 G H biases (torch keeps
    b_ih and b_hh), plus the head (H + C) O + O."""
    g, h = GATES[s.cell], s.hidden
    total = 0
    for layer in range(s.layers):
        f = s.n_inputs if layer == 0 else h
        total += g * h * (f + h) + 2 * g * h
    return total + (h + s.n_future) * s.n_outputs + s.n_outputs


def forward_matmul_flops(s: NetShape, n: int) -> int:
    """Matrix-product FLOPs of the forward pass of ``n`` windows."""
    g, h, t = GATES[s.cell], s.hidden, s.lags
    cell = sum(2 * g * h * ((s.n_inputs if layer == 0 else h) + h) for layer in range(s.layers))
    return n * (t * cell + 2 * (h + s.n_future) * s.n_outputs)


def backward_matmul_flops(s: NetShape, n: int) -> int:
    """Matrix-product FLOPs of the backward pass of ``n`` windows (see the module docstring)."""
    g, h, t = GATES[s.cell], s.hidden, s.lags
    weights = forward_matmul_flops(s, n)
    recurrence = n * s.layers * (t - 1) * 2 * g * h * h
    layer_inputs = n * (s.layers - 1) * t * 2 * g * h * h
    head_input = n * 2 * (h + s.n_future) * s.n_outputs
    return weights + recurrence + layer_inputs + head_input


def elementwise_flops(s: NetShape, n: int) -> int:
    """Approximate element-wise FLOPs, forward and backward: (3 G + 6) H per step and layer, times 3."""
    return 3 * n * s.lags * s.layers * (3 * GATES[s.cell] + 6) * s.hidden


def epoch_flops(s: NetShape) -> dict[str, int]:
    """FLOPs of one training epoch: forward and backward of every training window, Adam on every batch, and
    the forward pass over the validation windows (wq's loop evaluates them every epoch)."""
    if s.cell not in GATES:
        raise ValueError(f"cell must be one of {sorted(GATES)}, got {s.cell!r}")
    n_batches = math.ceil(s.n_train / max(1, min(s.batch, s.n_train)))
    parts = {
        "forward": forward_matmul_flops(s, s.n_train),
        "backward": backward_matmul_flops(s, s.n_train),
        "elementwise": elementwise_flops(s, s.n_train),
        "optimizer": ADAM_FLOPS_PER_PARAM * n_parameters(s) * n_batches,
        "validation": forward_matmul_flops(s, s.n_val) + elementwise_flops(s, s.n_val) // 3,
    }
    parts["total"] = sum(parts.values())
    return parts


# -- measurements ------------------------------------------------------------------------------------------
def matmul_rate(sizes: Sequence[int] = (256, 512, 1024, 2048), repeats: int = 5,
                threads: Sequence[int] = (1,)) -> pd.DataFrame:
    """float32 GFLOP/s of torch square products (2 n^3 FLOPs each), median of ``repeats``, per size and
    thread count."""
    import torch

    old = torch.get_num_threads()
    rows = []
    try:
        for th in threads:
            torch.set_num_threads(int(th))
            for n in sizes:
                a = torch.randn(n, n)
                b = torch.randn(n, n)
                inner = max(1, int(2e8 // (2 * n ** 3)))  # at least ~0.2 GFLOP per timing
                med, _ = median_time(lambda a=a, b=b, inner=inner: [torch.mm(a, b) for _ in range(inner)], repeats=repeats)
                rows.append({"size": n, "threads": th, "seconds": med / inner,
                             "gflops": 2 * n ** 3 * inner / med / 1e9})
    finally:
        torch.set_num_threads(old)
    return pd.DataFrame(rows)


def small_matmul_rate(s: NetShape, repeats: int = 5) -> float:
    """GFLOP/s of the products at the network's own shapes: a batch of (B, F + H) times (F + H, G H)."""
    import torch

    b = max(1, min(s.batch, s.n_train))
    x = torch.randn(b, s.n_inputs + s.hidden)
    w = torch.randn(s.n_inputs + s.hidden, GATES[s.cell] * s.hidden)
    inner = 2000
    med, _ = median_time(lambda: [torch.mm(x, w) for _ in range(inner)], repeats=repeats)
    return 2 * b * (s.n_inputs + s.hidden) * GATES[s.cell] * s.hidden * inner / med / 1e9


def synthetic_windows(s: NetShape, seed: int = 0):
    """Random training and validation WindowSets of the component's shapes (time does not depend on values)."""
    from wq.windows import WindowSet

    rng = np.random.default_rng(seed)

    def ws(n: int) -> WindowSet:
        return WindowSet(rng.random((n, s.lags, s.n_inputs), dtype=np.float32),
                         rng.random((n, s.n_future), dtype=np.float32),
                         rng.random((n, 1, s.n_outputs), dtype=np.float32), np.arange(n))

    return ws(s.n_train), (ws(s.n_val) if s.n_val else None)


def epoch_times(s: NetShape, repeats: int = 3, epochs: int = 4, threads: int | None = None, seed: int = 0,
                warmup: bool = True) -> list[float]:
    """Seconds per training epoch of :class:`~wq.models.networks.NeuralComponent` (wq's own loop, validation
    included), ``repeats`` times: each is (fit with 1 + ``epochs`` epochs - fit with 1 epoch) / ``epochs``,
    which removes the one-off setup of a fit."""
    import torch

    from wq.models.networks import NeuralComponent

    train, val = synthetic_windows(s, seed)
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))

    def fit(e: int) -> float:
        comp = NeuralComponent(cell=s.cell, hidden=s.hidden, layers=s.layers, dropout=0.1, epochs=e,
                               patience=e + 1, batch=s.batch, lr=1e-3)
        t0 = time.perf_counter()
        comp.fit(train, val, seed=seed)
        return time.perf_counter() - t0

    try:
        if warmup:
            fit(1)
        per = []
        for _ in range(repeats):
            one = fit(1)
            many = fit(1 + epochs)
            per.append(max(many - one, 1e-9) / epochs)
    finally:
        torch.set_num_threads(old)
    return per


def time_epoch(s: NetShape, repeats: int = 3, epochs: int = 4, threads: int | None = None, seed: int = 0) -> float:
    """Median of :func:`epoch_times`."""
    return float(np.median(epoch_times(s, repeats, epochs, threads, seed)))


def pipeline_shapes(pipeline, frame: pd.DataFrame, cells: Sequence[str] = ("lstm", "gru", "rnn"),
                    repeats: int = 3) -> tuple[list[NetShape], dict]:
    """The component shapes of the pipeline's dual model (dwt-pca-<cell>) on the training part of ``frame``,
    from real fits of one epoch, and their one-off data preparation time (fit time less the components' own
    time: preprocessing, PCA, windows, tensors; median of ``repeats`` fits after a warm-up)."""
    import torch

    from wq.evaluate.backtest import split_point

    start = split_point(len(frame), pipeline.split.test)
    train = frame.iloc[:start]
    pipe = pipeline.with_params(model__epochs=1)
    fits = []
    for _ in range(repeats + 1):
        model = pipe.make_model("dwt-pca-lstm")
        torch.manual_seed(pipe.seed)
        model.fit(train, val_fraction=pipe.split.validation)
        comp_seconds = sum(c[3].fit_seconds_ for c in model.components_)
        fits.append((model.fit_seconds_, comp_seconds))
    fit_s, comp_s = np.median(np.array(fits[1:]), axis=0)
    comp = model.components_[0][3]
    shape = comp.shape_
    origins = model.sequences(train)[1]
    n_train = int(((origins + model.horizon) < model.n_fit_).sum())  # as WindowForecaster.fit splits them
    n_val = len(origins) - n_train
    m = pipe.model
    shapes = [NetShape(cell, n_train, n_val, shape["lags"], shape["n_inputs"], m.hidden, m.layers,
                       shape["n_future"], shape["horizon"] * shape["n_targets"], m.batch) for cell in cells]
    prep = {"fit_seconds_1_epoch": float(fit_s), "components_seconds": float(comp_s),
            "data_prep_seconds": float(fit_s - comp_s), "components": len(model.components_),
            "train_rows": len(train)}
    return shapes, prep


def epoch_table(shapes: Sequence[NetShape], peak_gflops: float, repeats: int = 3, epochs: int = 4,
                log: Callable[[str], None] = print) -> pd.DataFrame:
    """Per cell: FLOPs of an epoch, the floor at ``peak_gflops``, the measured epoch time and the ratio."""
    rows = []
    for s in shapes:
        fl = epoch_flops(s)
        sec = time_epoch(s, repeats=repeats, epochs=epochs)
        floor = fl["total"] / (peak_gflops * 1e9)
        rows.append({"cell": s.cell, "n_train": s.n_train, "n_val": s.n_val, "lags": s.lags,
                     "n_inputs": s.n_inputs, "hidden": s.hidden, "layers": s.layers, "batch": s.batch,
                     "params": n_parameters(s), "gflop_per_epoch": fl["total"] / 1e9,
                     "matmul_share": (fl["forward"] + fl["backward"]) / fl["total"],
                     "floor_seconds": floor, "epoch_seconds": sec, "ratio_to_floor": sec / floor,
                     "achieved_gflops": fl["total"] / sec / 1e9})
        log(f"speed: {s.cell} epoch {sec * 1e3:.1f} ms, floor {floor * 1e3:.3f} ms, ratio {sec / floor:.0f}")
    return pd.DataFrame(rows)


def epoch_breakdown(s: NetShape, peak_gflops: float, batches: Sequence[int] = (32, 64, 256, 1024),
                    threads: Sequence[int] = (1, 2), repeats: int = 3, epochs: int = 4,
                    log: Callable[[str], None] = print, all_batches_all_threads: bool = True
                    ) -> tuple[pd.DataFrame, dict]:
    """The gap explained: epoch time per batch size and thread count, the per-step overhead (slope of epoch
    time against the number of batches at the fewest threads), and the rate of products at the network's
    shapes. Without ``all_batches_all_threads`` the other thread counts run at the pipeline's batch only."""
    from dataclasses import replace

    rows = []
    for th in threads:
        for b in batches:
            if th != min(threads) and not all_batches_all_threads and b != s.batch:
                continue
            sb = replace(s, batch=b)
            sec = time_epoch(sb, repeats=repeats, epochs=epochs, threads=th)
            fl = epoch_flops(sb)["total"]
            nb = math.ceil(s.n_train / min(b, s.n_train))
            rows.append({"cell": s.cell, "batch": b, "threads": th, "n_batches": nb, "epoch_seconds": sec,
                         "ms_per_step": sec / nb * 1e3, "floor_seconds": fl / (peak_gflops * 1e9),
                         "ratio_to_floor": sec / (fl / (peak_gflops * 1e9))})
            log(f"speed: {s.cell} batch {b} threads {th}: {sec * 1e3:.1f} ms/epoch")
    sweep = pd.DataFrame(rows)
    one = sweep[sweep["threads"] == min(threads)]
    slope, intercept = np.polyfit(one["n_batches"].to_numpy(float), one["epoch_seconds"].to_numpy(float), 1)
    at = one[one["batch"] == s.batch]
    epoch_at = float(at["epoch_seconds"].iloc[0]) if len(at) else float("nan")
    nb = math.ceil(s.n_train / min(s.batch, s.n_train))
    small = small_matmul_rate(s, repeats=repeats)
    fl = epoch_flops(s)
    info = {
        "per_step_overhead_ms": slope * 1e3,
        "batch_independent_seconds": intercept,
        "epoch_seconds_at_pipeline_batch": epoch_at,
        "overhead_share_at_pipeline_batch": slope * nb / epoch_at if epoch_at == epoch_at else float("nan"),
        "small_matmul_gflops": small,
        "peak_matmul_gflops": peak_gflops,
        "floor_seconds": fl["total"] / (peak_gflops * 1e9),
        "floor_at_small_matmul_rate_seconds": fl["total"] / (small * 1e9),
    }
    return sweep, info


def wavelet_speed(n: int = 100_000, window: int = 64, wavelet: str = "db4", level: int = 2,
                  repeats: int = 3, seed: int = 0) -> dict:
    """Causal wavelet denoising of ``n`` points against a memory-bound pass over the same (n, window) windows;
    also the time of each part of the transform (wavedec, thresholds, waverec) on the full window matrix."""
    import pywt
    from numpy.lib.stride_tricks import sliding_window_view

    from wq.preprocess.wavelet import WaveletDenoiser, soft_threshold

    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=n))[:, None]
    den = WaveletDenoiser(wavelet=wavelet, level=level, window=window, mode="causal").fit(x)
    t_wav, _ = median_time(lambda: den.transform(x), repeats=repeats)
    padded = np.concatenate([np.full(window - 1, x[0, 0]), x[:, 0]])
    win = sliding_window_view(padded, window)
    t_mem, _ = median_time(lambda: np.ascontiguousarray(win).sum(), repeats=repeats)
    dense = np.ascontiguousarray(win)
    t_copy, _ = median_time(lambda: dense.copy(), repeats=repeats)
    t_dec, _ = median_time(lambda: pywt.wavedec(dense, wavelet, level=level, axis=1), repeats=repeats)
    coeffs = pywt.wavedec(dense, wavelet, level=level, axis=1)

    def thr():
        sigma = np.median(np.abs(coeffs[-1]), axis=1, keepdims=True) / 0.6745
        t = sigma * np.sqrt(2 * np.log(window))
        return [soft_threshold(d, t) for d in coeffs[1:]]

    t_thr, _ = median_time(thr, repeats=repeats)
    t_rec, _ = median_time(lambda: pywt.waverec(coeffs, wavelet, axis=1), repeats=repeats)
    nbytes = dense.nbytes
    return {"points": n, "window": window, "wavelet": wavelet, "level": level, "window_bytes": nbytes,
            "causal_transform_seconds": t_wav, "memory_pass_seconds": t_mem, "ratio": t_wav / t_mem,
            "copy_seconds": t_copy, "copy_gbytes_per_s": 2 * nbytes / t_copy / 1e9,
            "wavedec_seconds": t_dec, "threshold_seconds": t_thr, "waverec_seconds": t_rec}
