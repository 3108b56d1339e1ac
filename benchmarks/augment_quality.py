"""Quality of every generator's windows against the real-versus-real floor, with training curves (issue 15).

    python benchmarks/augment_quality.py [--datasets fort_collins,uci_plant,dhi_inflow,sample]
                                         [--methods gan,wgan,wgan-gp,vae,jitter] [--seeds 2]
                                         [--out reports/benchmarks/augment/quality]

Windows: the real training sequences of each pipeline's forecaster (its preprocessing fitted on the fitting
part of the training record -- the first 60 % of rows less the validation tail; target parts, drivers and the
calendar of each step), captured from ``WindowForecaster.fit``, so they are exactly what ``[augment]`` trains a
generator on. They are split at random (seeded) into G (60 %: the generator's training windows; the generator
holds out 20 % of G itself for early stopping), H (20 %, the reference) and R (20 %, other real windows).
Every generator is fitted on G with its default (tuned) schedule, conditioned on the calendar channels, and
|H| windows are drawn. Scores are TimeGAN's discriminative score of H against the synthetic windows
(:func:`wq.augment.quality.quality_report`, mean over ``--classifier-seeds`` (3) classifier seeds; at most
``--max-windows`` windows, a random subset, per dataset) next to the floor: the same score of H against R (real
versus real). Predictive score: train on synthetic, test on H (MAE in scaled units) next to
training on R. Fit times are wall seconds with one torch thread on a shared 2-core machine.

Writes quality.csv, curves.csv (per epoch: losses; per check: held-out discriminative score), curves_<ds>.png
and README.md to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATASETS = {"fort_collins": "pipelines/fort_collins.toml", "uci_plant": "pipelines/uci_plant.toml",
            "dhi_inflow": "pipelines/dhi_inflow.toml", "sample": "pipelines/sample.toml"}
METHODS = ["gan", "wgan", "wgan-gp", "vae", "jitter"]


class _Captured(Exception):
    pass


def training_windows(key: str):
    """(S_train, condition channels, channel count, pipeline) of the dataset's forecaster."""
    from wq.config import Pipeline
    from wq.evaluate.backtest import split_point
    from wq.run import load_frame

    pipe = Pipeline.load(REPO / DATASETS[key])
    frame, _, _ = load_frame(pipe)
    train = frame.iloc[: split_point(len(frame), pipe.split.test)]
    got = {}

    def capture(S, condition=()):
        got["S"], got["condition"] = np.asarray(S, dtype=np.float32), list(condition)
        raise _Captured

    try:
        pipe.make_model(pipe.model_name).fit(train, val_fraction=pipe.split.validation, augment=capture)
    except _Captured:
        pass
    return got["S"], got["condition"], pipe


def split3(S: np.ndarray, seed: int):
    order = np.random.default_rng(seed).permutation(len(S))
    a, b = int(0.6 * len(S)), int(0.8 * len(S))
    return S[np.sort(order[:a])], S[np.sort(order[a:b])], S[np.sort(order[b:])]


def parse_method(spec: str) -> tuple[str, dict]:
    """"wgan-gp" or "wgan-gp:lr=1e-4;n_critic=5" -> (name, settings): a schedule other than the default."""
    name, _, rest = spec.partition(":")
    settings = {}
    for item in filter(None, rest.split(";")):
        key, _, value = item.partition("=")
        settings[key] = int(value) if value.isdigit() else float(value)
    return name, settings


def disc(H: np.ndarray, X: np.ndarray, seeds=(0,)) -> float:
    from wq.augment.quality import quality_report

    return float(np.mean([quality_report(H, X, seed=s)["discriminative"] for s in seeds]))


def run(key: str, methods: list[str], seeds: int, log, max_windows: int,
        clf_seeds: tuple[int, ...] = (0, 1, 2), save=lambda rows, curves: None) -> tuple[list[dict], list[dict]]:
    """Rows of quality.csv and curves.csv for one dataset; ``save(rows, curves)`` after every method, so a run
    stopped part-way keeps what finished."""
    from wq.augment.quality import predictive_score
    from wq.augment.registry import make_generator

    S, cond, _ = training_windows(key)
    if len(S) > max_windows:  # a random subset, in time order, keeps the CPU cost of the study bounded
        S = S[np.sort(np.random.default_rng(0).permutation(len(S))[:max_windows])]
    log(f"{key}: {S.shape[0]} windows of {S.shape[1]} steps x {S.shape[2]} channels, condition {cond}")
    rows, curves = [], []
    for seed in range(seeds):
        G, H, R = split3(S, seed)
        rows.append({"dataset": key, "seed": seed, "method": "real (floor)", "discriminative": disc(H, R, clf_seeds),
                     "predictive": predictive_score(R, H, seed=seed), "fit_seconds": 0.0, "epochs_run": 0,
                     "best_epoch": 0, "n_train": len(G), "n_eval": len(H)})
        for method in methods:
            t0, c0 = time.perf_counter(), time.process_time()
            name, settings = parse_method(method)
            gen = make_generator(name, **settings).fit(G, seed=seed, condition=cond)
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
            X = gen.sample(len(H), seed=seed + 1)
            q = getattr(gen, "quality_", [])
            row = {"dataset": key, "seed": seed, "method": method, "discriminative": disc(H, X, clf_seeds),
                   "heldout_best": min((v for _, v in q), default=float("nan")),
                   "predictive": predictive_score(X, H, seed=seed), "fit_seconds": secs, "fit_cpu_seconds": cpu,
                   "epochs_run": getattr(gen, "epochs_run_", 0), "best_epoch": getattr(gen, "best_epoch_", 0),
                   "n_train": len(G), "n_eval": len(H)}
            rows.append(row)
            log(f"{key} seed {seed} {method}: disc {row['discriminative']:.3f} {secs:.1f}s, "
                f"epochs {row['epochs_run']}, best {row['best_epoch']}")
            for name, values in getattr(gen, "history_", {}).items():
                curves += [{"dataset": key, "seed": seed, "method": method, "series": name, "epoch": i + 1,
                            "value": v} for i, v in enumerate(values)]
            curves += [{"dataset": key, "seed": seed, "method": method, "series": "heldout_discriminative",
                        "epoch": e, "value": v} for e, v in getattr(gen, "quality_", [])]
            save(rows, curves)
    return rows, curves


def plot(curves, key: str, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    c = pd.DataFrame(curves)
    c = c[(c.dataset == key) & (c.seed == 0)]
    methods = [m for m in ["gan", "wgan", "wgan-gp", "vae"] if m in set(c.method)]
    if not methods:
        return out
    fig, axes = plt.subplots(2, len(methods), figsize=(3.2 * len(methods), 5.5), squeeze=False)
    for j, m in enumerate(methods):
        cm = c[c.method == m]
        loss = {"gan": "discriminator", "wgan": "wasserstein", "wgan-gp": "wasserstein", "vae": "loss"}[m]
        d = cm[cm.series == loss]
        axes[0, j].plot(d.epoch, d.value)
        axes[0, j].set_title(f"{m}: {loss}")
        q = cm[cm.series == "heldout_discriminative"]
        axes[1, j].plot(q.epoch, q.value, marker="o")
        axes[1, j].set_title(f"{m}: held-out disc. score")
        axes[1, j].set_xlabel("epoch")
    fig.suptitle(f"{key}: training curves (seed 0)")
    fig.tight_layout()
    path = out / f"curves_{key}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_readme(out: Path, args: str) -> None:
    """README.md from quality.csv and curves.csv: every method's discriminative score next to the floor."""
    import pandas as pd

    q = pd.read_csv(out / "quality.csv")
    cols = [c for c in ["discriminative", "heldout_best", "predictive", "fit_seconds", "fit_cpu_seconds", "epochs_run",
                        "best_epoch"]
            if c in q]
    t = q.groupby(["dataset", "method"], sort=False)[cols].mean().reset_index()
    floor = t[t.method == "real (floor)"].set_index("dataset")["discriminative"]
    t["minus_floor"] = t.discriminative - t.dataset.map(floor)
    t["within_0.05"] = np.where(t.method == "real (floor)", "", np.where(t.minus_floor <= 0.05, "yes", "no"))
    learned = t[t.method.isin(["gan", "wgan", "wgan-gp", "vae"])]
    ok = learned[learned["within_0.05"] == "yes"]
    figs = sorted(p.name for p in out.glob("curves_*.png"))
    text = ["# Quality of the conditional generators against the real-versus-real floor (issue 15)", "",
            f"`python benchmarks/augment_quality.py {args}` (see the script's docstring for the protocol). Default "
            "schedules unless the method names settings (`gan:batch=32`), conditioned on the calendar channels; one "
            "generator seed; `discriminative` is the mean over classifier seeds of TimeGAN's discriminative score of "
            "the reference windows H against the generator's windows (lower is better; the floor row scores H against "
            "other real windows R). `heldout_best` is the generator's own early-stopping score: the same classifier "
            "on the 20 % of its training windows it held out, best check (the only score used to choose schedules). "
            "H has 37-80 windows, so a score moves in steps of 0.03-0.06 and differs by about +-0.05 between "
            "classifier seeds. fit_seconds is wall time on a 2-core machine shared by other busy processes, "
            "fit_cpu_seconds the process CPU time (includes the early-stopping checks).", "",
            f"**Goal (within 0.05 of the floor):** {len(ok)} of {len(learned)} learned (dataset, method) pairs"
            f"{': ' + ', '.join(f'{d} {m}' for d, m in zip(ok.dataset, ok.method)) if len(ok) else ''}.", "",
            agreement(q), "",
            markdown(t.round(3)), "", "## Training curves (seed 0)", "",
            "Top: discriminator loss (GAN), Wasserstein estimate E[D(real)] - E[D(fake)] (WGAN, WGAN-GP) or the VAE "
            "loss per epoch; bottom: the early-stopping score (discriminative score on held-out training windows) "
            "at each check. All values in curves.csv.", ""]
    text += [f"![{f}]({f})" for f in figs]
    notes = out / "notes.md"  # hand-written reading of the run, kept across --report-only rewrites
    if notes.is_file():
        text += ["", notes.read_text(encoding="utf-8").rstrip()]
    (out / "README.md").write_text("\n".join(text) + "\n", encoding="utf-8")


def agreement(q) -> str:
    """How well the early-stopping score (held-out training windows) agrees with the final score on H."""
    from scipy.stats import spearmanr

    d = q.dropna(subset=["heldout_best"]) if "heldout_best" in q else q.iloc[:0]
    if len(d) < 3:
        return ""
    rho = spearmanr(d.heldout_best, d.discriminative).statistic
    gap = float((d.discriminative - d.heldout_best).mean())
    return (f"Agreement of the early-stopping score with the final score over {len(d)} learned fits: Spearman "
            f"{rho:.2f}, mean(final - held-out best) {gap:+.3f} (the held-out best is the minimum over checks, so "
            "it is biased low).")


def main() -> None:
    import pandas as pd
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--max-windows", type=int, default=400)
    ap.add_argument("--classifier-seeds", type=int, default=3, help="final score: mean over this many classifier seeds")
    ap.add_argument("--out", default=str(REPO / "reports/benchmarks/augment/quality"))
    ap.add_argument("--report-only", action="store_true", help="rewrite README.md from the CSV files")
    a = ap.parse_args()
    if a.report_only:
        write_readme(Path(a.out), " ".join(v for v in sys.argv[1:] if v != "--report-only"))
        return
    torch.set_num_threads(1)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = lambda m: print(f"{time.strftime('%H:%M:%S')} {m}", file=sys.stderr, flush=True)  # noqa: E731
    rows, curves = [], []
    load0 = os.getloadavg()[0]
    for key in a.datasets.split(","):
        def save(r, c, rows=rows, curves=curves):
            pd.DataFrame(rows + r).to_csv(out / "quality.csv", index=False)
            pd.DataFrame(curves + c).to_csv(out / "curves.csv", index=False)

        r, c = run(key, a.methods.split(","), a.seeds, log, a.max_windows, tuple(range(a.classifier_seeds)), save)
        rows += r
        curves += c
        pd.DataFrame(rows).to_csv(out / "quality.csv", index=False)
        pd.DataFrame(curves).to_csv(out / "curves.csv", index=False)
        plot(curves, key, out)
    table = pd.DataFrame(rows).groupby(["dataset", "method"], sort=False)[
        ["discriminative", "predictive", "fit_seconds", "epochs_run", "best_epoch"]].mean().reset_index()
    table.to_csv(out / "summary.csv", index=False)
    (out / "meta.json").write_text(json.dumps({"load_average_start": load0, "seeds": a.seeds,
                                               "datasets": a.datasets, "methods": a.methods}, indent=1))
    write_readme(out, " ".join(sys.argv[1:]))
    print(markdown(table))


def markdown(df) -> str:
    """A pipe table (no tabulate dependency); floats with 3 decimals."""
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])


if __name__ == "__main__":
    main()
