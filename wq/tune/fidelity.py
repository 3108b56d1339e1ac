"""Multi-fidelity evaluation inside a GA generation: successive halving (Jamieson & Talwalkar 2016; Li et al.,
"Hyperband", JMLR 2018), one rung of it per generation.

Every new individual of a generation is first *screened* with short training (``[tune] fidelity``: a fraction
of the epochs and of each fold's training rows, the validation blocks unchanged); only the best ``survivors``
fraction of them by the screening score, plus the settings that must be known exactly (the pipeline's own
settings in generation 0), are evaluated with full training. The rest rank below every full evaluation of the
generation, in the order of their screening score::

    fitness(screened-out i) = worst full fitness of the generation + (screen_i − largest screen of the promoted)

so selection still prefers the better screened individuals, and the best of the run (the Hall of Fame's
first) is always a full-training fitness: it is at most the fitness of every promoted individual, and the
pipeline's own settings are always promoted. Full and screening evaluations have separate caches; the
``max_evals`` budget counts full evaluations only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from wq.tune.evaluation import Evaluator

__all__ = ["successive_halving", "screened_fitness"]


def screened_fitness(screen: Sequence[float | None], full: Sequence[float | None],
                     promoted: Sequence[int]) -> list[float | None]:
    """The fitness of every individual of a generation from its screening score and, for the promoted ones,
    its full-training fitness (see the module docstring); None where neither was computed (a budget stopped)."""
    out: list[float | None] = [None] * len(screen)
    done = [f for i in promoted if (f := full[i]) is not None and math.isfinite(f)]
    cuts = [s for i in promoted if (s := screen[i]) is not None and math.isfinite(s)]
    worst = max(done) if done else math.inf
    cut = max(cuts) if cuts else -math.inf
    for i, s in enumerate(screen):
        if i in promoted:
            out[i] = full[i]
        elif s is not None:
            out[i] = worst + max(0.0, s - cut) if math.isfinite(s) and math.isfinite(worst) else math.inf
    return out


def successive_halving(vectors: Sequence[Sequence[float]], full: Evaluator, screen: Evaluator | None, gen: int,
                       survivors: float, keep: Sequence[int] = ()) -> tuple[list[float | None], str | None, int]:
    """Fitness of each vector with screening (``screen`` evaluator, short training) and full training for the
    best ``survivors`` fraction (at least one), for ``keep`` and for vectors already evaluated in full.
    Without ``screen`` (or a single vector) every vector is evaluated in full. Returns (fitness per vector,
    stop reason or None, number promoted)."""
    if screen is None or len(vectors) <= 1:
        fits, stop = full.evaluate(vectors, gen)
        return fits, stop, len(vectors)
    lo, stop = screen.evaluate(vectors, gen)
    n = len(vectors)
    order = sorted((i for i in range(n) if lo[i] is not None), key=lambda i: (lo[i], i))
    k = max(1, math.ceil(float(survivors) * n))
    known = {i for i in range(n) if full.space.key(vectors[i]) in full.cache}
    promoted = sorted((set(order[:k]) | set(keep) | known) & set(order))
    hi, stop_full = full.evaluate([vectors[i] for i in promoted], gen)
    full_of: list[float | None] = [None] * n
    for i, f in zip(promoted, hi):
        full_of[i] = f
    promoted = [i for i in promoted if full_of[i] is not None]
    return screened_fitness(lo, full_of, promoted), stop or stop_full, len(promoted)
