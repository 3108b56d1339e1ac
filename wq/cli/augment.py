"""`wq augment PIPELINE.toml`: the augmentation study (:mod:`wq.augment.ablation`) from the command line.

For each method, ratio of synthetic to real windows and fraction of the training record: the pipeline's
model's validation and test MAPE / pMAPE with and without synthetic windows, and the generators' quality
scores. Writes augmentation.csv, augmentation_by_target.csv, figures/ and report.md into --out.
"""

from __future__ import annotations

import argparse

from wq.cli.common import add_pipeline_options, log, pipeline_from_args, progress, set_threads
from wq.errors import ConfigError

DEFAULT_METHODS = "gan,wgan,wgan-gp,vae,jitter,resample"
DEFAULT_RATIOS = "1"
DEFAULT_FRACTIONS = "0.5,1"
DEFAULT_GENERATOR_EPOCHS = 30  # a cap that keeps the default study to minutes; raise it for real use


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"--{what}: expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise ConfigError(f"--{what}: give at least one value")
    return values


def cmd_augment(args: argparse.Namespace) -> int:
    """Handler of ``wq augment``; returns the exit code."""
    from pathlib import Path

    from wq.augment.ablation import augment_study

    set_threads(args)
    pipe = pipeline_from_args(args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise ConfigError("--methods: give at least one method")
    ratios = _floats(args.ratios, "ratios")
    fractions = _floats(args.train_fractions, "train-fractions")
    if args.generator_epochs < 0:
        raise ConfigError(f"--generator-epochs must be >= 0, got {args.generator_epochs}")
    if args.quality_epochs is not None and args.quality_epochs < 1:
        raise ConfigError(f"--quality-epochs must be >= 1, got {args.quality_epochs}")
    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    out = Path(args.out) if args.out else Path("reports") / pipe.name / "augment"
    result, paths = augment_study(
        pipe, out, methods=methods, ratios=ratios, fractions=fractions, model_name=args.model,
        generator_epochs=args.generator_epochs, quality=not args.no_quality, quality_epochs=args.quality_epochs,
        seeds=args.seeds, figures=not args.no_figures, progress=progress(args.quiet))
    if not args.quiet:
        from wq.augment.ablation import verdict

        show = result.table[["method", "ratio", "train_fraction", "val_MAPE", "test_MAPE", "test_pMAPE",
                             "discriminative", "predictive"]]
        print(show.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        for line in verdict(result.table):
            log(line)
    print(f"wrote {paths['csv']} and {paths['report']}")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "augment", help="study synthetic training windows: methods x ratios x train fractions, quality scores",
        description="Fit the pipeline's model with and without synthetic training windows (GAN, WGAN, WGAN-GP, VAE, "
                    "jitter, scaling, resample) for each ratio of synthetic to real windows and each fraction of the training "
                    "record; report validation and test MAPE/pMAPE and the generators' quality scores. Generators "
                    "see only the fitting part of the training record; the test period is the same in every row.")
    add_pipeline_options(p)
    p.add_argument("--methods", default=DEFAULT_METHODS,
                   help=f"comma-separated methods (gan, wgan, wgan-gp, vae, jitter, scaling, resample; default {DEFAULT_METHODS}); "
                        "'none' is always the baseline; resample = real windows drawn again unchanged (control)")
    p.add_argument("--ratios", default=DEFAULT_RATIOS,
                   help=f"synthetic windows per real window, comma-separated (default {DEFAULT_RATIOS})")
    p.add_argument("--train-fractions", default=DEFAULT_FRACTIONS,
                   help="most recent fractions of the training record to train on, comma-separated "
                        f"(default {DEFAULT_FRACTIONS})")
    p.add_argument("--out", help="output folder (default reports/<pipeline name>/augment)")
    p.add_argument("--model", help="model to augment (default: [model] name; must learn from windows)")
    p.add_argument("--generator-epochs", type=int, default=DEFAULT_GENERATOR_EPOCHS,
                   help=f"epochs of the learned generators (default {DEFAULT_GENERATOR_EPOCHS}, a cap for speed; "
                        "0: [augment] epochs or the generator's own default)")
    p.add_argument("--quality-epochs", type=int,
                   help="epochs of the post-hoc quality networks (default: about 400 mini-batch steps)")
    p.add_argument("--seeds", type=int, default=1,
                   help="forecaster seeds per setting (seed, seed + 1, ...): shows how much the seed alone moves "
                        "the errors; comparisons with none are paired by seed (default 1)")
    p.add_argument("--no-quality", action="store_true", help="skip the quality scores")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.set_defaults(func=cmd_augment)
