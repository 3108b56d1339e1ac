"""Every pipeline shipped in pipelines/ loads (typed tables validated) and, where its data is present (the
shared datasets beside the repository), its ``[data]`` table reads: targets with values, enough rows for the
split, the declared model buildable. Skips the data part cleanly when the files are absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wq.config import Pipeline
from wq.data import load

PIPELINES = sorted((Path(__file__).resolve().parents[1] / "pipelines").glob("*.toml"))
DATASET_PIPELINES = {"fort_collins", "dhi_inflow", "uci_plant", "melbourne_wwtp", "tilburg_wwtp",
                     "nerrs_old_woman_creek", "chicago_beach"}


def test_a_pipeline_for_every_shared_dataset():
    assert DATASET_PIPELINES <= {p.stem for p in PIPELINES}


@pytest.mark.parametrize("path", PIPELINES, ids=[p.stem for p in PIPELINES])
def test_pipeline_loads_and_its_data_reads(path: Path):
    pipe = Pipeline.load(path)
    assert pipe.description, f"{path.name}: say which question the pipeline answers in 'description'"
    pipe.make_model(seed=0)  # the declared model is buildable from the pipeline's settings
    if "path" not in pipe.data.mapping():
        return  # a pipeline for data given on the command line (--data)
    spec = pipe.data_spec()
    if not spec.path.exists() or (spec.drivers_path is not None and not spec.drivers_path.exists()):
        pytest.skip(f"data of {path.name} not present ({spec.path})")
    if spec.site or spec.sites:  # a multi-site pipeline: read by wq.sites.data
        from wq.sites.data import load_sites

        data = load_sites(spec)
        assert (np.isfinite(data.y.to_numpy()).sum(axis=0) >= 100).all(), f"{path.name}: a site has too few values"
        assert int(len(data.y) * pipe.split.test) > pipe.model.horizon, f"{path.name}: test shorter than the horizon"
        return
    loaded = load(spec)
    frame = loaded.frame
    assert list(frame.columns[:len(spec.targets)]) == spec.targets
    for target in spec.targets:
        assert np.isfinite(frame[target].to_numpy()).sum() >= 100, f"{path.name}: {target} has too few values"
    test_rows = int(len(frame) * pipe.split.test)
    assert test_rows >= 50, f"{path.name}: only {test_rows} test rows"
