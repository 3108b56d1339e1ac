"""Operations page (``wq dashboard``): one static, self-contained HTML file built from a forecast store.

``DIR/index.html`` opens from a file share with no server and no network: CSS and JavaScript are inline and
every chart is a PNG (matplotlib, Agg) embedded as base64; the page links to nothing outside itself.

Per site (a pipeline in the store) and target it shows:

- the **latest forecast** (the newest as-of of the site's current model version: the artifact's when
  ``--artifact`` is given, else the version of the newest forecast), with its interval bounds
  (``lower_<level>``/``upper_<level>`` of the store's ``probabilistic`` table) and, with an artifact, its
  ``[limits]`` limit, the probability of crossing it and the alarm level
  (:func:`wq.batch.probabilistic.alarms`);
- the **current alarms** of every site at the top of the page (WARN / ALARM);
- a chart of the **issued step-1 forecasts against the observations** over the last ``weeks`` weeks before the
  latest as-of (the value first issued, with its step-1 interval bands), the latest forecast's fan and the
  limit line;
- **scores** over the same weeks from :func:`wq.batch.score.score_forecasts` (n, MAPE, MAE, bias per step; the
  rolling daily step-1 MAPE chart with its drift threshold) and the **interval coverage** of
  :func:`wq.batch.probabilistic.rolling_coverage` (over the drift window and over the whole ``weeks``).

Observations are read without gap filling (:func:`wq.batch.monitor.read_observations`): with an artifact, its
pipeline's data settings on ``data`` (default: its training file); without, ``data`` with time column ``time``
(default: the first) and the stored targets as columns.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wq.errors import ConfigError, DataError

__all__ = ["Site", "build_dashboard", "render_page"]


@dataclass
class Site:
    """One pipeline of the store as the page shows it: its current model version's rows (issued values,
    with the probabilistic columns), observations, limits (``None`` without an artifact) and scores."""

    pipeline: str
    model_version: str
    rows: pd.DataFrame
    observations: pd.DataFrame
    limits: Any = None
    alarms: pd.DataFrame | None = None
    score: Any = None
    coverage: pd.DataFrame | None = None
    coverage_all: pd.DataFrame | None = None

    @property
    def latest(self) -> pd.DataFrame:
        """The rows of the newest as-of."""
        return self.rows.loc[self.rows["as_of"] == self.rows["as_of"].max()].sort_values(["target", "step"])


def _read_store(store: str | os.PathLike[str]) -> tuple[Any, pd.DataFrame]:
    from wq.batch.rows import KEY
    from wq.batch.store import ForecastStore

    if not Path(store).is_file():
        raise DataError(f"forecast store {store}: does not exist")
    fs = ForecastStore(store, create=False)
    rows = fs.read(versions="first")
    if rows.empty:
        raise DataError(f"forecast store {store}: holds no forecasts")
    prob = fs.read_probabilistic()
    if not prob.empty:
        rows = rows.merge(prob, on=[*KEY, "version"], how="left")
    return fs, rows


def _current(rows: pd.DataFrame, pipeline: str, version: str | None, weeks: int) -> tuple[str, pd.DataFrame]:
    """The rows of one pipeline's current model version (given, or that of its newest forecast) valid in the
    ``weeks`` weeks before its newest as-of, and after."""
    mine = rows.loc[rows["pipeline"] == pipeline]
    if version is None:
        newest = mine.sort_values(["as_of", "issued_at"]).iloc[-1]
        version = str(newest["model_version"])
    mine = mine.loc[mine["model_version"] == version]
    if mine.empty:
        raise DataError(f"forecast store: no forecasts of pipeline {pipeline!r}, model version {version!r}")
    start = mine["as_of"].max() - pd.Timedelta(weeks=weeks)
    return version, mine.loc[mine["time"] > start].reset_index(drop=True)


def _sites(rows: pd.DataFrame, data, artifacts, time: str | None, weeks: int) -> list[Site]:
    """One :class:`Site` per artifact, or per pipeline of the store without artifacts."""
    from wq.batch.forecast import find_artifacts
    from wq.batch.monitor import artifact_observations, read_observations
    from wq.data.load import DataSpec

    sites: list[Site] = []
    if artifacts:
        for path in find_artifacts(artifacts):
            bm, obs = artifact_observations(path, data)
            version, mine = _current(rows, bm.name, bm.version_id, weeks)
            site = Site(bm.name, version, mine, obs, limits=bm.pipeline.limits)
            site.alarms = _alarms(bm, site.latest)
            sites.append(_scored(site, bm))
        return sites
    if data is None:
        raise ConfigError("give the observations' data file (--data) or an artifact (--artifact)")
    targets = sorted(rows["target"].unique())
    obs = read_observations(DataSpec(path=Path(data), time=time, targets=targets))
    for pipeline in sorted(rows["pipeline"].unique()):
        version, mine = _current(rows, pipeline, None, weeks)
        sites.append(_scored(Site(pipeline, version, mine, obs), None))
    return sites


def _alarms(bm: Any, latest: pd.DataFrame) -> pd.DataFrame:
    from wq.batch.probabilistic import alarms

    return alarms(bm, latest)


def _scored(site: Site, bm: Any) -> Site:
    """Scores and interval coverage of the site's forecasts valid in the page's weeks (set by the caller)."""
    from wq.batch.probabilistic import rolling_coverage
    from wq.batch.score import score_forecasts

    window = int(bm.batch_settings.get("drift_window") or 7) if bm is not None else 7
    threshold = None
    if bm is not None and float(bm.batch_settings.get("drift_threshold") or 0.0) > 0:
        threshold = float(bm.batch_settings["drift_threshold"])
    rows = site.rows
    missing = sorted(set(rows["target"]) - set(map(str, site.observations.columns)))
    if missing:
        raise DataError(f"data: no column for target(s) {', '.join(map(repr, missing))} of pipeline {site.pipeline!r}")
    site.score = score_forecasts(rows, site.observations, threshold=threshold, window=window,
                                 validation_mape=bm.validation_mape if bm is not None else None)
    site.coverage = rolling_coverage(rows, site.observations, window)
    days = int((rows["time"].max() - rows["time"].min()).days) + 1 if len(rows) else 1
    site.coverage_all = rolling_coverage(rows, site.observations, max(days, 1))
    return site


# --------------------------------------------------------------------------- charts


def _png(fig) -> str:
    """The figure as a ``data:`` URI (PNG, base64)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _levels(frame: pd.DataFrame) -> list[str]:
    return sorted({c.split("_", 1)[1] for c in frame.columns if c.startswith("lower_")}, key=float)


def _band(ax, frame: pd.DataFrame, levels: list[str], colour: str, what: str) -> None:
    for i, key in enumerate(reversed(levels)):  # widest first, lighter
        if frame[f"lower_{key}"].notna().any():
            ax.fill_between(frame["time"], frame[f"lower_{key}"], frame[f"upper_{key}"], color=colour,
                            alpha=0.15 + 0.15 * i, linewidth=0, label=f"{what} {float(key):g} % interval")


def chart_forecasts(site: Site, target: str) -> str:
    """Observations, the issued step-1 forecasts with their bands, the latest forecast's fan and the limit."""
    from matplotlib.figure import Figure

    rows = site.rows.loc[site.rows["target"] == target]
    one = rows.loc[rows["step"] == 1].sort_values("time")
    latest = site.latest.loc[site.latest["target"] == target].sort_values("time")
    levels = _levels(rows)
    obs = site.observations[target]
    obs = obs.loc[(obs.index >= rows["time"].min() - pd.Timedelta(days=1)) & (obs.index <= rows["time"].max())]
    fig = Figure(figsize=(11, 3.4))
    ax = fig.add_subplot()
    _band(ax, one, levels, "#1f77b4", "step-1")
    ax.plot(one["time"], one["value"], color="#1f77b4", marker=".", linewidth=1, label="issued step-1 forecast")
    _band(ax, latest, levels, "#d62728", "latest")
    ax.plot(latest["time"], latest["value"], color="#d62728", marker="o", linewidth=1.5, label="latest forecast")
    ax.plot(obs.index, obs.to_numpy(), color="black", linewidth=1, label="observed")
    ax.axvline(site.rows["as_of"].max(), color="grey", linestyle=":", linewidth=1)
    if site.limits is not None and target in site.limits.limits():
        side, value = site.limits.limits()[target]
        ax.axhline(value, color="#ff7f0e", linestyle="--", linewidth=1.5, label=f"limit ({side} {value:g})")
    ax.set_ylabel(target)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return _png(fig)


def chart_mape(site: Site, target: str) -> str | None:
    """The daily step-1 MAPE and its rolling mean against the drift threshold (None when nothing is scored)."""
    from matplotlib.figure import Figure

    daily, flags = site.score.daily, site.score.flags
    daily = daily.loc[daily["target"] == target]
    if daily.empty:
        return None
    fig = Figure(figsize=(11, 2.4))
    ax = fig.add_subplot()
    ax.plot(daily["day"], daily["mape"], color="#7f7f7f", marker=".", linewidth=0.8, label="daily step-1 MAPE")
    ax.plot(daily["day"], daily["rolling"], color="#1f77b4", linewidth=1.5,
            label=f"rolling mean ({site.score.window} days)")
    thr = flags.loc[flags["target"] == target, "threshold"]
    if len(thr):
        ax.axhline(float(thr.iloc[0]), color="#d62728", linestyle="--", linewidth=1, label="drift threshold")
    ax.set_ylabel("MAPE, %")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return _png(fig)


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:2px solid #ccc;margin-top:2em}h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:2px 6px;
text-align:right}th{background:#f2f2f2}td.l,th.l{text-align:left}
.alarm{background:#f8d0d0;color:#800;font-weight:bold}.warn{background:#fdf0c2;color:#7a5a00;font-weight:bold}
.ok{background:#d8f0d8;color:#205020}.badge{padding:2px 8px;border-radius:4px}img{max-width:100%}
.note{color:#666;font-size:.85em}nav a{margin-right:1em}
"""

_JS = """
window.wqErrors=[];
function wqRecord(m){window.wqErrors.push(String(m));document.documentElement.setAttribute('data-errors',
window.wqErrors.join(' | '));}
window.addEventListener('error',function(e){wqRecord(e.message||'resource error');},true);
(function(){var f=console.error;console.error=function(){wqRecord(Array.prototype.join.call(arguments,' '));
f.apply(console,arguments);};})();
window.addEventListener('load',function(){
  var imgs=document.images,ok=0;for(var i=0;i<imgs.length;i++){if(imgs[i].complete&&imgs[i].naturalWidth>0)ok++;}
  document.documentElement.setAttribute('data-images',ok+'/'+imgs.length);
  var box=document.getElementById('only-alarms');
  box.addEventListener('change',function(){var s=document.querySelectorAll('section.target');
    for(var i=0;i<s.length;i++){s[i].hidden=box.checked&&s[i].getAttribute('data-level')==='ok';}});
  document.documentElement.setAttribute('data-ready','1');
});
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if not np.isfinite(value) else f"{value:.4g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M") if value != value.normalize() else value.strftime("%Y-%m-%d")
    return str(value)


def _table(frame: pd.DataFrame, cls: str = "") -> str:
    if frame is None or frame.empty:
        return '<p class="note">(none)</p>'
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = []
    for rec in frame.itertuples(index=False):
        cells = []
        for col, v in zip(frame.columns, rec):
            kind = f' class="{_e(v)}"' if col == "level" and v in ("warn", "alarm") else ""
            cells.append(f"<td{kind}>{_e(_fmt(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{cls}"><tr>{head}</tr>{"".join(body)}</table>'


def _latest_table(site: Site, target: str) -> tuple[str, str]:
    """The latest forecast's table and the target's level (``ok``, ``warn`` or ``alarm``)."""
    latest = site.latest.loc[site.latest["target"] == target]
    table = pd.DataFrame({"step": latest["step"], "valid time": latest["time"], "forecast": latest["value"]})
    for key in _levels(latest):
        table[f"{float(key):g} % lower"] = latest[f"lower_{key}"].to_numpy()
        table[f"{float(key):g} % upper"] = latest[f"upper_{key}"].to_numpy()
    level = "ok"
    limits = site.limits.limits() if site.limits is not None else {}
    if target in limits and "p_limit" in latest.columns:
        side, value = limits[target]
        p = latest["p_limit"].to_numpy(dtype=np.float64)
        table[f"P({side} {value:g})"] = p
        table["level"] = [site.limits.level(x) if np.isfinite(x) else "" for x in p]
        level = "alarm" if (table["level"] == "alarm").any() else "warn" if (table["level"] == "warn").any() else "ok"
    return _table(table), level


def _scores_html(site: Site, target: str) -> str:
    by_step = site.score.by_step
    by_step = by_step.loc[by_step["target"] == target, ["step", "n", "MAPE", "MAE", "RMSE", "bias"]]
    parts = ["<h4>Scores of the issued forecasts (MAPE in %, bias = mean(forecast - observed))</h4>",
             _table(by_step, "scores")]
    cov = []
    for frame, span in ((site.coverage, f"last {site.score.window} days"), (site.coverage_all, "all shown weeks")):
        if frame is not None and len(frame):
            f = frame.loc[frame["target"] == target, ["level", "nominal", "coverage", "n", "drift"]]
            cov.append(f.assign(window=span))
    parts.append("<h4>Interval coverage (drift: below nominal by more than two standard errors)</h4>")
    parts.append(_table(pd.concat(cov, ignore_index=True) if cov else pd.DataFrame(), "coverage"))
    mape = chart_mape(site, target)
    if mape is not None:
        parts.append(f'<img class="chart mape" alt="rolling MAPE of {_e(target)}" src="{mape}">')
    return "".join(parts)


def _target_html(site: Site, target: str) -> str:
    table, level = _latest_table(site, target)
    as_of = site.latest["as_of"].max()
    label = {"ok": "OK", "warn": "WARN", "alarm": "ALARM"}[level]
    return (
        f'<section class="target" data-target="{_e(target)}" data-level="{level}">'
        f'<h3>{_e(target)} <span class="badge {level}">{label}</span></h3>'
        f"<h4>Latest forecast (as of {_e(_fmt(as_of))})</h4>{table}"
        f'<img class="chart forecast" alt="forecasts and observations of {_e(target)}" '
        f'src="{chart_forecasts(site, target)}">{_scores_html(site, target)}</section>'
    )


def render_page(sites: list[Site], store: str, weeks: int, now: pd.Timestamp | None = None) -> str:
    """The whole page as one HTML string (see the module docstring)."""
    now = now if now is not None else pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    alarms = [s.alarms.assign(model_version=s.model_version) for s in sites if s.alarms is not None and len(s.alarms)]
    alarm_html = _table(pd.concat(alarms, ignore_index=True)) if alarms else '<p class="ok badge">No warnings or alarms.</p>'
    if not any(s.limits is not None for s in sites):
        alarm_html += '<p class="note">No limits known: give the artifact (--artifact) for limits and alarms.</p>'
    nav = "".join(f'<a href="#site-{i}">{_e(s.pipeline)}</a>' for i, s in enumerate(sites))
    body = []
    for i, site in enumerate(sites):
        targets = sorted(site.rows["target"].unique())
        body.append(f'<section class="site" id="site-{i}" data-pipeline="{_e(site.pipeline)}">'
                    f"<h2>{_e(site.pipeline)}</h2><p class=\"note\">model version {_e(site.model_version)}</p>"
                    + "".join(_target_html(site, t) for t in targets) + "</section>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>wq operations: {_e(Path(store).name)}</title><script>{_JS}</script><style>{_CSS}</style></head>"
        f"<body><h1>wq operations page</h1><p class=\"note\">store {_e(store)}; built {_e(_fmt(now))} UTC; "
        f"last {weeks} weeks</p><nav>{nav}</nav>"
        '<p><label><input type="checkbox" id="only-alarms"> only targets with warnings or alarms</label></p>'
        f'<section id="alarms"><h2>Current alarms</h2>{alarm_html}</section>{"".join(body)}</body></html>\n'
    )


def build_dashboard(
    store: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] | None = None,
    artifacts: tuple = (),
    weeks: int = 6,
    time: str | None = None,
) -> Path:
    """Write the operations page ``out/index.html`` (atomically; nothing is written on bad input).

    Parameters
    ----------
    store : path
        SQLite forecast store (must exist and be a wq store).
    out : path
        Folder of the page (created when absent).
    data : path, optional
        Observations; required without ``artifacts`` (default with an artifact: its training file).
    artifacts : sequence of paths
        Artifacts whose sites are shown with their ``[limits]`` and alarm thresholds.
    weeks : int
        Weeks of issued forecasts shown and scored before each site's latest as-of.
    time : str, optional
        Time column of ``data`` without artifacts (default: the first column).

    Returns
    -------
    Path
        The written ``index.html``.
    """
    from wq.io import atomic_write_text

    if isinstance(weeks, bool) or not isinstance(weeks, (int, np.integer)) or weeks < 1:
        raise ConfigError(f"weeks must be an integer >= 1, got {weeks!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")
    _, rows = _read_store(store)
    sites = _sites(rows, data, artifacts, time, int(weeks))
    page = render_page(sites, str(store), int(weeks))
    return atomic_write_text(out / "index.html", page)
