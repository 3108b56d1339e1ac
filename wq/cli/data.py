"""Command-line flags for the data options (``wq data check PATH [options]`` and any command reading data).

Each flag maps to one :class:`wq.data.load.DataSpec` field (see its module docstring for the behaviour):

=====================================  ===================================================
``PATH`` or ``--data PATH``            path
``--time COL``, ``--time-format F``     time, time_format (e.g. ``'D-%d/%m/%y'``)
``--names a,b,c`` or ``--names @FILE`` names of a header-less file (FILE: names separated by
                                       commas or new lines)
``--na ?`` (repeatable, comma list)     na_values
``--sep ';'``, ``--sheet S``, ``--decimal ,``   sep, sheet, decimal
``--tz ZONE``                          tz of the file's wall-clock times
``--columns``, ``--target``, ``--drivers`` (comma lists)   columns, targets, drivers
``--drivers-file P``, ``--drivers-time``, ``--drivers-time-format``, ``--drivers-tz``, ``--drivers-sep``,
``--drivers-na``, ``--drivers-sheet``   drivers_* options
``--freq D``, ``--resample D``, ``--agg flow=mean,rain=sum``, ``--min-coverage 0.75``
``--duplicates mean``, ``--fill-limit 3``, ``--fill-method ffill``, ``--long-gaps keep``, ``--min-rows N``
``--keep-edges``                       trim_edges = false
=====================================  ===================================================
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wq.data.check import check
from wq.data.load import AGG_RULES, FILL_METHODS, LONG_GAP_RULES, DataSpec
from wq.errors import ConfigError, WqError

_DEFAULT = DataSpec(path=Path("."))  # the data layer's defaults, shown in the help

__all__ = ["add_data_arguments", "add_check_arguments", "spec_from_args", "check_command"]


def _list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _names(value: str | None) -> list[str] | None:
    if value is None or not value.startswith("@"):
        return _list(value)
    path = Path(value[1:])
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"--names: cannot read names file {path}: {exc.strerror or exc}") from exc
    return [v.strip() for v in text.replace("\n", ",").split(",") if v.strip()]


def _markers(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [m for v in values for m in v.split(",")]


def _agg(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    out = {}
    for item in value.split(","):
        col, sep, rule = item.partition("=")
        if not sep or not col.strip() or not rule.strip():
            raise ConfigError(f"--agg expects column=rule[,column=rule...] with rule in {', '.join(AGG_RULES)}; "
                              f"got {item!r}")
        out[col.strip()] = rule.strip()
    return out


def add_data_arguments(parser: argparse.ArgumentParser, path_required: bool = True) -> argparse.ArgumentParser:
    """Add the data-reading flags (module docstring) to ``parser``; returns it."""
    g = parser.add_argument_group("data")
    g.add_argument("path", nargs="?", metavar="PATH", help="data file (CSV, Parquet or Excel)"
                   + ("" if path_required else "; optional"))
    g.add_argument("--data", dest="data_path", metavar="PATH", help="data file (instead of PATH)")
    g.add_argument("--time", help="time column (default: the first column)")
    g.add_argument("--time-format", help="strptime format of the time column, e.g. 'D-%%d/%%m/%%y'")
    g.add_argument("--names", help="column names of a header-less file: a,b,c or @FILE")
    g.add_argument("--na", action="append", metavar="MARKER", help="missing-value marker, e.g. '?' (repeatable)")
    g.add_argument("--sep", help="field separator (default: detected)")
    g.add_argument("--sheet", help="Excel sheet name")
    g.add_argument("--decimal", help=f"decimal mark (default {_DEFAULT.decimal!r})")
    g.add_argument("--tz", help="time zone of the file's local times, e.g. Europe/Copenhagen")
    g.add_argument("--columns", help="columns to keep, comma separated")
    g.add_argument("--target", help="target column(s), comma separated")
    g.add_argument("--drivers", help="driver column(s), comma separated")
    g.add_argument("--drivers-file", help="second file with drivers, joined on time")
    g.add_argument("--drivers-time", help="time column of the drivers file (default: its first column)")
    g.add_argument("--drivers-time-format", help="strptime format of the drivers file's time column")
    g.add_argument("--drivers-tz", help="time zone of the drivers file, e.g. UTC")
    g.add_argument("--drivers-sep", help="separator of the drivers file (default: detected)")
    g.add_argument("--drivers-na", action="append", metavar="MARKER", help="missing-value marker of the drivers file")
    g.add_argument("--drivers-sheet", help="Excel sheet of the drivers file")
    g.add_argument("--freq", help="step of the data, e.g. D or h (default: inferred from the median step)")
    g.add_argument("--resample", help="aggregate to this step, e.g. D")
    g.add_argument("--agg", help="rule per column when resampling, e.g. flow=mean,acc_precip=sum (default mean)")
    g.add_argument("--min-coverage", type=float, help=f"fraction of a resampling bin that must be present "
                   f"(default {_DEFAULT.min_coverage})")
    g.add_argument("--duplicates", choices=AGG_RULES, help="combine duplicate timestamps (default: error)")
    g.add_argument("--fill-limit", type=int, help=f"longest gap (steps) to fill (default {_DEFAULT.fill_limit})")
    g.add_argument("--fill-method", choices=FILL_METHODS, help=f"how to fill short gaps (default {_DEFAULT.fill_method})")
    g.add_argument("--long-gaps", choices=LONG_GAP_RULES,
                   help=f"what to do with longer gaps inside the record (default: {_DEFAULT.long_gaps})")
    g.add_argument("--keep-edges", dest="trim_edges", action="store_false", default=None,
                   help="keep the rows at the start and end of the record where some column has no value "
                        "(default: the record runs from the first to the last row with every value, noted); "
                        "their missing values then count as gaps")
    g.add_argument("--min-rows", type=int, help=f"fewest rows accepted (default {_DEFAULT.min_rows})")
    return parser


def add_check_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Data flags plus ``--sigma K`` (outlier threshold of the summary, default 3)."""
    add_data_arguments(parser, path_required=True)
    parser.add_argument("--sigma", type=float, default=3.0, help="outlier threshold in standard deviations")
    return parser


def spec_from_args(args: argparse.Namespace) -> DataSpec:
    """The :class:`DataSpec` described by parsed flags; ConfigError for missing or conflicting ones."""
    path, data = getattr(args, "path", None), getattr(args, "data_path", None)
    if path and data and path != data:
        raise ConfigError(f"two data files given: PATH {path!r} and --data {data!r}; give one")
    path = path or data
    if not path:
        raise ConfigError("no data file given: pass PATH or --data PATH")
    sheet: Any = args.sheet
    if isinstance(sheet, str) and sheet.isdigit():
        sheet = int(sheet)
    drivers_sheet: Any = args.drivers_sheet
    if isinstance(drivers_sheet, str) and drivers_sheet.isdigit():
        drivers_sheet = int(drivers_sheet)
    given = dict(
        path=Path(path), time=args.time, time_format=args.time_format, names=_names(args.names),
        na_values=_markers(args.na), sep=args.sep, sheet=sheet, decimal=args.decimal, tz=args.tz,
        columns=_list(args.columns), targets=_list(args.target) or [], drivers=_list(args.drivers) or [],
        drivers_path=Path(args.drivers_file) if args.drivers_file else None, drivers_time=args.drivers_time,
        drivers_time_format=args.drivers_time_format, drivers_tz=args.drivers_tz, drivers_sep=args.drivers_sep,
        drivers_na_values=_markers(args.drivers_na), drivers_sheet=drivers_sheet, freq=args.freq,
        resample=args.resample, agg=_agg(args.agg), min_coverage=args.min_coverage, duplicates=args.duplicates,
        fill_limit=args.fill_limit, fill_method=args.fill_method, long_gaps=args.long_gaps,
        trim_edges=getattr(args, "trim_edges", None), min_rows=args.min_rows,
    )
    # flags not given keep the data layer's defaults (DataSpec): one place for each default
    return DataSpec(**{k: v for k, v in given.items() if v is not None})


def cmd_simulate(args) -> int:
    """``wq data simulate``: write simulated sample data (atomically)."""
    from wq.cli.common import log
    from wq.data import simulate
    from wq.io import atomic_write_text

    if args.kind == "samples":  # the sample files shipped with wq (wq/samples)
        for path in simulate.write_samples(args.out, seed=args.seed).values():
            log(f"wrote {path}")
        return 0
    if args.kind == "district":
        from wq.data.district import simulate_district

        frame = simulate_district(sites=args.sites, days=args.days, freq=args.freq, start=args.start,
                                  seed=args.seed, country=args.country, tz=args.tz)
    else:
        fn = simulate.simulate_wetland if args.kind == "wetland" else simulate.simulate_demand
        frame = fn(start=args.start, days=args.days, seed=args.seed)
    out = Path(args.out)
    atomic_write_text(out, frame.to_csv(index=False))
    log(f"wrote {len(frame)} rows to {out}")
    return 0


def register(sub) -> None:
    """``wq data check`` and ``wq data simulate``."""
    from wq.cli.common import Parser, positive_int

    data = sub.add_parser("data", help="check or simulate data")
    dsub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    check_p = dsub.add_parser("check", help="summarise a data file and report its problems (exit 2 on problems)")
    add_check_arguments(check_p)
    check_p.set_defaults(func=check_command)
    sim = dsub.add_parser("simulate", help="write simulated data (constructed wetland, city demand, district meters)")
    sim.add_argument("--kind", choices=["wetland", "demand", "district", "samples"], default="wetland",
                     help="district: a long file of N district meters (time, site, demand, weather); samples: both "
                          "daily sample files of wq (wetland seed S, demand seed S + 1) into the folder --out")
    sim.add_argument("--sites", type=positive_int, default=10, help="district: number of district meters")
    sim.add_argument("--freq", default="h", help="district: step, 'h' or finer ('30min', '15min')")
    sim.add_argument("--country", default="NL", help="district: public holidays of this country (holidays package)")
    sim.add_argument("--tz", help="district: local time zone, e.g. Europe/Amsterdam (default: naive local time)")
    sim.add_argument("--days", type=int, default=1461)
    sim.add_argument("--start", default="2019-01-01")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--out", required=True, help="CSV file to write (a folder with --kind samples)")
    sim.set_defaults(func=cmd_simulate)


def check_command(args: argparse.Namespace) -> int:
    """``wq data check``: print the summary to stdout and return 0, or print the problems (one per line,
    ``wq: error: ...`` as every wq command) to stderr and return 2. No traceback for bad input."""
    try:
        spec = spec_from_args(args)
    except WqError as exc:
        print(f"wq: error: {exc}", file=sys.stderr)
        return 2
    report = check(spec, k=getattr(args, "sigma", 3.0))
    if report.ok:
        print(report.text)
        return 0
    if report.text:
        print(report.text)
    for problem in report.problems:
        print(f"wq: error: {problem}", file=sys.stderr)
    return 2
