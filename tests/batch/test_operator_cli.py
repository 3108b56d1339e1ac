"""What an operator relies on, on the command line: a forecast once issued stays issued (revisions are
versions beside it, listed by `wq forecast-history`, scored only on request), and `wq ... | head -1` exits
quietly like a Unix tool."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from wq.batch.store import ForecastStore
from wq.cli import EXIT_BROKEN_PIPE, main
from wq.data.simulate import simulate_wetland

REPO = Path(__file__).resolve().parents[2]
TOML = """
name = "ops"
seed = 2
[data]
path = "{path}"
time = "date"
target = ["cod_out_mgl", "tp_out_mgl"]
drivers = ["rain_mm"]
fill_limit = 7
[split]
validation = 0.2
[model]
name = "persistence"
horizon = 2
"""


@pytest.fixture(scope="module")
def ops(tmp_path_factory):
    root = tmp_path_factory.mktemp("ops")
    sim = simulate_wetland(days=1500, seed=3)
    train = root / "train.csv"
    sim.iloc[:120].to_csv(train, index=False)
    toml = root / "ops.toml"
    toml.write_text(TOML.format(path=train.as_posix()))
    assert main(["train", str(toml), "--artifact", str(root / "art"), "--quiet"]) == 0
    return {"root": root, "sim": sim, "art": root / "art"}


def test_a_revised_forecast_is_a_new_version_and_what_was_issued_stays(ops, tmp_path, capsys) -> None:
    sim, art, db = ops["sim"], str(ops["art"]), tmp_path / "f.sqlite"
    data = tmp_path / "d.csv"
    sim.iloc[:130].to_csv(data, index=False)  # 2019-01-01 .. 2019-05-10
    run = ["forecast", "--artifact", art, "--data", str(data), "--store", str(db), "--quiet",
           "--now", "2019-05-11 06:30"]
    capsys.readouterr()
    assert main(run) == 0
    assert "4 inserted, 0 unchanged, 0 revised" in capsys.readouterr().out
    issued = ForecastStore(db).read()
    # the observation of the as-of day is revised in the file; the day is forecast again
    revised = sim.iloc[:130].copy()
    revised.loc[revised.index[-1], "cod_out_mgl"] *= 1.1
    revised.to_csv(data, index=False)
    assert main([*run, "--on-conflict", "error"]) == 2  # asked to fail on a revision: nothing written
    assert "already holds key" in capsys.readouterr().err
    assert main(run) == 0
    assert "0 inserted, 2 unchanged, 2 revised" in capsys.readouterr().out
    assert main(run) == 0  # the same revised data again: idempotent
    assert "0 inserted, 4 unchanged, 0 revised" in capsys.readouterr().out
    pd.testing.assert_frame_equal(ForecastStore(db).read(), issued, check_exact=True)  # what was sent out
    assert main(["forecast-history", "--store", str(db), "--as-of", "2019-05-10", "--target", "cod_out_mgl"]) == 0
    history = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(zip(history["step"], history["version"])) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert history.groupby("version")["data_sha256"].nunique().tolist() == [1, 1]
    assert history["data_sha256"].nunique() == 2 and history["issued_at"].notna().all()
    v1, v2 = history["value"].iloc[0], history["value"].iloc[1]
    assert v2 == pytest.approx(v1 * 1.1)  # persistence: the revised observation
    # scoring: the value issued first, unless the latest is asked for
    obs = tmp_path / "obs.csv"
    sim.iloc[:140].to_csv(obs, index=False)
    assert main(["score", "--store", str(db), "--data", str(obs), "--time", "date"]) == 0
    first = capsys.readouterr().out
    assert main(["score", "--store", str(db), "--data", str(obs), "--time", "date", "--version", "latest"]) == 0
    latest = capsys.readouterr().out
    assert "scored forecasts: 4" in first and "scored forecasts: 4" in latest and first != latest


def test_closed_pipe_exits_quietly(ops, tmp_path) -> None:
    data = tmp_path / "long.csv"
    ops["sim"].to_csv(data, index=False)  # ~1400 as-of days x 4 rows: far more than a pipe holds
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for module in ("wq", "wq.batch"):
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "forecast", "--artifact", str(ops["art"]), "--data", str(data),
             "--backfill", "2019-06-01", "2023-01-31", "--max-staleness", "none", "--dry-run", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
        first = proc.stdout.readline()  # `| head -1`
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.stderr.close()
        assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE, err
        assert first.startswith(b"ops ") and err == ""  # no traceback, no "Exception ignored"
