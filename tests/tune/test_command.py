"""`wq tune` end to end on a tiny simulated wetland: every output, best.toml runs, the test rows never reach the
tuner, resume equals an uninterrupted run, the baselines get the GA's budget, Dask, bad input."""

import json

import numpy as np
import pandas as pd
import pytest
import tomli_w
import torch

from wq.cli import main
from wq.config import Pipeline
from wq.data.simulate import simulate_wetland
from wq.evaluate.backtest import split_point

torch.set_num_threads(1)
DAYS = 260
SPACE = {"model.lags": {"low": 3, "high": 8, "type": "int"},
         "model.hidden": {"low": 4, "high": 12, "type": "int"},
         "model.lr": {"low": 1e-3, "high": 1e-2, "type": "log-float"},
         "preprocess.wavelet.wavelet": ["db2", "haar", "coif2"],
         "preprocess.wavelet.level": {"low": 1, "high": 3, "type": "int"}}


def write_pipeline(folder, data, space=SPACE, **tune):
    raw = {"name": "tiny", "seed": 3,
           "data": {"path": str(data), "time": "date", "target": ["cod_out_mgl"],
                    "drivers": ["air_temp_c", "rain_mm", "inflow_m3d"], "freq": "D"},
           "preprocess": {"wavelet": {"wavelet": "db2", "level": 1, "window": 32, "mode": "causal"}},
           "model": {"epochs": 3, "hidden": 6, "patience": 2, "lags": 5, "lr": 3e-3},
           "tune": {"population": 4, "generations": 2, "folds": 2, "space": space, **tune}}
    path = folder / "tiny.toml"
    path.write_text(tomli_w.dumps(raw))
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("tune_command")


@pytest.fixture(scope="module")
def data(work):
    path = work / "wetland.csv"
    simulate_wetland(days=DAYS, seed=3, missing=False).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def reference(work, data):
    """One tiny `wq tune` (GA, 2 generations of 4, 2 tuning epochs): its output folder."""
    out = work / "reference"
    assert main(["tune", str(write_pipeline(work, data)), "--out", str(out), "--epochs", "2", "--quiet"]) == 0
    return out


def frames(out):
    ev = pd.read_csv(out / "evaluations.csv").drop(columns="seconds")
    lb = pd.read_csv(out / "logbook.csv").drop(columns="elapsed")
    return ev, lb


def test_tiny_tune_writes_every_output_and_best_toml_runs(reference, work):
    for name in ("best.toml", "logbook.csv", "evaluations.csv", "convergence.png", "report.md", "checkpoint.json",
                 "best_run/metrics.csv", "best_run/report.md"):
        assert (reference / name).is_file(), name
    ev, lb = frames(reference)
    assert lb["gen"].tolist() == [0, 1, 2] and set(lb["strategy"]) == {"ga"}
    assert {"model__lags", "preprocess__wavelet__level", "fitness", "cached", "error", "adjusted"} <= set(ev.columns)
    assert len(ev) == lb["nevals"].sum() and (ev["generation"] == 0).sum() == 4
    assert np.isfinite(ev["fitness"]).all() and lb["evals"].iloc[-1] == (~ev["cached"]).sum()
    best_row = ev.loc[ev["fitness"].idxmin()]
    best = Pipeline.load(reference / "best.toml")
    assert best.model.lags == best_row["model__lags"] and best.model.hidden == best_row["model__hidden"]
    assert best.preprocess.wavelet.wavelet == best_row["preprocess__wavelet__wavelet"]
    assert best.model.epochs == 3  # the tuning epochs (2) do not leak into the final pipeline
    report = (reference / "report.md").read_text()
    assert "used once, after tuning, for reporting only" in report and "| ga |" in report
    # `wq run best.toml` works and gives the test-period result the report shows
    out = work / "rerun"
    assert main(["run", str(reference / "best.toml"), "--models", "dwt-pca-lstm,persistence", "--out", str(out),
                 "--quiet"]) == 0
    rerun = pd.read_csv(out / "metrics.csv").set_index("model")
    shown = pd.read_csv(reference / "best_run" / "metrics.csv").set_index("model")
    assert rerun.loc["dwt-pca-lstm", "MAPE"] == pytest.approx(shown.loc["dwt-pca-lstm", "MAPE"], rel=1e-9)


def test_changing_the_test_rows_changes_nothing_the_tuner_does(reference, work, data):
    frame = pd.read_csv(data)
    start = split_point(len(frame), 0.4)
    cols = [c for c in frame.columns if c != "date"]
    rng = np.random.default_rng(0)
    frame.loc[start:, cols] = frame.loc[start:, cols].to_numpy() * rng.uniform(0.5, 1.5, (len(frame) - start, len(cols)))
    folder = work / "changed_test"
    folder.mkdir()
    frame.to_csv(folder / "wetland.csv", index=False)
    out = folder / "out"
    assert main(["tune", str(write_pipeline(folder, folder / "wetland.csv")), "--out", str(out), "--epochs", "2",
                 "--quiet"]) == 0
    for a, b in zip(frames(reference), frames(out)):
        pd.testing.assert_frame_equal(a, b)
    settings = Pipeline.load(out / "best.toml").to_dict()
    ref = Pipeline.load(reference / "best.toml").to_dict()
    assert settings["model"] == ref["model"] and settings["preprocess"] == ref["preprocess"]
    # ... while the single test-period run did see other rows
    test_a = pd.read_csv(reference / "best_run" / "metrics.csv")["MAPE"].to_numpy()
    test_b = pd.read_csv(out / "best_run" / "metrics.csv")["MAPE"].to_numpy()
    assert not np.allclose(test_a, test_b)


def test_resume_after_an_interruption_equals_the_uninterrupted_run(reference, work, data):
    toml = write_pipeline(work, data)
    out = work / "resumed"
    assert main(["tune", str(toml), "--out", str(out), "--epochs", "2", "--max-evals", "4", "--quiet"]) == 0
    state = json.loads((out / "checkpoint.json").read_text())
    assert state["generation"] == 0  # stopped after generation 0, keeping the best so far in best.toml
    assert pd.read_csv(out / "logbook.csv")["gen"].tolist() == [0] and (out / "best.toml").is_file()
    assert main(["tune", str(toml), "--out", str(out), "--epochs", "2", "--resume", "--quiet"]) == 0
    for a, b in zip(frames(reference), frames(out)):
        pd.testing.assert_frame_equal(a, b)
    # a checkpoint made for another objective is refused
    assert main(["tune", str(toml), "--out", str(out), "--epochs", "3", "--resume", "--quiet"]) == 2


def test_strategy_all_gives_random_and_optuna_the_budget_the_ga_spent(work, data, capsys):
    toml = write_pipeline(work, data)
    out = work / "all"
    args = ["tune", str(toml), "--out", str(out), "--epochs", "2", "--strategy", "all", "--generations", "1"]
    assert main(args + ["--quiet"]) == 0
    ev = pd.read_csv(out / "evaluations.csv")
    trained = ev[~ev["cached"]].groupby("strategy").size()
    assert set(trained.index) == {"ga", "random", "optuna"}
    assert trained["random"] == trained["ga"] and trained["optuna"] == trained["ga"]
    lb = pd.read_csv(out / "logbook.csv")
    assert lb.groupby("strategy")["evals"].max().nunique() == 1
    report = (out / "report.md").read_text()
    assert all(f"| {s} |" in report for s in ("ga", "random", "optuna"))
    # every strategy starts from the pipeline's own settings (gen 0, first individual)
    first = ev[(ev["generation"] == 0) & (ev["individual"] == 0)]
    assert (first["model__lags"] == 5).all() and (first["preprocess__wavelet__wavelet"] == "db2").all()
    capsys.readouterr()
    assert main(args + ["--resume"]) == 0  # finished strategies are not run again
    err = capsys.readouterr().err
    assert "random: finished result found" in err and "optuna: finished result found" in err
    pd.testing.assert_frame_equal(pd.read_csv(out / "evaluations.csv").drop(columns="seconds"),
                                  ev.drop(columns="seconds"))


def test_dask_local_cluster_gives_the_serial_run(reference, work, data):
    pytest.importorskip("distributed")
    from wq.tune.workflow import tune_pipeline

    pipe = Pipeline.load(write_pipeline(work, data, epochs=2, workers=2))
    out = work / "dask"
    tune_pipeline(pipe, out, scheduler="local", test_runs="none")  # a thread-based LocalCluster of 2 workers
    for a, b in zip(frames(reference), frames(out)):
        pd.testing.assert_frame_equal(a, b)


def test_failed_individuals_are_recorded_and_all_failing_is_a_clear_error(work, data, capsys):
    # windows 4 and 5 are too short for any level of db2 (pywt.dwt_max_level = 0)
    space = {"preprocess.wavelet.window": [4, 5], "model.lags": {"low": 3, "high": 6, "type": "int"}}
    folder = work / "failing"
    folder.mkdir()
    out = folder / "out"
    assert main(["tune", str(write_pipeline(folder, data, space=space)), "--out", str(out), "--generations", "1",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no evaluation succeeded" in err and "too short" in err
    ev = pd.read_csv(out / "evaluations.csv")
    assert len(ev) and np.isinf(ev["fitness"]).all() and ev["error"].str.contains("ConfigError").all()


@pytest.mark.parametrize("extra, message", [
    (["--metric", "accuracy"], "accuracy"), (["--strategy", "grid"], "invalid choice"),
    (["--folds", "50"], "too few"), (["--workers", "0"], "workers"),
    (["--time-limit", "1e-9"], "nothing was evaluated")])
def test_bad_input_exits_2_with_one_line(work, data, capsys, extra, message):
    assert main(["tune", str(write_pipeline(work, data)), "--out", str(work / "bad"), "--quiet", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_space_naming_no_setting_exits_2(work, data, capsys):
    folder = work / "badspace"
    folder.mkdir()
    toml = write_pipeline(folder, data, space={"split.test": {"low": 0.1, "high": 0.5, "type": "float"}})
    assert main(["tune", str(toml), "--out", str(folder / "out")]) == 2
    assert "only model, preprocess and augment settings" in capsys.readouterr().err


# -- output folder swapped in whole; malformed resume state; --out naming a file -------------------------------
def snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_interrupted_tune_keeps_the_previous_outputs_and_the_resume_state(reference, work, data, monkeypatch,
                                                                             tmp_path):
    import shutil

    from wq.report import figures

    out = tmp_path / "copy"
    shutil.copytree(reference, out)
    before = snapshot(out)
    args = ["tune", str(write_pipeline(work, data)), "--out", str(out), "--epochs", "2", "--resume", "--quiet"]

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "plot_residuals", interrupt)  # inside best_run, after best.toml and logbook.csv
    assert main(args) == 130
    assert snapshot(out) == before and [p.name for p in tmp_path.iterdir()] == ["copy"]
    monkeypatch.undo()
    assert main(args) == 0  # the resume state survived: the finished GA is loaded, not run again
    for a, b in zip(frames(reference), frames(out)):
        pd.testing.assert_frame_equal(a, b)
    assert (out / "checkpoint.json").is_file() and (out / "best_run" / "report.md").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["copy"]


def test_malformed_resume_state_exits_2_naming_file_and_key(reference, work, data, tmp_path, capsys):
    toml = str(write_pipeline(work, data))
    out = tmp_path / "bad_state"
    out.mkdir()
    state = json.loads((reference / "checkpoint.json").read_text())
    state["population"] = {"not": "a list"}
    (out / "checkpoint.json").write_text(json.dumps(state))
    assert main(["tune", toml, "--out", str(out), "--epochs", "2", "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.json" in err and "'population'" in err and err.count("\n") == 1
    (out / "result_random.json").write_text("[1, 2]")
    assert main(["tune", toml, "--out", str(out), "--epochs", "2", "--resume", "--strategy", "random",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "result_random.json" in err and "not a wq tuning result" in err and err.count("\n") == 1


def test_out_naming_a_file_exits_2_before_loading_data(work, data, tmp_path, monkeypatch, capsys):
    import wq.run

    def no_loading(*a, **k):
        raise AssertionError("data loaded before the output folder was checked")

    monkeypatch.setattr(wq.run, "load_frame", no_loading)
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    assert main(["tune", str(write_pipeline(work, data)), "--out", str(target), "--quiet"]) == 2
    assert "not a folder" in capsys.readouterr().err and target.read_text() == "keep me"
