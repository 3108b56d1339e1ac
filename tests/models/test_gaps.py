"""Models on a record with gaps (issue 12, item 8): windows whose inputs or targets touch a gap are left out of
fitting; gradient boosting takes missing inputs as they are; the others, and persistence, forecast only from
complete windows (NaN otherwise: the origin is skipped); nothing is filled from the future."""

import numpy as np
import pytest

from wq.data.outages import blank_outages
from wq.models import make_model
from wq.preprocess import PreprocessParams

TARGETS = ["cod_out_mgl"]
DRIVERS = ["air_temp_c", "rain_mm", "inflow_m3d"]
SETTINGS = {"hidden": 6, "epochs": 4, "patience": 2, "batch": 64, "max_iter": 40}
LAGS = 5


@pytest.fixture(scope="module")
def gappy(wetland):
    f = wetland[TARGETS + DRIVERS]
    f, _ = blank_outages(f, [9, 14, 6], columns=TARGETS, seed=5, margin=20)
    f, _ = blank_outages(f, [8, 11], columns=["inflow_m3d"], seed=6, margin=20)
    return f


def model(name):
    pre = PreprocessParams(wavelet={"wavelet": "db2", "level": 2, "window": 16}).build()
    return make_model(name, targets=TARGETS, drivers=DRIVERS, calendar=["day_of_week"], preprocess=pre, lags=LAGS,
                      model=SETTINGS, seed=0)


def complete_inputs(frame, columns, lags, extra=0):
    """True at origin t when ``columns`` have no NaN in rows t-lags-extra+1 .. t."""
    nan = frame[columns].isna().any(axis=1).astype(float)
    return nan.rolling(lags + extra, min_periods=1).sum().to_numpy() == 0


@pytest.mark.parametrize("name", ["persistence", "hgb", "lstm", "dwt-pca-lstm", "dwt-pca-svm"])
def test_skips_exactly_the_origins_it_cannot_use(gappy, name):
    m = model(name).fit(gappy.iloc[:200])
    origins = gappy.index[20:-1]
    pred = m.predict(gappy, origins)["predicted"].to_numpy()
    target_seen = gappy[TARGETS].notna().all(axis=1).to_numpy()[20:-1]
    if name == "persistence":
        expect = target_seen
    elif name == "hgb":  # missing inputs are fine, the origin's own value is needed for the change target
        expect = target_seen
    else:  # complete windows only; the wavelet's trailing window (16) must be complete too
        wavelet = 16 - 1 if name.startswith("dwt") else 0
        ok_y = complete_inputs(gappy, TARGETS, LAGS, wavelet)
        ok_x = complete_inputs(gappy, DRIVERS, LAGS)
        expect = (ok_y & ok_x)[20:-1]
    np.testing.assert_array_equal(np.isfinite(pred), expect)
    assert (~expect).sum() >= 9  # something was skipped
    if name == "hgb":  # it used windows whose lagged driver is missing
        drv_gap = ~complete_inputs(gappy, ["inflow_m3d"], LAGS)[20:-1]
        assert np.isfinite(pred[drv_gap]).any()


@pytest.mark.parametrize("name", ["hgb", "dwt-pca-lstm"])
def test_fit_leaves_out_windows_touching_a_gap(gappy, name, monkeypatch):
    from wq.models.networks import NeuralComponent
    from wq.models.tabular import TabularComponent

    sizes = []
    for cls in (NeuralComponent, TabularComponent):
        fit = cls.fit

        def spy(self, train, val, *a, _fit=fit, **k):
            assert np.isfinite(train.Y).all() and np.isfinite(train.Z).all()
            if not self.accepts_missing:
                assert np.isfinite(train.X).all()
            sizes.append(len(train))
            return _fit(self, train, val, *a, **k)

        monkeypatch.setattr(cls, "fit", spy)
    m = model(name).fit(gappy.iloc[:260])
    assert m.windows_["left_out"] > 20 and sizes[0] == m.windows_["fit"]


@pytest.mark.parametrize("name", ["hgb", "dwt-pca-lstm"])
def test_forecast_at_t_unchanged_when_data_after_t_change_with_gaps(gappy, name):
    m = model(name).fit(gappy.iloc[:200])
    t = 250
    changed = gappy.copy()
    changed.iloc[t + 1:] = changed.iloc[t + 1:].to_numpy() * 2 + 1
    changed.iloc[t + 3:t + 9, 0] = np.nan  # and a new outage after t
    origins = gappy.index[200:-1]
    a, b = m.predict(gappy, origins), m.predict(changed, origins)
    keep = (a.origin <= gappy.index[t]).to_numpy()
    np.testing.assert_array_equal(a.predicted[keep], b.predicted[keep])
    assert np.isfinite(a.predicted[keep]).any()
