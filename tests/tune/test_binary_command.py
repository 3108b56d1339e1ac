"""`wq tune` with the binary-coded GA, end to end on a tiny simulated wetland: [tune] encoding and --encoding."""

import numpy as np
import pandas as pd
import pytest
import tomli_w
import torch

from wq.cli import main
from wq.config import Pipeline
from wq.data.simulate import simulate_wetland
from wq.errors import ConfigError
from wq.tune import Param, Space
from wq.tune.encoding import Coding

torch.set_num_threads(1)
SPACE = {"model.lags": {"low": 3, "high": 8, "type": "int"},
         "model.lr": {"low": 1e-3, "high": 1e-2, "type": "log-float"}}


def write_pipeline(folder, **tune):
    data = folder / "wetland.csv"
    simulate_wetland(days=220, seed=3, missing=False).to_csv(data, index=False)
    raw = {"name": "tiny-binary", "seed": 3,
           "data": {"path": str(data), "time": "date", "target": ["cod_out_mgl"],
                    "drivers": ["air_temp_c", "inflow_m3d"], "freq": "D"},
           "preprocess": {"wavelet": False, "pca": False},
           "model": {"name": "bpnn", "epochs": 3, "hidden": 4, "patience": 2, "lags": 5, "lr": 3e-3},
           "tune": {"population": 4, "generations": 1, "folds": 2, "space": SPACE, **tune}}
    path = folder / "tiny.toml"
    path.write_text(tomli_w.dumps(raw))
    return path


def test_wq_tune_runs_binary_coded(tmp_path, capsys):
    path = write_pipeline(tmp_path, encoding="binary", bits=4)
    out = tmp_path / "out"
    assert main(["tune", str(path), "--out", str(out), "--epochs", "2", "--quiet"]) == 0
    for name in ("best.toml", "logbook.csv", "evaluations.csv", "report.md", "checkpoint.json", "best_run/metrics.csv"):
        assert (out / name).is_file(), name
    ev = pd.read_csv(out / "evaluations.csv")
    assert np.isfinite(ev["fitness"]).all() and (ev["generation"] == 0).sum() == 4
    coding = Coding(Space((Param("model__lags", "int", 3, 8), Param("model__lr", "log-float", 1e-3, 1e-2))),
                    "binary", 4)
    assert set(ev["model__lags"]) <= set(coding.grid(0))
    assert all(any(np.isclose(v, g, rtol=1e-9) for g in coding.grid(1)) for v in ev["model__lr"])
    best = Pipeline.load(out / "best.toml")
    assert best.tune.encoding == "binary" and best.tune.bits == 4
    row = ev.loc[ev["fitness"].idxmin()]
    assert best.model.lags == row["model__lags"]


def test_encoding_flag_and_bad_combinations(tmp_path, capsys):
    path = write_pipeline(tmp_path)
    out = tmp_path / "flag"
    assert main(["tune", str(path), "--out", str(out), "--epochs", "2", "--quiet", "--encoding", "binary",
                 "--bits", "3", "--max-evals", "3"]) == 0
    assert Pipeline.load(out / "best.toml").tune.encoding == "binary"
    assert main(["tune", str(write_pipeline(tmp_path, crossover="blend")), "--encoding", "binary", "--out",
                 str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "crossover" in err[0] and "binary" in err[0]
    with pytest.raises(ConfigError, match="bits"):
        Pipeline.load(path).with_params(tune__bits=0)
