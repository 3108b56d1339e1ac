"""Synthetic training windows: generators (GAN, WGAN, WGAN-GP, VAE; jitter and magnitude scaling as
baselines) and quality scores (TimeGAN's discriminative and predictive scores, Wasserstein-1 of the
marginals, ACF difference).

Windows are float arrays (N, L, F) in training-scaled units; see :mod:`wq.augment.base` for the contract.

>>> gen = make_generator("wgan-gp", epochs=100).fit(train_windows, seed=7)
>>> synth = gen.sample(len(train_windows), seed=7)
>>> quality_report(heldout_windows, synth, seed=7)
"""

from wq.augment.base import (
    NotFittedError,
    WindowGenerator,
    available_generators,
    check_windows,
    load_generator,
    make_generator,
    register_generator,
)
from wq.augment.gan import AdversarialGenerator, gradient_penalty
from wq.augment.quality import (
    acf_difference,
    autocorrelation,
    discriminative_score,
    persistence_mae,
    predictive_score,
    quality_report,
    wasserstein_per_feature,
)
from wq.augment.simple import Jitter, MagnitudeScaling
from wq.augment.vae import WindowVAE

__all__ = [
    "WindowGenerator",
    "NotFittedError",
    "make_generator",
    "available_generators",
    "register_generator",
    "load_generator",
    "check_windows",
    "AdversarialGenerator",
    "gradient_penalty",
    "WindowVAE",
    "Jitter",
    "MagnitudeScaling",
    "discriminative_score",
    "predictive_score",
    "persistence_mae",
    "wasserstein_per_feature",
    "acf_difference",
    "autocorrelation",
    "quality_report",
]
