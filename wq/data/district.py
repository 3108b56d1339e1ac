"""Simulated district meters (DMAs): N sites' demand at hourly (or finer) steps with shared weather, holidays,
outages and meter faults, all from one seed (issue 14, item 4). ``wq data simulate --kind district``.

Output: a long frame ``time, site, demand_m3h, temperature_c, rain_mm`` sorted by time then site. Faults are
not labelled: the demand column is what a utility's telemetry would deliver. Times are local wall time
(naive) or, with ``tz``, UTC instants written with their local offset (the profiles follow local wall time,
so they move across DST changes as real use does).

Notation: t a step of length Δ hours; h(t) local hour of day (fractional), d(t) local day, doy its day of
year; site i; vm(h; μ, κ) = exp(κ (cos(2π (h − μ)/24) − 1)), a daily bump that is 1 at h = μ.

Weather (shared by all sites, daily then per step)
  wet days: two-state Markov chain P(wet|dry) = 0.3, P(wet|wet) = 0.6; a wet day's rain 0.1 + Gamma(0.7, 6 mm),
  spread over the day's steps with weights Gamma(0.25) normalised (showers);
  daily mean temperature T_d = 10.5 + 7.5 cos(2π (doy − 200)/365.25) + AR(1)(0.75, 3) − 1.5·wet_d,
  T(t) = T_d interpolated between local noons + (DTR_d/2) cos(2π (h − 15)/24), DTR = 8 °C dry, 4 °C wet.
Demand of site i (m³/h)
  P_{i,k}(h) = (0.15 + a_i^m vm(h; μ_{i,k}^m, κ_k^m) + 0.35 vm(h; 13, 1.5) + a_i^e vm(h; μ_i^e, 4)), scaled to a
  daily mean of 1; k = workday or rest day (weekend or public holiday of ``country``, package ``holidays``);
  rest days: the morning peak δ_i hours later (μ^m + δ_i), broader (κ^m = 6 → 2.5) and 0.8 a_i^m;
  indoor_i(t) = B_i (1 + τ_i years(t)) [ℓ_i + (1 − ℓ_i) w_{i,k} P_{i,k}(h)]  (ℓ_i: leakage share of base,
  w_{i,k} = 1 on workdays, the site's rest-day level on rest days);
  heat H(t) = max(T̄(t) − 15, 0), T̄ = first-order lag of T with time constant 24 h; rain store
  R(t) = e^{−Δ/48} R(t − 1) + rain(t); garden G(h) = vm(h; 6.5, 5) + 1.5 vm(h; 20.5, 4) scaled to mean 1;
  outdoor_i(t) = β_i B_i H(t) e^{−R(t)/5 mm} G(h)  (hot days raise demand, rain lowers garden use);
  demand_i(t) = (indoor_i + outdoor_i) exp(ε_i(t) − σ_i²/2), ε_i AR(1) with φ = 0.7 per hour, sd σ_i.
Meter faults and telemetry (applied in this order to the true demand)
  drift: with probability 0.4 a meter under-registers from a random time t0_i: × (1 + r_i max(t − t0_i, 0)/yr),
  r_i ~ U(−0.15, −0.03); stuck: Poisson(s_i per year) episodes of U(6, 72) h in which the last reading repeats;
  spikes: each reading with probability p_i is multiplied by U(3, 10); outages: an alternating renewal
  process, down spells 85 % Geometric(mean 4 h) and 15 % U{1..12} days (mean 26.8 h), up spells Geometric
  with mean 26.8 h (1 − f_i)/f_i, so a long-run share f_i of the steps is lost; a lost spell's rows are
  absent (logger offline, probability 0.7) or present with an empty demand (meter failure).
Per-site parameters (``district_sites``): B ~ LogNormal(ln 80, 0.6) m³/h; ℓ ~ U(0.05, 0.25); μ^m ~ U(6.5, 8.5);
  δ ~ U(1, 2.5); μ^e ~ U(18.5, 21); a^m ~ U(0.8, 1.4); a^e ~ U(0.6, 1.2); rest-day level ~ U(0.85, 1.1);
  τ ~ U(−0.01, 0.03)/yr; β ~ U(0, 0.05)/°C; σ ~ U(0.02, 0.08); f ~ U(0.005, 0.04) (× ``outages``);
  s ~ U(0, 4)/yr; p ~ U(0, 0.002) per step.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from wq.data.simulate import _ar1, _markov_wet_days
from wq.errors import ConfigError

__all__ = ["DISTRICT_COLUMNS", "district_sites", "simulate_district", "write_district_sample"]

DISTRICT_COLUMNS = ("time", "site", "demand_m3h", "temperature_c", "rain_mm")
DOWN_SHORT_H, DOWN_LONG_DAYS, P_LONG = 4.0, 12, 0.15
MEAN_DOWN_H = (1 - P_LONG) * DOWN_SHORT_H + P_LONG * 24 * (DOWN_LONG_DAYS + 1) / 2  # 26.8 h
P_ABSENT = 0.7


def _vm(h: np.ndarray, mu, kappa) -> np.ndarray:
    return np.exp(kappa * (np.cos(2 * np.pi * (h - mu) / 24.0) - 1.0))


def district_sites(sites: int, seed: int = 0, outages: float = 1.0) -> pd.DataFrame:
    """The per-site parameters (one row per site, names DMA001 ..), drawn from ``seed`` alone: the same seed
    gives the same sites for any length or step. ``outages`` scales every site's lost share f_i."""
    if isinstance(sites, bool) or not isinstance(sites, (int, np.integer)) or sites < 1:
        raise ConfigError(f"sites must be a positive integer, got {sites!r}")
    if not (isinstance(outages, (int, float)) and 0 <= outages <= 10):
        raise ConfigError(f"outages must be a number in [0, 10] (a multiplier of the outage rates), got {outages!r}")
    rng = np.random.default_rng(seed).spawn(2)[0]
    n = int(sites)
    u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
    width = len(str(n)) if n > 999 else 3
    return pd.DataFrame({
        "site": [f"DMA{i + 1:0{width}d}" for i in range(n)],
        "base_m3h": np.exp(np.log(80.0) + 0.6 * rng.standard_normal(n)),
        "leak_share": u(0.05, 0.25), "morning_h": u(6.5, 8.5), "rest_shift_h": u(1.0, 2.5),
        "evening_h": u(18.5, 21.0), "a_morning": u(0.8, 1.4), "a_evening": u(0.6, 1.2),
        "rest_level": u(0.85, 1.1), "trend_per_year": u(-0.01, 0.03), "heat_per_c": u(0.0, 0.05),
        "noise_sd": u(0.02, 0.08), "outage_share": u(0.005, 0.04) * float(outages),
        "stuck_per_year": u(0.0, 4.0), "spike_prob": u(0.0, 0.002),
        "drift_per_year": np.where(rng.random(n) < 0.4, u(-0.15, -0.03), 0.0), "drift_start": u(0.0, 1.0),
    })


def _index(start, days: int, freq: str, tz: str | None) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex, float]:
    """(index written out, local wall-time index, step in hours)."""
    if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 1:
        raise ConfigError(f"days must be a positive integer, got {days!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pandas' notes on deprecated aliases
            step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (ValueError, TypeError):
        raise ConfigError(f"freq {freq!r} is not a pandas frequency (e.g. 'h', '30min', '15min')") from None
    if not pd.Timedelta(minutes=1) <= step <= pd.Timedelta(hours=1) or pd.Timedelta(days=1) % step:
        raise ConfigError(f"freq {freq!r}: the step must divide a day and lie between 1 minute and 1 hour")
    try:
        first = pd.Timestamp(start).normalize()
    except (ValueError, TypeError):
        raise ConfigError(f"start is not a date: {start!r}") from None
    n = int(days) * int(pd.Timedelta(days=1) / step)
    if tz is None:
        idx = pd.date_range(first, periods=n, freq=step, name="time")
        return idx, idx, step / pd.Timedelta(hours=1)
    try:
        first_utc = first.tz_localize(tz).tz_convert("UTC")
    except Exception as exc:  # noqa: BLE001 - unknown zone names raise several types
        raise ConfigError(f"tz {tz!r} is not a time zone ({exc})") from None
    idx = pd.date_range(first_utc, periods=n, freq=step, name="time")
    return idx.tz_convert(tz), idx.tz_convert(tz).tz_localize(None), step / pd.Timedelta(hours=1)


def _holiday_days(days: pd.DatetimeIndex, country: str) -> np.ndarray:
    import holidays

    try:
        cal = holidays.country_holidays(country, years=sorted(set(days.year)))
    except NotImplementedError:
        raise ConfigError(f"country {country!r} is not known to the holidays package (e.g. 'NL', 'US', 'DE')") from None
    return np.asarray(days.isin(pd.DatetimeIndex(list(cal.keys()))))


def _weather(rng: np.random.Generator, local: pd.DatetimeIndex, day: np.ndarray, hour: np.ndarray,
             dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Temperature (°C) and rain (mm per step) at every step, from daily draws (module docstring)."""
    n_days = int(day.max()) + 1
    day0 = local[0].normalize()
    doy = (day0 + pd.to_timedelta(np.arange(n_days), unit="D")).dayofyear.to_numpy(float)
    wet = _markov_wet_days(rng, n_days, 0.3, 0.6)
    amount = np.where(wet, 0.1 + rng.gamma(0.7, 6.0, n_days), 0.0)
    weights = rng.gamma(0.25, 1.0, day.size) + 1e-12
    rain = amount[day] * weights / np.bincount(day, weights, minlength=n_days)[day]
    t_day = 10.5 + 7.5 * np.cos(2 * np.pi * (doy - 200) / 365.25) + _ar1(rng, n_days, 0.75, 3.0) - 1.5 * wet
    days_frac = day + hour / 24.0
    temp = np.interp(days_frac, np.arange(n_days) + 0.5, t_day)
    temp += np.where(wet, 4.0, 8.0)[day] / 2 * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
    return temp, rain


def _intervals(n_sites: int, T: int, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(T, n_sites) mask of the half-open intervals [start, start + length) given as (n_sites, K) arrays."""
    site = np.broadcast_to(np.arange(n_sites)[:, None] * (T + 1), starts.shape)
    ok = starts < T
    size = n_sites * (T + 1)
    diff = (np.bincount((site + starts)[ok], minlength=size)
            - np.bincount((site + np.minimum(starts + lengths, T))[ok], minlength=size))
    return (np.cumsum(diff.reshape(n_sites, T + 1)[:, :T], axis=1, dtype=np.int32) > 0).T


def _outages(rng: np.random.Generator, share: np.ndarray, T: int, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """(lost, absent) masks (T, N) of the alternating renewal process of the module docstring."""
    N = share.size
    mean_up = np.where(share > 0, MEAN_DOWN_H * (1 - share) / np.maximum(share, 1e-12), np.inf)
    K = int(np.ceil(3 * T * dt / (np.min(mean_up) + MEAN_DOWN_H))) + 5
    up_h = rng.geometric(np.minimum(1.0, 1.0 / np.minimum(mean_up, 1e12))[:, None], (N, K)).astype(float)
    long = rng.random((N, K)) < P_LONG
    down_h = np.where(long, 24.0 * rng.integers(1, DOWN_LONG_DAYS + 1, (N, K)),
                      rng.geometric(1.0 / DOWN_SHORT_H, (N, K)))
    up, down = np.ceil(up_h / dt).astype(np.int64), np.ceil(down_h / dt).astype(np.int64)
    starts = np.cumsum(up + down, axis=1) - down
    starts = np.where(np.isfinite(mean_up)[:, None], starts, T)
    absent_spell = rng.random((N, K)) < P_ABSENT
    lost = _intervals(N, T, starts, down)
    absent = _intervals(N, T, np.where(absent_spell, starts, T), down)
    return lost, absent


def _faults(rng: np.random.Generator, true: np.ndarray, p: pd.DataFrame, dt: float) -> np.ndarray:
    """Drift, stuck readings and spikes applied to the true demand (T, N)."""
    T, N = true.shape
    t = np.arange(T)[:, None]
    t0 = (p["drift_start"].to_numpy() * T)[None, :]
    years = dt / (24 * 365.25)
    out = true * (1.0 + p["drift_per_year"].to_numpy()[None, :] * np.maximum(t - t0, 0) * years)
    K = int(np.ceil(p["stuck_per_year"].max() * T * years * 3)) + 3
    counts = rng.poisson(p["stuck_per_year"].to_numpy() * T * years)
    starts = np.where(np.arange(K)[None, :] < np.minimum(counts, K)[:, None], rng.integers(0, T, (N, K)), T)
    lengths = np.ceil(rng.uniform(6.0, 72.0, (N, K)) / dt).astype(np.int64)
    stuck = _intervals(N, T, starts, lengths)
    begin = np.zeros((T, N), dtype=np.int64)
    begin[starts[starts < T], np.nonzero(starts < T)[0]] = 1
    latest = np.maximum.accumulate(np.where(begin.astype(bool), t, 0), axis=0)
    src = np.where(stuck, np.maximum(latest - 1, 0), t)  # the reading before the episode repeats
    out = np.take_along_axis(out, src, axis=0)
    spike = rng.random((T, N)) < p["spike_prob"].to_numpy()[None, :]
    return np.where(spike, out * rng.uniform(3.0, 10.0, (T, N)), out)


def _shape(p: dict, hour: np.ndarray, rest: np.ndarray | int) -> np.ndarray:
    """The unnormalised daily shape of every site at ``hour`` (T, 1) on workdays (rest 0) or rest days (1)."""
    r = np.asarray(rest, dtype=float)
    mu_m = p["morning_h"] + r * p["rest_shift_h"]
    return (0.15 + p["a_morning"] * (1.0 - 0.2 * r) * _vm(hour, mu_m, 6.0 - 3.5 * r)
            + 0.35 * _vm(hour, 13.0, 1.5) + p["a_evening"] * _vm(hour, p["evening_h"], 4.0))


def _true_demand(rng: np.random.Generator, p: dict, hour: np.ndarray, rest: np.ndarray, temp: np.ndarray,
                 rain: np.ndarray, dt: float) -> np.ndarray:
    """Indoor + outdoor use with multiplicative AR(1) noise, (T, N) m³/h (module docstring)."""
    grid = np.arange(0, 24, 0.25)[:, None]  # the daily mean of each shape, on a fine grid
    mean = np.where(rest[:, None], _shape(p, grid, 1).mean(axis=0), _shape(p, grid, 0).mean(axis=0))
    profile = _shape(p, hour[:, None], rest[:, None]) / mean
    level = np.where(rest[:, None], p["rest_level"], 1.0)
    years = (np.arange(hour.size) * dt / (24 * 365.25))[:, None]
    leak = p["leak_share"]
    indoor = p["base_m3h"] * (1 + p["trend_per_year"] * years) * (leak + (1 - leak) * level * profile)
    alpha = 1.0 - np.exp(-dt / 24.0)
    t_lag = lfilter([alpha], [1.0, alpha - 1.0], temp, zi=[(1 - alpha) * temp[0]])[0]
    store = lfilter([1.0], [1.0, -np.exp(-dt / 48.0)], rain)
    garden = _vm(hour, 6.5, 5.0) + 1.5 * _vm(hour, 20.5, 4.0)
    garden /= (_vm(grid[:, 0], 6.5, 5.0) + 1.5 * _vm(grid[:, 0], 20.5, 4.0)).mean()
    outdoor = p["heat_per_c"] * p["base_m3h"] * (np.maximum(t_lag - 15.0, 0.0) * np.exp(-store / 5.0) * garden)[:, None]
    phi = 0.7**dt
    z = rng.standard_normal((hour.size, p["base_m3h"].size))
    eps = lfilter([1.0], [1.0, -phi], np.sqrt(1 - phi**2) * z, axis=0, zi=z[:1] * phi)[0] * p["noise_sd"]
    return (indoor + outdoor) * np.exp(eps - p["noise_sd"] ** 2 / 2)


def simulate_district(sites: int = 10, days: int = 365, freq: str = "h", start: str = "2023-01-01",
                      seed: int = 0, country: str = "NL", tz: str | None = None,
                      outages: float = 1.0) -> pd.DataFrame:
    """N district meters' demand with shared weather (the equations are in the module docstring).

    Returns the long frame of :data:`DISTRICT_COLUMNS` (``site`` categorical), sorted by time then site; rows
    lost to absent-row outages are missing, empty-value outages have demand NaN. ``tz`` (e.g.
    "Europe/Amsterdam") makes the time column tz-aware and the patterns follow local wall time; without it
    times are naive local time."""
    params = district_sites(sites, seed, outages)
    index, local, dt = _index(start, days, freq, tz)
    # child 0 draws the sites (district_sites), child 1 is spare; the rest: weather, noise, faults, outages
    r_weather, r_noise, r_faults, r_out = np.random.default_rng(seed).spawn(6)[2:]
    hour = (local.hour + local.minute / 60.0).to_numpy(float)
    day = ((local.normalize() - local[0].normalize()) // pd.Timedelta(days=1)).to_numpy(np.int64)
    temp, rain = _weather(r_weather, local, day, hour, dt)
    dates = local.normalize()
    rest = np.asarray(local.dayofweek >= 5) | _holiday_days(dates, country)

    p = {c: params[c].to_numpy() for c in params.columns if c != "site"}
    true = _true_demand(r_noise, p, hour, rest, temp, rain, dt)
    measured = _faults(r_faults, true, params, dt)
    lost, absent = _outages(r_out, p["outage_share"], len(index), dt)
    measured[lost] = np.nan
    T, N = measured.shape
    frame = pd.DataFrame({
        "time": index.repeat(N), "site": pd.Categorical.from_codes(np.tile(np.arange(N), T), params["site"]),
        "demand_m3h": measured.ravel().round(2), "temperature_c": np.repeat(temp, N).round(1),
        "rain_mm": np.repeat(rain, N).round(1),
    })
    return frame[~absent.ravel()].reset_index(drop=True)


def write_district_sample(path="data/district_hourly.csv", seed: int = 0) -> pd.DataFrame:
    """The committed sample: 3 sites, 8 weeks hourly from 2023-03-06 (Europe/Amsterdam, a DST change and
    Easter inside), holidays of NL."""
    frame = simulate_district(sites=3, days=56, freq="h", start="2023-03-06", seed=seed, country="NL",
                              tz="Europe/Amsterdam")
    frame.to_csv(path, index=False, lineterminator="\n")
    return frame
