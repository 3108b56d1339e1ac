import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wq.errors import ConfigError
from wq.tune.space import Param, Space, default_space


def test_int_decode_gives_each_integer_an_equal_share():
    p = Param("lags", "int", 3, 5)  # n = 3 integers: [0, 1/3) -> 3, [1/3, 2/3) -> 4, [2/3, 1] -> 5
    assert [p.decode(u) for u in (0.0, 0.33, 0.34, 0.66, 0.67, 1.0)] == [3, 3, 4, 4, 5, 5]
    assert p.decode(-0.5) == 3 and p.decode(1.5) == 5  # genes are clipped to [0, 1]
    assert isinstance(p.decode(0.5), int)
    assert p.encode(4) == pytest.approx(0.5) and p.decode(p.encode(5)) == 5


def test_float_and_log_float_decode():
    f = Param("dropout", "float", 0.0, 0.4)
    assert f.decode(0.25) == pytest.approx(0.1)
    assert f.decode(1 / 3) == 0.133333  # rounded to 6 significant digits
    lf = Param("lr", "log-float", 1e-4, 1e-2)
    assert lf.decode(0.5) == pytest.approx(1e-3)  # geometric midpoint
    assert lf.decode(0.0) == 1e-4 and lf.decode(1.0) == 1e-2
    assert lf.encode(1e-3) == pytest.approx(0.5)
    full = Param("x", "float", 0.0, 3.0, digits=None)
    assert full.decode(1 / 3) == 1.0


def test_choice_decode_by_index():
    c = Param("wavelet", "choice", choices=["db4", "sym4", "haar"])
    assert [c.decode(u) for u in (0.0, 0.33, 0.34, 0.99, 1.0)] == ["db4", "db4", "sym4", "haar", "haar"]
    assert c.encode("sym4") == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="wavelet"):
        c.encode("db2")


@settings(max_examples=60, deadline=None)
@given(u=st.floats(0.0, 1.0), low=st.integers(-5, 5), width=st.integers(0, 20))
def test_decode_stays_in_bounds_and_encode_roundtrips(u, low, width):
    p = Param("a", "int", low, low + width)
    v = p.decode(u)
    assert low <= v <= low + width
    assert p.decode(p.encode(v)) == v
    f = Param("b", "log-float", 0.001, 0.001 * (width + 2))
    x = f.decode(u)
    assert 0.001 <= x <= 0.001 * (width + 2)
    assert math.isclose(f.decode(f.encode(x)), x, rel_tol=1e-5)


def test_space_decode_key_and_encode():
    sp = Space((Param("a", "int", 0, 9), Param("b", "choice", choices=[16, 32])))
    assert sp.decode([0.55, 0.9]) == {"a": 5, "b": 32}
    assert sp.key([0.55, 0.9]) == sp.key([0.51, 0.6]) == (5, 32)  # same settings, same key
    assert sp.key([0.55, 0.9]) != sp.key([0.45, 0.9])
    assert sp.decode(sp.encode({"a": 7, "b": 16})) == {"a": 7, "b": 16}
    with pytest.raises(ConfigError, match="missing"):
        sp.encode({"a": 7})
    with pytest.raises(ConfigError, match="length"):
        sp.decode([0.5])


def test_from_mapping_parses_toml_table_and_nested_tables():
    sp = Space.from_mapping({
        "lags": {"low": 3, "high": 21, "type": "int"},
        "wavelet": {"choices": ["db4", "sym4", "haar"]},
        "lr": {"low": 1e-4, "high": 1e-2, "type": "log-float"},
        "model": {"dropout": {"low": 0.0, "high": 0.4, "type": "float"}},  # [tune.space.model] table
        "batch": [16, 32],
    })
    assert sp.names == ["lags", "wavelet", "lr", "model__dropout", "batch"]
    assert [p.kind for p in sp] == ["int", "choice", "log-float", "float", "choice"]
    assert Space.from_mapping(sp.to_mapping()) == sp
    assert Space.from_state(sp.get_state()) == sp


@pytest.mark.parametrize("entry, match", [
    ({"low": 1, "high": 5}, "type"),
    ({"low": 1, "type": "int"}, "low and high"),
    ({"low": 5, "high": 1, "type": "int"}, "low <= high"),
    ({"low": 1.5, "high": 4, "type": "int"}, "integer bounds"),
    ({"low": 0.0, "high": 1.0, "type": "log-float"}, "low > 0"),
    ({"low": 1, "high": 2, "type": "cubic"}, "type must be"),
    ({"choices": []}, "non-empty"),
    ({"choices": ["a", "a"]}, "distinct"),
    ({"choices": ["a"], "type": "int"}, "choices given"),
    ({"low": 1, "high": 2, "type": "int", "step": 1}, "unknown key"),
    ({"low": "a", "high": 2, "type": "float"}, "numbers"),
    (3, "expected a table"),
])
def test_from_mapping_errors_name_the_key(entry, match):
    with pytest.raises(ConfigError, match=match) as info:
        Space.from_mapping({"model.lags": entry})
    assert "model__lags" in str(info.value)


def test_space_rejects_duplicates_and_empty():
    with pytest.raises(ConfigError, match="twice"):
        Space((Param("a", "int", 0, 1), Param("a", "float", 0, 1)))
    with pytest.raises(ConfigError):
        Space.from_mapping({})


def test_default_space_holds_the_dual_lstm_settings():
    sp = default_space()
    assert sp.names == ["model__lags", "model__hidden", "model__layers", "model__dropout", "model__lr", "model__batch",
                        "model__patience", "preprocess__moving_average__window", "preprocess__wavelet__wavelet",
                        "preprocess__wavelet__level", "preprocess__wavelet__window", "preprocess__pca__variance"]
    lo, hi = sp.decode([0.0] * sp.dim), sp.decode([1.0] * sp.dim)
    assert (lo["model__lags"], hi["model__lags"]) == (3, 21)
    assert (lo["model__lr"], hi["model__lr"]) == (3e-4, 1e-2)
    assert (lo["model__batch"], hi["model__batch"]) == (16, 128)
    assert (lo["preprocess__wavelet__wavelet"], hi["preprocess__wavelet__wavelet"]) == ("db2", "haar")
    pipeline_defaults = {"model__lags": 7, "model__hidden": 32, "model__layers": 1, "model__dropout": 0.1,
                         "model__lr": 1e-3, "model__batch": 64, "model__patience": 20,
                         "preprocess__moving_average__window": 3, "preprocess__wavelet__wavelet": "db4",
                         "preprocess__wavelet__level": 2, "preprocess__wavelet__window": 64,
                         "preprocess__pca__variance": 0.9}
    back = sp.decode(sp.encode(pipeline_defaults))
    assert back == pytest.approx(pipeline_defaults)
