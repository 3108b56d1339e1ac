import numpy as np
import pytest

from wq.errors import ConfigError
from wq.windows import sequence_windows, split_sequences


def test_windows_hold_past_and_future_rows():
    T, C = 30, 3
    M = np.arange(T * C, dtype=float).reshape(T, C)
    S, origins = sequence_windows(M, lags=4, horizon=2)
    assert S.shape == (T - 4 - 2 + 1, 6, C)
    assert origins[0] == 3 and origins[-1] == T - 3
    for i, t in enumerate(origins):
        np.testing.assert_array_equal(S[i, :4], M[t - 3:t + 1])
        np.testing.assert_array_equal(S[i, 4:], M[t + 1:t + 3])


def test_selected_origins_and_bounds():
    M = np.random.default_rng(0).normal(size=(20, 2))
    S, origins = sequence_windows(M, 3, 1, origins=np.array([2, 10, 18]))
    np.testing.assert_array_equal(S[1, :3], M[8:11])
    with pytest.raises(ConfigError):
        sequence_windows(M, 3, 1, origins=np.array([1]))
    with pytest.raises(ConfigError):
        sequence_windows(M, 3, 1, origins=np.array([19]))
    with pytest.raises(ConfigError):
        sequence_windows(M[:3], 3, 1)


def test_split_sequences_channels():
    T = 25
    M = np.column_stack([np.arange(T), 100 + np.arange(T), 1000 + np.arange(T)]).astype(float)
    S, origins = sequence_windows(M, lags=5, horizon=3)
    ws = split_sequences(S, 5, inputs=[0, 1], targets=[0], future=[2], origins=origins)
    assert ws.X.shape == (len(origins), 5, 2)
    assert ws.Z.shape == (len(origins), 3)
    assert ws.Y.shape == (len(origins), 3, 1)
    t = origins[0]
    np.testing.assert_array_equal(ws.X[0, :, 0], np.arange(t - 4, t + 1))
    np.testing.assert_array_equal(ws.Y[0, :, 0], np.arange(t + 1, t + 4))
    np.testing.assert_array_equal(ws.Z[0], 1000 + np.arange(t + 1, t + 4))
