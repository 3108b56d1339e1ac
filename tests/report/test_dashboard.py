"""Issue 13 item 6: `wq dashboard` writes one self-contained HTML operations page of a forecast store, checked
as text and rendered in a real headless browser (Debian's chromium; skipped where none is installed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from wq.cli import main
from wq.data.simulate import simulate_wetland

TOML = """
name = "wetland-ops"
seed = 5
[data]
path = "w.csv"
time = "date"
target = ["nh3n_out_mgl", "tp_out_mgl"]
drivers = ["air_temp_c", "inflow_m3d"]
freq = "D"
[split]
validation = 0.3
[model]
name = "mlr"
lags = 3
horizon = 2
[evaluate]
levels = [0.8, 0.95]
intervals = "split"
[limits]
nh3n_out_mgl = {{ above = {limit} }}
warn = 0.3
alarm = 0.6
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A trained artifact, a store backfilled over the last 40 days, and its page (with the artifact)."""
    d = tmp_path_factory.mktemp("dashboard")
    sim = simulate_wetland(days=140, seed=8, missing=False)
    sim.to_csv(d / "w.csv", index=False)
    low = float(sim["nh3n_out_mgl"].quantile(0.05))  # crossed by the forecast: an alarm for sure
    (d / "p.toml").write_text(TOML.format(limit=low))
    art, store = d / "art", d / "s.sqlite"
    assert main(["train", str(d / "p.toml"), "--artifact", str(art), "--quiet"]) == 0
    days = pd.to_datetime(sim["date"])
    assert main(["forecast", "--artifact", str(art), "--store", str(store), "--quiet", "--max-staleness", "none",
                 "--backfill", str(days.iloc[-40].date()), str(days.iloc[-1].date())]) == 0
    assert main(["dashboard", "--store", str(store), "--artifact", str(art), "--out", str(d / "page"),
                 "--weeks", "4", "--quiet"]) == 0
    return d, low


def _external(page: str) -> list[str]:
    """Anything the page would fetch or link outside itself."""
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    bad = [r for r in refs if not (r.startswith("data:image/png;base64,") or r.startswith("#"))]
    return bad + re.findall(r"://|url\(|<link|@import", page)


def test_page_holds_every_part_alarms_and_no_external_reference(site):
    d, low = site
    page = (d / "page" / "index.html").read_text()
    assert _external(page) == []
    assert 'id="alarms"' in page and 'data-pipeline="wetland-ops"' in page
    for target in ("nh3n_out_mgl", "tp_out_mgl"):
        assert f'data-target="{target}"' in page
    assert page.count("<h4>Latest forecast") == 2 and page.count("<h4>Interval coverage") == 2
    assert page.count("<h4>Scores of the issued forecasts") == 2
    # 2 targets x (forecasts chart + MAPE chart), all inline PNGs
    assert page.count('<img class="chart') == 4 and page.count("data:image/png;base64,") == 4
    # the limit's alarm: in the alarm table at the top and as the target's level
    alarms = page.split('id="alarms"')[1].split("</section>")[0]
    assert '<td class="alarm">alarm</td>' in alarms and "nh3n_out_mgl" in alarms and f"above {low:g}" in alarms
    assert 'data-target="nh3n_out_mgl" data-level="alarm"' in page
    assert 'data-target="tp_out_mgl" data-level="ok"' in page  # no limit on TP
    assert "80 % lower" in page and "95 % upper" in page and f"P(above {low:g})" in page


def test_page_without_artifact_reads_data_and_says_limits_are_unknown(site, tmp_path):
    d, _ = site
    out = tmp_path / "page"
    assert main(["dashboard", "--store", str(d / "s.sqlite"), "--data", str(d / "w.csv"), "--time", "date",
                 "--out", str(out), "--quiet"]) == 0
    page = (out / "index.html").read_text()
    assert _external(page) == [] and "No limits known" in page and page.count('<section class="target"') == 2


def test_bad_input_is_one_line_exit_2_and_writes_nothing(site, tmp_path, capsys):
    d, _ = site
    foreign = tmp_path / "notes.sqlite"
    foreign.write_text("not a database\n")
    lacking = tmp_path / "lacking.csv"
    pd.read_csv(d / "w.csv").drop(columns=["tp_out_mgl"]).to_csv(lacking, index=False)
    cases = [["--store", str(tmp_path / "missing.sqlite"), "--data", str(d / "w.csv")],
             ["--store", str(foreign), "--data", str(d / "w.csv")],
             ["--store", str(d / "s.sqlite"), "--data", str(lacking), "--time", "date"],
             ["--store", str(d / "s.sqlite"), "--data", str(lacking), "--artifact", str(d / "art")]]
    for i, args in enumerate(cases):
        out = tmp_path / f"out{i}"
        assert main(["dashboard", *args, "--out", str(out), "--quiet"]) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("wq: error:") and "\n" not in err, err
        assert not out.exists()


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium); the browser test needs one")
    return path


def _open(base: list[str], url: str) -> tuple[str, str, list[str]]:
    """The rendered DOM, the attributes the page's script set on <html>, and the browser's error-level console
    lines and uncaught exceptions."""
    run = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    tag = re.search(r"<html[^>]*>", run.stdout)
    assert tag is not None, run.stdout[:500]
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    return run.stdout, tag.group(0), [c for c in console if "Uncaught" in c or ":ERROR:CONSOLE" in c]


def test_page_renders_in_headless_chromium_without_console_errors(site, tmp_path):
    browser = _chromium()
    d, _ = site
    page = d / "page" / "index.html"
    base = [browser, "--headless=new", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
            "--no-first-run", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"]
    if os.geteuid() == 0:
        base.append("--no-sandbox")  # chromium refuses to run as root with its sandbox (CI containers)
    html, tag, errors = _open(base, page.resolve().as_uri())
    # the page's own script ran after load: every chart decoded, no error or console.error recorded
    assert 'data-ready="1"' in tag and 'data-images="4/4"' in tag and "data-errors" not in tag, tag
    assert errors == []
    for part in ('id="alarms"', 'data-target="nh3n_out_mgl"', 'data-target="tp_out_mgl"', "Latest forecast",
                 "Interval coverage", '<td class="alarm">alarm</td>'):
        assert part in html, part
    shot = tmp_path / "dashboard.png"
    run = subprocess.run([*base, "--window-size=1280,3000", f"--screenshot={shot}", page.resolve().as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    # the same checks catch a broken page: a script error and a chart that does not decode
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text().replace("</body>", '<img src="data:image/png;base64,AAAA">'
                                               "<script>undefinedFunction();</script></body>"))
    _, tag, errors = _open(base, broken.resolve().as_uri())
    assert "undefinedFunction" in tag and 'data-images="4/5"' in tag, tag
    assert any("undefinedFunction" in e for e in errors), errors
