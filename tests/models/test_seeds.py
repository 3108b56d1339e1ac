"""Seed ensembles (issue 12 item 3): ``[model] seeds = K`` trains K networks as one batched network whose
forecast is the mean of the K; each member differs, saves and loads as plain tensors."""

import numpy as np
import pytest
import torch

from wq.errors import ConfigError
from wq.models.registry import load_model, make_model
from wq.models.seeds import StackedNet

TARGETS, DRIVERS = ["cod_out_mgl"], ["air_temp_c", "rain_mm", "inflow_m3d"]


@pytest.mark.parametrize("name", ["lstm", "dwt-pca-gru", "bpnn"])
def test_seed_ensemble_fits_one_batched_network_and_round_trips(wetland, tmp_path, name):
    model = make_model(name, targets=TARGETS, drivers=DRIVERS, horizon=2, seed=1,
                       model={"seeds": 3, "epochs": 4, "patience": 2, "hidden": 5})
    model.fit(wetland.iloc[:200])
    net = model.components_[0][3].model_
    assert isinstance(net, StackedNet) and net.w_out.shape[0] == 3
    out = model.predict_array(wetland, wetland.index[199:260])
    assert out.shape == (61, 2, 1) and np.isfinite(out).all()
    if hasattr(net, "w_ih"):  # the forecast is the mean of the K members, and the members differ
        x = torch.randn(4, 5, net.w_ih.shape[1])
        z = torch.randn(4, net.w_out.shape[1] - net.hidden)
        every = net.forward_all(x, z)
        torch.testing.assert_close(net(x, z), every.mean(dim=0))
        assert not torch.allclose(every[0], every[1])
    back = load_model(model.save(tmp_path / name))
    np.testing.assert_array_equal(back.predict_array(wetland, wetland.index[199:260]), out)


def test_seed_ensemble_of_multilayer_networks_is_a_config_error():
    with pytest.raises(ConfigError, match="layers = 1"):
        make_model("lstm", targets=TARGETS, model={"seeds": 4, "layers": 2})
