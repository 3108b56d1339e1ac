import random

import numpy as np
import pytest

from wq.tune.genetic import FitnessMin, Individual, _using, mut_nonuniform, sel_roulette_min


def test_nonuniform_mutation_matches_the_formula_by_hand():
    x = [0.2, 0.5, 0.9]
    random.seed(11)
    draws = [random.random() for _ in range(9)]  # mask (indpb), direction, r: 3 per gene
    random.seed(11)
    (y,) = mut_nonuniform(list(x), gen=2, ngen=8, b=3.0, indpb=0.7)
    p = (1 - 2 / 8) ** 3
    for k in range(3):
        mutate, up, r = draws[k] < 0.7, draws[3 + k] < 0.5, draws[6 + k]
        expect = x[k]
        if mutate:
            expect = x[k] + (1 - x[k]) * (1 - r**p) if up else x[k] - x[k] * (1 - r**p)
        assert y[k] == pytest.approx(expect, abs=1e-15)


def test_nonuniform_mutation_stays_in_bounds_with_bounds_per_gene():
    random.seed(0)
    low, high = [0.0, -2.0, 10.0], [1.0, 2.0, 10.5]
    for gen in range(0, 11):
        for _ in range(200):
            ind = [random.choice([0.0, 0.3, 1.0]), random.choice([-2.0, 0.0, 2.0]), random.choice([10.0, 10.5])]
            (y,) = mut_nonuniform(ind, gen=gen, ngen=10, b=2.0, low=low, high=high, indpb=1.0)
            assert all(lo <= v <= hi for v, lo, hi in zip(y, low, high))


def test_nonuniform_mutation_step_shrinks_with_the_generation():
    random.seed(3)
    ngen, b, n = 10, 3.0, 3000
    means = []
    for gen in (0, 3, 6, 9, 10):
        steps = [abs(mut_nonuniform([0.5], gen=gen, ngen=ngen, b=b, indpb=1.0)[0][0] - 0.5) for _ in range(n)]
        means.append(np.mean(steps))
    assert all(a > b_ for a, b_ in zip(means, means[1:-1]))
    assert means[-1] == 0.0  # at t = T the step is zero
    # E|step| at x = 0.5 is 0.5 * p / (p + 1) with p = (1 - t/T)^b (E[1 - r^p] = p / (p + 1))
    for gen, m in zip((0, 3, 6), means):
        p = (1 - gen / ngen) ** b
        assert m == pytest.approx(0.5 * p / (p + 1), rel=0.05)


def test_nonuniform_mutation_rejects_bad_generation():
    with pytest.raises(ValueError):
        mut_nonuniform([0.5], gen=11, ngen=10)


def _pop(values):
    pop = []
    for v in values:
        ind = Individual([v])
        ind.fitness = FitnessMin((v,))
        pop.append(ind)
    return pop


def test_roulette_for_minimisation_prefers_low_fitness_and_skips_failures():
    pop = _pop([1.0, 2.0, 3.0, float("inf")])
    random.seed(5)
    chosen = sel_roulette_min(pop, 6000)
    counts = np.array([sum(c is p for c in chosen) for p in pop]) / 6000
    # weights max - f + eps with eps = 1e-3 * (3 - 1): 2.002, 1.002, 0.002, 0
    w = np.array([2.002, 1.002, 0.002, 0.0])
    assert counts == pytest.approx(w / w.sum(), abs=0.02)
    assert counts[3] == 0.0
    all_failed = _pop([float("inf")] * 3)
    assert len(sel_roulette_min(all_failed, 5)) == 5


def test_private_random_stream_leaves_global_random_alone():
    rng = random.Random(1)
    random.seed(99)
    expected_global = random.Random(99).random()
    with _using(rng):
        a = random.random()
    assert a == random.Random(1).random()
    assert random.random() == expected_global  # the caller's stream continues as if untouched
    with _using(rng):
        b = random.random()
    ref = random.Random(1)
    ref.random()
    assert b == ref.random()  # the private stream continues where it stopped
