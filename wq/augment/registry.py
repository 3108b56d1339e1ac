"""The generators of synthetic training windows by name: one explicit table, no registration by import.

``make_generator("wgan-gp", epochs=200)`` builds one, checking its settings against the constructor;
:func:`load_generator` rebuilds a saved one (JSON state plus weights read with ``weights_only=True``).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

from wq.augment.base import FORMAT_VERSION, WindowGenerator, read_generator_files
from wq.augment.gan import LOSSES, AdversarialGenerator
from wq.augment.simple import Jitter, MagnitudeScaling
from wq.augment.vae import WindowVAE
from wq.errors import ArtifactError, ConfigError

__all__ = ["GENERATORS", "make_generator", "available_generators", "generator_from_state", "load_generator"]


def _adversarial(loss: str) -> Callable[..., AdversarialGenerator]:
    def factory(**settings: Any) -> AdversarialGenerator:
        if settings.setdefault("loss", loss) != loss:
            raise ConfigError(f"method {loss!r} cannot take loss={settings['loss']!r}")
        return AdversarialGenerator(**settings)

    factory.signature_of = AdversarialGenerator  # type: ignore[attr-defined]
    factory.__doc__ = f"AdversarialGenerator(loss={loss!r}, ...)"
    return factory


GENERATORS: dict[str, Callable[..., WindowGenerator]] = {
    **{loss: _adversarial(loss) for loss in LOSSES},
    "vae": WindowVAE,
    "jitter": Jitter,
    "scaling": MagnitudeScaling,
}
"""Method name -> factory ``(**settings) -> WindowGenerator``."""


def available_generators() -> list[str]:
    """Names accepted by :func:`make_generator`."""
    return sorted(GENERATORS)


def make_generator(method: str, **settings: Any) -> WindowGenerator:
    """Build a generator by name: "gan", "wgan", "wgan-gp", "vae", "jitter" or "scaling".

    Unknown names or settings raise :class:`wq.errors.ConfigError` listing the valid ones.
    """
    if method not in GENERATORS:
        raise ConfigError(f"unknown augmentation method {method!r}; valid: {', '.join(sorted(GENERATORS))}")
    factory = GENERATORS[method]
    target = getattr(factory, "signature_of", factory)
    params = inspect.signature(target).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        valid = [p for p in params if p not in ("self", "loss")]
        unknown = sorted(set(settings) - set(params))
        if unknown:
            raise ConfigError(
                f"augmentation method {method!r}: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
            )
    return factory(**settings)


def generator_from_state(state: dict[str, Any], tensors: dict[str, Any] | None = None) -> WindowGenerator:
    """Rebuild a fitted generator from :meth:`WindowGenerator.get_state` (tensors inside ``state`` or apart)."""
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
        got = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ArtifactError(f"generator state: unsupported format {got!r}")
    try:
        gen = make_generator(state["method"], **state["config"])
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"generator state is invalid or incompatible: {exc}") from exc
    return gen._restore(state, tensors)


def load_generator(directory: str | Path) -> WindowGenerator:
    """Load any generator saved with :meth:`WindowGenerator.save`."""
    state, tensors = read_generator_files(directory)
    try:
        return generator_from_state(state, tensors)
    except ArtifactError as exc:
        raise ArtifactError(f"{directory}: {exc}") from exc
