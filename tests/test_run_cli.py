"""`wq run` end to end on small simulated data: outputs, reproducibility, causality of the pipeline, multi-step
forecasts, outputs swapped in whole (an interrupted run leaves the previous report), and one-line errors with
exit 2 for bad pipelines and options."""

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
    assert list(metrics.columns) == ["model", "target", "step", "MAPE", "pMAPE", "EVS", "R", "RMSE", "MAE", "NSE",
                                     "KGE", "fit_seconds", "n", "skipped",  # then the intervals ([evaluate] levels)
                                     "coverage_80", "width_80", "interval_score_80", "coverage_95", "width_95",
                                     "interval_score_95", "pinball", "CRPS"]
    assert (metrics.skipped == 0).all() and (metrics.n > 0).all()
    assert set(metrics.model) == {"dwt-pca-lstm", "persistence", "hgb"}
    assert len(metrics) == 6 and (metrics.step == 1).all()
    pred = pd.read_csv(tmp_path / "a" / "predictions.csv", parse_dates=["time", "origin"])
    assert list(pred.columns) == ["time", "origin", "step", "model", "target", "observed", "predicted",
                                  "lower_80", "upper_80", "lower_95", "upper_95"]
    assert (pred.step == 1).all() and (pred.time - pred.origin == pd.Timedelta(days=1)).all()
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
    (["--threads", "-3"], "--threads"),
    (["--threads", "two"], "--threads"),
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


# -- multi-step ------------------------------------------------------------------------------------------------
def test_horizon_3_end_to_end_with_leak_audit(pipeline, tmp_path):
    """horizon = 3: metrics per model, target and step; a table per step and a lead-time figure per target;
    the figures of step 1; the leak audit per step."""
    text = pipeline.read_text().replace("patience = 2", "patience = 2\nhorizon = 3")
    h3 = pipeline.parent / "h3.toml"
    h3.write_text(text)
    out = tmp_path / "h3"
    assert main(["run", str(h3), "--out", str(out), "--quiet", "--audit-leak",
                 "--models", "persistence,hgb,dwt-pca-lstm"]) == 0
    metrics = pd.read_csv(out / "metrics.csv")
    assert not metrics.duplicated(["model", "target", "step"]).any()
    assert len(metrics) == 3 * 2 * 3
    assert all(sorted(g) == [1, 2, 3] for _, g in metrics.groupby(["model", "target"])["step"])
    # every step of every model is scored on the test times it reaches (origins in the test period, or the
    # last training row), so no step holds a training-period time
    pred = pd.read_csv(out / "predictions.csv", parse_dates=["time", "origin"])
    assert list(pred.columns) == ["time", "origin", "step", "model", "target", "observed", "predicted",
                                  "lower_80", "upper_80", "lower_95", "upper_95"]
    assert ((pred.time - pred.origin).dt.days == pred.step).all()
    first_test = pred[pred.step == 1].time.min()
    assert pred.time.min() == first_test and pred.origin.min() == first_test - pd.Timedelta(days=1)
    pers = pred[pred.model == "persistence"].pivot_table(index=["origin", "target"], columns="step",
                                                          values="predicted")
    assert np.allclose(pers[1], pers[2]) and np.allclose(pers[1], pers[3])  # y(t+s) = y(t) for every s
    # persistence's step-1 errors grow to step 3 on this smooth series; its MAE as written
    mae = metrics[metrics.model == "persistence"].set_index(["target", "step"])["MAE"]
    assert (mae.xs(3, level="step") > mae.xs(1, level="step")).all()
    report = (out / "report.md").read_text()
    for target in ("cod_out_mgl", "nh3n_out_mgl"):
        for step in (1, 2, 3):
            assert report.count(f"#### {target}, step {step}\n") == 2  # metrics table and leak-audit table
        figure = out / "figures" / f"{target}_lead_time.png"
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 5000
        assert f"](figures/{target}_lead_time.png)" in report
        assert f"{target}: Observed and predicted over the test period, with a zoom on the highest peak (step 1)" \
            in report
    assert "Horizon 3" in report and "model/target/step triples" in report
    audit = pd.read_csv(out / "leak_audit.csv")
    assert set(audit.wavelet_mode) == {"causal", "offline"} and sorted(audit.step.unique()) == [1, 2, 3]
    assert set(audit.model) == {"dwt-pca-lstm"} and len(audit) == 2 * 2 * 3


# -- outputs swapped in whole ------------------------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fault, code", [(KeyboardInterrupt, 130), (OSError(28, "No space left on device"), 1)])
def test_a_failure_while_writing_leaves_the_previous_report_and_no_debris(pipeline, tmp_path, monkeypatch,
                                                                          fault, code):
    from wq.report import figures

    out = tmp_path / "out"
    assert main(["run", str(pipeline), "--out", str(out), "--quiet", "--models", "persistence"]) == 0
    before = snapshot(out)

    def broken(*args, **kwargs):
        raise fault

    monkeypatch.setattr(figures, "plot_scatter", broken)  # after metrics.csv, predictions.csv, one figure
    assert main(["run", str(pipeline), "--out", str(out), "--quiet", "--models", "seasonal-naive"]) == code
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no hidden temporary folder left


def test_a_new_run_replaces_the_whole_folder(pipeline, tmp_path):
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "stale.png").write_bytes(b"old")
    (out / "leak_audit.csv").write_text("old")
    assert main(["run", str(pipeline), "--out", str(out), "--quiet", "--models", "persistence"]) == 0
    assert not (out / "leak_audit.csv").exists() and not (out / "figures" / "stale.png").exists()
    assert (out / "report.md").is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_out_naming_a_file_exits_2_before_any_fitting(pipeline, tmp_path, monkeypatch, capsys):
    import wq.evaluate.backtest as backtest

    fitted = []
    monkeypatch.setattr(backtest, "_fit", lambda model, *a, **k: fitted.append(model))
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    assert main(["run", str(pipeline), "--out", str(target), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(target) in err and "not a folder" in err and err.count("\n") == 1
    assert fitted == [] and target.read_text() == "keep me"
    assert main(["run", str(pipeline), "--out", str(target / "sub"), "--quiet"]) == 2  # a file on the way
    assert fitted == [] and sorted(p.name for p in tmp_path.iterdir()) == ["results.txt"]


def test_metric_warnings_are_one_plain_line_and_noted_in_the_report(pipeline, tmp_path, capsys):
    """Zeros in the test period: MAPE skips them with a MetricWarning, shown as 'wq: warning: ...' naming the
    model, target and step, and listed in report.md's notes."""
    raw = pd.read_csv(pipeline.parent / "wet.csv")
    raw.loc[len(raw) - 20:len(raw) - 18, "nh3n_out_mgl"] = 0.0
    raw.to_csv(tmp_path / "zeros.csv", index=False)
    out = tmp_path / "out"
    assert main(["run", str(pipeline), "--data", str(tmp_path / "zeros.csv"), "--out", str(out), "--quiet",
                 "--models", "persistence"]) == 0
    err = capsys.readouterr().err.splitlines()
    shown = [ln for ln in err if "skipped" in ln]
    assert shown and all(ln.startswith("wq: warning: model persistence, target nh3n_out_mgl, step 1: MAPE")
                         or ln.startswith("wq: warning: model persistence, target nh3n_out_mgl, step 1: pMAPE")
                         for ln in shown)
    assert not any("MetricWarning" in ln or "warnings.warn" in ln for ln in err)
    report = (out / "report.md").read_text()
    assert "- Metric warning: model persistence, target nh3n_out_mgl, step 1: MAPE: skipped 3 observation(s) " \
           "equal to zero" in report


def test_show_warning_is_one_plain_line(capsys):
    import warnings

    from wq.cli import show_warning
    from wq.evaluate.metrics import MetricWarning

    show_warning(MetricWarning("R is undefined:\n  constant\tinput"), MetricWarning, "x.py", 3)
    show_warning(RuntimeWarning("overflow"), RuntimeWarning, "y.py", 4)
    assert capsys.readouterr().err.splitlines() == ["wq: warning: R is undefined: constant input",
                                                    "wq: warning: RuntimeWarning: overflow"]
    assert warnings.showwarning is not show_warning  # main() installs it only while a command runs


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


def test_a_reader_closing_the_pipe_ends_a_command_quietly_with_141():
    """`wq forecast ... | head -1`: a closed stdout is not an error (Unix tools exit quietly)."""
    import subprocess
    import sys

    script = ("import argparse, sys\n"
              "from wq.cli import dispatch\n"
              "p = argparse.ArgumentParser()\n"
              "p.set_defaults(func=lambda a: [print('x' * 80) for _ in range(200000)] and 0)\n"
              "sys.exit(dispatch(p, []))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `head -1` does
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert first.startswith(b"x") and err == b""
