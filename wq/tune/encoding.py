"""Chromosome encodings of the genetic algorithm: real-coded genes, or the classic binary code.

``real`` (the default): a chromosome is the gene vector u in [0, 1]^d itself, decoded by the
:class:`~wq.tune.space.Space`; operators: tournament (or roulette) selection, blend or simulated-binary crossover,
Michalewicz's non-uniform mutation (:mod:`wq.tune.genetic`).

``binary``: the classic GA (Holland 1975; Goldberg 1989, "Genetic Algorithms in Search, Optimization and Machine
Learning", ch. 3), as in the GA-BPNN of Yang et al. 2023 (Environ. Sci. Ecotechnol. 13:100207). A chromosome is
a bit string of ``bits`` bits per setting, most significant bit first (plain binary, not Gray code). Setting i's
bits b_1 .. b_B give the integer v = sum_j b_j 2^(B - j) in {0, .., 2^B - 1} and the gene
u = v / (2^B - 1), which the space decodes as for every strategy:

* ``float``: low + u (high - low): a grid of 2^B equally spaced values, all zeros -> low, all ones -> high;
* ``log-float``: exp(ln low + u (ln high - ln low)): 2^B values equally spaced in log;
* ``int``: low + min(floor(u n), n - 1), n = high - low + 1: all zeros -> low, all ones -> high (with
  2^B >= n every integer of the range is reachable);
* ``choice``: choices[min(floor(u k), k - 1)].

Operators: roulette selection, one-point crossover, bit-flip mutation (each bit flips with probability
``indpb``, default 1 / (d B)); the Hall of Fame's elitism is kept for both encodings.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from deap import tools

from wq.errors import ConfigError
from wq.tune.space import Space, Value

ENCODINGS = ("real", "binary")
MAX_BITS = 30
CROSSOVERS = {"real": ("blend", "sbx"), "binary": ("one-point",)}
"""The crossover operators of each encoding; the first is the default."""
SELECTIONS = {"real": "tournament", "binary": "roulette"}
"""The default selection of each encoding (either encoding may use either)."""


def check_encoding(encoding: str, bits: int) -> None:
    """ConfigError unless ``encoding`` is known and ``bits`` an integer in [1, :data:`MAX_BITS`]."""
    if encoding not in ENCODINGS:
        raise ConfigError(f"GA option encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= MAX_BITS:
        raise ConfigError(f"GA option bits must be an integer in [1, {MAX_BITS}], got {bits!r}")


class Coding:
    """Maps chromosomes to the space's gene vectors u in [0, 1]^d: the identity for ``real``, the binary
    decoding of the module docstring for ``binary``. ``length``: genes (real) or bits (binary) of a
    chromosome."""

    def __init__(self, space: Space, encoding: str = "real", bits: int = 10) -> None:
        check_encoding(encoding, bits)
        self.space, self.encoding, self.bits = space, encoding, int(bits)
        self.binary = encoding == "binary"
        self.length = space.dim * self.bits if self.binary else space.dim
        self._weights = 2.0 ** np.arange(self.bits - 1, -1, -1)  # most significant bit first

    def unit(self, chromosome: Sequence[float]) -> list[float]:
        """The gene vector u in [0, 1]^d of a chromosome."""
        if not self.binary:
            return [float(u) for u in chromosome]
        b = np.asarray(chromosome, dtype=float)
        if b.shape != (self.length,):
            raise ConfigError(f"binary chromosome of {b.size} bits for {self.space.dim} settings x {self.bits} bits")
        v = (b.reshape(self.space.dim, self.bits) >= 0.5) @ self._weights
        return (v / (2.0 ** self.bits - 1.0)).tolist()

    def decode(self, chromosome: Sequence[float]) -> dict[str, Value]:
        """``{name: value}`` of a chromosome."""
        return self.space.decode(self.unit(chromosome))

    def key(self, chromosome: Sequence[float]) -> tuple[Value, ...]:
        """The decoded values (two chromosomes with the same key are the same settings)."""
        return self.space.key(self.unit(chromosome))

    def grid(self, index: int) -> list[Value]:
        """The 2^bits values setting ``index`` can take (binary), in the order of v = 0 .. 2^bits - 1."""
        if not self.binary:
            raise ConfigError("a real-coded gene has no grid")
        p = self.space.params[index]
        n = 2 ** self.bits
        return [p.decode(v / (n - 1.0)) for v in range(n)]

    def bits_of(self, values: Sequence[int]) -> list[float]:
        """The chromosome of the integers v_i (one per setting), most significant bit first."""
        v = np.asarray(values, dtype=np.int64)
        b = (v[:, None] >> np.arange(self.bits - 1, -1, -1)[None, :]) & 1
        return b.reshape(-1).astype(float).tolist()

    def encode(self, values: Mapping[str, Any]) -> list[float]:
        """A chromosome decoding to ``values`` (all settings required). Binary: per setting the grid point
        whose value equals the given one (ints, choices, floats on the grid), else the nearest in u."""
        u = self.space.encode(values)
        if not self.binary:
            return u
        n = 2 ** self.bits
        ints = []
        for i, (p, ui) in enumerate(zip(self.space.params, u)):
            grid_u = np.arange(n) / (n - 1.0)
            order = np.argsort(np.abs(grid_u - ui), kind="stable")
            exact = [v for v in order[: min(n, 64)] if self.grid_value(i, v) == values[p.name]]
            ints.append(int(exact[0]) if exact else int(order[0]))
        return self.bits_of(ints)

    def grid_value(self, index: int, v: int) -> Value:
        """The value of setting ``index`` at grid point ``v``."""
        return self.space.params[index].decode(v / (2.0 ** self.bits - 1.0))

    def random(self) -> list[float]:
        """A uniform random chromosome from Python's ``random`` (the GA swaps its own stream in)."""
        if self.binary:
            return [float(random.random() < 0.5) for _ in range(self.length)]
        return [random.random() for _ in range(self.length)]


def mut_flip_bit(individual: list, gen: int = 0, indpb: float = 0.05) -> tuple[list]:
    """Bit-flip mutation (``deap.tools.mutFlipBit``): each bit flips with probability ``indpb``; ``gen``
    is ignored (the GA passes it to every mutation operator)."""
    return tools.mutFlipBit(individual, indpb)
