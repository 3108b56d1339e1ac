"""The wetland-study script's answers from a run's variants.csv: the LSTM's rank and the moving average's effect."""

from __future__ import annotations

import pandas as pd

from benchmarks.wetland_study import lstm_answer, ma_answer, ranking


def periods() -> pd.DataFrame:
    """Two targets; the LSTM best on validation, MLR best on test; the MA variant helps BPNN on one target."""
    mape = {  # (model, variant): (validation, test) per target a, b
        ("lstm", "as declared"): ((1.0, 4.0), (1.0, 4.0)),
        ("mlr", "as declared"): ((2.0, 1.0), (2.0, 1.0)),
        ("bpnn", "as declared"): ((3.0, 3.0), (3.0, 3.0)),
        ("ga-bpnn", "as declared"): ((4.0, 2.0), (4.0, 2.0)),
        ("persistence", "as declared"): ((0.5, 5.0), (5.0, 5.0)),
        ("bpnn", "ma"): ((2.5, 2.5), (3.5, 3.5)),
        ("lstm", "ma"): ((1.5, 4.5), (1.5, 4.5)),
        ("mlr", "ma"): ((2.0, 1.0), (2.0, 1.0)),
        ("ga-bpnn", "ma"): ((4.0, 2.0), (4.0, 2.0)),
    }
    rows = []
    for (model, variant), per_target in mape.items():
        for target, (val, test) in zip("ab", per_target):
            rows += [{"model": model, "variant": variant, "target": target, "step": 1, "period": p, "MAPE": v}
                     for p, v in (("validation", val), ("test", test))]
    return pd.DataFrame(rows)


def test_ranking_and_the_lstm_answer():
    table = ranking(periods(), "a")
    assert table["model"].iloc[0] == "persistence" and "bpnn/ma" in set(table["model"])
    assert list(table.columns) == ["model", "validation", "test"]
    answer = lstm_answer(table)
    assert "validation: LSTM 1 of 4 (best of the four: lstm; best of all: persistence)" in answer
    assert "test: LSTM 4 of 4 (best of the four: mlr; best of all: mlr)" in answer


def test_moving_average_answer_counts_targets_where_it_lowered_the_error():
    assert ma_answer(periods(), "bpnn") == "validation 1 of 2, test 1 of 2"
    assert ma_answer(periods(), "lstm") == "validation 0 of 2, test 0 of 2"
    assert ma_answer(periods(), "mlr") == "validation 0 of 2, test 0 of 2"  # unchanged is not lowered
