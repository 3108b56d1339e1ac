"""[compare.variants]: `wq run` fits the named models again with changed settings and reports them beside the
models as declared, on validation and test; a variant's numbers are those of a run declared with its settings."""

import numpy as np
import pandas as pd
import pytest
import tomli_w
import torch

from wq.cli import main
from wq.config import Pipeline
from wq.data.simulate import simulate_wetland
from wq.errors import ConfigError
from wq.evaluate.variants import DECLARED, variant_table
from wq.run import run_pipeline

torch.set_num_threads(1)


def table(data):
    return {"name": "tiny-variants", "seed": 3,
            "data": {"path": str(data), "time": "date", "target": ["cod_out_mgl", "tp_out_mgl"],
                     "drivers": ["air_temp_c", "inflow_m3d", "cod_in_mgl"], "freq": "D"},
            "preprocess": {"outliers": False, "moving_average": False, "wavelet": False, "pca": False},
            "model": {"name": "mlr", "lags": 4, "epochs": 3, "hidden": 4, "patience": 2},
            "compare": {"models": ["persistence", "bpnn"],
                        "variants": {"ma": {"models": ["mlr", "bpnn"],
                                            "settings": {"preprocess.moving_average": {"window": 3}}}}}}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("variants")
    data = work / "wetland.csv"
    simulate_wetland(days=240, seed=4, missing=False).to_csv(data, index=False)
    path = work / "tiny.toml"
    path.write_text(tomli_w.dumps(table(data)))
    assert main(["run", str(path), "--out", str(work / "out"), "--quiet"]) == 0
    return work, data


def test_variants_are_reported_beside_the_declared_models(run):
    work, _ = run
    out = work / "out"
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics["model"]) == {"mlr", "persistence", "bpnn", "mlr/ma", "bpnn/ma"}
    periods = pd.read_csv(out / "variants.csv")
    assert set(periods["period"]) == {"validation", "test"}
    labels = set(zip(periods["model"], periods["variant"]))
    assert labels == {("mlr", DECLARED), ("persistence", DECLARED), ("bpnn", DECLARED), ("mlr", "ma"), ("bpnn", "ma")}
    assert np.isfinite(periods["MAPE"]).all()
    test = periods[(periods["period"] == "test") & (periods["variant"] == "ma") & (periods["model"] == "mlr")]
    expected = metrics[metrics["model"] == "mlr/ma"]
    np.testing.assert_allclose(test.sort_values("target")["MAPE"], expected.sort_values("target")["MAPE"], rtol=1e-5)
    report = (out / "report.md").read_text()
    assert "## Variants: validation and test" in report and "| mlr " in report
    wide = variant_table(periods)
    assert set(wide["model"]) == {"mlr", "bpnn"} and len(wide) == 4
    row = wide.iloc[0]
    assert row["test change"] == pytest.approx(row["test variant"] - row["test declared"])


def test_a_variant_scores_as_a_run_declared_with_its_settings(run):
    work, data = run
    raw = table(data)
    raw["preprocess"]["moving_average"] = {"window": 3}
    raw["compare"] = {"models": []}
    alone = run_pipeline(Pipeline.from_dict(raw), out_dir=work / "alone")
    variant = pd.read_csv(work / "out" / "metrics.csv")
    a = alone.metrics.set_index("target")["MAPE"]
    b = variant[variant["model"] == "mlr/ma"].set_index("target")["MAPE"]
    np.testing.assert_allclose(a.sort_index(), b.sort_index(), rtol=1e-5)


def test_bad_variants_fail_at_load(run):
    _, data = run
    raw = table(data)
    bad = [({"x y": {"models": ["mlr"], "settings": {"model.lags": 3}}}, "variant name"),
           ({"v": {"models": ["lstm"], "settings": {"model.lags": 3}}}, "not models of the run"),
           ({"v": {"models": ["mlr"], "settings": {"split.test": 0.3}}}, "only model"),
           ({"v": {"models": ["mlr"], "settings": {"model.lagz": 3}}}, "lagz"),
           ({"v": {"models": ["mlr"], "settings": {}}}, "settings")]
    for variants, message in bad:
        with pytest.raises(ConfigError, match=message):
            Pipeline.from_dict({**raw, "compare": {"models": [], "variants": variants}})
