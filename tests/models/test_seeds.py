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


def test_batched_lstm_equals_torch_lstm_per_member_in_values_and_gradients():
    """The hand-written recurrence (one product per step, own backward pass) is K copies of nn.LSTM."""
    torch.manual_seed(0)
    net = StackedNet(3, "lstm", n_inputs=2, lags=6, n_future=1, n_outputs=1, hidden=4, seed=0).double()
    x = torch.randn(5, 6, 2, dtype=torch.float64)
    last = net._recurrent(x)
    (last * torch.arange(1.0, 5.0, dtype=torch.float64)).sum().backward()
    for m in range(3):
        ref = torch.nn.LSTM(2, 4, batch_first=True).double()
        with torch.no_grad():
            for name, mine in [("weight_ih_l0", net.w_ih[m].T), ("weight_hh_l0", net.w_hh[m].T),
                               ("bias_ih_l0", net.b_ih[m, 0]), ("bias_hh_l0", net.b_hh[m, 0])]:
                getattr(ref, name).copy_(mine)
        out, _ = ref(x)
        (out[:, -1] * torch.arange(1.0, 5.0, dtype=torch.float64)).sum().backward()
        torch.testing.assert_close(last[m], out[:, -1])
        torch.testing.assert_close(net.w_hh.grad[m], ref.weight_hh_l0.grad.T)
        torch.testing.assert_close(net.w_ih.grad[m], ref.weight_ih_l0.grad.T)
        torch.testing.assert_close(net.b_ih.grad[m, 0], ref.bias_hh_l0.grad)


def test_seed_ensemble_is_reproducible_with_the_seed(wetland):
    def fit(seed):
        model = make_model("lstm", targets=TARGETS, drivers=DRIVERS, horizon=1, seed=seed,
                           model={"seeds": 3, "epochs": 2, "patience": 2, "hidden": 4})
        return model.fit(wetland.iloc[:150]).predict_array(wetland, wetland.index[149:170])

    first = fit(3)
    np.testing.assert_array_equal(fit(3), first)
    assert not np.array_equal(fit(4), first)
