"""Pipeline settings: one typed, validated object; nested merge with the defaults; one-line errors naming the
table, key and allowed values; nested names for the tuner; bad values exit 2 before any fitting (issue 10
items 3 and 8, issue 11 item 1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wq.cli import main
from wq.config import Pipeline
from wq.errors import ConfigError
from wq.preprocess import WaveletParams

BASE = {"name": "tiny", "seed": 3,
        "data": {"path": "wet.csv", "time": "date", "target": ["cod_out_mgl"], "drivers": ["rain_mm"], "freq": "D"}}


def pipe(**tables) -> Pipeline:
    given = {**BASE}
    for key, value in tables.items():
        given[key] = {**given.get(key, {}), **value} if isinstance(value, dict) else value
    return Pipeline.from_dict(given)


def test_a_table_keeps_its_other_defaults():
    p = pipe(preprocess={"wavelet": {"level": 3}})
    assert p.preprocess.wavelet.level == 3
    assert p.preprocess.wavelet.wavelet == WaveletParams().wavelet and p.preprocess.wavelet.window == 64
    assert p.preprocess.outliers is not None and p.model.lags == 7  # untouched tables keep theirs
    assert pipe(preprocess={"pca": False}).preprocess.pca is None
    assert pipe(preprocess={"pca": True}).preprocess.pca.variance == 0.9


@pytest.mark.parametrize("tables, words", [
    ({"split": {"test": "abc"}}, r"\[split\] test: Input should be a valid number \(got 'abc'\)"),
    ({"model": {"dropout": "x"}}, r"\[model\] dropout: Input should be a valid number"),
    ({"model": {"lr": "fast"}}, r"\[model\] lr: Input should be a valid number \(got 'fast'\)"),
    ({"model": {"lags": True}}, r"\[model\] lags: Input should be a valid integer"),
    ({"model": {"lags": 0}}, r"\[model\] lags: Input should be greater than or equal to 1"),
    ({"model": {"hiden": 3}}, r"unknown key 'hiden' \(did you mean 'hidden'\?\); valid keys: .*hidden"),
    ({"model": {"name": "dwt-pca-lsmt"}}, r"unknown model 'dwt-pca-lsmt' \(did you mean 'dwt-pca-lstm'\?\)"),
    ({"preprocess": {"wavelet": {"level": 9, "window": 8}}}, r"\[preprocess.wavelet\]: level 9 is above"),
    ({"preprocess": {"wavelet": {"mode": "magic"}}}, r"mode: Input should be 'causal' or 'offline'"),
    ({"augment": {"method": "gann"}}, r"\[augment\]: method must be one of none, gan.*did you mean 'gan'"),
    ({"tune": {"space": {"split.test": {"low": 0.1, "high": 0.5, "type": "float"}}}}, r"only model, preprocess"),
    ({"batch": {"max_staleness": "soon"}}, r"not a duration"),
    ({"evaluate": {"zeros": "ignore"}}, r"zeros: Input should be 'skip' or 'error'"),
    ({"name": "../../x"}, r"name must be a plain file name"),
    ({"name": "/abs/x"}, r"name must be a plain file name"),
    ({"modle": {}}, r"unknown section or key 'modle' \(did you mean 'model'\?\)"),
    ({"data": {"colums": ["a"]}}, r"unknown \[data\] keys \['colums'\]"),
])
def test_bad_values_fail_at_load_with_one_line_naming_table_and_key(tables, words):
    with pytest.raises(ConfigError, match=words) as info:
        pipe(**tables)
    assert "\n" not in str(info.value)


def test_nested_names_get_and_set_and_validate():
    p = pipe()
    params = p.get_params()
    assert params["model__lags"] == 7 and params["preprocess__wavelet__level"] == 2
    q = p.with_params(model__lags=9, **{"preprocess.wavelet.level": 3})
    assert (q.model.lags, q.preprocess.wavelet.level) == (9, 3) and p.model.lags == 7
    with pytest.raises(ConfigError, match="lags"):
        p.with_params(model__lags="nine")
    with pytest.raises(ConfigError, match="not a table"):
        p.with_params(model__lags__x=1)
    assert Pipeline.from_dict(p.to_dict()).get_params() == params  # to_dict round trip


def test_make_model_carries_the_settings():
    model = pipe(model={"name": "hgb", "learning_rate": 0.1, "lags": 4}).make_model()
    assert model.get_params()["component__learning_rate"] == 0.1 and model.lags == 4
    dual = pipe().make_model()
    assert dual.get_params()["preprocess__wavelet__level"] == 2


@pytest.fixture
def folder(tmp_path):
    from wq.data.simulate import simulate_wetland

    simulate_wetland(days=120, seed=1).to_csv(tmp_path / "wet.csv", index=False)
    return tmp_path


def toml_of(folder: Path, text: str) -> Path:
    path = folder / "p.toml"
    path.write_text('[data]\npath = "wet.csv"\ntime = "date"\ntarget = ["cod_out_mgl"]\ndrivers = ["rain_mm"]\n'
                    'freq = "D"\nfill_limit = 7\n' + text)
    return path


@pytest.mark.parametrize("command", ["run", "tune", "augment"])
@pytest.mark.parametrize("name", ["../../escaped", "/tmp/escaped-abs"])
def test_a_name_that_is_a_path_exits_2_and_writes_nothing(folder, capsys, command, name, monkeypatch):
    path = folder / "p.toml"
    path.write_text(f'name = "{name}"\n' + toml_of(folder, "").read_text())
    monkeypatch.chdir(folder)
    before = set(os.listdir(folder)), set(os.listdir(folder.parent))
    assert main([command, str(path), "--quiet"]) == 2
    assert "name must be a plain file name" in capsys.readouterr().err
    assert (set(os.listdir(folder)), set(os.listdir(folder.parent))) == before
    assert not Path("/tmp/escaped-abs").exists()


@pytest.mark.parametrize("text, words", [
    ('[split]\ntest = "abc"\n', "[split] test: Input should be a valid number"),
    ('[model]\ndropout = "x"\n', "[model] dropout"),
    ('[model]\nlr = "fast"\n', "[model] lr"),
    ('[model]\nlags = 200\n', "[model] lags = 200 with horizon = 1 needs at least 211 training rows"),
])
def test_a_bad_setting_exits_2_before_any_fitting(folder, capsys, text, words, monkeypatch):
    import wq.evaluate.backtest as backtest

    calls = []
    monkeypatch.setattr(backtest, "_fit", lambda *a, **k: calls.append(a))
    assert main(["run", str(toml_of(folder, text)), "--out", str(folder / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and not calls and not (folder / "out").exists()
