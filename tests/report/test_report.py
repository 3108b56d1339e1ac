"""Report: Markdown tables, figures, report.md content and input checks."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from wq.errors import DataError
from wq.evaluate.metrics import METRICS, all_metrics
from wq.report import figures as F
from wq.report import markdown_table, model_colours, write_report
from wq.report.tables import column_decimals, format_cell

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- helpers


def make_frames(
    models: list[str], targets: list[str], n: int = 60, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions and their metrics; model i has noise sd 0.2 * (i + 1): earlier is better."""
    rng = np.random.default_rng(seed)
    time_ = pd.date_range("2024-01-01", periods=n, freq="D", name="time")
    preds, rows = [], []
    for target in targets:
        y = 10 + 3 * np.sin(np.arange(n) / 5) + rng.gamma(2.0, 0.5, n)
        for i, m in enumerate(models):
            f = y + rng.normal(0, 0.2 * (i + 1), n)
            preds.append(
                pd.DataFrame(
                    {"time": time_, "model": m, "target": target, "observed": y, "predicted": f}
                )
            )
            rows.append({"model": m, "target": target, **all_metrics(y, f), "fit_seconds": 0.5 * i})
    return pd.DataFrame(rows), pd.concat(preds, ignore_index=True)


def make_audit(metrics: pd.DataFrame) -> pd.DataFrame:
    causal = metrics.assign(wavelet_mode="causal")
    offline = metrics.assign(wavelet_mode="offline", MAPE=metrics["MAPE"] * 0.5)
    return pd.concat([causal, offline], ignore_index=True)


def first_table(text: str, heading: str) -> list[list[str]]:
    block = text.split(heading, 1)[1].lstrip("\n")
    rows = []
    for ln in block.splitlines():
        if not ln.startswith("|"):
            if rows:
                break
            continue
        if set(ln) <= set("|-: "):
            continue
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    return rows


@pytest.fixture
def no_figures(monkeypatch):
    """Stub out the plotting for tests about report.md text only (keeps the suite fast)."""

    def stub(frame, target, path, colours):
        Path(path).write_bytes(PNG_MAGIC)
        return Path(path)

    for name in ("plot_forecasts", "plot_scatter", "plot_residuals", "plot_mape_bars", "plot_lead_time"):
        monkeypatch.setattr(F, name, stub)


MODELS = ["dwt-pca-lstm", "lstm", "persistence"]
TARGETS = ["water_demand_mgd", "nh4_mg_l"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    metrics, preds = make_frames(MODELS, TARGETS)
    # shuffle rows: the report must sort, not rely on input order
    metrics = metrics.sample(frac=1.0, random_state=1).reset_index(drop=True)
    out = tmp_path_factory.mktemp("report")
    path = write_report(
        out,
        metrics,
        preds,
        "Test report",
        notes=["data: simulated", "split: 60/20/20"],
        sections=[("Settings", "`lags = 7`"), ("Remarks", "All good.")],
        audit=make_audit(metrics),
    )
    return path, metrics, preds


# ----------------------------------------------------------------------------- tables


def test_markdown_table_exact_text():
    df = pd.DataFrame({"model": ["a", "b"], "MAPE": [1.234, 10.5], "R": [0.9, 0.95]})
    text = markdown_table(df, bold_best={"MAPE": "min", "R": "max"}, decimals={"MAPE": 2, "R": 3})
    assert text == (
        "| model |     MAPE |         R |\n"
        "| ----- | -------: | --------: |\n"
        "| a     | **1.23** |     0.900 |\n"
        "| b     |    10.50 | **0.950** |\n"
    )


def test_markdown_table_bold_ties_after_rounding_and_nan():
    df = pd.DataFrame({"m": ["a", "b", "c"], "x": [1.0001, 1.0002, np.nan]})
    text = markdown_table(df, bold_best={"x": "min"}, decimals={"x": 2})
    assert text.count("**1.00**") == 2
    assert "n/a" in text


def test_markdown_table_escapes_and_rules():
    df = pd.DataFrame({"name": ["a|b"], "n": [3]})
    text = markdown_table(df)
    assert text == "| name |   n |\n| ---- | --: |\n| a\\|b |   3 |\n"
    with pytest.raises(KeyError, match="nope"):
        markdown_table(df, bold_best={"nope": "min"})
    with pytest.raises(ValueError, match="'min' or 'max'"):
        markdown_table(df, bold_best={"n": "best"})


def test_column_decimals_and_format_cell():
    assert column_decimals(pd.Series([0.98765, 0.5])) == 4
    assert column_decimals(pd.Series([1234.5])) == 0
    assert column_decimals(pd.Series([12.3, -45.6])) == 2
    assert column_decimals(pd.Series([3, 4])) == 0
    assert format_cell(-0.0001, 2) == "0.00"
    assert format_cell(float("nan")) == "n/a"
    assert format_cell(float("inf"), 1) == "inf"


# ----------------------------------------------------------------------------- figure helpers


def test_model_colours_fixed_and_consistent():
    a = model_colours(["dwt-pca-lstm", "lstm", "my-model"])
    b = model_colours(["my-model", "persistence", "DWT_PCA_LSTM"])
    assert a["dwt-pca-lstm"] == b["DWT_PCA_LSTM"] == "#d62728"
    assert a["my-model"] == b["my-model"]  # same name, same colour, whatever the company
    many = model_colours([f"model-{i}" for i in range(12)] + MODELS)
    assert len(set(many.values())) == len(many)  # distinct within one report


def test_axis_label_units_from_column_name():
    assert F.axis_label("water_demand_mgd") == "water demand [mgd]"
    assert F.axis_label("nh4_mg_l") == "nh4 [mg/L]"
    assert F.axis_label("flow (m3/h)") == "flow [m3/h]"
    assert F.axis_label("turbidity") == "turbidity"
    assert F.axis_label("water_demand_mgd", "residual") == "residual [mgd]"


def test_zoom_window_around_maximum():
    y = np.zeros(100)
    y[50] = 5.0
    assert F.zoom_window(y, half_width=3) == slice(47, 54)
    y[50], y[1] = 0.0, 5.0  # near the start: shifted inside
    assert F.zoom_window(y, half_width=3) == slice(0, 7)
    assert F.zoom_window(np.arange(10.0)) == slice(0, 10)  # default half width 7 > series


# ----------------------------------------------------------------------------- report files


def test_files_written_and_pngs_valid(report):
    path, _, _ = report
    assert path.name == "report.md" and path.is_file()
    pngs = sorted((path.parent / "figures").glob("*.png"))
    assert [p.name for p in pngs] == sorted(
        f"{t}_{k}.png" for t in TARGETS for k in ("forecasts", "scatter", "residuals", "mape")
    )
    for p in pngs:
        raw = p.read_bytes()
        assert raw[:8] == PNG_MAGIC and len(raw) > 5000
        with Image.open(p) as im:
            im.verify()
        with Image.open(p) as im:
            w, h = im.size
            assert w > 400 and h > 300
            assert len(im.getcolors(maxcolors=1 << 20) or []) > 10  # not a blank canvas


def test_report_links_every_figure(report):
    path, _, _ = report
    text = path.read_text()
    links = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", text)
    assert len(links) == 8
    for rel in links:
        assert (path.parent / rel).is_file()


def test_table_has_every_model_sorted_by_mape_with_bold_best(report):
    path, metrics, _ = report
    text = path.read_text()
    for target in TARGETS:
        rows = first_table(text, f"### {target}\n")
        header, body = rows[0], rows[1:]
        assert header == ["model", *METRICS, "fit_seconds"]
        assert sorted(r[0] for r in body) == sorted(MODELS)
        sub = metrics[metrics["target"] == target].set_index("model")
        order = sub["MAPE"].sort_values().index.tolist()
        assert [r[0] for r in body] == order
        for j, col in enumerate(header[1:-1], start=1):
            bold = [r[0] for r in body if r[j].startswith("**")]
            best = sub[col].idxmin() if col in ("MAPE", "pMAPE", "RMSE", "MAE") else sub[col].idxmax()
            assert best in bold, (target, col)
        assert not any(r[-1].startswith("**") for r in body)  # fit time is not skill


def test_title_notes_sections_in_order(report):
    path, _, _ = report
    text = path.read_text()
    assert text.startswith("# Test report\n")
    keys = ["- data: simulated", "- split: 60/20/20", "## Metrics", "## Figures",
            "## Settings", "`lags = 7`", "## Remarks", "## Leakage audit"]  # fmt: skip
    positions = [text.index(k) for k in keys]
    assert positions == sorted(positions)


def test_audit_section_side_by_side(report):
    path, metrics, _ = report
    text = path.read_text()
    audit = text.split("## Leakage audit", 1)[1]
    assert "Quilty & Adamowski 2018" in audit and "future" in audit
    rows = first_table(audit, f"### {TARGETS[0]}\n")
    assert rows[0][:3] == ["model", "MAPE causal", "MAPE offline"]
    assert sorted(r[0] for r in rows[1:]) == sorted(MODELS)
    sub = metrics[metrics["target"] == TARGETS[0]].set_index("model")
    for r in rows[1:]:
        causal, offline = float(r[1]), float(r[2])
        assert causal == pytest.approx(sub.loc[r[0], "MAPE"], abs=0.006)
        assert offline == pytest.approx(causal / 2, abs=0.01)
    assert "lower MAPE than causal denoising for 6 of 6" in audit


def test_no_audit_section_without_audit(tmp_path, no_figures):
    metrics, preds = make_frames(MODELS[:2], TARGETS[:1], n=30)
    text = write_report(tmp_path, metrics, preds, "No audit").read_text()
    assert "Leakage audit" not in text and "Quilty" not in text


def test_deterministic_text(tmp_path, no_figures):
    metrics, preds = make_frames(MODELS[:2], TARGETS[:1], n=30)
    a = write_report(tmp_path / "a", metrics, preds, "T", notes=["n"], audit=make_audit(metrics))
    b = write_report(tmp_path / "b", metrics, preds, "T", notes=["n"], audit=make_audit(metrics))
    assert a.read_text() == b.read_text()
    assert a.read_bytes().endswith(b"\n") and b"\r" not in a.read_bytes()


def test_single_model_integer_time_and_nan_prediction(tmp_path):
    preds = pd.DataFrame(
        {"time": np.arange(6), "model": "m", "target": "DO (mg/L)",
         "observed": [1.0, 2.0, 3.0, 2.0, 1.0, 2.0], "predicted": [1.1, 2.0, np.nan, 2.1, 1.0, 2.0]}
    )  # fmt: skip
    metrics = pd.DataFrame(
        [{"model": "m", "target": "DO (mg/L)", **dict.fromkeys(METRICS, 0.5), "fit_seconds": 0.0}]
    )
    path = write_report(tmp_path, metrics, preds, "One")
    text = path.read_text()
    assert "**" not in first_table(text, "### DO (mg/L)\n")[1][1]  # nothing to compare with
    assert len(list((tmp_path / "figures").glob("DO_mg_L_*.png"))) == 4


# ----------------------------------------------------------------------------- multi-step


def make_steps(models: list[str], targets: list[str], steps: int = 3, n: int = 40):
    """Metrics and predictions per step: step s of model i has noise sd 0.2 * (i + 1) * s."""
    rng = np.random.default_rng(3)
    metrics, preds = [], []
    origin = pd.date_range("2024-01-01", periods=n, freq="D")
    y = pd.Series(10 + 3 * np.sin(np.arange(n + steps) / 5),
                  index=pd.date_range("2024-01-01", periods=n + steps, freq="D"))
    for target in targets:
        for i, m in enumerate(models):
            for s in range(1, steps + 1):
                time_ = origin + pd.Timedelta(days=s)
                obs = y.loc[time_].to_numpy()
                f = obs + rng.normal(0, 0.2 * (i + 1) * s, n)
                preds.append(pd.DataFrame({"time": time_, "origin": origin, "step": s, "model": m,
                                           "target": target, "observed": obs, "predicted": f}))
                metrics.append({"model": m, "target": target, "step": s, **all_metrics(obs, f), "fit_seconds": 1.0})
    return pd.DataFrame(metrics), pd.concat(preds, ignore_index=True)


def test_multi_step_report_has_a_table_per_step_and_step_one_figures(tmp_path, no_figures):
    metrics, preds = make_steps(MODELS, TARGETS)
    audit = make_audit(metrics[metrics["model"] != "persistence"])
    text = write_report(tmp_path, metrics, preds, "Three steps", audit=audit).read_text()
    for t in TARGETS:
        for s in (1, 2, 3):
            rows = first_table(text, f"#### {t}, step {s}\n")  # metrics table of the step
            sub = metrics[(metrics.target == t) & (metrics.step == s)].set_index("model")
            assert [r[0] for r in rows[1:]] == sub["MAPE"].sort_values().index.tolist()
            assert float(rows[1][1].strip("*")) == pytest.approx(sub["MAPE"].min(), abs=0.006)
            audit_rows = first_table(text.split("## Leakage audit", 1)[1], f"#### {t}, step {s}\n")
            assert sorted(r[0] for r in audit_rows[1:]) == sorted(MODELS[:2])
        assert f"](figures/{t}_lead_time.png)" in text and (tmp_path / "figures" / f"{t}_lead_time.png").is_file()
        assert "**Observed vs predicted per model, 1:1 line (step 1).**" in text
    assert "model/target/step triples" in text and "Step s is the forecast made s steps ahead" in text


def test_multi_step_figures_draw_step_one(tmp_path, monkeypatch):
    metrics, preds = make_steps(MODELS[:2], TARGETS[:1])
    drawn = {}

    def spy(frame, target, path, colours):
        drawn[Path(path).stem] = frame.copy()
        Path(path).write_bytes(PNG_MAGIC)
        return Path(path)

    for name in ("plot_forecasts", "plot_scatter", "plot_residuals", "plot_mape_bars"):
        monkeypatch.setattr(F, name, spy)
    write_report(tmp_path, metrics, preds, "x")
    t = TARGETS[0]
    for kind in ("forecasts", "scatter", "residuals"):
        assert (drawn[f"{t}_{kind}"]["step"] == 1).all() and len(drawn[f"{t}_{kind}"]) == 2 * 40
    assert (drawn[f"{t}_mape"]["step"] == 1).all() and len(drawn[f"{t}_mape"]) == 2
    lead = tmp_path / "figures" / f"{t}_lead_time.png"  # the real figure
    with Image.open(lead) as im:
        im.verify()
    with Image.open(lead) as im:
        assert im.size[0] > 400 and len(im.getcolors(maxcolors=1 << 20) or []) > 10


def test_one_step_report_has_no_lead_time_figure(tmp_path, no_figures):
    metrics, preds = make_steps(MODELS[:2], TARGETS[:1], steps=1)
    text = write_report(tmp_path, metrics, preds, "x").read_text()
    assert "lead time" not in text and "step 1" not in text and "####" not in text


# ----------------------------------------------------------------------------- bad input


def test_bad_step_column_named(tmp_path):
    metrics, preds = make_steps(MODELS[:1], TARGETS[:1])
    bad = metrics.astype({"step": object})
    bad.loc[1, "step"] = "two"
    with pytest.raises(DataError, match=r"metrics column 'step' must hold integers >= 1; row 1 has 'two'"):
        write_report(tmp_path, bad, preds, "x")
    with pytest.raises(DataError, match="predictions column 'step'"):
        write_report(tmp_path, metrics, preds.assign(step=0), "x")
    with pytest.raises(DataError, match="give a 'step' column for multi-step metrics"):
        write_report(tmp_path, metrics.drop(columns="step"), preds, "x")



def test_missing_column_named(tmp_path):
    metrics, preds = make_frames(MODELS[:1], TARGETS[:1], n=20)
    with pytest.raises(DataError, match=r"metrics lacks column\(s\) \['KGE'\]"):
        write_report(tmp_path, metrics.drop(columns="KGE"), preds, "x")
    with pytest.raises(DataError, match=r"predictions lacks column\(s\) \['observed'\]"):
        write_report(tmp_path, metrics, preds.drop(columns="observed"), "x")


def test_duplicate_predictions_rejected(tmp_path):
    metrics, preds = make_frames(MODELS[:1], TARGETS[:1], n=20)
    with pytest.raises(DataError, match="one forecast per time"):
        write_report(tmp_path, metrics, pd.concat([preds, preds.iloc[:1]]), "x")


def test_inconsistent_observed_rejected(tmp_path):
    metrics, preds = make_frames(MODELS[:2], TARGETS[:1], n=20)
    preds.loc[0, "observed"] += 1.0
    with pytest.raises(DataError, match="disagree on the observed"):
        write_report(tmp_path, metrics, preds, "x")


def test_bad_audit_mode_rejected(tmp_path):
    metrics, preds = make_frames(MODELS[:1], TARGETS[:1], n=20)
    audit = make_audit(metrics).replace({"wavelet_mode": {"offline": "centred"}})
    with pytest.raises(DataError, match="wavelet_mode"):
        write_report(tmp_path, metrics, preds, "x", audit=audit)
    with pytest.raises(DataError, match="lacks column"):
        write_report(tmp_path, metrics, preds, "x", audit=metrics)


# ----------------------------------------------------------------------------- real data


FORT_COLLINS = DATA / "fort_collins_water_demand" / "fort_collins_daily_water_weather.csv"


@pytest.mark.skipif(not FORT_COLLINS.is_file(), reason="shared data absent")
def test_report_on_fort_collins_baselines(tmp_path):
    frame = pd.read_csv(FORT_COLLINS, parse_dates=["date"]).tail(128)
    y = frame["water_demand_mgd"].to_numpy(dtype=float)
    t = frame["date"].to_numpy()
    obs = y[7:]
    forecasts = {"persistence": y[6:-1], "seasonal-naive": y[:-7]}
    preds = pd.concat(
        pd.DataFrame({"time": t[7:], "model": m, "target": "water_demand_mgd",
                      "observed": obs, "predicted": f})
        for m, f in forecasts.items()
    )  # fmt: skip
    metrics = pd.DataFrame(
        [{"model": m, "target": "water_demand_mgd", **all_metrics(obs, f), "fit_seconds": 0.0}
         for m, f in forecasts.items()]
    )  # fmt: skip
    text = write_report(tmp_path, metrics, preds, "Fort Collins baselines").read_text()
    rows = first_table(text, "### water_demand_mgd\n")
    assert {r[0] for r in rows[1:]} == set(forecasts)
    assert (tmp_path / "figures" / "water_demand_mgd_forecasts.png").stat().st_size > 5000
