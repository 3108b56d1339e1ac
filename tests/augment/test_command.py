"""`wq augment` and `wq run` with [augment], end to end on a tiny simulated wetland: outputs, the table's
definitions, same command same table, the test period never reaches a generator, bad input exits 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tomli_w
import torch

from wq.augment.ablation import COLUMNS, TIME_COLUMNS, shortened
from wq.cli import main
from wq.config import Pipeline
from wq.data.simulate import simulate_wetland
from wq.evaluate.backtest import split_point

torch.set_num_threads(1)
DAYS = 200
ARGS = ["--methods", "jitter,gan", "--ratios", "0.5,1", "--train-fractions", "0.5,1", "--epochs", "2",
        "--generator-epochs", "1", "--quality-epochs", "1", "--quiet"]


def write_pipeline(folder, data, name="tiny.toml", **augment):
    raw = {"name": "tiny-aug", "seed": 3,
           "data": {"path": str(data), "time": "date", "target": ["cod_out_mgl", "tp_out_mgl"],
                    "drivers": ["air_temp_c", "rain_mm", "inflow_m3d"], "freq": "D"},
           "preprocess": {"wavelet": {"wavelet": "db2", "level": 1, "window": 32, "mode": "causal"}},
           "model": {"epochs": 2, "hidden": 4, "patience": 2, "lags": 4, "lr": 3e-3, "batch": 64},
           "augment": augment}
    path = folder / name
    path.write_text(tomli_w.dumps(raw))
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("augment_command")


@pytest.fixture(scope="module")
def data(work):
    path = work / "wetland.csv"
    simulate_wetland(days=DAYS, seed=3, missing=False).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def study(work, data):
    out = work / "study"
    assert main(["augment", str(write_pipeline(work, data)), "--out", str(out), *ARGS]) == 0
    return out


def test_study_writes_the_table_figures_and_report(study):
    for name in ("augmentation.csv", "augmentation_by_target.csv", "report.md", "figures/test_mape_vs_ratio.png",
                 "figures/losses_gan.png", "figures/overlay_gan.png", "figures/marginals_jitter.png",
                 "figures/pca_gan.png", "figures/pca_jitter.png"):
        assert (study / name).is_file(), name
    t = pd.read_csv(study / "augmentation.csv")
    assert list(t.columns) == list(COLUMNS)
    # one row per method, ratio and fraction, and a "none" baseline (ratio 0) per fraction
    assert len(t) == 2 * (1 + 2 * 2) and not t.duplicated(["method", "ratio", "train_fraction"]).any()
    assert set(t.loc[t["method"] == "none", "ratio"]) == {0.0}
    report = (study / "report.md").read_text()
    assert "## Answer" in report and "than jitter" in report and "one forecaster seed" in report
    assert "train fraction 0.5:" in report and "TimeGAN reports 0.10 on its Stocks data" in report


def test_table_follows_its_definitions(study, data):
    t = pd.read_csv(study / "augmentation.csv")
    frame = pd.read_csv(data)
    start = split_point(len(frame), 0.4)
    for f, grp in t.groupby("train_fraction"):
        assert (grp["train_rows"] == int(round(f * start))).all()
        n_fit = int(grp["train_rows"].iloc[0]) - int(round(0.2 * grp["train_rows"].iloc[0]))
        assert (grp["n_real"] == n_fit - 1 - 3).all()  # origins 3 .. n_fit - 2 (lags 4, horizon 1)
        none = grp[grp["method"] == "none"].iloc[0]
        assert none["n_synthetic"] == 0 and np.isnan(none["discriminative"])
        np.testing.assert_allclose(grp["test_MAPE_none"], none["test_MAPE"], rtol=1e-5)
        np.testing.assert_allclose(grp["delta_test_MAPE"], grp["test_MAPE"] - none["test_MAPE"], atol=2e-5)
        aug = grp[grp["method"] != "none"]
        assert (aug["n_synthetic"] == np.floor(aug["ratio"] * aug["n_real"] + 0.5)).all()
        assert (aug["gate_kept"] == (aug["val_MAPE"] < none["val_MAPE"])).all()
        np.testing.assert_allclose(aug["test_MAPE_gated"], np.where(aug["gate_kept"], aug["test_MAPE"],
                                                                    none["test_MAPE"]), rtol=1e-5)
        assert aug["discriminative"].between(0, 0.5).all() and (aug["predictive"] > 0).all()
        # one generator per method and fraction: its quality scores are the same for every ratio
        assert (aug.groupby("method")["discriminative"].nunique() == 1).all()
        assert (aug.loc[aug["method"] == "gan", "generator_epochs"] == 1).all()
    by_target = pd.read_csv(study / "augmentation_by_target.csv")
    assert set(by_target["target"]) == {"cod_out_mgl", "tp_out_mgl"} and len(by_target) == 2 * len(t)
    mean = by_target.groupby(["method", "ratio", "train_fraction"])["MAPE"].mean()
    got = t.set_index(["method", "ratio", "train_fraction"])["test_MAPE"]
    np.testing.assert_allclose(got.sort_index(), mean.sort_index(), rtol=1e-5)


def test_same_command_same_table_and_test_rows_reach_no_generator(study, work, data):
    """Run again: identical table (time columns aside). Run on data whose test period is changed: everything a
    generator or the validation tail determines is unchanged; only the test columns move."""
    again = work / "again"
    assert main(["augment", str(write_pipeline(work, data)), "--out", str(again), *ARGS, "--no-figures"]) == 0
    a = pd.read_csv(study / "augmentation.csv").drop(columns=list(TIME_COLUMNS))
    b = pd.read_csv(again / "augmentation.csv").drop(columns=list(TIME_COLUMNS))
    pd.testing.assert_frame_equal(a, b)

    frame = pd.read_csv(data)
    start = split_point(len(frame), 0.4)
    rng = np.random.default_rng(1)
    cols = frame.columns.drop("date")
    frame.loc[start:, cols] = frame.loc[start:, cols] * rng.uniform(0.5, 2.0, size=(len(frame) - start, len(cols)))
    changed_data = work / "changed.csv"
    frame.to_csv(changed_data, index=False)
    changed = work / "changed"
    assert main(["augment", str(write_pipeline(work, changed_data, "changed.toml")), "--out", str(changed),
                 *ARGS, "--no-figures"]) == 0
    assert not (changed / "figures").exists()
    c = pd.read_csv(changed / "augmentation.csv").drop(columns=list(TIME_COLUMNS))
    same = ["n_real", "n_synthetic", "val_MAPE", "val_pMAPE", "val_MAPE_none", "gate_kept", "discriminative",
            "predictive", "predictive_persistence", "wasserstein", "acf_difference", "generator_epochs"]
    pd.testing.assert_frame_equal(a[same], c[same])
    assert not np.allclose(a["test_MAPE"], c["test_MAPE"])  # the test period did change


def test_shortened_keeps_the_most_recent_rows_and_the_test_period():
    frame = pd.DataFrame({"x": np.arange(100.0)}, index=pd.date_range("2020-01-01", periods=100, name="time"))
    sub, test_start = shortened(frame, 60, 0.25)
    assert test_start == 15 and sub.index[0] == frame.index[45] and sub.index[-1] == frame.index[-1]
    assert sub.iloc[test_start:].equals(frame.iloc[60:])


@pytest.mark.parametrize("extra, words", [
    (["--methods", "timegan"], "timegan"),
    (["--ratios", "0"], "ratios"),
    (["--ratios", "one"], "ratios"),
    (["--train-fractions", "1.5"], "fractions"),
    (["--model", "persistence"], "persistence"),
    (["--generator-epochs", "-1"], "generator-epochs"),
])
def test_bad_input_exits_2_with_one_line(work, data, capsys, extra, words):
    code = main(["augment", str(write_pipeline(work, data)), "--out", str(work / "bad"), "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == 2 and words in err and err.count("\n") == 1


def test_bad_augment_table_in_a_pipeline_exits_2(work, data, capsys):
    path = write_pipeline(work, data, "bad.toml", method="gam", ratio=1.0)
    assert main(["run", str(path), "--out", str(work / "bad_run"), "--quiet"]) == 2
    assert "gam" in capsys.readouterr().err


def test_wq_run_with_augment_changes_only_the_augmented_models(work, data):
    plain, jitter = work / "run_plain", work / "run_jitter"
    models = ["--models", "dwt-pca-lstm,persistence", "--quiet"]
    assert main(["run", str(write_pipeline(work, data, "plain.toml")), "--out", str(plain), *models]) == 0
    path = write_pipeline(work, data, "jitter.toml", method="jitter", ratio=1.0)
    assert main(["run", str(path), "--out", str(jitter), *models]) == 0
    a = pd.read_csv(plain / "metrics.csv").set_index(["model", "target"])
    b = pd.read_csv(jitter / "metrics.csv").set_index(["model", "target"])
    assert (a.loc["persistence", "MAPE"] == b.loc["persistence", "MAPE"]).all()
    assert (a.loc["dwt-pca-lstm", "MAPE"] != b.loc["dwt-pca-lstm", "MAPE"]).all()
    assert Pipeline.load(jitter / "pipeline.toml").augment.method == "jitter"


def test_comparisons_with_none_are_paired_by_seed():
    from wq.augment.ablation import _finish, summary, verdict

    rows = []
    for seed, none, jit, gan in [(7, 10.0, 9.0, 10.5), (8, 12.0, 11.5, 11.0)]:
        for method, ratio, val, test in [("none", 0.0, 5.0, none), ("jitter", 1.0, 4.0, jit), ("gan", 1.0, 6.0, gan)]:
            rows.append({"pipeline": "p", "model": "m", "method": method, "ratio": ratio, "train_fraction": 1.0,
                         "seed": seed, "val_MAPE": val + seed - 7, "test_MAPE": test, "test_pMAPE": test,
                         "val_pMAPE": val})
    t = _finish(pd.DataFrame(rows))
    np.testing.assert_allclose(t["test_MAPE_none"], [10, 10, 10, 12, 12, 12])
    np.testing.assert_allclose(t["delta_test_MAPE"], [0, -1, 0.5, 0, -0.5, -1])
    assert t["gate_kept"].tolist() == [False, True, False, False, True, False]
    np.testing.assert_allclose(t["test_MAPE_gated"], [10, 9, 10, 12, 11.5, 12])
    s = summary(t).set_index("method")
    assert s.loc["jitter", "seeds_lower"] == 2 and s.loc["gan", "seeds_lower"] == 1
    assert s.loc["jitter", "delta_mean"] == pytest.approx(-0.75) and s.loc["gan", "delta_max"] == pytest.approx(0.5)
    (line,) = verdict(t)
    assert "none 11.00 % (seeds 10.00 .. 12.00)" in line and "lower in all 2 seeds: jitter x1" in line
    assert "gan x1 (mean" not in line and "not better than jitter" in line and "kept synthetic windows in 2 of 4" in line


def snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_failed_study_leaves_the_previous_folder_and_no_debris(study, work, data, tmp_path, monkeypatch):
    import shutil

    import wq.augment.ablation as ablation

    out = tmp_path / "out"
    shutil.copytree(study, out)
    before = snapshot(out)

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ablation, "_plot_mape_vs_ratio", disk_full)  # after the two CSV files
    cheap = ["--methods", "jitter", "--ratios", "1", "--train-fractions", "1", "--epochs", "1", "--no-quality",
             "--quiet"]
    assert main(["augment", str(write_pipeline(work, data)), "--out", str(out), *cheap]) == 1
    assert snapshot(out) == before and [p.name for p in tmp_path.iterdir()] == ["out"]
    monkeypatch.undo()
    assert main(["augment", str(write_pipeline(work, data)), "--out", str(out), *cheap]) == 0
    assert len(pd.read_csv(out / "augmentation.csv")) == 2  # none and jitter: the old table is gone
    assert not (out / "figures" / "pca_gan.png").exists() and [p.name for p in tmp_path.iterdir()] == ["out"]


def test_out_naming_a_file_exits_2_before_loading_data(work, data, tmp_path, monkeypatch, capsys):
    import wq.run

    def no_loading(*a, **k):
        raise AssertionError("data loaded before the output folder was checked")

    monkeypatch.setattr(wq.run, "load_frame", no_loading)
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    assert main(["augment", str(write_pipeline(work, data)), "--out", str(target), *ARGS]) == 2
    assert "not a folder" in capsys.readouterr().err and target.read_text() == "keep me"
