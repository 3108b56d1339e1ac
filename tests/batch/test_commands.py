"""`wq train`, `wq forecast`, `wq score` on the command line: exactly-once runs, exit codes and reasons for bad
input, score output, the scheduler's script, two processes at once on one store, and a killed process."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import torch

import wq.batch.forecast as fc
from wq.batch.artifact import _manifest_checksum, read_artifact, write_artifact
from wq.batch.store import ForecastStore
from wq.cli import main
from wq.data.simulate import simulate_wetland

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "pipelines" / "daily_forecast.sh"
TOML = """
name = "tiny-cli"
seed = 5
[data]
path = "{path}"
time = "date"
target = ["cod_out_mgl", "tp_out_mgl"]
drivers = ["air_temp_c", "rain_mm", "inflow_m3d"]
fill_limit = 7
[split]
validation = 0.2
[preprocess]
wavelet = {{ wavelet = "db2", level = 1, window = 16 }}
[model]
lags = 4
horizon = 2
hidden = 4
epochs = 2
batch = 32
[batch]
drift_window = 3
"""


def morning_after(day: str) -> str:
    """``--now`` of a scheduled run at 06:30 the day after the data end."""
    return str(pd.Timestamp(day) + pd.Timedelta("30h30min"))


def upto(sim: pd.DataFrame, day: str, path: Path) -> Path:
    sim.loc[pd.to_datetime(sim["date"]) <= pd.Timestamp(day)].to_csv(path, index=False)
    return path


def env_vars() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_wq(*args: str, module: str = "wq", timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env_vars(),
                          cwd=REPO, timeout=timeout)


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    sim = simulate_wetland(days=200, seed=2)
    train = upto(sim, "2019-06-30", root / "train.csv")
    toml = root / "tiny.toml"
    toml.write_text(TOML.format(path=train.as_posix()))
    assert main(["train", str(toml), "--artifact", str(root / "lstm"), "--quiet"]) == 0
    assert main(["train", str(toml), "--model", "persistence", "--artifact", str(root / "naive"), "--quiet"]) == 0
    return {"root": root, "sim": sim, "toml": toml, "train": train, "lstm": root / "lstm", "naive": root / "naive"}


def store_rows(db: Path) -> pd.DataFrame:
    return ForecastStore(db).read() if db.exists() else pd.DataFrame()


# ---------------------------------------------------------------------------------------------- happy path


def test_train_forecast_again_then_next_day(cli_env, tmp_path, capsys) -> None:
    capsys.readouterr()
    db = tmp_path / "f.sqlite"
    d1 = upto(cli_env["sim"], "2019-07-01", tmp_path / "d1.csv")
    args = ["forecast", "--artifact", str(cli_env["lstm"]), "--data", str(d1), "--store", str(db),
            "--now", morning_after("2019-07-01")]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "as-of 2019-07-01 00:00:00, 4 rows" in out and "4 inserted, 0 unchanged, 0 revised" in out
    assert err.splitlines()[0][:4].isdigit() and "forecast tiny-cli" in err  # log lines with timestamps
    first = store_rows(db)
    assert main(args) == 0
    assert "0 inserted, 4 unchanged, 0 revised" in capsys.readouterr().out
    pd.testing.assert_frame_equal(store_rows(db), first, check_exact=True)  # the same rows, no duplicates
    d2 = upto(cli_env["sim"], "2019-07-02", tmp_path / "d2.csv")
    assert main(["forecast", "--artifact", str(cli_env["lstm"]), "--data", str(d2), "--store", str(db), "--quiet",
                 "--now", morning_after("2019-07-02")]) == 0
    rows = store_rows(db)
    assert len(rows) == 8 and rows["as_of"].nunique() == 2
    pd.testing.assert_frame_equal(rows.iloc[:4].reset_index(drop=True), first, check_exact=True)  # the first day kept as it was


def test_backfill_then_score(cli_env, tmp_path, capsys) -> None:
    db = tmp_path / "f.sqlite"
    full = upto(cli_env["sim"], "2019-07-19", tmp_path / "full.csv")
    art = str(cli_env["naive"])
    assert main(["forecast", "--artifact", art, "--data", str(full), "--backfill", "2019-07-01", "2019-07-19",
                 "--store", str(db), "--quiet"]) == 0
    assert len(store_rows(db)) == 19 * 2 * 2
    capsys.readouterr()
    out_dir = tmp_path / "score"
    assert main(["score", "--store", str(db), "--artifact", art, "--data", str(full), "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "Per horizon step" in out and "Per month" in out and "1.5 x validation MAPE" in out
    by_step = pd.read_csv(out_dir / "by_step.csv")
    # 19 as-of times: step 1 valid 07-02..07-20 (18 observed), step 2 valid 07-03..07-21 (17 observed)
    assert sorted(zip(by_step["target"], by_step["step"], by_step["n"])) == [
        ("cod_out_mgl", 1, 18), ("cod_out_mgl", 2, 17), ("tp_out_mgl", 1, 18), ("tp_out_mgl", 2, 17)]
    assert {p.name for p in out_dir.iterdir()} == {"by_step.csv", "by_month.csv", "daily.csv", "flags.csv"}
    flags = pd.read_csv(out_dir / "flags.csv")
    assert (flags["threshold_from"] == "1.5 x validation MAPE").all()
    # a threshold no forecast can meet: drift on every series, exit 3 with --fail-on-drift
    assert main(["score", "--store", str(db), "--artifact", art, "--data", str(full), "--threshold", "1e-9",
                 "--fail-on-drift"]) == 3
    assert "DRIFT" in capsys.readouterr().out
    # without an artifact: the data's time column and the stored targets
    assert main(["score", "--store", str(db), "--data", str(full), "--time", "date"]) == 0
    assert "all forecasts" in capsys.readouterr().out
    assert main(["score", "--store", str(tmp_path / "none.sqlite"), "--data", str(full)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_csv_output_and_dry_run(cli_env, tmp_path, capsys) -> None:
    out = tmp_path / "f.csv"
    d1 = upto(cli_env["sim"], "2019-07-03", tmp_path / "d.csv")
    base = ["forecast", "--artifact", str(cli_env["naive"]), "--data", str(d1), "--quiet",
            "--now", morning_after("2019-07-03")]
    assert main([*base, "--csv", str(out)]) == 0 and main([*base, "--csv", str(out)]) == 0
    assert len(pd.read_csv(out)) == 4
    capsys.readouterr()
    assert main([*base, "--dry-run"]) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out.split("\n", 1)[1]))
    assert len(printed) == 4 and set(printed["as_of"]) == {"2019-07-03T00:00:00"}


# ---------------------------------------------------------------------------------------------- bad input


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _rewrite_manifest(art: Path, edit) -> None:
    manifest = json.loads((art / "manifest.json").read_text())
    edit(manifest)
    manifest["manifest_sha256"] = _manifest_checksum(manifest)
    (art / "manifest.json").write_text(json.dumps(manifest))


def _wrong_shape(src: Path, dst: Path) -> Path:
    a = read_artifact(src)
    files = {n: a.bytes(n) for n in a.files}
    weights = torch.load(a.path("model/weights.pt"), weights_only=True)
    key = sorted(weights)[0]
    weights[key] = torch.zeros(tuple(s + 2 for s in weights[key].shape))
    buf = io.BytesIO()
    torch.save(weights, buf)
    return write_artifact(dst, {**files, "model/weights.pt": buf.getvalue()}, a.meta)


def _case(name: str, env: dict, tmp: Path) -> tuple[list[str], str]:
    """(extra forecast arguments, expected reason) for one kind of bad input."""
    sim, lstm = env["sim"], env["lstm"]
    fresh = upto(sim, "2019-07-05", tmp / "fresh.csv")
    if name == "stale":
        return ["--artifact", str(lstm), "--data", str(fresh), "--max-staleness", "2D", "--now", "2019-07-09"], \
            r"stale: the last complete observation \(2019-07-05 00:00:00\) is 4 days"
    if name == "stale by default":
        return ["--artifact", str(lstm), "--data", str(fresh), "--now", "2019-07-09"], \
            r"\(2019-07-05 00:00:00\) is more than one step \(D\) before the forecast origin 2019-07-08"
    if name == "missing column":
        sim.drop(columns=["inflow_m3d"]).to_csv(tmp / "x.csv", index=False)
        return ["--artifact", str(lstm), "--data", str(tmp / "x.csv")], "'inflow_m3d' not found"
    if name == "changed frequency":
        hourly = sim.iloc[:100].assign(date=pd.date_range("2019-01-01", periods=100, freq="h"))
        hourly.to_csv(tmp / "x.csv", index=False)
        return ["--artifact", str(lstm), "--data", str(tmp / "x.csv")], "frequency changed: the data are at 'h'"
    if name == "modified file":
        art = _copy(lstm, tmp / "a")
        path = art / "model" / "model.json"
        path.write_text(path.read_text().replace('"lags": 4', '"lags": 5'))  # edited JSON
        return ["--artifact", str(art), "--data", str(fresh)], "'model/model.json' (was modified|has \\d+ bytes)"
    if name == "missing file":
        art = _copy(lstm, tmp / "a")
        (art / "model" / "weights.pt").unlink()
        return ["--artifact", str(art), "--data", str(fresh)], "'model/weights.pt' listed in the manifest is missing"
    if name == "edited manifest":
        art = _copy(lstm, tmp / "a")
        text = (art / "manifest.json").read_text().replace('"pipeline": "tiny-cli"', '"pipeline": "other"')
        (art / "manifest.json").write_text(text)
        return ["--artifact", str(art), "--data", str(fresh)], "manifest.json was edited"
    if name == "wrong weight shapes":
        art = _wrong_shape(lstm, tmp / "a")
        return ["--artifact", str(art), "--data", str(fresh)], "size mismatch"
    if name == "newer artifact format":
        art = _copy(lstm, tmp / "a")
        _rewrite_manifest(art, lambda m: m.update(format=99))
        return ["--artifact", str(art), "--data", str(fresh)], "artifact format 99 is newer than this wq supports"
    if name == "newer batch format":
        art = _copy(lstm, tmp / "a")
        _rewrite_manifest(art, lambda m: m["meta"].update(batch_format=99))
        return ["--artifact", str(art), "--data", str(fresh)], "batch format 99 is newer"
    if name == "no artifact":
        return ["--artifact", str(tmp / "nothing"), "--data", str(fresh)], "no such directory"
    if name == "as-of after the data":
        return ["--artifact", str(lstm), "--data", str(fresh), "--as-of", "2019-07-06"], "before the as-of time"
    if name == "bad option":
        return ["--artifact", str(lstm), "--as-of", "2019-07-01", "--backfill", "2019-07-01", "2019-07-02"], \
            "not allowed with argument"
    raise AssertionError(name)


CASES = ["stale", "stale by default", "missing column", "changed frequency", "modified file", "missing file", "edited manifest",
         "wrong weight shapes", "newer artifact format", "newer batch format", "no artifact",
         "as-of after the data", "bad option"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_with_its_reason_and_writes_nothing(cli_env, tmp_path, capsys, case) -> None:
    db = tmp_path / "f.sqlite"
    ok = upto(cli_env["sim"], "2019-07-01", tmp_path / "ok.csv")
    assert main(["forecast", "--artifact", str(cli_env["naive"]), "--data", str(ok), "--store", str(db), "--quiet",
                 "--now", morning_after("2019-07-01")]) == 0
    before = store_rows(db)
    args, reason = _case(case, cli_env, tmp_path)
    capsys.readouterr()
    assert main(["forecast", *args, "--store", str(db), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("wq: error: "), err  # one line, the reason in it
    assert re.search(reason, err[0]), (err[0], reason)
    pd.testing.assert_frame_equal(store_rows(db), before, check_exact=True)


def test_train_bad_input_exits_2(cli_env, tmp_path, capsys) -> None:
    assert main(["train", str(cli_env["toml"]), "--artifact", str(cli_env["naive"]), "--model", "persistence"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["train", str(cli_env["toml"]), "--artifact", str(tmp_path / "a"), "--model", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    assert main(["forecast", "--artifact", str(cli_env["naive"])]) == 2
    assert "give --store PATH" in capsys.readouterr().err


def test_unexpected_error_exits_1_and_writes_nothing(cli_env, tmp_path, capsys, monkeypatch) -> None:
    def boom(*a, **k):
        raise RuntimeError("bug")

    monkeypatch.setattr(fc, "forecast_rows", boom)
    db = tmp_path / "f.sqlite"
    assert main(["forecast", "--artifact", str(cli_env["naive"]), "--store", str(db), "--quiet",
                 "--max-staleness", "none"]) == 1
    assert "unexpected error: RuntimeError: bug" in capsys.readouterr().err
    assert not db.exists()


# ---------------------------------------------------------------------------------------------- processes


def test_exit_code_of_the_real_command(cli_env, tmp_path) -> None:
    bad = _copy(cli_env["naive"], tmp_path / "a")
    (bad / "pipeline.toml").write_text("name = 'x'\n")
    db = tmp_path / "f.sqlite"
    proc = run_wq("forecast", "--artifact", str(bad), "--store", str(db))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("wq: error: artifact ")
    assert "'pipeline.toml'" in proc.stderr and "Traceback" not in proc.stderr
    assert not db.exists()


def test_scheduler_script_and_a_backfill_at_once_on_one_store(cli_env, tmp_path) -> None:
    db = tmp_path / "f.sqlite"
    data = upto(cli_env["sim"], "2019-07-19", tmp_path / "d.csv")
    env = env_vars() | {"WQ_PYTHON": sys.executable, "WQ_ARTIFACT": str(cli_env["naive"]), "WQ_DATA": str(data),
                        "WQ_STORE": str(db), "WQ_MAX_STALENESS": "1D"}
    script = subprocess.Popen(["bash", str(SCRIPT)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    backfill = subprocess.Popen([sys.executable, "-m", "wq.batch", "forecast", "--artifact", str(cli_env["naive"]),
                                 "--data", str(data), "--backfill", "2019-07-10", "2019-07-19", "--store", str(db)],
                                env=env_vars(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    s_out, s_err = script.communicate(timeout=120)
    b_out, b_err = backfill.communicate(timeout=120)
    # the script checks staleness against the wall clock: the 2019 data are stale -> exit 2, nothing written
    assert script.returncode == 2, s_err
    assert "stale" in s_err and "daily_forecast: failed: bad input" in s_err
    assert backfill.returncode == 0, b_err
    # without WQ_MAX_STALENESS the default rule refuses the 2019 data too (one step before today at most)
    env.pop("WQ_MAX_STALENESS")
    default = subprocess.run(["bash", str(SCRIPT)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert default.returncode == 2 and "more than one step (D) before the forecast origin" in default.stderr
    # old data on purpose, at the same time as a second backfill over the same days
    env["WQ_MAX_STALENESS"] = "none"
    script = subprocess.Popen(["bash", str(SCRIPT)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    again = subprocess.Popen([sys.executable, "-m", "wq.batch", "forecast", "--artifact", str(cli_env["naive"]),
                              "--data", str(data), "--backfill", "2019-07-15", "2019-07-19", "--store", str(db)],
                             env=env_vars(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    s_out, s_err = script.communicate(timeout=120)
    a_out, a_err = again.communicate(timeout=120)
    assert script.returncode == 0 and again.returncode == 0, (s_err, a_err)
    assert "daily_forecast: done" in s_err
    rows = store_rows(db)
    key = ["pipeline", "model_version", "as_of", "target", "step"]
    assert len(rows) == 10 * 2 * 2 and not rows.duplicated(key).any()  # no duplicate, none lost
    assert ForecastStore(db).integrity_check() == "ok"
    assert subprocess.run(["bash", str(SCRIPT)], env={"PATH": os.environ["PATH"]}, capture_output=True).returncode == 2


def test_a_killed_process_leaves_the_store_as_it_was(cli_env, tmp_path) -> None:
    db = tmp_path / "f.sqlite"
    data = upto(cli_env["sim"], "2019-07-19", tmp_path / "d.csv")
    art = str(cli_env["naive"])
    assert main(["forecast", "--artifact", art, "--data", str(data), "--as-of", "2019-07-12", "--store", str(db),
                 "--quiet"]) == 0
    before = store_rows(db)
    code = textwrap.dedent(f"""
        import os, signal, sys
        import wq.batch.store as store
        real = store._merge
        def merge_then_die(conn, on_conflict):
            real(conn, on_conflict)          # every row is in the table, not yet committed
            os.kill(os.getpid(), signal.SIGKILL)
        store._merge = merge_then_die
        from wq.batch.__main__ import main
        sys.exit(main(["forecast", "--artifact", {art!r}, "--data", {str(data)!r}, "--backfill", "2019-07-01",
                       "2019-07-19", "--store", {str(db)!r}, "--quiet"]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], env=env_vars(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pd.testing.assert_frame_equal(store_rows(db), before, check_exact=True)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("flag, name, message", [
    ("--store", "nodir/f.sqlite", "folder"),
    ("--csv", "nodir/f.csv", "folder"),
    ("--store", "f.csv", "give --csv"),
])
def test_a_bad_destination_is_refused_before_anything_is_loaded(tmp_path, capsys, flag, name, message):
    """The destination is checked first: the artifact given here does not even exist, and the error is the
    destination's, one line, exit 2, nothing created."""
    code = main(["forecast", "--artifact", str(tmp_path / "no-artifact"), flag, str(tmp_path / name)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "no-artifact" not in err and "\n" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
