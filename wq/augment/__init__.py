"""Synthetic training windows: generators (GAN, WGAN, WGAN-GP, VAE; jitter and magnitude scaling as
baselines) and quality scores (TimeGAN's discriminative and predictive scores, Wasserstein-1 of the
marginals, ACF difference).

Windows are float arrays (N, L, F) in training-scaled units; see :mod:`wq.augment.base` for the contract.

Typical use (``train`` and ``heldout`` are real windows from the training part)::

    gen = make_generator("wgan-gp", epochs=300, lr=1e-3).fit(train, seed=7)
    synth = gen.sample(len(train), seed=7)
    scores = quality_report(heldout, synth, seed=7)
    gen.save("artifacts/augment")          # generator.json + weights.pt
    gen = load_generator("artifacts/augment")
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
