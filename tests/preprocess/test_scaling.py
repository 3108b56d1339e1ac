"""MinMaxScaling against the definition in docs/definitions.md (min-max from train)."""

import json

import numpy as np
import pandas as pd
import pytest

from wq.errors import DataError
from wq.preprocess import MinMaxScaling


def test_by_hand_and_later_data_not_clipped():
    train = np.array([[0.0, 10.0], [5.0, 20.0], [10.0, 30.0]])
    s = MinMaxScaling().fit(train)
    np.testing.assert_array_equal(s.data_min_, [0, 10])
    np.testing.assert_array_equal(s.data_max_, [10, 30])
    np.testing.assert_allclose(s.transform(train), [[0, 0], [0.5, 0.5], [1, 1]])
    # later data uses the training min/max, is not refitted and not clipped
    np.testing.assert_allclose(s.transform(np.array([[20.0, 0.0]])), [[2.0, -0.5]])
    np.testing.assert_array_equal(s.data_max_, [10, 30])


def test_inverse_round_trip():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(40, 3))
    s = MinMaxScaling().fit(x[:20])
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x, rtol=1e-12, atol=1e-12)


def test_constant_training_column_named():
    df = pd.DataFrame({"ok": [1.0, 2.0, 3.0], "pressure": [0.0, 0.0, 0.0]})
    with pytest.raises(DataError, match="'pressure'"):
        MinMaxScaling().fit(df)
    with pytest.raises(DataError, match="column 1"):
        MinMaxScaling().fit(df.to_numpy())


def test_json_round_trip_and_frame_kind():
    idx = pd.date_range("2020-01-01", periods=10, freq="D", name="time")
    df = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) ** 2}, index=idx)
    s = MinMaxScaling().fit(df.iloc[:6])
    r = MinMaxScaling.from_state(json.loads(json.dumps(s.get_state())))
    out = r.transform(df)
    pd.testing.assert_frame_equal(out, s.transform(df))
    assert out.index.equals(idx) and list(out.columns) == ["a", "b"]
    assert out["b"].iloc[5] == 1.0


def test_columns_must_match_fit():
    s = MinMaxScaling().fit(pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 2.0]}))
    with pytest.raises(DataError, match="differ"):
        s.transform(pd.DataFrame({"b": [0.0], "a": [1.0]}))
