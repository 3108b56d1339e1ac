"""Conditional generation (issue 15): calendar channels are copied, not generated; early stopping on held-out
training windows restores the best weights; persistence keeps the conditioning."""

from __future__ import annotations

import numpy as np
import pytest

from wq.augment import load_generator, make_generator
from wq.augment.monitor import MIN_HOLDOUT, QualityMonitor, split_holdout
from wq.errors import ConfigError

LEARNED = ["gan", "wgan", "wgan-gp", "vae"]


@pytest.fixture
def calendar_windows() -> np.ndarray:
    """100 windows (L=6, F=3): channel 2 is a day-of-week-like calendar, channel 0 follows it, channel 1 noise."""
    rng = np.random.default_rng(1)
    start = rng.integers(0, 7, size=100)
    dow = ((start[:, None] + np.arange(6)[None, :]) % 7) / 6.0
    W = np.stack([0.5 + 0.4 * np.sin(dow * 6.0), rng.random((100, 6)), dow], axis=2)
    return W.astype(np.float32)


@pytest.mark.parametrize("method", [*LEARNED, "jitter", "scaling"])
def test_conditioning_channels_are_copied_from_real_windows(method, calendar_windows):
    settings = {"epochs": 2, "holdout": 0.0} if method in LEARNED else {"sigma": 0.2}
    gen = make_generator(method, **settings).fit(calendar_windows, seed=0, condition=[2])
    S = gen.sample(40, seed=5)
    assert S.shape == (40, 6, 3) and np.isfinite(S).all()
    real_cal = calendar_windows[:, :, 2]
    assert ((S[:, None, :, 2] == real_cal[None]).all(axis=2)).any(axis=1).all()  # each calendar is a real one
    assert not ((S[:, None, :, :2] == calendar_windows[None, :, :, :2]).all(axis=(2, 3))).any() or method == "jitter"
    np.testing.assert_array_equal(S, gen.sample(40, seed=5))


@pytest.mark.parametrize("method", ["wgan-gp", "vae"])
def test_the_network_generates_only_the_free_channels(method, calendar_windows):
    gen = make_generator(method, epochs=1, holdout=0.0).fit(calendar_windows, seed=0, condition=[2])
    net = gen.generator_ if method != "vae" else gen.decoder_
    assert net.out.out_features == 2 and net.n_cond == 1


def test_conditional_save_load_round_trip_with_weights_only(calendar_windows, tmp_path):
    gen = make_generator("gan", epochs=2, holdout=0.0).fit(calendar_windows, seed=1, condition=[2])
    gen.save(tmp_path / "g")
    again = load_generator(tmp_path / "g")
    assert again.condition_ == [2]
    np.testing.assert_array_equal(gen.sample(17, seed=3), again.sample(17, seed=3))


def test_condition_must_leave_something_to_generate(calendar_windows):
    with pytest.raises(ConfigError, match="nothing is left"):
        make_generator("jitter").fit(calendar_windows, condition=[0, 1, 2])
    with pytest.raises(ConfigError, match="channel indices"):
        make_generator("jitter").fit(calendar_windows, condition=[5])


def test_holdout_is_a_seeded_part_of_the_given_windows(calendar_windows):
    fit, hold = split_holdout(calendar_windows, 0.2, seed=4)
    assert len(hold) == 20 and len(fit) == 80
    both = np.concatenate([fit, hold])
    assert sorted(map(bytes, both)) == sorted(map(bytes, calendar_windows))  # a partition, nothing else
    assert split_holdout(calendar_windows[: 2 * MIN_HOLDOUT], 0.2, seed=4)[1] is None  # too few: no monitoring


@pytest.mark.parametrize("method", ["wgan-gp", "vae"])
def test_early_stopping_restores_the_best_checked_weights(method, calendar_windows):
    gen = make_generator(method, epochs=2, check_every=1, patience=5).fit(calendar_windows, seed=2, condition=[2])
    assert [e for e, _ in gen.quality_] == [1, 2]
    best_epoch, best = min(gen.quality_, key=lambda es: es[1])
    assert gen.best_epoch_ == best_epoch
    fit, hold = split_holdout(calendar_windows, 0.2, seed=2)  # the monitor only ever sees the given windows
    monitor = QualityMonitor(fit, hold, [2], seed=2, check_every=1)
    assert monitor.check(best_epoch, gen._sample_given, dict) is False
    assert monitor.best == pytest.approx(best, abs=1e-12)  # the final weights score what the best check scored


def test_vae_samples_its_decoder_noise_around_the_decoded_mean(calendar_windows):
    gen = make_generator("vae", epochs=3, holdout=0.0).fit(calendar_windows, seed=0, condition=[2])
    sigma = gen.noise_std_.numpy()
    assert sigma.shape == (2,) and (sigma > 0).all()
    cal = calendar_windows[:80, :, [2]]
    S, M = gen._sample_given(cal, seed=4), gen.decoded_mean(cal, seed=4)
    np.testing.assert_array_equal(S[:, :, 2], cal[:, :, 0])  # the calendar is copied, also around the noise
    np.testing.assert_array_equal(M, gen.decoded_mean(cal, seed=4))
    span = calendar_windows.max(axis=(0, 1))[:2] - calendar_windows.min(axis=(0, 1))[:2]
    spread = (S - M)[:, :, :2].std(axis=(0, 1)) / (span / 2)  # in the [-1, 1] units of noise_std_
    assert (spread > 0.5 * sigma).all() and (spread < 1.05 * sigma).all()  # clipping only shrinks it
    # channel 1 is noise the calendar does not explain: its decoder sd is about that of uniform [-1, 1]
    assert 0.4 < sigma[1] < 1.0


def test_the_check_scores_with_the_final_scores_classifier(calendar_windows, monkeypatch):
    import wq.augment.quality as quality

    calls = []

    def recording(*args, **kwargs):
        calls.append((args, kwargs))
        return 0.25

    monkeypatch.setattr(quality, "discriminative_score", recording)
    fit, hold = split_holdout(calendar_windows, 0.2, seed=3)
    gen = make_generator("jitter", sigma=0.3).fit(fit, seed=0, condition=[2])
    monitor = QualityMonitor(fit, hold, [2], seed=3, check_every=1)
    monitor.check(1, lambda cond, seed: gen.sample(len(cond), seed=seed), dict)
    (args, kwargs), = calls
    assert kwargs == {"seed": 3}  # quality_report's classifier: no smaller epochs, batch or hidden size
    np.testing.assert_array_equal(args[2], hold)
    assert monitor.history == [(1, 0.25)]


def test_no_monitor_when_a_single_check_could_not_change_the_weights(calendar_windows):
    gen = make_generator("gan", epochs=3, check_every=3).fit(calendar_windows, seed=0, condition=[2])
    assert gen.quality_ == [] and gen.best_epoch_ == 3  # all 100 windows trained on, last weights kept
