"""Periodic refit in evaluation (issue 12, item 2): every model is refitted on all rows up to each refit time
through the test period, never sees a row after it, forecasts until the next refit, and the first block equals
the fit-once run."""

import numpy as np
import pandas as pd
import pytest

from wq.config import Pipeline
from wq.evaluate.backtest import evaluate_split, refit_ends, split_point
from wq.models.windowed import WindowForecaster

SMALL = {"max_iter": 30, "hidden": 4, "epochs": 3, "patience": 2}


def frame(n=240, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = rng.normal(size=n)
    y = 20 + 3 * np.sin(2 * np.pi * t / 7) + np.cumsum(rng.normal(0, 0.3, n)) + np.roll(x, 1)
    idx = pd.date_range("2022-01-01", periods=n, freq="D", name="time")
    return pd.DataFrame({"y": y, "x": x}, index=idx)


def pipeline(refit=None):
    table = {"name": "refit", "seed": 3, "data": {"target": "y", "drivers": ["x"], "calendar": ["day_of_week"]},
             "split": {"test": 0.4, "validation": 0.2}, "preprocess": {"wavelet": {"window": 16, "wavelet": "db2"}},
             "model": {"name": "hgb", "lags": 5, **SMALL}}
    if refit is not None:
        table["evaluate"] = {"refit_every": refit}
    return Pipeline.from_dict(table)


def test_refit_ends_by_steps_and_by_duration():
    idx = pd.date_range("2022-01-01", periods=100, freq="D")
    assert refit_ends(idx, 60, 98, None) == [60]
    assert refit_ends(idx, 60, 98, 15) == [60, 75, 90]
    # "10D" after the last training time idx[59]: origins idx[69], idx[79], ...; each fitted on rows up to them
    assert refit_ends(idx, 60, 98, "10D") == [60, 70, 80, 90]
    gappy = idx.delete(np.arange(65, 72))  # an irregular index: the first origin at or after each due time
    assert refit_ends(gappy, 60, len(gappy) - 2, "10D") == [60, 66, 73, 83]


def test_first_block_equals_the_fit_once_run_and_later_blocks_differ():
    f = frame()
    once = evaluate_split(pipeline(), f, ["hgb", "persistence"]).predictions
    again = evaluate_split(pipeline("30D"), f, ["hgb", "persistence"])
    first_refit = again.refits[0]
    assert len(again.refits) == 3  # 30, 60, 90 days into a test period of 96 origins
    a, b = (p[p.model == "hgb"].set_index("origin")["predicted"] for p in (once, again.predictions))
    pd.testing.assert_index_equal(a.index, b.index)  # the same origins, all forecast
    before = a.index < first_refit
    np.testing.assert_array_equal(a[before], b[before])
    assert not np.allclose(a[~before], b[~before])
    p1, p2 = (p[p.model == "persistence"]["predicted"].to_numpy() for p in (once, again.predictions))
    np.testing.assert_array_equal(p1, p2)  # the naive peer follows the same rule trivially


@pytest.mark.parametrize("name", ["hgb", "dwt-pca-lstm"])
def test_a_refit_never_sees_rows_after_its_refit_time(monkeypatch, name):
    seen = []
    fit = WindowForecaster.fit

    def spy(self, train, *args, **kwargs):
        seen.append(train.index[-1])
        return fit(self, train, *args, **kwargs)

    monkeypatch.setattr(WindowForecaster, "fit", spy)
    f = frame()
    res = evaluate_split(pipeline(20), f, [name])
    start = split_point(len(f), 0.4)
    assert seen == [f.index[start - 1], *res.refits]
    origins = pd.DatetimeIndex(res.predictions["origin"])
    for k, last in enumerate(seen):  # refit k forecasts from its refit time until the next one
        nxt = seen[k + 1] if k + 1 < len(seen) else origins.max() + pd.Timedelta(days=1)
        block = origins[(origins >= last) & (origins < nxt)]
        assert len(block) == 20 or k == len(seen) - 1
    assert origins.min() == seen[0]


def test_refit_forecasts_are_causal():
    f = frame()
    t = len(f) - 30
    changed = f.copy()
    changed.iloc[t + 1:] = changed.iloc[t + 1:].to_numpy() * 2 + 5
    a, b = (evaluate_split(pipeline("25D"), g, ["hgb"]).predictions for g in (f, changed))
    keep = a.origin <= f.index[t]
    np.testing.assert_array_equal(a[keep].predicted, b[b.origin <= f.index[t]].predicted)
    assert not np.allclose(a[~keep].predicted, b[b.origin > f.index[t]].predicted)


def test_random_walk_nothing_beats_persistence_with_refits_and_issued_future_drivers(tmp_path):
    """The leak detector with both new paths on: a random walk, refits every 40 days and an issued forecast of
    a driver (the next days' noise plus an error). No causal model can beat persistence beyond noise."""
    from wq.data.future import add_future_drivers

    rng = np.random.default_rng(42)
    n = 500
    idx = pd.date_range("2020-01-01", periods=n, freq="D", name="time")
    f = pd.DataFrame({"y": 200 + np.cumsum(rng.normal(0, 1, n)), "x": rng.normal(size=n)}, index=idx)
    rows = [(t, t + pd.Timedelta(days=1), f["x"].get(t + pd.Timedelta(days=1), 0.0) + rng.normal(0, 0.3))
            for t in idx]
    pd.DataFrame(rows, columns=["issue_time", "valid_time", "x"]).to_csv(tmp_path / "x.csv", index=False)
    pipe = pipeline(40).with_params(data__future_drivers=["x"], data__future_drivers_file=str(tmp_path / "x.csv"),
                                    model__max_iter=100)
    frame = add_future_drivers(f, pipe.data_spec("unused.csv"), 1)
    m = evaluate_split(pipe, frame, ["hgb", "persistence"]).metrics.set_index("model")["MAPE"]
    assert m["hgb"] > 0.97 * m["persistence"]
