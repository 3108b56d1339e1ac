"""Every generator: shapes, range, determinism, persistence, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from wq.augment import (
    AdversarialGenerator,
    Jitter,
    MagnitudeScaling,
    NotFittedError,
    WindowGenerator,
    WindowVAE,
    available_generators,
    generator_from_state,
    load_generator,
    make_generator,
)
from wq.errors import ArtifactError, ConfigError, DataError

METHODS = ["gan", "wgan", "wgan-gp", "vae", "jitter", "scaling"]
FAST = {"gan": {"epochs": 2}, "wgan": {"epochs": 2}, "wgan-gp": {"epochs": 2}, "vae": {"epochs": 2}}


def fitted(method: str, W: np.ndarray, seed: int = 3) -> WindowGenerator:
    return make_generator(method, **FAST.get(method, {})).fit(W, seed=seed)


def test_registry_names():
    assert available_generators() == sorted(METHODS)


@pytest.mark.parametrize("method", METHODS)
def test_sample_shape_finite_and_within_range(method, windows):
    gen = fitted(method, windows)
    S = gen.sample(37, seed=1)
    assert S.shape == (37, 6, 3) and S.dtype == np.float32
    assert np.isfinite(S).all()
    lo, hi = windows.min(axis=(0, 1)), windows.max(axis=(0, 1))
    assert (S >= lo).all() and (S <= hi).all()
    np.testing.assert_array_equal(gen.data_min_, lo)
    np.testing.assert_array_equal(gen.data_max_, hi)


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_windows_other_seed_other_windows(method, windows):
    a, b = fitted(method, windows, seed=3), fitted(method, windows, seed=3)
    np.testing.assert_array_equal(a.sample(20, seed=5), b.sample(20, seed=5))
    np.testing.assert_array_equal(a.sample(20, seed=5), a.sample(20, seed=5))
    assert not np.array_equal(a.sample(20, seed=5), a.sample(20, seed=6))
    if method not in ("jitter", "scaling"):  # these learn nothing, so the fit seed cannot matter
        c = fitted(method, windows, seed=4)
        assert not np.array_equal(a.sample(20, seed=5), c.sample(20, seed=5))


@pytest.mark.parametrize("method", METHODS)
def test_save_load_and_json_state_give_identical_samples(method, windows, tmp_path):
    gen = fitted(method, windows)
    expected = gen.sample(15, seed=2)
    gen.save(tmp_path / "g")
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["generator.json", "weights.pt"]
    loaded = load_generator(tmp_path / "g")
    assert type(loaded) is type(gen) and loaded.get_config() == gen.get_config()
    np.testing.assert_array_equal(loaded.sample(15, seed=2), expected)
    assert loaded.history_ == gen.history_
    state = json.loads(json.dumps(gen.get_state()))  # plain JSON, tensors as lists
    np.testing.assert_array_equal(generator_from_state(state).sample(15, seed=2), expected)


def test_fit_and_sample_leave_the_global_torch_rng_alone(windows):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    fitted("wgan-gp", windows).sample(4, seed=0)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("method", ["gan", "wgan", "wgan-gp", "vae"])
def test_history_has_one_value_per_epoch(method, windows):
    gen = make_generator(method, epochs=3).fit(windows, seed=0)
    expected = {
        "gan": {"discriminator", "generator"},
        "wgan": {"critic", "generator", "wasserstein"},
        "wgan-gp": {"critic", "generator", "wasserstein", "gradient_penalty"},
        "vae": {"loss", "reconstruction", "kl"},
    }[method]
    assert set(gen.history_) == expected
    assert all(len(v) == 3 and np.isfinite(v).all() for v in gen.history_.values())
    assert gen.epochs_run_ == 3 and not gen.stopped_early_


def test_vae_history_loss_is_reconstruction_plus_beta_kl(windows):
    gen = WindowVAE(epochs=2, beta=0.5).fit(windows, seed=0)
    h = gen.history_
    np.testing.assert_allclose(h["loss"], np.add(h["reconstruction"], 0.5 * np.asarray(h["kl"])), rtol=1e-12)
    assert gen.encode(windows).shape == (48, gen.latent)


def test_tuned_settings_per_loss():
    assert AdversarialGenerator("gan").resolved_settings() == {
        "optimizer": "adam", "lr": 1e-3, "lr_critic": 1e-3, "betas": [0.5, 0.999], "n_critic": 1, "batch": 32}
    assert AdversarialGenerator("wgan").resolved_settings() == {
        "optimizer": "rmsprop", "lr": 5e-4, "lr_critic": 5e-4, "betas": None, "n_critic": 5, "batch": 64}
    assert AdversarialGenerator("wgan-gp").resolved_settings() == {
        "optimizer": "adam", "lr": 1e-3, "lr_critic": 1e-3, "betas": [0.5, 0.9], "n_critic": 3, "batch": 64}
    assert AdversarialGenerator("wgan-gp", lr_critic=4e-3).resolved_settings()["lr_critic"] == 4e-3
    assert AdversarialGenerator("wgan-gp", lr=1e-3, n_critic=2).resolved_settings()["lr"] == 1e-3
    assert AdversarialGenerator("gan", batch=64).resolved_settings()["batch"] == 64
    g = AdversarialGenerator()
    assert (g.gp_lambda, g.clip, tuple(g.label_smoothing)) == (10.0, 0.01, (0.9, 1.0))


def test_wgan_critic_weights_are_clipped(windows):
    gen = AdversarialGenerator("wgan", epochs=2).fit(windows, seed=0)
    weights = torch.cat([p.detach().flatten() for p in gen.critic_.parameters()])
    assert weights.abs().max() <= 0.01 + 1e-9
    assert weights.abs().max() > 0.005  # clipping bound reached, not all weights tiny by chance


def test_gan_with_label_flip_trains(windows):
    gen = AdversarialGenerator("gan", epochs=2, label_flip=0.1, label_smoothing=(0.8, 0.95)).fit(windows, seed=0)
    assert np.isfinite(gen.sample(5, seed=0)).all()


def test_time_budget_stops_after_one_epoch(windows):
    gen = AdversarialGenerator("wgan-gp", epochs=50, time_budget_s=1e-9).fit(windows, seed=0)
    assert gen.epochs_run_ == 1 and gen.stopped_early_
    assert all(len(v) == 1 for v in gen.history_.values())
    vae = WindowVAE(epochs=50, time_budget_s=1e-9).fit(windows, seed=0)
    assert vae.epochs_run_ == 1 and vae.stopped_early_


def test_untrained_generator_with_zero_epochs(windows):
    gen = AdversarialGenerator("wgan-gp", epochs=0).fit(windows, seed=0)
    assert gen.sample(3, seed=0).shape == (3, 6, 3)
    assert all(v == [] for v in gen.history_.values())


# -- jitter and scaling: hand-computed samples -----------------------------------------------------------
def test_jitter_is_resampled_windows_plus_gaussian_noise(windows):
    gen = Jitter(sigma=0.05).fit(windows, seed=0)
    rng = np.random.default_rng(9)
    idx = rng.integers(0, 48, size=10)
    expected = windows[idx] + rng.normal(0.0, 0.05, size=(10, 6, 3)).astype(np.float32)
    expected = np.clip(expected, windows.min(axis=(0, 1)), windows.max(axis=(0, 1)))
    np.testing.assert_allclose(gen.sample(10, seed=9), expected, rtol=0, atol=1e-6)


def test_scaling_multiplies_each_window_channel_by_one_factor(windows):
    gen = MagnitudeScaling(sigma=0.1).fit(windows, seed=0)
    rng = np.random.default_rng(4)
    idx = rng.integers(0, 48, size=10)
    factors = rng.normal(1.0, 0.1, size=(10, 1, 3)).astype(np.float32)
    expected = np.clip(windows[idx] * factors, windows.min(axis=(0, 1)), windows.max(axis=(0, 1)))
    np.testing.assert_allclose(gen.sample(10, seed=4), expected, rtol=0, atol=1e-6)


def test_jitter_with_zero_noise_returns_real_windows(windows):
    S = Jitter(sigma=0.0).fit(windows).sample(30, seed=1)
    matches = (S[:, None] == windows[None]).all(axis=(2, 3))
    assert matches.any(axis=1).all()


def test_samples_are_clipped_to_the_fitted_range(windows):
    S = Jitter(sigma=1.0).fit(windows).sample(200, seed=0)
    lo, hi = windows.min(axis=(0, 1)), windows.max(axis=(0, 1))
    assert (S >= lo).all() and (S <= hi).all()
    assert (S == lo).any() and (S == hi).any()  # large noise really was clipped


# -- errors ----------------------------------------------------------------------------------------------
def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="gan, jitter, scaling, vae, wgan, wgan-gp"):
        make_generator("timegan")


def test_unknown_setting_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown setting.*epoch.*valid:.*epochs"):
        make_generator("wgan-gp", epoch=3)
    with pytest.raises(ConfigError, match="loss"):
        make_generator("wgan", loss="gan")


@pytest.mark.parametrize(
    "method, settings",
    [("wgan-gp", {"epochs": -1}), ("gan", {"label_smoothing": (1.0, 0.9)}), ("gan", {"label_flip": 0.9}),
     ("wgan-gp", {"lr": 0.0}), ("vae", {"latent": 0}), ("jitter", {"sigma": -0.1}),
     ("wgan-gp", {"betas": (0.5,)}), ("wgan-gp", {"batch": 2.5})],
)
def test_bad_settings_raise_config_error_at_fit(method, settings, windows):
    with pytest.raises(ConfigError):
        make_generator(method, **settings).fit(windows)


def test_bad_windows_raise_data_error(windows):
    with pytest.raises(DataError, match="shape"):
        Jitter().fit(windows[0])
    bad = windows.copy()
    bad[7, 2, 1] = np.nan
    with pytest.raises(DataError, match="window 7, step 2, channel 1"):
        make_generator("vae", epochs=1).fit(bad)
    with pytest.raises(DataError, match="at least 2"):
        Jitter().fit(windows[:1])


def test_sample_before_fit_and_bad_n():
    import wq.errors

    with pytest.raises(NotFittedError) as err:
        Jitter().sample(3)
    assert NotFittedError is wq.errors.NotFittedError  # one not-fitted error for stages, models and generators
    assert isinstance(err.value, ValueError)
    with pytest.raises(ConfigError):
        Jitter().fit(np.zeros((4, 3, 2))).sample(0)


def test_load_refuses_missing_tampered_and_pickled_files(windows, tmp_path):
    with pytest.raises(ArtifactError, match="missing"):
        load_generator(tmp_path / "nothing")
    gen = fitted("wgan-gp", windows)
    gen.save(tmp_path / "g")
    # weights of the wrong shape
    weights = torch.load(tmp_path / "g" / "weights.pt", weights_only=True)
    weights["out.weight"] = torch.zeros(5, 5)
    torch.save(weights, tmp_path / "g" / "weights.pt")
    with pytest.raises(ArtifactError):
        load_generator(tmp_path / "g")
    # an arbitrary Python object is refused by weights_only=True, so nothing runs on load
    torch.save({"payload": _Payload()}, tmp_path / "g" / "weights.pt")
    with pytest.raises(ArtifactError, match="weights_only"):
        load_generator(tmp_path / "g")
    (tmp_path / "g" / "generator.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="generator.json"):
        load_generator(tmp_path / "g")


class _Payload:
    pass
