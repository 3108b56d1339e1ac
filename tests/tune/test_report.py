import pandas as pd

from wq.tune import GeneticTuner, Param, RandomSearch, Space, tune_summary_markdown, write_tune_outputs
from wq.tune.analytic import negative_peaks

QUIET = {"log": lambda msg: None}
SPACE = Space((Param("x", "float", -3, 3), Param("y", "float", -3, 3), Param("c", "choice", choices=["a", "b"])))


def objective(params, seed):
    if params["c"] == "b" and params["x"] > 2:
        raise ValueError("bad corner")
    return negative_peaks(params, seed)


def test_write_tune_outputs_writes_all_files(tmp_path):
    ga = GeneticTuner(SPACE, objective, population=8, generations=3, seed=1, **QUIET).run()
    rnd = RandomSearch(SPACE, objective, budget=ga.n_evals, seed=1, batch=8, **QUIET).run()
    paths = write_tune_outputs(tmp_path / "tune", {"ga": ga, "random": rnd}, SPACE)
    for name in ("logbook.csv", "evaluations.csv", "convergence.png", "report.md"):
        assert (tmp_path / "tune" / name).stat().st_size > 0
    assert paths["convergence"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lb = pd.read_csv(paths["logbook"])
    assert list(lb.columns[:2]) == ["strategy", "gen"]
    assert (lb["strategy"] == "ga").sum() == 4 and (lb["strategy"] == "random").sum() == len(rnd.logbook)
    ev = pd.read_csv(paths["evaluations"])
    assert list(ev.columns) == ["strategy", "generation", "individual", "x", "y", "c", "fitness", "seconds",
                                "cached", "error", "seed"]
    assert len(ev) == len(ga.evaluations) + len(rnd.evaluations)
    assert ev.loc[ev["strategy"] == "ga", "fitness"].min() == ga.best_fitness
    md = paths["report"].read_text()
    assert "| ga |" in md and "| random |" in md and "`x`" in md


def test_summary_markdown_states_best_and_budget():
    ga = GeneticTuner(SPACE, objective, population=6, generations=1, seed=0, **QUIET).run()
    md = tune_summary_markdown({"ga": ga}, SPACE)
    row = next(line for line in md.splitlines() if line.startswith("| ga |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == f"{ga.best_fitness:.6g}" and cells[2] == str(ga.n_evals) and cells[-1] == "generations"
    assert f"| `c` | {ga.best_params['c']} |" in md


def test_report_can_be_skipped(tmp_path):
    ga = GeneticTuner(SPACE, objective, population=6, generations=1, seed=0, **QUIET).run()
    paths = write_tune_outputs(tmp_path, {"ga": ga}, SPACE, report=None)
    assert "report" not in paths and not (tmp_path / "report.md").exists()
