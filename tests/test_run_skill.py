"""`wq run` with issue 12's items 1, 2 and 8: a record with several long gaps kept as missing values runs end to
end (each model says how many forecasts it skipped, only observed targets are scored, forecasts stay causal),
with the refit rule in the report; perfect-forecast drivers are labelled an upper bound of skill."""

import numpy as np
import pandas as pd
import pytest

from wq.cli import main
from wq.data.outages import blank_outages
from wq.data.simulate import simulate_wetland

TOML = """
name = "gappy"
seed = 5
[data]
path = "{path}"
time = "date"
target = ["cod_out_mgl", "nh3n_out_mgl"]
drivers = ["air_temp_c", "rain_mm", "inflow_m3d"]
calendar = ["day_of_week"]
freq = "D"
fill_limit = 3
long_gaps = "keep"
{extra}
[split]
test = 0.4
validation = 0.2
[preprocess]
wavelet = {{ wavelet = "db2", level = 2, window = 16 }}
[model]
name = "dwt-pca-lstm"
lags = 5
hidden = 6
epochs = 3
patience = 2
max_iter = 30
[evaluate]
refit_every = "{refit}"
"""
MODELS = "persistence,hgb,dwt-pca-lstm"


def write(folder, frame, name="wet.csv", extra="", refit="60D"):
    frame.reset_index().rename(columns={"index": "date"}).to_csv(folder / name, index=False)
    toml = folder / f"{name}.toml"
    toml.write_text(TOML.format(path=name, extra=extra, refit=refit))
    return toml


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    """300 simulated days with five analyser outages (4-15 days) and two flow-meter outages, one of each in the
    test period at least."""
    d = tmp_path_factory.mktemp("gappy")
    sim = simulate_wetland(days=300, seed=11, missing=False).set_index("date")
    sim.index = pd.DatetimeIndex(sim.index)
    f, outages = blank_outages(sim, [6, 15, 4, 9, 12], columns=["cod_out_mgl", "nh3n_out_mgl"], seed=2, margin=25)
    f, _ = blank_outages(f, [7, 10], columns=["inflow_m3d"], seed=3, margin=25)
    return d, f, outages


def test_keep_runs_end_to_end_skipping_and_scoring_only_observed_values(record, tmp_path):
    folder, frame, outages = record
    assert (outages.start > frame.index[180]).any()  # an outage in the test period
    toml = write(folder, frame)
    assert main(["run", str(toml), "--out", str(tmp_path / "a"), "--quiet", "--models", MODELS]) == 0
    metrics = pd.read_csv(tmp_path / "a" / "metrics.csv")
    pred = pd.read_csv(tmp_path / "a" / "predictions.csv", parse_dates=["time", "origin"])
    for r in metrics.itertuples():
        rows = pred[(pred.model == r.model) & (pred.target == r.target)]
        seen = rows.observed.notna()
        made = rows.predicted.notna()
        assert r.skipped == int((seen & ~made).sum()) and r.skipped > 0
        assert r.n == int((seen & made).sum())
        scored = rows[seen & made]
        assert r.MAPE == pytest.approx(100 * np.mean(np.abs(scored.observed - scored.predicted) / scored.observed),
                                       rel=1e-5)
    skipped = metrics.groupby("model")["skipped"].sum()
    assert skipped["dwt-pca-lstm"] > skipped["hgb"] >= skipped["persistence"]  # hgb takes missing inputs
    report = (tmp_path / "a" / "report.md").read_text()
    assert "Gaps: forecasts skipped because the inputs touch a gap" in report
    assert "Refit rule: every 60D" in report and "kept as missing values" in report


def test_keep_forecasts_at_t_do_not_depend_on_later_data(record, tmp_path):
    folder, frame, _ = record
    toml = write(folder, frame)
    t = len(frame) - 50
    changed = frame.copy()
    changed.iloc[t + 1:] = changed.iloc[t + 1:].to_numpy() * 1.3 + 2
    changed.iloc[t + 5:t + 12, 0] = np.nan  # a new outage after t as well
    toml2 = write(folder, changed, "changed.csv")
    for name, path in (("a", toml), ("b", toml2)):
        assert main(["run", str(path), "--out", str(tmp_path / name), "--quiet", "--models", MODELS]) == 0
    a, b = (pd.read_csv(tmp_path / n / "predictions.csv", parse_dates=["origin"]) for n in "ab")
    last = frame.index[t]
    pd.testing.assert_frame_equal(a[a.origin <= last].reset_index(drop=True),
                                  b[b.origin <= last].reset_index(drop=True))


def test_perfect_forecast_drivers_are_labelled_at_the_top_of_the_report(record, tmp_path):
    folder, frame, _ = record
    extra = 'future_drivers = ["air_temp_c", "rain_mm"]\nfuture_drivers_source = "observed"'
    toml = write(folder, frame, "perfect.csv", extra=extra, refit="none")
    assert main(["run", str(toml), "--out", str(tmp_path / "p"), "--quiet", "--models", "persistence,hgb"]) == 0
    lines = (tmp_path / "p" / "report.md").read_text().splitlines()
    assert lines[0] == "# wq run: gappy (perfect-forecast drivers: an upper bound of skill)"
    assert lines[2].startswith("- **Perfect-forecast drivers: an upper bound of skill**")
    assert any(ln.startswith("- Refit rule: none") for ln in lines)
    plain = write(folder, frame, "plain.csv", refit="none")
    assert main(["run", str(plain), "--out", str(tmp_path / "q"), "--quiet", "--models", "persistence"]) == 0
    assert "perfect-forecast" not in (tmp_path / "q" / "report.md").read_text().lower()


def test_origins_without_an_issued_forecast_are_skipped_and_counted(record, tmp_path):
    folder, frame, _ = record
    days = frame.index
    rows = pd.DataFrame({"issue_time": days, "valid_time": days + pd.Timedelta(days=1),
                         "air_temp_c": frame["air_temp_c"].shift(-1).fillna(10.0).to_numpy() + 0.5})
    hole = (rows.issue_time >= days[230]) & (rows.issue_time < days[240])  # ten issues lost in the test period
    rows[~hole].to_csv(folder / "issued.csv", index=False)
    extra = 'future_drivers = ["air_temp_c"]\nfuture_drivers_file = "issued.csv"'
    toml = write(folder, frame.interpolate(limit_area="inside"), "complete.csv", extra=extra, refit="none")
    assert main(["run", str(toml), "--out", str(tmp_path / "f"), "--quiet", "--models", "persistence,hgb"]) == 0
    metrics = pd.read_csv(tmp_path / "f" / "metrics.csv").set_index(["model", "target"])
    assert (metrics.loc["hgb", "skipped"] == 10).all() and (metrics.loc["persistence", "skipped"] == 0).all()
    report = (tmp_path / "f" / "report.md").read_text()
    assert "Known-future drivers: 10 of " in report and "from issued forecasts" in report
    assert "perfect-forecast" not in report.lower()
