"""wq.data.check and wq.data.cli_args: the summary, problems, exit codes, flags."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wq.data.check import check, outlier_counts
from wq.cli.data import add_check_arguments, add_data_arguments, check_command, spec_from_args
from wq.data.load import DataSpec
from wq.errors import ConfigError


def parse(*argv: str) -> argparse.Namespace:
    return add_check_arguments(argparse.ArgumentParser(prog="wq data check")).parse_args(list(argv))


def spiky_csv(write, n: int = 40):
    """Daily series 1, 2, 1, 2, ... with one spike of 100 at day 20 and one missing value at day 10."""
    v = np.where(np.arange(n) % 2 == 0, 1.0, 2.0)
    v[20] = 100.0
    days = pd.date_range("2024-01-01", periods=n, freq="D")
    rows = [f"{d.date()},{'' if i == 10 else v[i]},{i}" for i, d in enumerate(days)]
    return write("s.csv", "date,flow,t\n" + "\n".join(rows) + "\n")


def test_outlier_counts_hand_computed():
    x = np.r_[np.zeros(20), 10.0]  # mean 10/21, sample std ~2.18: only the 10 is beyond 3 sd
    frame = pd.DataFrame({"a": x, "b": np.arange(21.0), "c": np.r_[np.nan, np.ones(20)]})
    out = outlier_counts(frame, k=3.0)
    assert out.to_dict() == {"a": 1, "b": 0, "c": 0}
    assert outlier_counts(frame, k=0.5)["b"] > 0


def test_check_summary_contents(write):
    report = check(DataSpec(spiky_csv(write), targets="flow", drivers="t"))
    assert report.ok and report.problems == []
    text = report.text
    assert "rows: 40" in text and "span: 2024-01-01 .. 2024-02-09" in text
    assert "frequency: D (inferred from the median step)" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("flow"))
    assert line.split()[1:4] == ["1", "0", "1"]  # missing before fill, after fill, outliers > 3 sd
    assert "gaps: 1 (1 filled); longest 1 steps" in text
    assert "notes:" in text


def test_check_reports_problem_not_exception(write):
    report = check(DataSpec(write("x.csv", "date,flow\n2024-01-01,1\n2024-01-02,zz\n")))
    assert not report.ok and "'zz' is not a number" in report.problems[0] and report.text == ""


def test_check_long_gap_problem_still_summarizes(write, daily_csv):
    path = write("g.csv", daily_csv([1, 2, None, None, None, None, None, 8, 9]))
    report = check(DataSpec(path, fill_limit=2))
    assert not report.ok and "long_gaps" in report.problems[0]
    assert "rows: 9" in report.text and "5 steps, kept" in report.text


def test_check_command_exit_codes_and_no_traceback(write, capsys):
    good = spiky_csv(write)
    assert check_command(parse(str(good), "--target", "flow")) == 0
    out, err = capsys.readouterr()
    assert "rows: 40" in out and err == ""
    bad = write("bad.csv", "date,flow\n2024-01-01,1\n2024-99-02,2\n")
    assert check_command(parse(str(bad))) == 2
    out, err = capsys.readouterr()
    assert err.startswith("wq: error: ") and "row 2 (line 3)" in err and "Traceback" not in out + err
    assert check_command(parse(str(write("e.csv", "")))) == 2
    assert "is empty" in capsys.readouterr().err
    assert check_command(parse()) == 2  # no file: a config problem, not a crash
    assert "no data file" in capsys.readouterr().err
    assert check_command(parse(str(good), "--agg", "flow")) == 2
    assert "--agg expects" in capsys.readouterr().err


def test_spec_from_args_maps_every_flag(tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("DAY\nQ-E, ZN-E\n")
    args = parse("f.data", "--names", f"@{names}", "--na", "?", "--na=-,NA", "--time", "DAY",
                 "--time-format", "D-%d/%m/%y", "--sep", ";", "--tz", "Europe/Copenhagen",
                 "--drivers-file", "w.csv", "--drivers-time", "time", "--drivers-tz", "UTC", "--freq", "h",
                 "--resample", "D", "--agg", "flow=mean,acc_precip=sum", "--duplicates", "first",
                 "--fill-limit", "2", "--fill-method", "linear", "--long-gaps", "keep", "--target", "Q-E",
                 "--drivers", "ZN-E", "--min-rows", "5", "--min-coverage", "0.5", "--sigma", "2.5")
    spec = spec_from_args(args)
    assert spec.names == ["DAY", "Q-E", "ZN-E"] and spec.na_values == ["?", "-", "NA"]
    assert spec.time == "DAY" and spec.time_format == "D-%d/%m/%y" and spec.sep == ";"
    assert spec.tz == "Europe/Copenhagen" and str(spec.drivers_path) == "w.csv" and spec.drivers_tz == "UTC"
    assert spec.agg == {"flow": "mean", "acc_precip": "sum"} and spec.resample == "D" and spec.freq == "h"
    assert (spec.duplicates, spec.fill_limit, spec.fill_method, spec.long_gaps) == ("first", 2, "linear", "keep")
    assert spec.targets == ["Q-E"] and spec.drivers == ["ZN-E"] and spec.min_rows == 5
    assert spec.min_coverage == 0.5 and args.sigma == 2.5 and spec.trim_edges
    assert spec_from_args(parse("f.csv", "--keep-edges")).trim_edges is False


def test_data_flag_and_path_conflict():
    parser = add_data_arguments(argparse.ArgumentParser(), path_required=False)
    assert str(spec_from_args(parser.parse_args(["--data", "a.csv"])).path) == "a.csv"
    with pytest.raises(ConfigError, match="two data files"):
        spec_from_args(parser.parse_args(["a.csv", "--data", "b.csv"]))


# ----------------------------------------------------------------------------------------- issue 10
REPO = Path(__file__).resolve().parents[2]


def wetland_copy(tmp_path: Path, name: str, edit) -> Path:
    """The sample wetland record with ``edit(frame)`` applied, written to tmp_path/name."""
    frame = pd.read_csv(REPO / "data" / "wetland_daily.csv")
    edit(frame)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def wq_cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wq", *argv], capture_output=True, text=True, cwd=cwd)


def test_huge_spike_exits_2_in_data_check_and_wq_run_without_numpy_warnings(tmp_path):
    """A +-1e308 spike passed `wq data check` with exit 0 (the std overflowed, raw RuntimeWarnings) and made
    `wq run` exit 1; both now exit 2 with one line naming file, row, line and column, and write nothing."""
    path = wetland_copy(tmp_path, "spike.csv", lambda f: f.__setitem__("cod_out_mgl", f["cod_out_mgl"].where(
        f.index != 99, -1e308)))
    where = f"file {path}, row 100 (line 101), column 'cod_out_mgl': -1e+308 is too large"
    done = wq_cli("data", "check", str(path), "--target", "cod_out_mgl", "--fill-limit", "7", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip() == done.stderr.strip().splitlines()[0]
    assert done.stderr.startswith("wq: error: " + where)
    assert "Warning" not in done.stderr + done.stdout
    out = tmp_path / "report"
    done = wq_cli("run", str(REPO / "pipelines" / "sample.toml"), "--data", str(path), "--models", "persistence",
                  "--out", str(out), "--quiet", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("wq: error: " + where)
    assert not out.exists()


def test_first_day_missing_is_trimmed_by_data_check(tmp_path, capsys):
    """A record whose target is missing on its first day was refused by default; now it starts a day later."""
    path = wetland_copy(tmp_path, "first.csv", lambda f: f.__setitem__("cod_out_mgl", f["cod_out_mgl"].where(
        f.index != 0)))
    assert check_command(parse(str(path), "--target", "cod_out_mgl", "--fill-limit", "7")) == 0
    out, err = capsys.readouterr()
    assert err == "" and "span: 2019-01-02 .. 2022-12-31" in out
    assert "trimmed 1 row at the start" in out and "2019-01-01, 1 steps, trimmed" in out
    assert check_command(parse(str(path), "--target", "cod_out_mgl", "--fill-limit", "7", "--keep-edges")) == 2
    assert "at an edge" in capsys.readouterr().err


def test_summary_without_numpy_warnings_on_an_empty_kept_column(write, recwarn):
    path = write("e.csv", "date,a,b\n2024-01-01,1,\n2024-01-02,2,\n2024-01-03,3,\n")
    report = check(DataSpec(path, columns=["a", "b"], long_gaps="keep", trim_edges=False))
    assert report.ok and next(ln for ln in report.text.splitlines() if ln.startswith("b ")).split()[1:3] == ["3", "3"]
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
