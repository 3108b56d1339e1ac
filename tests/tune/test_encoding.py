"""The binary-coded GA: bit strings decode to the stated ranges and grids; roulette, one-point crossover and
bit-flip mutation find the optimum of an analytic function; runs are reproducible and resumable."""

import json
import math

import numpy as np
import pytest
from deap import tools

from wq.errors import ConfigError
from wq.tune import GeneticTuner, Param, Space
from wq.tune.analytic import PEAKS_MAX, negative_peaks
from wq.tune.encoding import Coding, mut_flip_bit
from wq.tune.genetic import sel_roulette_min

QUIET = {"log": lambda msg: None}
SPACE = Space((Param("x", "float", -3, 3), Param("rate", "log-float", 1e-4, 1e-1), Param("n", "int", 2, 9),
               Param("wavelet", "choice", choices=("db2", "db4", "haar"))))


def chromosome(coding, ints):
    return coding.bits_of(ints)


@pytest.mark.parametrize("bits", [3, 6, 10])
def test_all_zeros_decode_to_low_and_all_ones_to_high(bits):
    c = Coding(SPACE, "binary", bits)
    assert c.length == 4 * bits
    assert c.decode([0.0] * c.length) == {"x": -3.0, "rate": 1e-4, "n": 2, "wavelet": "db2"}
    assert c.decode([1.0] * c.length) == {"x": 3.0, "rate": 1e-1, "n": 9, "wavelet": "haar"}


def test_bits_are_read_most_significant_first():
    c = Coding(Space((Param("x", "float", 0, 15),)), "binary", 4)
    assert c.decode([1, 0, 0, 0])["x"] == pytest.approx(8.0)
    assert c.decode([0, 0, 0, 1])["x"] == pytest.approx(1.0)
    assert c.decode([1, 0, 1, 1])["x"] == pytest.approx(11.0)
    assert chromosome(c, [11]) == [1.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("bits", [4, 10])
def test_float_and_log_float_grids_have_2_to_the_bits_equally_spaced_values(bits):
    c = Coding(SPACE, "binary", bits)
    n = 2 ** bits
    x = np.array(c.grid(0), dtype=float)
    np.testing.assert_allclose(x, -3 + 6 * np.arange(n) / (n - 1), rtol=1e-5, atol=1e-9)
    assert len(set(x)) == n
    rate = np.log(np.array(c.grid(1), dtype=float))
    np.testing.assert_allclose(rate, np.log(1e-4) + np.arange(n) / (n - 1) * (np.log(1e-1) - np.log(1e-4)),
                               rtol=1e-5)
    assert np.all(np.diff(rate) > 0)
    # decoding a whole chromosome gives the grid value of each setting's integer
    ints = [n - 1, 0, n // 2, 1]
    decoded = c.decode(chromosome(c, ints))
    assert decoded["x"] == c.grid(0)[n - 1] and decoded["rate"] == c.grid(1)[0]
    assert decoded["n"] == c.grid(2)[n // 2] and decoded["wavelet"] == c.grid(3)[1]


def test_int_and_choice_grids_cover_the_range_in_order_when_there_are_enough_bits():
    c = Coding(SPACE, "binary", 4)  # 16 grid points for 8 integers and 3 choices
    ints = c.grid(2)
    assert ints == sorted(ints) and set(ints) == set(range(2, 10))
    assert all(isinstance(v, int) for v in ints)
    assert [ints.count(v) for v in range(2, 10)] == [2] * 8  # equal shares
    choices = c.grid(3)
    assert set(choices) == {"db2", "db4", "haar"} and choices[0] == "db2" and choices[-1] == "haar"
    few = Coding(SPACE, "binary", 2).grid(2)  # 4 grid points for 8 integers: ends included
    assert few[0] == 2 and few[-1] == 9 and len(few) == 4


def test_encode_finds_the_grid_point_of_a_value():
    c = Coding(SPACE, "binary", 6)
    for v in (0, 1, 17, 40, 63):
        values = c.decode(chromosome(c, [v, v, v, v]))
        assert c.decode(c.encode(values)) == values
    off_grid = c.decode(c.encode({"x": 0.01, "rate": 3e-3, "n": 5, "wavelet": "db4"}))
    assert off_grid["n"] == 5 and off_grid["wavelet"] == "db4"
    assert off_grid["x"] == pytest.approx(0.01, abs=6 / 63 / 2 + 1e-9)
    assert Coding(SPACE).encode({"x": 0.0, "rate": 1e-3, "n": 2, "wavelet": "db2"}) == SPACE.encode(
        {"x": 0.0, "rate": 1e-3, "n": 2, "wavelet": "db2"})


def test_bad_encoding_or_bits_are_config_errors():
    with pytest.raises(ConfigError, match="encoding"):
        Coding(SPACE, "gray", 8)
    with pytest.raises(ConfigError, match="bits"):
        Coding(SPACE, "binary", 0)
    with pytest.raises(ConfigError, match="crossover"):
        GeneticTuner(SPACE, negative_peaks, encoding="binary", crossover="blend", **QUIET).run()
    with pytest.raises(ConfigError, match="bits"):
        GeneticTuner(SPACE, negative_peaks, encoding="binary", bits=31, **QUIET).run()


def test_binary_toolbox_is_roulette_one_point_and_bit_flip():
    tuner = GeneticTuner(SPACE, negative_peaks, encoding="binary", bits=5, **QUIET)
    tb = tuner.make_toolbox()
    assert tb.select.func is sel_roulette_min and tb.mate.func is tools.cxOnePoint
    assert tb.mutate.func is mut_flip_bit and tb.mutate.keywords["indpb"] == pytest.approx(1 / 20)
    real = GeneticTuner(SPACE, negative_peaks, **QUIET).make_toolbox()
    assert real.select.func is tools.selTournament and real.mate.func is tools.cxBlend
    ind = [0.0, 1.0, 1.0, 0.0]
    mut_flip_bit(ind, gen=3, indpb=1.0)
    assert ind == [1.0, 0.0, 0.0, 1.0]


def test_binary_ga_finds_the_peak_and_its_population_holds_bit_strings():
    xy = Space((Param("x", "float", -3, 3), Param("y", "float", -3, 3)))
    tuner = GeneticTuner(xy, negative_peaks, population=30, generations=25, encoding="binary", bits=12, seed=1,
                         **QUIET)
    res = tuner.run()
    assert -res.best_fitness == pytest.approx(PEAKS_MAX, abs=5e-2)
    assert all(len(ind) == 24 and set(ind) <= {0.0, 1.0} for ind in tuner.population_)
    assert res.best_params == Coding(xy, "binary", 12).decode(tuner.hall_of_fame_[0])
    grid = set(Coding(xy, "binary", 12).grid(0))
    assert set(res.evaluations["x"]) <= grid  # every evaluated setting lies on the grid


def test_binary_run_is_reproducible_and_resumes_exactly(tmp_path):
    kw = dict(population=8, generations=5, encoding="binary", bits=6, seed=4, **QUIET)
    full = GeneticTuner(SPACE, negative_peaks_mixed, **kw).run()
    again = GeneticTuner(SPACE, negative_peaks_mixed, **kw).run()
    assert full.best_params == again.best_params and full.evaluations["x"].tolist() == again.evaluations["x"].tolist()
    cp = tmp_path / "ga.json"
    GeneticTuner(SPACE, negative_peaks_mixed, checkpoint=cp, max_evals=15, **kw).run()
    state = json.loads(cp.read_text())
    assert state["settings"]["encoding"] == "binary" and len(state["population"][0]["vector"]) == 24
    resumed = GeneticTuner(SPACE, negative_peaks_mixed, checkpoint=cp, **kw).run(resume=True)
    assert resumed.best_params == full.best_params and resumed.n_evals == full.n_evals
    with pytest.raises(ConfigError, match="other settings"):  # a real-coded resume of a binary run is refused
        GeneticTuner(SPACE, negative_peaks_mixed, checkpoint=cp, **{**kw, "encoding": "real"}).run(resume=True)


def negative_peaks_mixed(params, seed):
    y = math.log10(params["rate"]) + 2.5  # y in [-1.5, 1.5]
    return negative_peaks({"x": params["x"], "y": y}, seed) + 0.1 * params["n"] + 0.2 * (params["wavelet"] == "haar")
