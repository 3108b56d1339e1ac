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

import importlib

# Names are imported on first use (PEP 562): the `wq` command imports this package for its `augment`
# subcommand, and importing torch and scipy.stats here would add seconds to every other command's start-up.
_LAZY = {
    "NotFittedError": "base", "WindowGenerator": "base", "available_generators": "registry",
    "check_windows": "base", "load_generator": "registry", "make_generator": "registry", "generator_from_state": "registry",
    "AdversarialGenerator": "gan", "gradient_penalty": "gan",
    "acf_difference": "quality", "autocorrelation": "quality", "discriminative_score": "quality",
    "persistence_mae": "quality", "predictive_score": "quality", "quality_report": "quality",
    "wasserstein_per_feature": "quality",
    "Jitter": "simple", "MagnitudeScaling": "simple", "WindowVAE": "vae",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"wq.augment.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'wq.augment' has no attribute {name!r}")


__all__ = [
    "WindowGenerator",
    "NotFittedError",
    "make_generator",
    "available_generators",
    "generator_from_state",
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
