"""Week-ahead hourly pieces: weekly baselines, lead-time blocks, calendar of the local target hour."""

import numpy as np
import pandas as pd
import pytest

from wq.data.calendar import calendar_features
from wq.errors import ConfigError
from wq.evaluate.metrics import block_scores, lead_blocks
from wq.models.registry import make_model


def _hourly(weeks=6, seed=0):
    idx = pd.date_range("2024-01-01", periods=weeks * 168, freq="h")
    y = np.random.default_rng(seed).normal(size=len(idx)).cumsum()
    return pd.DataFrame({"y": y}, index=idx)


def test_weekly_baselines_use_same_hour_of_past_weeks():
    frame = _hourly()
    y = frame["y"].to_numpy()
    pos = np.array([4 * 168 + 5, 5 * 168])
    naive = make_model("weekly-naive", targets=["y"], horizon=168).fit(frame)
    mean4 = make_model("weekly-mean4", targets=["y"], horizon=168).fit(frame)
    assert naive.season_ == 168 and mean4.min_history == 4 * 168
    p1 = naive._predict_positions(frame, pos)
    p4 = mean4._predict_positions(frame, pos)
    for i, o in enumerate(pos):
        for s in (1, 24, 168):
            assert p1[i, s - 1, 0] == y[o + s - 168]
            assert p4[i, s - 1, 0] == pytest.approx(np.mean([y[o + s - 168 * k] for k in (1, 2, 3, 4)]))


def test_weekly_mean_skips_missing_weeks():
    frame = _hourly()
    o = 4 * 168
    frame.iloc[o + 1 - 168, 0] = np.nan
    p4 = make_model("weekly-mean4", targets=["y"], horizon=2).fit(frame)._predict_positions(frame, np.array([o]))
    y = frame["y"].to_numpy()
    assert p4[0, 0, 0] == pytest.approx(np.mean([y[o + 1 - 168 * k] for k in (2, 3, 4)]))


def test_lead_blocks_and_block_scores():
    assert lead_blocks(168) == [(1, 24), (25, 168)]
    assert lead_blocks(24) == []
    assert lead_blocks(48, [[1, 6], [7, 100]]) == [(1, 6), (7, 48)]
    pred = pd.DataFrame({"model": "m", "target": "y", "step": np.tile(np.arange(1, 49), 2),
                         "observed": 0.0, "predicted": np.tile(np.arange(1, 49), 2) * 1.0})
    pred.loc[0, "observed"] = np.nan
    out = block_scores(pred, lead_blocks(48))
    first = out[out["block"] == "1-24"].iloc[0]
    assert first["n"] == 47 and first["maxAE"] == 24 and first["MAE"] == pytest.approx((2 * 300 - 1) / 47)
    assert out[out["block"] == "25-48"].iloc[0]["MAE"] == pytest.approx(36.5)


def test_calendar_hour_is_local_across_dst():
    # 07:00 Copenhagen is 06:00 UTC in winter and 05:00 UTC in summer (DST from 2024-03-31)
    utc = pd.DatetimeIndex(["2024-03-30 06:00", "2024-04-01 05:00"])
    f = calendar_features(utc, ["hour"], tz="Europe/Copenhagen")
    assert np.allclose(f["hour_sin"], np.sin(2 * np.pi * 7 / 24))
    # the repeated fall-back hour: two UTC instants, the same local wall hour, distinct rows
    fall = pd.DatetimeIndex(["2024-10-27 00:00", "2024-10-27 01:00"])  # 02:00 CEST and 02:00 CET
    g = calendar_features(fall, ["hour"], tz="Europe/Copenhagen")
    assert np.allclose(g["hour_sin"], np.sin(2 * np.pi * 2 / 24))


def test_holidays_of_a_country_plus_local_days():
    idx = pd.date_range("2024-12-23", periods=3, freq="D")  # 25 December: a Danish public holiday
    dk = calendar_features(idx, ["holiday"], holidays="DK")["holiday"].tolist()
    extra = calendar_features(idx, ["holiday"], holidays=["DK", "2024-12-24"])["holiday"].tolist()
    assert dk == [0.0, 0.0, 1.0] and extra == [0.0, 1.0, 1.0]
    with pytest.raises(ConfigError, match="unknown holiday country"):
        calendar_features(idx, ["holiday"], holidays="XX")


def test_wq_run_writes_lead_time_blocks(tmp_path):
    from wq.config import Pipeline
    from wq.run import run_pipeline

    frame = _hourly(weeks=10).reset_index().rename(columns={"index": "time"})
    frame["y"] += 100
    frame.to_csv(tmp_path / "h.csv", index=False)
    (tmp_path / "p.toml").write_text(f'name = "blocks"\n[data]\npath = "{tmp_path / "h.csv"}"\ntime = "time"\n'
                                     'target = "y"\n[split]\ntest = 0.3\n[model]\nname = "weekly-naive"\n'
                                     'horizon = 48\n[compare]\nmodels = ["weekly-mean4", "persistence"]\n')
    result = run_pipeline(Pipeline.load(tmp_path / "p.toml"), out_dir=tmp_path / "out")
    blocks = pd.read_csv(tmp_path / "out" / "blocks.csv")
    assert set(blocks["block"]) == {"1-24", "25-48"} and set(blocks["model"]) == {"weekly-naive", "weekly-mean4",
                                                                                 "persistence"}
    pred = result.predictions
    first = pred[(pred["model"] == "persistence") & (pred["step"] <= 24)].dropna(subset=["predicted"])
    row = blocks[(blocks["model"] == "persistence") & (blocks["block"] == "1-24")].iloc[0]
    assert row["MAE"] == pytest.approx((first["predicted"] - first["observed"]).abs().mean(), rel=1e-5)
    assert "Lead-time blocks" in (tmp_path / "out" / "report.md").read_text()
