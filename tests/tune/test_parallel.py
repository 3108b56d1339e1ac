import operator

import pandas as pd
import pytest

from wq.errors import ConfigError
from wq.tune import GeneticTuner, Param, Space, make_map
from wq.tune.analytic import negative_peaks

SPACE = Space((Param("x", "float", -3, 3), Param("y", "float", -3, 3), Param("k", "int", 0, 2)))


def test_serial_map_keeps_input_order():
    pmap = make_map(1)
    assert pmap.kind == "serial" and pmap.slots == 1
    assert pmap(operator.sub, [(5, 1), (1, 5), (0, 0)]) == [4, -4, 0]
    assert pmap(operator.sub, []) == []


def test_make_map_rejects_bad_workers_and_scheduler():
    with pytest.raises(ConfigError, match="workers"):
        make_map(0)
    with pytest.raises(ConfigError, match="scheduler"):
        make_map(2, scheduler=42)


def test_one_and_two_worker_processes_give_the_same_run():
    kw = dict(population=8, generations=3, seed=11, log=lambda m: None)
    one = GeneticTuner(SPACE, negative_peaks, workers=1, **kw).run()
    two = GeneticTuner(SPACE, negative_peaks, workers=2, **kw).run()
    pd.testing.assert_frame_equal(one.evaluations.drop(columns="seconds"), two.evaluations.drop(columns="seconds"))
    pd.testing.assert_frame_equal(one.logbook.drop(columns="elapsed"), two.logbook.drop(columns="elapsed"))
    assert one.best_params == two.best_params and one.best_fitness == two.best_fitness


def test_joblib_map_keeps_input_order():
    pmap = make_map(2)
    assert pmap.kind == "joblib" and pmap.slots == 2
    assert pmap(operator.pow, [(2, k) for k in range(7)]) == [2**k for k in range(7)]


def test_dask_local_cluster_map_and_ga():
    pytest.importorskip("distributed")
    with make_map(2, scheduler="local") as pmap:
        assert pmap.kind == "dask" and pmap.slots == 2
        assert pmap(operator.sub, [(k, 1) for k in range(6)]) == [k - 1 for k in range(6)]
        kw = dict(population=6, generations=2, seed=4, log=lambda m: None)
        serial = GeneticTuner(SPACE, negative_peaks, **kw).run()
        on_dask = GeneticTuner(SPACE, negative_peaks, scheduler=pmap.client, **kw).run()
    assert pmap.client is None  # the map closed the client it started
    pd.testing.assert_frame_equal(serial.evaluations.drop(columns="seconds"),
                                  on_dask.evaluations.drop(columns="seconds"))
