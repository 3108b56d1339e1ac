"""A realistic record with sensor outages of 3-12 days (issue 12, item 8, data layer): the sample wetland
record, completed by the sample pipeline's own gap rule, with outages blanked by wq.data.outages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wq.config import Pipeline
from wq.data import DataSpec, LongGapError, load
from wq.data.check import check, gap_table_by_column
from wq.data.outages import blank_outages
from wq.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
TARGETS = ["cod_out_mgl", "nh3n_out_mgl", "tp_out_mgl"]
DRIVERS = ["air_temp_c", "rain_mm", "inflow_m3d", "cod_in_mgl"]
ANALYSER = [3, 12, 5, 9, 4, 7, 11]  # effluent analyser away (all targets), days
FLOWMETER = [6, 10]  # influent flow meter down, days


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    """(csv path, complete frame, analyser outages, flow-meter outages)."""
    complete = load(Pipeline.load(REPO / "pipelines" / "sample.toml").data_spec()).frame[TARGETS + DRIVERS]
    assert not complete.isna().any().any()
    gappy, analyser = blank_outages(complete, ANALYSER, columns=TARGETS, seed=11, margin=8)
    gappy, meter = blank_outages(gappy, FLOWMETER, columns=["inflow_m3d"], seed=12, margin=8)
    path = tmp_path_factory.mktemp("outages") / "wetland_outages.csv"
    gappy.reset_index().rename(columns={"time": "date"}).to_csv(path, index=False)
    return path, complete, analyser, meter


def spec(path, **kw) -> DataSpec:
    return DataSpec(path, time="date", targets=TARGETS, drivers=DRIVERS, freq="D", **kw)


def test_blank_outages_places_exact_runs_reproducibly():
    frame = pd.DataFrame({"a": np.arange(100.0), "b": 1.0}, index=pd.date_range("2024-01-01", periods=100))
    out, table = blank_outages(frame, [3, 12, 5], columns=["a"], seed=4, margin=2)
    again, table2 = blank_outages(frame, [3, 12, 5], columns=["a"], seed=4, margin=2)
    pd.testing.assert_frame_equal(out, again)
    pd.testing.assert_frame_equal(table, table2)
    assert table["length"].tolist() == [3, 12, 5] and not out["b"].isna().any()
    missing = out["a"].isna().to_numpy()
    starts = np.flatnonzero(np.diff(np.r_[0, missing.astype(int)]) == 1)
    assert missing.sum() == 20 and list(frame.index[starts]) == list(table["start"])
    assert not missing[:2].any() and not missing[-2:].any()
    with pytest.raises(ConfigError, match="do not fit"):
        blank_outages(frame.iloc[:10], [5, 5])


def test_default_refuses_the_record_naming_the_longest_outage(record):
    path, _, analyser, _ = record
    longest = analyser.loc[analyser["length"].idxmax()]
    with pytest.raises(LongGapError) as err:
        load(spec(path, fill_limit=7))
    assert f"cod_out_mgl {longest.start.date()} .. {longest.end.date()} (12 steps)" in str(err.value)


def test_keep_reports_every_long_outage_and_fills_nothing_from_the_future(record):
    path, complete, analyser, meter = record
    loaded = load(spec(path, fill_limit=7, long_gaps="keep"))
    f = loaded.frame
    assert f.index.equals(complete.index) and f.index.freq == "D"  # regular, nothing trimmed or dropped
    long_a = analyser[analyser["length"] > 7]
    expected = sorted((c, r.start, r.end, r.length) for c in TARGETS for r in long_a.itertuples()) + sorted(
        ("inflow_m3d", r.start, r.end, r.length) for r in meter[meter["length"] > 7].itertuples())
    kept = loaded.gaps[loaded.gaps["action"] == "kept"]
    assert sorted(map(tuple, kept[["column", "start", "end", "length"]].values.tolist())) == sorted(expected)
    for r in long_a.itertuples():  # NaN inside the record, exactly over each long outage
        assert f.loc[r.start:r.end, TARGETS].isna().all().all()
        assert f.loc[r.start - pd.Timedelta(days=1), TARGETS].notna().all()
    short = analyser[analyser["length"] <= 7]
    for r in short.itertuples():  # filled causally: the last observation before the outage, never a later one
        before = complete.loc[r.start - pd.Timedelta(days=1), TARGETS]
        assert (f.loc[r.start:r.end, TARGETS] == before).all().all()
        assert loaded.filled.loc[r.start:r.end, TARGETS].all().all()
    assert not loaded.filled.loc[~f.isna().any(axis=1).to_numpy() & ~loaded.filled.any(axis=1).to_numpy()].any().any()
    observed = ~f.isna() & ~loaded.filled
    np.testing.assert_array_equal(f[observed].stack().to_numpy(), complete[observed].stack().to_numpy())
    assert any(n.startswith("kept as missing values") and f"{len(expected)} gaps longer" in n for n in loaded.notes)


def test_check_summarises_long_outages_per_column(record):
    path, _, analyser, meter = record
    report = check(spec(path, fill_limit=7, long_gaps="keep"))
    assert report.ok
    table = gap_table_by_column(report.loaded.gaps, TARGETS + DRIVERS)
    long_a, short_a = analyser[analyser["length"] > 7], analyser[analyser["length"] <= 7]
    for col in TARGETS:
        assert table.loc[col].tolist() == [len(short_a), len(long_a), 12, int(long_a["length"].sum()), 0]
    assert table.loc["inflow_m3d"].tolist() == [1, 1, 10, 10, 0] and "rain_mm" not in table.index  # 6 and 10 days
    text = report.text
    assert "gaps per column" in text and "missing_in_long" in text
    row = next(ln for ln in text.splitlines() if ln.strip().startswith("cod_out_mgl") and "12" in ln.split()[3:4])
    assert row.split()[1:] == [str(len(short_a)), str(len(long_a)), "12", str(int(long_a["length"].sum())), "0"]
    # the default refuses, and the summary of the lenient reload still comes with the problem
    refused = check(spec(path, fill_limit=7))
    assert not refused.ok and "gaps per column" in refused.text


@pytest.mark.parametrize("rule", ["drop", "last-segment", "longest-segment"])
def test_other_rules_leave_no_missing_values(record, rule):
    path, _, _, _ = record
    f = load(spec(path, fill_limit=7, long_gaps=rule)).frame
    assert not f.isna().any().any() and len(f) > 100
