"""The benchmark suite's own logic: FLOP counts, the peers adapters, the command's arguments, slopes and the
skip rule. No timing assertions (the machine is shared)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from benchmarks.accuracy import family, fold_block, headline
from benchmarks.growth import Budget, synthetic_frame
from benchmarks.machine import loglog_slope, machine_info, median_time, traced_peak
from benchmarks.speed import (NetShape, backward_matmul_flops, epoch_flops, forward_matmul_flops, n_parameters)
from benchmarks.suite import MODES, settings_from_args
from wq.errors import ConfigError

torch.set_num_threads(1)


# -- FLOP counts ----------------------------------------------------------------------------------------------
def test_flops_by_hand_one_step_lstm():
    # F=2 inputs, H=3, one step, one sample, no calendar, one output:
    # forward: gates 2*4*3*(2+3) = 120, head 2*(3+0)*1 = 6; backward: weights 126 + head input 6, no recurrence.
    s = NetShape("lstm", n_train=1, n_val=0, lags=1, n_inputs=2, hidden=3, layers=1, n_future=0, n_outputs=1, batch=1)
    assert forward_matmul_flops(s, 1) == 126
    assert backward_matmul_flops(s, 1) == 132
    # params: 4*3*(2+3) weights + 2*4*3 biases + head 3*1 + 1
    assert n_parameters(s) == 60 + 24 + 4
    parts = epoch_flops(s)
    assert parts["optimizer"] == 12 * 88
    assert parts["total"] == sum(v for k, v in parts.items() if k != "total")


def _unrolled_flops(cell: str, N: int, T: int, F: int, H: int, L: int, C: int, O: int) -> tuple[int, int]:
    """Forward and backward FLOPs that torch's FlopCounterMode counts for the unrolled cells + head."""
    from torch.utils.flop_counter import FlopCounterMode

    cls = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}[cell]
    torch.manual_seed(0)
    cells = [cls(F if layer == 0 else H, H) for layer in range(L)]
    head = torch.nn.Linear(H + C, O)
    x, z = torch.randn(N, T, F), torch.randn(N, C)
    with FlopCounterMode(display=False) as counter:
        inputs = [x[:, t] for t in range(T)]
        for m in cells:
            h = c = None
            outs = []
            for t in range(T):
                if cell == "lstm":
                    h, c = m(inputs[t], None if h is None else (h, c))
                else:
                    h = m(inputs[t], h)
                outs.append(h)
            inputs = outs
        out = head(torch.cat([h, z], dim=1))
        forward = counter.get_total_flops()
        ((out - 1) ** 2).mean().backward()
    return forward, counter.get_total_flops() - forward


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 2])
def test_flops_match_torch_flop_counter(cell, layers):
    N, T, F, H, C, O = 5, 4, 3, 6, 3, 2
    s = NetShape(cell, N, 0, T, F, H, layers, C, O, N)
    forward, backward = _unrolled_flops(cell, N, T, F, H, layers, C, O)
    assert forward_matmul_flops(s, N) == forward
    assert backward_matmul_flops(s, N) == backward


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_parameter_count_matches_sequence_net(cell):
    from wq.models.networks import SequenceNet

    s = NetShape(cell, 10, 0, 7, 4, 16, 2, 3, 2, 8)
    net = SequenceNet(cell, 4, 3, 2, hidden=16, layers=2)
    assert n_parameters(s) == sum(p.numel() for p in net.parameters())


def test_epoch_flops_scale_with_windows_and_batches():
    s = NetShape("lstm", 1000, 200, 7, 3, 32, 1, 3, 1, 64)
    double = NetShape("lstm", 2000, 200, 7, 3, 32, 1, 3, 1, 64)
    a, b = epoch_flops(s), epoch_flops(double)
    assert b["forward"] == 2 * a["forward"] and b["backward"] == 2 * a["backward"]
    assert a["optimizer"] == 12 * n_parameters(s) * math.ceil(1000 / 64)
    assert a["validation"] == b["validation"]
    with pytest.raises(ValueError):
        epoch_flops(NetShape("lstmx", 1, 0, 1, 1, 1, 1, 0, 1, 1))


# -- peers ----------------------------------------------------------------------------------------------------
def _daily(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 20 + 3 * np.sin(2 * np.pi * t / 7) + 0.02 * t + rng.normal(0, 0.3, n)
    x = np.sin(2 * np.pi * t / 30) + rng.normal(0, 0.1, n)
    return pd.DataFrame({"y": y, "x": x}, index=pd.date_range("2020-01-01", periods=n, freq="D", name="time"))


def test_seasonal_naive_peer_is_last_week():
    from benchmarks.peers import statsforecast_one_step

    y = _daily(80)["y"].to_numpy()
    out = statsforecast_one_step(y, 50, 50, 80, "sf-seasonal-naive", season=7)
    np.testing.assert_allclose(out, y[43:73])


@pytest.mark.parametrize("name", ["sf-autoets", "sf-mstl"])
def test_statsforecast_peer_is_causal(name):
    """The forecast of y[t] must not change when values after t - 1 change."""
    from benchmarks.peers import statsforecast_one_step

    y = _daily(90)["y"].to_numpy()
    a = statsforecast_one_step(y, 60, 60, 90, name, season=7)
    z = y.copy()
    z[75:] += 50.0  # change the future of every origin before 75
    b = statsforecast_one_step(z, 60, 60, 90, name, season=7)
    assert a.shape == (30,)
    np.testing.assert_allclose(a[:15], b[:15], rtol=0, atol=1e-9)
    assert not np.allclose(a[16:], b[16:])


def test_peer_forecasts_layout_and_alignment():
    from benchmarks.peers import peer_forecasts
    from wq.evaluate.backtest import score

    frame = _daily(120)
    pred, secs = peer_forecasts(frame, ["y"], ["x"], 80, 80, 120, ["sf-seasonal-naive", "sk-hgb"], season=7)
    assert set(pred["model"]) == {"sf-seasonal-naive", "sk-hgb"}
    naive = pred[pred["model"] == "sf-seasonal-naive"]
    assert list(naive["time"]) == list(frame.index[80:120])
    assert list(naive["origin"]) == list(frame.index[79:119])
    np.testing.assert_allclose(naive["observed"], frame["y"].to_numpy()[80:120])
    np.testing.assert_allclose(naive["predicted"], frame["y"].to_numpy()[73:113])
    m = score(pred)
    assert set(m["model"]) == {"sf-seasonal-naive", "sk-hgb"} and (m["n"] == 40).all()
    assert list(secs.columns) == ["model", "target", "fit_seconds"]
    with pytest.raises(ConfigError):
        peer_forecasts(frame, ["y"], ["x"], 80, 80, 120, ["prophet"])
    with pytest.raises(ConfigError):
        peer_forecasts(frame, ["y"], ["x"], 90, 80, 120, ["sk-hgb"])  # fit_end after start


def test_hgb_peer_is_causal_and_learns_a_lag_rule():
    from benchmarks.peers import LagHGBPeer

    frame = _daily(300)
    peer = LagHGBPeer(lags=7, seed=0).fit(frame, "y", ["x"], 200)
    a = peer.predict(frame, 200, 300)
    changed = frame.copy()
    changed.iloc[250:, 0] += 100.0
    b = peer.predict(changed, 200, 300)
    np.testing.assert_allclose(a[:50], b[:50])  # forecasts of y[200..249] use rows <= 248
    mape = np.mean(np.abs(a - frame["y"].to_numpy()[200:]) / frame["y"].to_numpy()[200:]) * 100
    assert mape < 5.0
    feats = peer.features(frame, "y", ["x"])
    assert feats.shape == (300, 2 * 7 + 3)
    assert np.isnan(feats[5]).any() and not np.isnan(feats[6]).any()
    np.testing.assert_allclose(feats[6, :7], frame["y"].to_numpy()[:7])  # oldest first
    assert feats[6, -3] == frame.index[7].dayofweek  # calendar of the target day


# -- accuracy helpers -------------------------------------------------------------------------------------------
def test_family_and_fold_block():
    assert family("dwt-pca-lstm") == "wq" and family("dwt-pca-lstm (tuned)") == "wq"
    assert family("persistence") == "baseline" and family("sf-seasonal-naive") == "baseline"
    assert family("sf-autoets") == "peer" and family("sk-hgb") == "peer"
    assert fold_block(2282, 4, 1) == 2282 // 11
    assert fold_block(20, 4, 1) == 6


def test_headline_picks_best_of_each_family():
    single = pd.DataFrame({"dataset": "d", "model": ["a-wq", "b-wq", "p1", "p2", "persistence"],
                           "family": ["wq", "wq", "peer", "peer", "baseline"], "target": "y",
                           "MAPE": [5.0, 4.0, 4.5, 6.0, 7.0]})
    summary = single.rename(columns={"MAPE": "MAPE_mean"}).assign(MAPE_mean=[3.0, 4.0, 2.0, 6.0, 7.0])
    h = headline(single, summary).set_index("evaluation")
    assert h.loc["single split", "best_wq_model"] == "b-wq" and h.loc["single split", "winner"] == "wq"
    assert h.loc["rolling origin", "best_peer"] == "p1" and h.loc["rolling origin", "winner"] == "peer"
    assert h.loc["single split", "persistence_MAPE"] == 7.0
    # the declared model ("a-wq" here) against the best peer, without picking on the test scores
    h = headline(single, summary, main_model="a-wq").set_index("evaluation")
    assert h.loc["single split", "a-wq_MAPE"] == 5.0 and h.loc["single split", "main_vs_best_peer"] == "peer"
    assert h.loc["rolling origin", "wq_models"] == 2 and h.loc["rolling origin", "peers"] == 2


# -- the command's arguments ----------------------------------------------------------------------------------
def test_quick_mode_arguments():
    s = settings_from_args(["--quick"])
    assert s.mode == "quick" and s.sections == ["accuracy", "speed", "growth"]
    assert s.out.parts[-3:] == ("reports", "benchmarks", "quick")
    assert s.params["epochs"] == MODES["quick"]["epochs"] and s.repeats == MODES["quick"]["repeats"]
    assert max(s.params["sizes"]) < 1_000_000
    assert set(s.datasets) == {"sample", "fort_collins", "uci_plant", "dhi_inflow"}
    full = settings_from_args([])
    assert full.mode == "full" and full.out.name == "benchmarks" and 1_000_000 in full.params["sizes"]
    assert full.params["models"] is None  # the pipelines' own models
    s = settings_from_args(["--quick", "--only", "speed, growth", "--repeats", "5", "--datasets", "sample",
                            "--out", "x/y"])
    assert s.sections == ["speed", "growth"] and s.repeats == 5 and list(s.datasets) == ["sample"]
    assert str(s.out) == "x/y"


@pytest.mark.parametrize("argv", [["--only", "speed,colour"], ["--datasets", "mars"], ["--repeats", "0"],
                                  ["--tuned", "sample"], ["--tuned", "sample=/no/such/file.toml"],
                                  ["--threads", "0"]])
def test_bad_arguments_are_config_errors(argv):
    with pytest.raises(ConfigError):
        settings_from_args(["--quick", *argv])


def test_main_exits_2_on_bad_arguments(capsys):
    from benchmarks.suite import main

    assert main(["--only", "nothing"]) == 2
    assert "unknown section" in capsys.readouterr().err


# -- measurement helpers --------------------------------------------------------------------------------------
def test_loglog_slope_and_budget():
    x = np.array([1e3, 1e4, 1e5])
    assert loglog_slope(x, 3 * x ** 2) == pytest.approx(2.0)
    assert loglog_slope(x, 5 + 0 * x) == pytest.approx(0.0)
    assert math.isnan(loglog_slope([1.0], [1.0]))
    b = Budget(limit_s=10.0)
    assert b.allows("s", 1e6)  # nothing known yet
    b.add("s", 1e3, 0.1)
    b.add("s", 1e4, 1.0)
    assert b.predict("s", 1e5) == pytest.approx(10.0)
    assert not b.allows("s", 1e6)
    # commands: one size known -> tried (under the time-out); then only the time above the start-up is
    # extrapolated, with its own slope: excess 1 s -> 10 s over a decade is slope 1
    c = Budget(limit_s=120.0, fixed=9.0)
    c.add("cmd", 1e3, 10.0)
    assert c.predict("cmd", 1e4, 9.0) == 0.0 and c.allows("cmd", 1e4, 9.0)
    c.add("cmd", 1e4, 19.0)
    assert c.predict("cmd", 1e5, 9.0) == pytest.approx(9.0 + 100.0)
    assert c.allows("cmd", 1e5, 9.0) and not c.allows("cmd", 1e6, 9.0)
    c.exhausted.add("cmd")
    assert not c.allows("cmd", 1e5, 9.0) and c.timeout == 180.0


def test_median_time_traced_peak_and_machine_info():
    calls = []
    med, times = median_time(lambda: calls.append(1), repeats=3, warmup=1)
    assert len(calls) == 4 and len(times) == 3 and med >= 0
    peak = traced_peak(lambda: np.ones(1_000_000))
    assert peak >= 8_000_000
    info = machine_info(libraries=("numpy",))
    assert info["version_numpy"] == np.__version__ and info["logical_cores"] >= 1
    assert {"host_cpu", "usable_cores", "memory_gib", "torch_threads", "load_average_1_5_15"} <= set(info)
    with pytest.raises(ValueError):
        median_time(lambda: None, repeats=0)


def test_run_command_reports_the_childs_own_memory_and_time_out():
    import sys

    from benchmarks.machine import run_command

    held = np.ones(40_000_000)  # 320 MB in this process: must not show up in the child's peak
    idle = run_command([sys.executable, "-c", "pass"])
    busy = run_command([sys.executable, "-c", "import numpy; a = numpy.ones(25_000_000); a += 1"])
    assert idle.returncode == 0 and idle.maxrss < 150 * 2**20
    assert busy.maxrss > idle.maxrss + 150 * 2**20  # 200 MB array
    assert run_command([sys.executable, "-c", "import sys; sys.exit(3)"]).returncode == 3
    slow = run_command([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert slow.returncode == -9 and slow.seconds < 10
    del held


def test_synthetic_frame_shape_and_regularity():
    f = synthetic_frame(500, drivers=3, seed=1)
    assert list(f.columns) == ["y", "x1", "x2", "x3"] and len(f) == 500
    assert f.index.freqstr == "h" and (f["y"] > 0).all()
    pd.testing.assert_frame_equal(f, synthetic_frame(500, drivers=3, seed=1))
