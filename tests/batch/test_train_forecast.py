"""Batch training and forecasting as a library: artifact content, forecasts equal to the in-memory model,
backfill equal to day-by-day runs, exactly-once writes, failures that write nothing, staleness."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import wq.batch.forecast as fc
import wq.batch.store as store_mod
from wq.batch.artifact import read_artifact
from wq.batch.forecast import (
    batch_forecast,
    check_staleness,
    find_artifacts,
    forecast_rows,
    load_batch_model,
    read_fresh_data,
    resolve_as_ofs,
)
from wq.batch.store import ForecastStore
from wq.batch.train import BATCH_FORMAT, train_artifact, validation_mape
from wq.config import Pipeline
from wq.data.simulate import simulate_wetland
from wq.errors import ArtifactError, ConfigError, DataError

torch.set_num_threads(1)

TRAIN_END = pd.Timestamp("2019-06-30")
TARGETS = ["cod_out_mgl", "nh3n_out_mgl"]
TOML = """
name = "tiny"
seed = 3
[data]
path = "{path}"
time = "date"
target = ["cod_out_mgl", "nh3n_out_mgl"]
drivers = ["air_temp_c", "rain_mm", "inflow_m3d", "cod_in_mgl"]
calendar = ["day_of_week"]
freq = "D"
fill_limit = 7
fill_method = "{fill}"
[split]
validation = 0.2
[preprocess]
wavelet = {{ wavelet = "db2", level = 1, window = 16 }}
[model]
name = "{model}"
lags = 5
horizon = 2
hidden = 4
epochs = 2
batch = 32
"""


def morning_after(day: str | pd.Timestamp) -> pd.Timestamp:
    """06:30 the day after ``day``: when a scheduled run forecasts from data that end on ``day``."""
    return pd.Timestamp(day) + pd.Timedelta("30h30min")


def write_upto(frame: pd.DataFrame, day: str | pd.Timestamp, path: Path) -> Path:
    """The data file as it stood on ``day``: rows up to that date."""
    frame.loc[pd.to_datetime(frame["date"]) <= pd.Timestamp(day)].to_csv(path, index=False)
    return path


def pipeline_for(folder: Path, data: Path, model: str = "dwt-pca-lstm", fill: str = "ffill") -> Pipeline:
    toml = folder / f"{model}-{fill}.toml"
    toml.write_text(TOML.format(path=data.as_posix(), model=model, fill=fill))
    return Pipeline.load(toml)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    sim = simulate_wetland(days=200, seed=1)  # 2019-01-01 .. 2019-07-19, absent days 03-03..03-07, 06-21
    train_csv = write_upto(sim, TRAIN_END, root / "train.csv")
    full_csv = write_upto(sim, "2019-07-19", root / "full.csv")
    lstm = train_artifact(pipeline_for(root, train_csv), root / "arts" / "lstm")
    naive = train_artifact(pipeline_for(root, train_csv, "persistence"), root / "arts" / "naive")
    return {"root": root, "sim": sim, "train_csv": train_csv, "full_csv": full_csv, "lstm": lstm, "naive": naive}


# ---------------------------------------------------------------------------------------------- training


def test_artifact_holds_model_pipeline_fingerprint_and_versions(env) -> None:
    res = env["lstm"]
    art = read_artifact(res.path)
    assert art.files == ["model/model.json", "model/weights.pt", "pipeline.toml"]
    meta = art.meta
    assert meta["batch_format"] == BATCH_FORMAT and meta["pipeline"] == "tiny" and meta["model"] == "dwt-pca-lstm"
    fp = meta["fingerprint"]
    # all history up to the last observation: no test hold-out
    assert (fp["start"], fp["end"], fp["freq"]) == ("2019-01-01T00:00:00", "2019-06-30T00:00:00", "D")
    assert fp["rows"] == 181 and fp["columns"] == TARGETS + ["air_temp_c", "rain_mm", "inflow_m3d", "cod_in_mgl"]
    assert art.version_id == res.version_id
    assert set(art.packages) >= {"python", "wq", "torch", "numpy", "pandas", "sklearn"}
    state = art.json("model/model.json")
    assert "preprocessor" in state["state"]  # fitted preprocessing as JSON
    weights = art.torch_state("model/weights.pt")  # loads with weights_only=True
    assert weights and all(isinstance(v, torch.Tensor) for v in weights.values())
    assert Pipeline.from_dict(__import__("tomllib").loads(art.text("pipeline.toml"))).name == "tiny"
    val = meta["validation"]
    assert set(val["mape"]) == set(TARGETS) and all(0 < v < 1000 for v in val["mape"].values())
    assert val["rows"] == round(181 * 0.2)


def test_existing_artifact_is_refused_unless_overwrite(env) -> None:
    with pytest.raises(ArtifactError, match="already exists"):
        train_artifact(pipeline_for(env["root"], env["train_csv"], "persistence"), env["naive"].path)


def test_a_crash_while_writing_leaves_no_artifact(env, tmp_path, monkeypatch) -> None:
    import wq.batch.artifact as art_mod

    real, calls = art_mod._write_file, []

    def write_then_crash(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full (injected)")
        real(path, data)

    monkeypatch.setattr(art_mod, "_write_file", write_then_crash)
    with pytest.raises(OSError, match="injected"):
        train_artifact(pipeline_for(tmp_path, env["train_csv"], "persistence"), tmp_path / "arts" / "a")
    assert len(calls) == 2 and list((tmp_path / "arts").iterdir()) == []  # no artifact, no temporary left


def test_validation_mape_of_persistence_by_hand(env) -> None:
    res = env["naive"]
    frame = res.frame
    n = len(frame)
    n_fit = n - round(n * 0.2)
    y = frame[TARGETS].to_numpy()
    # persistence: forecast of t+1 is y_t; origins n_fit-1 .. n-3, those whose whole horizon (2) is observed
    want = 100 * np.mean(np.abs(y[n_fit:-1] - y[n_fit - 1:-2]) / np.abs(y[n_fit:-1]), axis=0)
    got = validation_mape(res.model, frame, 0.2)
    np.testing.assert_allclose([got[t] for t in TARGETS], want, rtol=1e-12)
    assert validation_mape(res.model, frame, 0.0) is None
    # a filled value is not an observation: masking the last row changes the mean by hand
    observed = pd.DataFrame(True, index=frame.index, columns=frame.columns)
    observed.iloc[-1] = False
    ape = np.abs(y[n_fit:] - y[n_fit - 1:-1]) / np.abs(y[n_fit:])
    got = validation_mape(res.model, frame, 0.2, observed)
    np.testing.assert_allclose([got[t] for t in TARGETS], 100 * ape[:-1].mean(axis=0), rtol=1e-12)


# ---------------------------------------------------------------------------------------------- forecasting


def test_forecast_from_artifact_equals_in_memory_model(env) -> None:
    res = env["lstm"]
    run = batch_forecast([res.path], data=env["train_csv"], now=morning_after(TRAIN_END))
    assert run.result is None and len(run.rows) == 2 * 2  # dry run: 2 steps x 2 targets
    assert (run.rows["as_of"] == TRAIN_END).all()
    assert sorted(run.rows["time"].unique()) == list(pd.date_range("2019-07-01", periods=2))
    mem = res.model.predict(res.frame)  # the in-memory model, same data, origin = last row
    merged = run.rows.merge(mem, left_on=["as_of", "time", "step", "target"],
                            right_on=["origin", "time", "step", "target"], validate="one_to_one")
    assert len(merged) == 4
    # float32 networks: a batch of 1 and a batch of 128 differ in the last bits only
    np.testing.assert_allclose(merged["value"], merged["predicted"], rtol=1e-6)
    # the same call on the in-memory model and on the loaded one: bit for bit
    bm = load_batch_model(res.path)
    mem_bm = fc.BatchModel(path=res.path, artifact=bm.artifact, pipeline=bm.pipeline, model=res.model)
    frame = read_fresh_data(bm, env["full_csv"]).frame
    as_ofs = frame.index[-10:]
    pd.testing.assert_frame_equal(forecast_rows(bm, frame, as_ofs), forecast_rows(mem_bm, frame, as_ofs),
                                  check_exact=True)


@pytest.mark.parametrize("block", [fc.BLOCK, 4])
def test_backfill_equals_separate_runs_with_the_data_of_each_day(env, monkeypatch, block) -> None:
    monkeypatch.setattr(fc, "BLOCK", block)
    bm = load_batch_model(env["lstm"].path)
    days = pd.date_range("2019-07-05", "2019-07-14")
    back = batch_forecast([bm], data=env["full_csv"], backfill=("2019-07-05", "2019-07-14")).rows
    assert sorted(back["as_of"].unique()) == list(days) and len(back) == len(days) * 4
    one_by_one = []
    for day in days:
        path = write_upto(env["sim"], day, env["root"] / f"upto-{day.date()}.csv")
        one_by_one.append(batch_forecast([bm], data=path, now=morning_after(day)).rows)  # as-of: the file's last day
    sep = pd.concat(one_by_one, ignore_index=True)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), sep, check_exact=True)


def test_as_of_uses_only_data_up_to_it(env) -> None:
    bm = load_batch_model(env["lstm"].path)
    fresh = read_fresh_data(bm, env["full_csv"])
    a = forecast_rows(bm, fresh.frame, pd.DatetimeIndex(["2019-07-10"]))
    changed = fresh.frame.copy()
    changed.loc["2019-07-11":] *= 3.0  # the future of the as-of time
    b = forecast_rows(bm, changed, pd.DatetimeIndex(["2019-07-10"]))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    changed.loc["2019-07-10"] *= 3.0  # the as-of day itself is used
    c = forecast_rows(bm, changed, pd.DatetimeIndex(["2019-07-10"]))
    assert not np.allclose(a["value"], c["value"])


def test_store_exactly_once_and_next_day_appends(env, tmp_path) -> None:
    bm = load_batch_model(env["lstm"].path)
    db = tmp_path / "f.sqlite"
    day1 = write_upto(env["sim"], "2019-07-01", tmp_path / "d1.csv")
    day2 = write_upto(env["sim"], "2019-07-02", tmp_path / "d2.csv")
    r1 = batch_forecast([bm], data=day1, store=db, now=morning_after("2019-07-01")).result
    first = ForecastStore(db).read()
    assert first["data_sha256"].str.fullmatch("[0-9a-f]{64}").all() and first["data_sha256"].nunique() == 1
    r2 = batch_forecast([bm], data=day1, store=db, now=morning_after("2019-07-01")).result
    assert (r1.inserted, r2.inserted, r2.unchanged, r2.revised) == (4, 0, 4, 0)
    pd.testing.assert_frame_equal(ForecastStore(db).read(versions="all"), first, check_exact=True)  # issue times too
    r3 = batch_forecast([bm], data=day2, store=db, now=morning_after("2019-07-02")).result
    assert r3.inserted == 4
    rows = ForecastStore(db).read()
    assert len(rows) == 8 and list(rows["as_of"].unique()) == list(pd.to_datetime(["2019-07-01", "2019-07-02"]))
    assert not rows.duplicated(["pipeline", "model_version", "as_of", "target", "step"]).any()


def test_csv_destination_has_the_same_semantics(env, tmp_path) -> None:
    bm = load_batch_model(env["naive"].path)
    out = tmp_path / "f.csv"
    r1 = batch_forecast([bm], data=env["full_csv"], backfill=("2019-07-10", "2019-07-12"), csv=out).result
    r2 = batch_forecast([bm], data=env["full_csv"], as_of="2019-07-12", csv=out).result
    assert (r1.inserted, r2.unchanged, r2.inserted) == (12, 4, 0)
    rows = store_mod.read_csv(out)
    assert len(rows) == 12
    # persistence by hand: every step repeats the as-of day's observation
    obs = read_fresh_data(bm, env["full_csv"]).frame  # the data as the data layer reads them
    for r in rows.itertuples():
        assert r.value == obs.loc[r.as_of, r.target]
        assert r.time == r.as_of + pd.Timedelta(days=r.step)


def test_failure_inside_the_write_leaves_the_store_as_it_was(env, tmp_path, monkeypatch) -> None:
    bm = load_batch_model(env["naive"].path)
    db = tmp_path / "f.sqlite"
    batch_forecast([bm], data=env["full_csv"], as_of="2019-07-10", store=db)
    before = ForecastStore(db).read()
    real = store_mod._merge

    def merge_then_fail(conn, on_conflict):
        real(conn, on_conflict)  # rows are in the table, uncommitted
        raise OSError("disk full (injected)")

    monkeypatch.setattr(store_mod, "_merge", merge_then_fail)
    with pytest.raises(OSError, match="injected"):
        batch_forecast([bm], data=env["full_csv"], backfill=("2019-07-01", "2019-07-19"), store=db)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(ForecastStore(db).read(), before, check_exact=True)
    assert ForecastStore(db).integrity_check() == "ok"


def test_one_bad_artifact_among_several_writes_nothing(env, tmp_path) -> None:
    db = tmp_path / "f.sqlite"
    bad = tmp_path / "bad"
    shutil.copytree(env["naive"].path, bad)
    (bad / "pipeline.toml").write_text((bad / "pipeline.toml").read_text() + "\n# edited\n")
    with pytest.raises(ArtifactError, match="pipeline.toml"):
        batch_forecast([env["lstm"].path, bad], data=env["full_csv"], store=db)
    assert not db.exists() or ForecastStore(db).count() == 0


def test_several_artifacts_in_one_call_and_artifact_folders(env, tmp_path) -> None:
    arts = env["root"] / "arts"
    assert find_artifacts([arts]) == [arts / "lstm", arts / "naive"]
    (arts / ".x.tmp-123").mkdir(exist_ok=True)  # an unfinished write is never read
    assert find_artifacts([arts, arts / "naive"]) == [arts / "lstm", arts / "naive"]
    with pytest.raises(ArtifactError, match="no manifest.json"):
        find_artifacts([tmp_path])
    db = tmp_path / "f.sqlite"
    run = batch_forecast([arts], data=env["full_csv"], store=db, now=morning_after("2019-07-19"))
    assert run.result.inserted == 8 and {s["pipeline"] for s in run.summaries} == {"tiny"}
    assert ForecastStore(db).read()["model_version"].nunique() == 2


# ---------------------------------------------------------------------------------------------- checks


def test_resolve_as_ofs() -> None:
    idx = pd.date_range("2020-01-01", periods=10, freq="D", name="time")
    assert list(resolve_as_ofs(idx)) == [idx[-1]]
    assert list(resolve_as_ofs(idx, "2020-01-05")) == [idx[4]]
    assert list(resolve_as_ofs(idx, backfill=("2019-12-01", "2020-01-03"))) == list(idx[:3])
    with pytest.raises(DataError, match="end at 2020-01-10 00:00:00, before the as-of time"):
        resolve_as_ofs(idx, "2020-01-11")
    with pytest.raises(DataError, match="not a time of the data's grid"):
        resolve_as_ofs(idx, "2020-01-05 12:00")
    with pytest.raises(DataError, match="before the backfill end"):
        resolve_as_ofs(idx, backfill=("2020-01-05", "2020-01-12"))
    with pytest.raises(ConfigError, match="empty"):
        resolve_as_ofs(idx, backfill=("2020-01-05", "2020-01-02"))
    with pytest.raises(ConfigError, match="not a time"):
        resolve_as_ofs(idx, "yesterday-ish")


def test_check_staleness_by_hand() -> None:
    obs = pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-05"])
    check_staleness(obs, pd.DatetimeIndex(["2020-01-02", "2020-01-06"]), pd.Timedelta("1D"))  # ages 0 and 1 day
    with pytest.raises(DataError, match=r"\(2020-01-02 00:00:00\) is 2 days 00:00:00 before .*2 of 3 as-of times"):
        check_staleness(obs, pd.DatetimeIndex(["2020-01-04", "2020-01-05", "2020-01-07"]), pd.Timedelta("1D"))
    with pytest.raises(DataError, match="no complete observation"):
        check_staleness(obs, pd.DatetimeIndex(["2019-12-31"]), pd.Timedelta("10D"))


def test_stale_and_filled_data(env, tmp_path) -> None:
    bm = load_batch_model(env["naive"].path)
    path = write_upto(env["sim"], "2019-07-10", tmp_path / "d.csv")
    batch_forecast([bm], data=path, max_staleness="1D", now="2019-07-11")  # age 1 day: fine
    with pytest.raises(DataError, match="stale.*2 days"):
        batch_forecast([bm], data=path, max_staleness="1D", now="2019-07-12")
    # the target's last two values missing: the data layer fills them, but they are not observations
    frame = pd.read_csv(path)
    frame.loc[frame.index[-2:], "cod_out_mgl"] = np.nan
    frame.to_csv(path, index=False)
    batch_forecast([bm], data=path, max_staleness="none")  # within the gap rule, staleness off: forecasts are made
    with pytest.raises(DataError, match=r"more than one step \(D\) before the forecast origin 2019-07-10"):
        batch_forecast([bm], data=path, now=morning_after("2019-07-10"))  # the default sees the filled days
    with pytest.raises(DataError, match=r"last complete observation \(2019-07-08 00:00:00\) is 2 days"):
        batch_forecast([bm], data=path, max_staleness="1D", now="2019-07-10")
    with pytest.raises(ConfigError, match="not a duration"):
        batch_forecast([bm], data=path, max_staleness="soon")


def test_default_staleness_is_one_step_before_the_origin(env, tmp_path) -> None:
    bm = load_batch_model(env["naive"].path)
    path = write_upto(env["sim"], "2019-07-10", tmp_path / "d.csv")
    # a scheduled run at 06:30: the forecast origin is the newest day that has ended
    batch_forecast([bm], data=path, now="2019-07-11 06:30")  # the data reach the origin (07-10)
    batch_forecast([bm], data=path, now="2019-07-12 06:30")  # one step before the origin (07-11): allowed
    with pytest.raises(DataError, match=r"stale: the last complete observation \(2019-07-10 00:00:00\) is more than "
                                        r"one step \(D\) before the forecast origin 2019-07-12 .*--max-staleness none"):
        batch_forecast([bm], data=path, now="2019-07-13 06:30")
    batch_forecast([bm], data=path, now="2019-07-13 06:30", max_staleness="none")  # said explicitly: allowed
    batch_forecast([bm], data=path, now="2019-07-13 06:30", max_staleness="84h")  # a duration (from now) replaces it
    # as-of times: each one against the data up to it; the last three target values are filled, not observed
    frame = pd.read_csv(path)
    frame.loc[frame.index[-3:], "cod_out_mgl"] = np.nan
    frame.to_csv(path, index=False)
    batch_forecast([bm], data=path, as_of="2019-07-08")  # last complete 07-07: one step before
    with pytest.raises(DataError, match=r"\(2019-07-07 00:00:00\) is more than one step \(D\) before the as-of time "
                                        r"2019-07-09"):
        batch_forecast([bm], data=path, as_of="2019-07-09")
    with pytest.raises(DataError, match=r"2 of 6 as-of times are stale"):
        batch_forecast([bm], data=path, backfill=("2019-07-05", "2019-07-10"))
    # the pipeline's own setting: [batch] max_staleness = "none"
    pipe = pipeline_for(tmp_path, env["train_csv"], "persistence").with_params(batch__max_staleness="none")
    art = train_artifact(pipe, tmp_path / "off").path
    assert len(batch_forecast([art], data=path, now="2019-08-30").rows) == 4


def test_fresh_data_checked_against_the_fingerprint(env, tmp_path) -> None:
    bm = load_batch_model(env["naive"].path)
    sim = env["sim"]
    weekly = sim.loc[pd.to_datetime(sim["date"]).isin(pd.date_range("2019-03-10", "2019-07-19", freq="7D"))]
    weekly.to_csv(tmp_path / "weekly.csv", index=False)
    # freq = "D" in the pipeline: the data layer puts weekly data on the daily grid and fills 6-day gaps
    # (fill_limit 7); the observed rows' median step shows the change
    with pytest.raises(DataError, match="frequency changed: the observations are 7 days 00:00:00 apart.*'D'"):
        batch_forecast([bm], data=tmp_path / "weekly.csv")
    sim.drop(columns=["rain_mm"]).to_csv(tmp_path / "norain.csv", index=False)
    with pytest.raises(DataError, match="rain_mm"):
        batch_forecast([bm], data=tmp_path / "norain.csv")


def test_too_little_history_and_linear_fill_refused(env, tmp_path) -> None:
    bm = load_batch_model(env["lstm"].path)
    with pytest.raises(DataError, match="too little history.*needs 4 rows"):
        batch_forecast([bm], data=env["full_csv"], as_of="2019-01-02")
    lin = pipeline_for(tmp_path, env["train_csv"], "persistence", fill="linear")
    art = train_artifact(lin, tmp_path / "lin").path
    batch_forecast([art], data=env["full_csv"], max_staleness="none")  # the last day: nothing after it to leak
    with pytest.raises(ConfigError, match="linear"):
        batch_forecast([art], data=env["full_csv"], as_of="2019-07-10")


def test_tampered_and_incompatible_artifacts(env, tmp_path) -> None:
    from wq.batch.artifact import write_artifact

    src = read_artifact(env["lstm"].path)
    files = {n: src.bytes(n) for n in src.files}
    # weights of the wrong shape, in an otherwise valid artifact
    weights = torch.load(src.path("model/weights.pt"), weights_only=True)
    key = next(iter(weights))
    weights[key] = torch.zeros(tuple(s + 1 for s in weights[key].shape))
    buf = __import__("io").BytesIO()
    torch.save(weights, buf)
    wrong = write_artifact(tmp_path / "wrong", {**files, "model/weights.pt": buf.getvalue()}, src.meta)
    with pytest.raises(ArtifactError, match="wrong.*(size mismatch|does not load)"):
        load_batch_model(wrong)
    newer = write_artifact(tmp_path / "newer", files, {**src.meta, "batch_format": BATCH_FORMAT + 1})
    with pytest.raises(ArtifactError, match="batch format 2 is newer"):
        load_batch_model(newer)
    alien = write_artifact(tmp_path / "alien", files, {"pipeline": "x"})
    with pytest.raises(ArtifactError, match="not a model artifact"):
        load_batch_model(alien)
    state = json.loads(files["model/model.json"])
    state["format"] = 99
    future_model = write_artifact(tmp_path / "fm", {**files, "model/model.json": json.dumps(state).encode()}, src.meta)
    with pytest.raises(ArtifactError, match="model format 99"):
        load_batch_model(future_model)
