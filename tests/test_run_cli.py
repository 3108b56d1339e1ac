"""`wq run` end to end on small simulated data: outputs, reproducibility, causality of the pipeline, and
one-line errors with exit 2 for bad pipelines and options."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wq.cli import main
from wq.data.simulate import simulate_wetland

TOML = """
name = "tiny"
seed = 5
[data]
path = "{path}"
time = "date"
target = ["cod_out_mgl", "nh3n_out_mgl"]
drivers = ["air_temp_c", "rain_mm", "inflow_m3d", "cod_in_mgl"]
calendar = ["day_of_week"]
freq = "D"
fill_limit = 7
[split]
test = 0.3
validation = 0.2
[preprocess]
wavelet = {{ wavelet = "db2", level = 2, window = 32, mode = "causal" }}
[model]
name = "dwt-pca-lstm"
lags = 5
hidden = 8
epochs = 3
patience = 2
batch = 64
[compare]
models = ["persistence", "hgb"]
"""


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    simulate_wetland(days=300, seed=11).to_csv(d / "wet.csv", index=False)
    (d / "tiny.toml").write_text(TOML.format(path="wet.csv"))
    return d / "tiny.toml"


def test_run_writes_outputs_and_is_reproducible(pipeline, tmp_path):
    assert main(["run", str(pipeline), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["run", str(pipeline), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    metrics = pd.read_csv(tmp_path / "a" / "metrics.csv")
    assert list(metrics.columns) == ["model", "target", "MAPE", "pMAPE", "EVS", "R", "RMSE", "MAE", "NSE", "KGE",
                                     "fit_seconds"]
    assert set(metrics.model) == {"dwt-pca-lstm", "persistence", "hgb"}
    assert len(metrics) == 6
    pred = pd.read_csv(tmp_path / "a" / "predictions.csv", parse_dates=["time"])
    assert list(pred.columns) == ["time", "model", "target", "observed", "predicted"]
    assert np.isfinite(pred.predicted).all()
    report = (tmp_path / "a" / "report.md").read_text()
    assert "dwt-pca-lstm" in report and "figures/" in report
    assert len(list((tmp_path / "a" / "figures").glob("*.png"))) >= 4
    b = pd.read_csv(tmp_path / "b" / "metrics.csv")
    pd.testing.assert_frame_equal(metrics.drop(columns="fit_seconds"), b.drop(columns="fit_seconds"))


def test_test_period_is_the_last_rows_and_filled_days_are_not_scored(pipeline, tmp_path):
    main(["run", str(pipeline), "--out", str(tmp_path), "--quiet", "--models", "persistence"])
    pred = pd.read_csv(tmp_path / "predictions.csv", parse_dates=["time"])
    raw = pd.read_csv(pipeline.parent / "wet.csv", parse_dates=["date"])
    n_days = (raw.date.max() - raw.date.min()).days + 1
    assert pred.time.max() == raw.date.max()
    assert pred.time.nunique() == int(round(n_days * 0.3))


def test_pipeline_forecasts_do_not_depend_on_later_data(pipeline, tmp_path):
    """Change every value after day t: the test-period forecasts up to t stay identical."""
    raw = pd.read_csv(pipeline.parent / "wet.csv")
    cut = len(raw) - 40
    changed = raw.copy()
    num = changed.columns.drop("date")
    changed.loc[cut:, num] = changed.loc[cut:, num].to_numpy() * 1.5 + 3
    changed.to_csv(tmp_path / "changed.csv", index=False)
    main(["run", str(pipeline), "--out", str(tmp_path / "a"), "--quiet"])
    main(["run", str(pipeline), "--data", str(tmp_path / "changed.csv"), "--out", str(tmp_path / "b"), "--quiet"])
    a = pd.read_csv(tmp_path / "a" / "predictions.csv", parse_dates=["time"])
    b = pd.read_csv(tmp_path / "b" / "predictions.csv", parse_dates=["time"])
    # the split point moves with nothing (same length); forecasts for days up to the cut are unchanged
    last_safe = pd.Timestamp(raw.date.iloc[cut - 1])
    keep = a.time <= last_safe
    pd.testing.assert_frame_equal(a[keep].reset_index(drop=True), b[b.time <= last_safe].reset_index(drop=True))
    assert not np.allclose(a[~keep].predicted, b[b.time > last_safe].predicted)


@pytest.mark.parametrize("args, message", [
    (["--models", "nope"], "unknown model"),
    (["--target", "no_such_column"], "no_such_column"),
    (["--drivers", "air_temp_c,bogus"], "bogus"),
    (["--data", "/nonexistent/file.csv"], "/nonexistent/file.csv"),
    (["--epochs", "0"], "epochs"),
])
def test_bad_options_exit_2_with_one_line(pipeline, tmp_path, capsys, args, message):
    code = main(["run", str(pipeline), "--out", str(tmp_path), "--quiet", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_bad_pipeline_files(tmp_path, capsys):
    (tmp_path / "typo.toml").write_text('name = "x"\n[modle]\nname = "lstm"\n')
    assert main(["run", str(tmp_path / "typo.toml")]) == 2
    assert "modle" in capsys.readouterr().err
    (tmp_path / "lags.toml").write_text(TOML.format(path="wet.csv").replace("lags = 5", "lags = 500"))
    simulate_wetland(days=120, seed=1).to_csv(tmp_path / "wet.csv", index=False)
    assert main(["run", str(tmp_path / "lags.toml"), "--quiet", "--out", str(tmp_path / "o")]) == 2
    assert "lags" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.toml")]) == 2


def test_subprocess_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "wq", "run", str(tmp_path / "none.toml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_run_with_gated_augmentation(pipeline, tmp_path):
    """[augment] with gate = true: the run completes and the learned model's forecasts stay finite."""
    text = pipeline.read_text() + '\n[augment]\nmethod = "jitter"\nratio = 1.0\ngate = true\n'
    gated = pipeline.parent / "gated.toml"
    gated.write_text(text)
    assert main(["run", str(gated), "--out", str(tmp_path), "--quiet", "--models", "dwt-pca-lstm,persistence"]) == 0
    pred = pd.read_csv(tmp_path / "predictions.csv")
    assert np.isfinite(pred.predicted).all() and set(pred.model) == {"dwt-pca-lstm", "persistence"}


def test_run_with_atrous_wavelet_and_leak_audit(pipeline, tmp_path, capsys):
    """--wavelet-method atrous: the run completes; the audit contrasts it with the whole-series DWT; the
    à trous method has no offline mode (exit 2, one line)."""
    out = tmp_path / "atrous"
    assert main(["run", str(pipeline), "--out", str(out), "--quiet", "--models", "dwt-pca-lstm,persistence",
                 "--wavelet-method", "atrous", "--audit-leak"]) == 0
    audit = pd.read_csv(out / "leak_audit.csv")
    assert set(audit["wavelet_mode"]) == {"causal", "offline"} and set(audit["model"]) == {"dwt-pca-lstm"}
    assert 'method = "atrous"' in (out / "pipeline.toml").read_text()
    assert "à trous" in (out / "report.md").read_text()
    code = main(["run", str(pipeline), "--out", str(tmp_path / "x"), "--quiet", "--wavelet-method", "atrous",
                 "--wavelet-mode", "offline"])
    err = capsys.readouterr().err
    assert code == 2 and "causal only" in err and "Traceback" not in err
