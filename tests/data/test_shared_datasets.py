"""The real datasets in ../shared/data load through DataSpec options only (no dataset-specific code).

Expected values are computed here from the raw files by hand (plain pandas/csv), independently of wq.data.
Skipped when the shared folder is absent."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wq.data import DataSpec, LongGapError, load

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
FC = DATA / "fort_collins_water_demand"
UCI = DATA / "uci_water_treatment"
DHI = DATA / "dhi_wwtp_inflow"

# section 7 of water-treatment.names: the date, then the 38 attributes in file order
UCI_NAMES = ["DAY", "Q-E", "ZN-E", "PH-E", "DBO-E", "DQO-E", "SS-E", "SSV-E", "SED-E", "COND-E", "PH-P", "DBO-P",
             "SS-P", "SSV-P", "SED-P", "COND-P", "PH-D", "DBO-D", "DQO-D", "SS-D", "SSV-D", "SED-D", "COND-D",
             "PH-S", "DBO-S", "DQO-S", "SS-S", "SSV-S", "SED-S", "COND-S", "RD-DBO-P", "RD-SS-P", "RD-SED-P",
             "RD-DBO-S", "RD-DQO-S", "RD-DBO-G", "RD-DQO-G", "RD-SS-G", "RD-SED-G"]


def need(folder: Path) -> None:
    if not folder.is_dir():
        pytest.skip(f"shared dataset {folder.name} not present")


# ----------------------------------------------------------------------------------------- Fort Collins
def test_fort_collins_processed_daily_file():
    need(FC)
    spec = DataSpec(FC / "fort_collins_daily_water_weather.csv", time="date", targets="water_demand_mgd",
                    drivers=["tmax_f", "tmin_f", "precipitation_in", "snow_depth_in"], freq="D")
    loaded = load(spec)
    f = loaded.frame
    assert len(f) == 2282 and f.index[0] == pd.Timestamp("2020-01-01") and f.index[-1] == pd.Timestamp("2026-03-31")
    assert f.index.freq == "D" and not f.isna().any().any() and len(loaded.gaps) == 0
    assert list(f.columns) == ["water_demand_mgd", "tmax_f", "tmin_f", "precipitation_in", "snow_depth_in"]
    # first data line: 2020-01-01,12.47,12.06,1.03...,12.77,54,23,...
    assert f.iloc[0][["water_demand_mgd", "tmax_f", "tmin_f"]].tolist() == [12.47, 54.0, 23.0]


def test_fort_collins_raw_demand_joined_with_noaa_drivers_file():
    need(FC)
    spec = DataSpec(FC / "fort_collins_water_demand_2026-08-03.csv", time="date",
                    drivers_path=FC / "noaa_daily_USC00053005_2026-08-03.csv", drivers_time="DATE",
                    targets="total_actual_demand_mgd", drivers=["TMAX", "TMIN", "PRCP", "SNWD"])
    f = load(spec).frame
    ref = pd.read_csv(FC / "fort_collins_daily_water_weather.csv", index_col="date", parse_dates=True)
    assert len(f) == len(ref) == 2282 and (f.index == ref.index).all()
    np.testing.assert_allclose(f["total_actual_demand_mgd"], ref["water_demand_mgd"])
    np.testing.assert_allclose(f["TMAX"], ref["tmax_f"])
    np.testing.assert_allclose(f["PRCP"], ref["precipitation_in"])


def test_fort_collins_noaa_text_columns_dropped_without_selection():
    need(FC)
    spec = DataSpec(FC / "fort_collins_water_demand_2026-08-03.csv", time="date",
                    drivers_path=FC / "noaa_daily_USC00053005_2026-08-03.csv", drivers_time="DATE",
                    long_gaps="keep")
    loaded = load(spec)
    assert "STATION" not in loaded.frame and "PRCP_ATTRIBUTES" not in loaded.frame and "AWND" in loaded.frame
    note = next(n for n in loaded.notes if "dropped columns without numbers" in n)
    assert "STATION" in note and "NAME" in note and "TMAX_ATTRIBUTES" in note
    assert loaded.raw_missing["AWND"] == 382  # empty AWND cells (SOURCE.md)


# ----------------------------------------------------------------------------------------- UCI
def uci_spec(**kw) -> DataSpec:
    opts = dict(names=UCI_NAMES, time="DAY", time_format="D-%d/%m/%y", na_values=["?"], fill_method="linear")
    opts.update(kw)
    return DataSpec(UCI / "water-treatment.data", **opts)


def test_uci_headerless_unsorted_working_days_become_a_daily_index():
    need(UCI)
    loaded = load(uci_spec(targets="Q-E", long_gaps="keep"))
    f = loaded.frame
    assert loaded.source_rows == 527
    assert f.index[0] == pd.Timestamp("1990-01-01") and f.index[-1] == pd.Timestamp("1991-10-30")
    assert len(f) == 668 and f.index.freq == "D"
    assert any("not in time order; sorted 527 rows" in n for n in loaded.notes)
    # Saturday 3 March 1990 is absent: linear between Fri 2 March (39024) and Sun 4 March (32229)
    with open(UCI / "water-treatment.data", newline="") as fh:
        rows = {r[0]: r for r in csv.reader(fh) if r}
    assert float(rows["D-2/3/90"][1]) == 39024 and float(rows["D-4/3/90"][1]) == 32229 and "D-3/3/90" not in rows
    assert f.loc["1990-03-03", "Q-E"] == pytest.approx((39024 + 32229) / 2)
    assert loaded.filled.loc["1990-03-03", "Q-E"]
    # long gaps of Q-E: '?' from 11 to 31 July 1991 (21 days), and September 1991 absent (last day 30 Aug,
    # next 1 Oct -> 31 missing days); both reported and kept
    long_ = loaded.gaps[(loaded.gaps["column"] == "Q-E") & (loaded.gaps["length"] > 3)]
    assert long_[["start", "end", "length", "action"]].values.tolist() == [
        [pd.Timestamp("1991-07-11"), pd.Timestamp("1991-07-31"), 21, "kept"],
        [pd.Timestamp("1991-08-31"), pd.Timestamp("1991-09-30"), 31, "kept"]]
    assert f.loc["1991-09-01":"1991-09-30", "Q-E"].isna().all()


def test_uci_long_gap_options():
    need(UCI)
    with pytest.raises(LongGapError, match="Q-E 1991-08-31 .. 1991-09-30 \\(31 steps\\)"):
        load(uci_spec(targets="Q-E"))
    last = load(uci_spec(targets="Q-E", long_gaps="last-segment")).frame
    assert last.index[0] == pd.Timestamp("1991-10-01") and last.index[-1] == pd.Timestamp("1991-10-30")
    longest = load(uci_spec(targets="Q-E", long_gaps="longest-segment")).frame
    assert longest.index[0] == pd.Timestamp("1990-01-01") and longest.index[-1] == pd.Timestamp("1991-07-10")
    assert not longest.isna().any().any()
    # all 38 measures: '?' markers are missing values, counted per column (ZN-E has 3 '?', PH-E none)
    everything = load(uci_spec(long_gaps="keep"))
    assert everything.frame.shape[1] == 38
    absent = 668 - 527
    assert everything.raw_missing["ZN-E"] == absent + 3 and everything.raw_missing["PH-E"] == absent


# ----------------------------------------------------------------------------------------- DHI
def dhi_spec(**kw) -> DataSpec:
    opts = dict(time="datetime", tz="Europe/Copenhagen", drivers_path=DHI / "observations_dmi.csv",
                drivers_time="time", drivers_tz="UTC", resample="D", agg={"acc_precip": "sum"},
                targets="flow", drivers=["acc_precip", "mean_temp"], long_gaps="keep")
    opts.update(kw)
    return DataSpec(DHI / "observations_wwtp.csv", **opts)


def test_dhi_local_flow_joined_with_utc_weather_daily():
    need(DHI)
    loaded = load(dhi_spec(trim_edges=False))
    f = loaded.frame
    assert f.index.freq == "D" and f.index[0] == pd.Timestamp("2023-11-07")
    assert f.index[-1] == pd.Timestamp("2025-02-17")  # last flow: 2025-02-18 00:00 local = 02-17 23:00 UTC
    raw = pd.read_csv(DHI / "observations_wwtp.csv", sep=";")
    # UTC day 2024-01-20 (winter, UTC+1) = local 2024-01-20 01:00 .. 2024-01-21 00:00
    day = raw[(raw.datetime >= "2024-01-20 01:00:00") & (raw.datetime <= "2024-01-21 00:00:00")]
    assert len(day) == 24
    assert f.loc["2024-01-20", "flow"] == pytest.approx(day.flow.mean())
    # UTC day 2024-07-10 (summer, UTC+2) = local 2024-07-10 02:00 .. 2024-07-11 01:00
    day = raw[(raw.datetime >= "2024-07-10 02:00:00") & (raw.datetime <= "2024-07-11 01:00:00")]
    assert len(day) == 24 and f.loc["2024-07-10", "flow"] == pytest.approx(day.flow.mean())
    dmi = pd.read_csv(DHI / "observations_dmi.csv")
    rain = dmi[dmi.time.str.startswith("2024-07-10")]
    assert f.loc["2024-07-10", "acc_precip"] == pytest.approx(rain.acc_precip.sum())
    assert f.loc["2024-07-10", "mean_temp"] == pytest.approx(rain.mean_temp.mean())
    # first UTC day has flow from 08:00 only (16 of 24 hours < 0.75): missing, at the edge, kept
    assert np.isnan(f["flow"].iloc[0]) and not loaded.filled["flow"].iloc[0]
    assert any("ambiguous DST" in n for n in loaded.notes)
    # by default the under-covered first week (flow missing 7 to 13 November) is trimmed, with a note
    trimmed = load(dhi_spec())
    assert trimmed.frame.index[0] == pd.Timestamp("2023-11-14") and not np.isnan(trimmed.frame["flow"].iloc[0])
    assert (trimmed.frame.loc["2023-11-14":].equals(f.loc["2023-11-14":]))
    assert any("trimmed 7 rows at the start" in n and "flow (7 rows)" in n for n in trimmed.notes)


def test_dhi_last_segment_is_complete():
    need(DHI)
    f = load(dhi_spec(long_gaps="last-segment")).frame
    assert not f.isna().any().any() and f.index.freq == "D" and len(f) > 100
