"""``wq train`` honours ``[augment]`` (issue 15 item 4): synthetic windows in the artifact's fit, recorded in the
manifest with whether the validation gate kept them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wq.batch.artifact import read_artifact
from wq.batch.train import train_artifact
from wq.config import Pipeline
from wq.data.simulate import simulate_wetland

TOML = """
name = "tiny-aug"
seed = 3
[data]
path = "{path}"
time = "date"
target = ["cod_out_mgl"]
drivers = ["air_temp_c", "rain_mm", "inflow_m3d"]
calendar = ["day_of_week"]
freq = "D"
fill_limit = 7
[split]
validation = 0.2
[model]
name = "hgb"
lags = 5
horizon = 1
[augment]
method = "{method}"
ratio = 1.0
gate = {gate}
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("train_aug") / "wetland.csv"
    simulate_wetland(days=150, seed=2).to_csv(path, index=False)
    return path


def train(tmp_path: Path, data: Path, method: str, gate: bool):
    toml = tmp_path / f"{method}-{gate}.toml"
    toml.write_text(TOML.format(path=data.as_posix(), method=method, gate=str(gate).lower()))
    res = train_artifact(Pipeline.load(toml), tmp_path / f"art-{method}-{gate}")
    return res, read_artifact(res.path).meta["augment"]


def test_artifact_records_the_augmentation_used_in_its_fit(tmp_path, data):
    plain, rec0 = train(tmp_path, data, "none", False)
    jit, rec = train(tmp_path, data, "jitter", False)
    assert rec0 == {"method": "none"}
    assert rec["method"] == "jitter" and rec["ratio"] == 1.0 and rec["gate"] is False and rec["used"] is True
    assert rec["n_synthetic"] == rec["n_real"] > 50 and jit.model.augmented_ == rec["n_synthetic"]
    frame = plain.frame
    at = frame.index[-20:-1]
    assert not np.allclose(plain.model.predict_array(frame, at), jit.model.predict_array(frame, at))


def test_gate_decision_is_in_the_manifest_and_matches_the_model(tmp_path, data):
    res, rec = train(tmp_path, data, "jitter", True)
    assert rec["gate"] is True and {"val_MAPE_with", "val_MAPE_without"} <= set(rec)
    assert rec["used"] == (rec["val_MAPE_with"] < rec["val_MAPE_without"])
    assert (res.model.augmented_ > 0) == rec["used"]
