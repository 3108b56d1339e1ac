# size: the wetland and demand sample simulators with the physics and weather they share
"""Seeded sample data: a constructed wetland's daily record and a city's daily water demand.

Both simulators draw every random number from ``np.random.default_rng(seed)`` (split into independent
child streams with ``Generator.spawn``, one per process, so switching noise, spikes or gaps off leaves the
underlying process unchanged). Same seed -> identical frame; different seed -> different frame.

The committed files ``data/wetland_daily.csv`` and ``data/demand_daily.csv`` are written by
:func:`write_samples`; regenerate them with ``wq data simulate --kind samples --out wq/samples``.

Notation: t is the day index, doy the day of year, phase(doy, p) = 2π (doy − p) / 365.25.
Every first-order recursion x_t = a_t x_{t−1} + b_t is evaluated with a vectorised log-depth scan
(:func:`linear_recurrence`), not a Python loop over days.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wq.data.times import to_utc_naive
from wq.errors import ConfigError

__all__ = [
    "Constituent",
    "CONSTITUENTS",
    "Wetland",
    "WETLAND_COLUMNS",
    "DEMAND_COLUMNS",
    "DECIMALS",
    "SAMPLE_FILES",
    "linear_recurrence",
    "kcstar",
    "water_temperature",
    "wetland_hydraulics",
    "wetland_effluent",
    "simulate_wetland",
    "simulate_demand",
    "write_samples",
]

WETLAND_COLUMNS: tuple[str, ...] = (
    "date",
    "air_temp_c",
    "rain_mm",
    "humidity_pct",
    "pressure_hpa",
    "inflow_m3d",
    "cod_in_mgl",
    "nh3n_in_mgl",
    "tp_in_mgl",
    "cod_out_mgl",
    "nh3n_out_mgl",
    "tp_out_mgl",
)
DEMAND_COLUMNS: tuple[str, ...] = ("date", "demand_mld", "tmax_c", "tmin_c", "rain_mm", "holiday")

#: Decimals kept in the committed CSV files (about the resolution of the instruments).
DECIMALS: dict[str, int] = {
    "air_temp_c": 1,
    "rain_mm": 1,
    "humidity_pct": 1,
    "pressure_hpa": 1,
    "inflow_m3d": 1,
    "cod_in_mgl": 1,
    "nh3n_in_mgl": 2,
    "tp_in_mgl": 3,
    "cod_out_mgl": 1,
    "nh3n_out_mgl": 2,
    "tp_out_mgl": 3,
    "demand_mld": 2,
    "tmax_c": 1,
    "tmin_c": 1,
}

#: File name -> (simulator, seed offset added to ``write_samples``'s seed, days).
SAMPLE_FILES: dict[str, tuple[str, int, int]] = {
    "wetland_daily.csv": ("wetland", 0, 1461),
    "demand_daily.csv": ("demand", 1, 1461),
}
SAMPLE_START = "2019-01-01"


# ----------------------------------------------------------------------------------------------
# building blocks
# ----------------------------------------------------------------------------------------------
def linear_recurrence(a: np.ndarray, b: np.ndarray, x0: float = 0.0) -> np.ndarray:
    """Solve x_t = a_t x_{t−1} + b_t for t = 0 … n−1 with x_{−1} = x0.

    Hillis–Steele scan: after the step with shift s every position holds the composition
    (A, B) of its last 2s maps, combined as (A_r A_l, A_r B_l + B_r); log2(n) vectorised steps,
    no division, so it is stable for any |a_t| <= 1. Returns x = A x0 + B.
    """
    A = np.asarray(a, dtype=float).copy()
    B = np.asarray(b, dtype=float).copy()
    if A.shape != B.shape or A.ndim != 1:
        raise ValueError("linear_recurrence: a and b must be 1-D arrays of equal length")
    shift = 1
    n = A.size
    while shift < n:
        # right-hand sides are evaluated before assignment: old A, B on both sides
        B[shift:] = A[shift:] * B[:-shift] + B[shift:]
        A[shift:] = A[shift:] * A[:-shift]
        shift *= 2
    return A * x0 + B


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1): e_t = φ e_{t−1} + √(1−φ²)·sd·z_t, e_{−1} ~ N(0, sd²); marginal sd = sd."""
    z = rng.standard_normal(n + 1)
    return linear_recurrence(np.full(n, phi), np.sqrt(1.0 - phi**2) * sd * z[1:], sd * z[0])


def _ema(x: np.ndarray, lag_days: float, x0: float | None = None) -> np.ndarray:
    """First-order lag: y_t = y_{t−1} + α (x_t − y_{t−1}), α = 1 − exp(−1/lag_days), y_{−1} = x0 or x_0."""
    x = np.asarray(x, dtype=float)
    alpha = 1.0 - np.exp(-1.0 / lag_days)
    return linear_recurrence(np.full(x.size, 1.0 - alpha), alpha * x, x[0] if x0 is None else x0)


def _phase(doy: np.ndarray, peak_doy: float) -> np.ndarray:
    return 2.0 * np.pi * (doy - peak_doy) / 365.25


def _markov_wet_days(rng: np.random.Generator, n: int, p01: float, p11: float) -> np.ndarray:
    """Two-state Markov chain of wet days, built from its spells (vectorised, exact).

    P(wet | dry yesterday) = p01, P(wet | wet yesterday) = p11, so dry spells are Geometric(p01),
    wet spells Geometric(1 − p11), and the stationary wet-day fraction is p01 / (1 − p11 + p01)
    (Richardson 1981, Water Resour. Res. 17:182). The first day is drawn from the stationary law.
    """
    pi_wet = p01 / (1.0 - p11 + p01)
    first_wet = rng.random() < pi_wet
    # each pair of spells averages 1/p01 + 1/(1 − p11) days; draw enough pairs for n days at once
    pairs = int(np.ceil(3 * n / (1.0 / p01 + 1.0 / (1.0 - p11)))) + 10
    dry = rng.geometric(p01, pairs)
    wet = rng.geometric(1.0 - p11, pairs)
    spells = np.column_stack([wet, dry] if first_wet else [dry, wet]).ravel()
    states = np.tile([True, False] if first_wet else [False, True], pairs)
    if spells.sum() < n:  # pragma: no cover - 3x margin makes this astronomically unlikely
        raise RuntimeError("wet/dry spell draw too short")
    return np.repeat(states, spells)[:n]


def _rain(rng: np.random.Generator, doy: np.ndarray, p01: float, p11: float, shape: float,
          scale: float, seasonal: float, peak_doy: float) -> tuple[np.ndarray, np.ndarray]:
    """Daily rain (mm): Markov wet days; amount on a wet day 0.1 + Gamma(shape, scale_t),
    scale_t = scale·(1 + seasonal·cos phase(doy, peak)) (heavier convective summer rain)."""
    wet = _markov_wet_days(rng, doy.size, p01, p11)
    scale_t = scale * (1.0 + seasonal * np.cos(_phase(doy, peak_doy)))
    amount = 0.1 + rng.gamma(shape, 1.0, doy.size) * scale_t
    return np.where(wet, amount, 0.0), wet


def _dates(start: str | pd.Timestamp, days: int) -> pd.DatetimeIndex:
    if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 1:
        raise ConfigError(f"days must be a positive integer, got {days!r}")
    try:
        first = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"start is not a date: {start!r}") from exc
    first = to_utc_naive(first)
    return pd.date_range(first.normalize(), periods=int(days), freq="D")


# ----------------------------------------------------------------------------------------------
# wetland
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Constituent:
    """k-C* parameters of one constituent: areal rate constant at 20 °C (m/yr), Arrhenius θ,
    background concentration C* (mg/L), and the simulated influent (dry-weather mean, seasonal and
    weekday amplitudes, storm-water concentration)."""

    name: str
    k20_m_per_yr: float
    theta: float
    c_star_mgl: float
    influent_mgl: float
    seasonal_amp: float
    weekday_amp: float
    storm_mgl: float


#: Free-water-surface wetland values of the order tabulated by Kadlec & Wallace (2009), *Treatment
#: Wetlands* 2nd ed., CRC Press (ch. 8 organics, ch. 9 nitrogen, ch. 10 phosphorus): NH4-N
#: k20 ≈ 15 m/yr, θ ≈ 1.05, C* = 0; COD k20 of some tens of m/yr, weak temperature dependence, a
#: background C* of tens of mg/L from wetland organics; TP k20 ≈ 10–12.5 m/yr, θ ≈ 1, C* 0.01–0.05 mg/L
#: (Kadlec 2016, Water 8:243). Representative picks for a simulator, not a design basis.
CONSTITUENTS: dict[str, Constituent] = {
    "cod": Constituent("cod", k20_m_per_yr=30.0, theta=1.02, c_star_mgl=20.0,
                       influent_mgl=250.0, seasonal_amp=0.10, weekday_amp=0.06, storm_mgl=60.0),
    "nh3n": Constituent("nh3n", k20_m_per_yr=15.0, theta=1.05, c_star_mgl=0.0,
                        influent_mgl=30.0, seasonal_amp=0.10, weekday_amp=0.05, storm_mgl=1.0),
    "tp": Constituent("tp", k20_m_per_yr=12.0, theta=1.005, c_star_mgl=0.02,
                      influent_mgl=5.0, seasonal_amp=0.08, weekday_amp=0.04, storm_mgl=0.3),
}


@dataclass(frozen=True)
class Wetland:
    """A 1 ha free-water-surface wetland fed by settled municipal wastewater.

    Water volume V = area·depth·porosity (porosity: the water fraction left by vegetation and
    litter, ~0.9–0.95 in FWS wetlands, Kadlec & Wallace 2009 ch. 2). At the mean dry-weather flow
    (400 m³/d) the nominal retention time V/Q is about 6.8 days and the hydraulic loading rate
    q = Q/A = 4 cm/d, typical of FWS treatment wetlands.
    """

    area_m2: float = 10_000.0
    depth_m: float = 0.3
    porosity: float = 0.9
    dry_flow_m3d: float = 400.0
    runoff_m3_per_mm: float = 15.0  # storm inflow per mm of (routed) catchment rain
    runoff_recession: float = 0.6  # daily recession of the catchment's runoff store
    water_temp_lag_days: float = 3.0
    min_water_temp_c: float = 1.0

    @property
    def volume_m3(self) -> float:
        return self.area_m2 * self.depth_m * self.porosity


def kcstar(c_in: np.ndarray | float, hlr_m_per_d: np.ndarray | float, temp_c: np.ndarray | float,
           k20_m_per_yr: float, theta: float, c_star: float) -> np.ndarray:
    """First-order areal k-C* model with Arrhenius temperature correction (Kadlec & Wallace 2009, ch. 6).

    C_out = C* + (C_in − C*)·exp(−k_T / q),  k_T = k20·θ^(T − 20),
    with k20 converted from m/yr to m/d (/365) and q = Q/A the hydraulic loading rate in m/d.
    Removal (1 − C_out/C_in) grows with temperature (θ > 1) and falls with the loading rate.
    """
    q = np.asarray(hlr_m_per_d, dtype=float)
    if np.any(q <= 0):
        raise ValueError("kcstar: hydraulic loading rate must be > 0")
    k_t = (k20_m_per_yr / 365.0) * theta ** (np.asarray(temp_c, dtype=float) - 20.0)
    return c_star + (np.asarray(c_in, dtype=float) - c_star) * np.exp(-k_t / q)


def water_temperature(air_temp_c: np.ndarray, lag_days: float = 3.0, floor_c: float = 1.0) -> np.ndarray:
    """Wetland water temperature: first-order lag of air temperature, floored (ice cover).

    T_w,t = T_w,t−1 + α (T_air,t − T_w,t−1), α = 1 − exp(−1/lag_days), T_w,−1 = T_air,0;
    reported as max(T_w, floor_c).
    """
    return np.maximum(_ema(np.asarray(air_temp_c, dtype=float), lag_days), floor_c)


def wetland_hydraulics(inflow_m3d: np.ndarray, rain_mm: np.ndarray,
                       wetland: Wetland | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daily mixing coefficient, hydraulic loading rate and inlet dilution of the wetland.

    Q_w,t = Q_in,t + P_t·A/1000 (direct rain on the wetland, P in mm); nominal retention
    τ_t = V / Q_w,t, so rain shortens it; mixing coefficient a_t = exp(−1/τ_t).
    The loading rate felt by the water now leaving is the flow averaged over the retention time
    by the same first-order store, Q̄_t = a_t Q̄_{t−1} + (1 − a_t) Q_w,t (Q̄_{−1} = Q_w,0), and
    q_t = Q̄_t / A (m/d): a storm raises it at once and for the following days.
    Returns (a, q, Q_in/Q_w): rain water carries no load, so it dilutes the inlet by Q_in/Q_w.
    """
    w = wetland or Wetland()
    q_in = np.asarray(inflow_m3d, dtype=float)
    q_w = q_in + np.asarray(rain_mm, dtype=float) * w.area_m2 / 1000.0
    a = np.exp(-q_w / w.volume_m3)
    q_bar = linear_recurrence(a, (1.0 - a) * q_w, q_w[0])
    return a, q_bar / w.area_m2, q_in / q_w


def wetland_effluent(inflow_m3d: np.ndarray, rain_mm: np.ndarray, c_in: np.ndarray, water_temp_c: np.ndarray,
                     constituent: Constituent, wetland: Wetland | None = None) -> np.ndarray:
    """Effluent concentration of one constituent (mg/L) from inflow, rain, influent and water temperature.

    Retention lag: the wetland sees the influent through a first-order (stirred-tank) mixing state,
    M_t = a_t M_{t−1} + (1 − a_t)·C_in,t·Q_in,t/Q_w,t (M_{−1} = the inlet value of day 0), with a_t
    and the loading rate q_t from :func:`wetland_hydraulics`.
    Removal: C_out,t = C* + (M_t − C*)·exp(−k20·θ^(T_w,t − 20) / q_t), see :func:`kcstar`.
    """
    a, hlr, dilution = wetland_hydraulics(inflow_m3d, rain_mm, wetland)
    inlet = np.asarray(c_in, dtype=float) * dilution
    mix = linear_recurrence(a, (1.0 - a) * inlet, inlet[0])
    return kcstar(mix, hlr, water_temp_c, constituent.k20_m_per_yr, constituent.theta, constituent.c_star_mgl)


def _gap_rows(rng: np.random.Generator, days: int) -> np.ndarray:
    """Indices of absent days: single days and one run of 5 consecutive days.

    The record (without its first and last 7 days) is cut into equal segments; each gap lies
    inside its own segment with a margin, so single days stay single. Counts: one single day per
    200 days (1 to 6) and one 5-day run when days >= 120; none when days < 30.
    """
    if days < 30:
        return np.empty(0, dtype=int)
    n_single = int(np.clip(days // 200, 1, 6))
    lengths = [1] * n_single + ([5] if days >= 120 else [])
    rng.shuffle(lengths)
    edges = np.linspace(7, days - 7, len(lengths) + 1).astype(int)
    rows = []
    for (lo, hi), length in zip(zip(edges[:-1], edges[1:]), lengths):  # <= 7 gaps
        first = int(rng.integers(lo + 1, max(lo + 2, hi - length)))
        rows.extend(range(first, first + length))
    return np.asarray(rows, dtype=int)


# size: the simulator's process model step by step: weather, inflow, hydraulics, effluent, gaps
def simulate_wetland(start: str | pd.Timestamp = "2019-01-01", days: int = 1461, seed: int = 0,
                     spikes: bool = True, missing: bool = True, noise: bool = True,
                     wetland: Wetland | None = None) -> pd.DataFrame:
    """Daily record of a free-water-surface constructed wetland: weather, influent and effluent.

    Returns a frame with a ``date`` column (not the index) and float columns
    air_temp_c, rain_mm, humidity_pct, pressure_hpa (weather), inflow_m3d, cod_in_mgl, nh3n_in_mgl,
    tp_in_mgl (influent: drivers), cod_out_mgl, nh3n_out_mgl, tp_out_mgl (effluent: targets).

    Weather (temperate climate):
      wet days: Markov chain, P(wet|dry) = 0.25, P(wet|wet) = 0.6 (wet-day fraction 0.38);
      rain on a wet day 0.1 + Gamma(0.7, 9·(1 + 0.3 cos phase(doy, 200))) mm;
      air_temp = 11 + 10 cos phase(doy, 200) + e_t − 1.5·wet_t, e AR(1) φ = 0.75, sd 3 °C;
      humidity = clip(72 − 10 cos phase(doy, 200) + 12·wet_t + AR(1)(0.6, 6), 20, 100) %;
      pressure = 1014 − 6·EMA_2d(wet)_t + AR(1)(0.85, 7) hPa.
    Influent:
      runoff store S_t = 0.6 S_{t−1} + P_t; storm flow Q_s = 15 m³/mm · S_t;
      dry flow Q_d = 400·(1 + 0.10 cos phase(doy, 45))·w_dow·exp(AR(1)(0.8, 0.05)) m³/d
      (infiltration peaks in late winter; w_dow: weekend +4 %);
      Q_in = Q_d + Q_s; dry-weather concentration
      C_d = C̄·(1 + s cos phase(doy, 220))·(1 + v·(workday_t − 5/7))·exp(η_t),
      η = √0.6·common + √0.4·own, both AR(1)(0.7, 0.08) (strength of the sewage); storm dilution
      C_in = (Q_d C_d + Q_s C_storm) / Q_in; C̄, s, v, C_storm per constituent in :data:`CONSTITUENTS`.
    Effluent (:func:`wetland_hydraulics`, :func:`wetland_effluent`), per constituent:
      Q_w = Q_in + P·A/1000, τ_t = V/Q_w,t (rain shortens it), a_t = exp(−1/τ_t);
      mixing state M_t = a_t M_{t−1} + (1 − a_t)·C_in,t·Q_in,t/Q_w,t (the retention lag);
      loading q_t = Q̄_t/A with Q̄_t = a_t Q̄_{t−1} + (1 − a_t) Q_w,t;
      water temperature T_w = 3-day first-order lag of air temperature, at least 1 °C;
      C_out,t = C* + (M_t − C*)·exp(−k20·θ^(T_w,t − 20)/q_t)  (k-C* model, Kadlec & Wallace 2009),
      k20, θ, C* in :data:`CONSTITUENTS`.
    Measurement (``noise``): flow and quality columns × exp(σ z − σ²/2), σ = 2 % (flow), 5 % (influent),
    3 % (effluent); the weather columns are taken as measured.
    Sensor spikes (``spikes``): about 2 per year spread over the six quality columns, each adding 5–8
    standard deviations of its column. Gaps (``missing``): absent rows (single days and one run of
    5 days, see :func:`_gap_rows`) and a few NaN cells in ``tp_in_mgl`` (one per year).
    The effluent depends on yesterday's inflow, rain, temperature and influent through the mixing
    state, the runoff store and the water temperature, so drivers help forecast the next day.
    """
    dates = _dates(start, days)
    w = wetland or Wetland()
    n = len(dates)
    doy = dates.dayofyear.to_numpy(dtype=float)
    dow = dates.dayofweek.to_numpy()
    r_weather, r_influent, r_noise, r_spike, r_gap, r_nan = np.random.default_rng(seed).spawn(6)

    # weather
    rain, wet = _rain(r_weather, doy, p01=0.25, p11=0.6, shape=0.7, scale=9.0, seasonal=0.3, peak_doy=200)
    season = np.cos(_phase(doy, 200))
    air = 11.0 + 10.0 * season + _ar1(r_weather, n, 0.75, 3.0) - 1.5 * wet
    humidity = np.clip(72.0 - 10.0 * season + 12.0 * wet + _ar1(r_weather, n, 0.6, 6.0), 20.0, 100.0)
    pressure = 1014.0 - 6.0 * _ema(wet.astype(float), 2.0, 0.0) + _ar1(r_weather, n, 0.85, 7.0)

    # influent
    weekend = (dow >= 5).astype(float)
    runoff = linear_recurrence(np.full(n, w.runoff_recession), rain, 0.0)
    q_storm = w.runoff_m3_per_mm * runoff
    q_dry = (w.dry_flow_m3d * (1.0 + 0.10 * np.cos(_phase(doy, 45))) * (1.0 + 0.04 * weekend)
             * np.exp(_ar1(r_influent, n, 0.8, 0.05)))
    q_in = q_dry + q_storm
    strength = _ar1(r_influent, n, 0.7, 0.08)
    workday = 1.0 - weekend  # offices and trade on workdays: stronger sewage
    c_in = {}
    for name, c in CONSTITUENTS.items():  # three constituents
        eta = np.sqrt(0.6) * strength + np.sqrt(0.4) * _ar1(r_influent, n, 0.7, 0.08)
        c_dry = (c.influent_mgl * (1.0 + c.seasonal_amp * np.cos(_phase(doy, 220)))
                 * (1.0 + c.weekday_amp * (workday - 5.0 / 7.0)) * np.exp(eta))
        c_in[name] = (q_dry * c_dry + q_storm * c.storm_mgl) / q_in

    # effluent
    t_water = water_temperature(air, w.water_temp_lag_days, w.min_water_temp_c)
    c_out = {name: wetland_effluent(q_in, rain, c_in[name], t_water, c, w) for name, c in CONSTITUENTS.items()}

    frame = pd.DataFrame({
        "date": dates,
        "air_temp_c": air,
        "rain_mm": rain,
        "humidity_pct": humidity,
        "pressure_hpa": pressure,
        "inflow_m3d": q_in,
        **{f"{k}_in_mgl": v for k, v in c_in.items()},
        **{f"{k}_out_mgl": v for k, v in c_out.items()},
    })
    quality = [f"{k}_in_mgl" for k in CONSTITUENTS] + [f"{k}_out_mgl" for k in CONSTITUENTS]

    if noise:
        sigma = {"inflow_m3d": 0.02, **{c: 0.05 if "_in_" in c else 0.03 for c in quality}}
        cols = list(sigma)
        s = np.array([sigma[c] for c in cols])
        z = r_noise.standard_normal((n, len(cols)))
        frame[cols] = frame[cols].to_numpy() * np.exp(s * z - s**2 / 2.0)

    gaps = _gap_rows(r_gap, n) if missing else np.empty(0, dtype=int)
    keep = np.setdiff1d(np.arange(n), gaps)

    spiked = np.empty(0, dtype=int)
    if spikes and keep.size:
        n_spikes = max(1, round(2 * n / 365.25))
        spiked = r_spike.choice(keep, size=min(n_spikes, keep.size), replace=False)
        cols = r_spike.integers(0, len(quality), spiked.size)
        sd = frame[quality].std(ddof=0).to_numpy()
        values = frame[quality].to_numpy()
        values[spiked, cols] += r_spike.uniform(5.0, 8.0, spiked.size) * sd[cols]
        frame[quality] = values

    if missing:
        free = np.setdiff1d(keep, spiked)
        rows = r_nan.choice(free, size=min(max(1, round(n / 365.25)), free.size), replace=False)
        frame.loc[rows, "tp_in_mgl"] = np.nan

    return frame.iloc[keep].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# water demand
# ----------------------------------------------------------------------------------------------
def _easter(years: np.ndarray) -> np.ndarray:
    """Gregorian Easter Sunday (anonymous algorithm, Meeus 1991), vectorised over years."""
    y = np.asarray(years)
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return pd.to_datetime(pd.DataFrame({"year": y, "month": month, "day": day})).to_numpy()


def _holidays(dates: pd.DatetimeIndex) -> np.ndarray:
    """0/1 public holiday: New Year (1 Jan), Good Friday, Easter Monday, Labour Day (1 May),
    Christmas (25 Dec), Boxing Day (26 Dec): a generic set for the simulated city."""
    md = dates.month * 100 + dates.day
    fixed = np.isin(md, [101, 501, 1225, 1226])
    easter = _easter(np.unique(dates.year))
    moving = np.concatenate([easter - np.timedelta64(2, "D"), easter + np.timedelta64(1, "D")])
    return (fixed | np.isin(dates.to_numpy(), moving)).astype(int)


def simulate_demand(start: str | pd.Timestamp = "2019-01-01", days: int = 1461, seed: int = 0,
                    base_mld: float = 120.0, growth_per_year: float = 0.015) -> pd.DataFrame:
    """Daily water demand of a city (ML/d) with its weather and holidays.

    Returns columns date, demand_mld (target), tmax_c, tmin_c, rain_mm (drivers), holiday (0/1, known
    in advance). Weather: wet days Markov (P(wet|dry) = 0.2, P(wet|wet) = 0.55, fraction 0.31), rain
    0.1 + Gamma(0.7, 10·(1 + 0.3 cos phase(doy, 200))) mm; tmax = 19 + 9 cos phase(doy, 200) + AR(1)(0.7, 3.5)
    − 2.5·wet; tmin = tmax − (11 − 3·wet + N(0, 1.5)), the diurnal range at least 2 °C.

    Demand (Zhou et al. 2000, J. Hydrol. 236:153, in spirit: base use + weather-driven outdoor use):
      indoor_t  = B0·(1 + g)^(t/365.25)·w_dow·(0.93 if holiday),
                  w_dow = 1.02 (Mon–Thu), 1.01 (Fri), 0.96 (Sat), 0.95 (Sun);
      heat_t    = 0.7·heat_{t−1} + 0.3·max(tmax_t − 22, 0)      (the previous days' heat matters);
      irrig_t   = 30·max(cos phase(doy, 200), 0) ML/d             (seasonal irrigation);
      wetness_t = 0.7·wetness_{t−1} + rain_t;  sup_t = exp(−wetness_t / 15 mm)   (rain memory);
      demand_t  = (indoor_t + (irrig_t + 4·heat_t)·sup_t)·exp(u_t),  u AR(1) φ = 0.5, sd 1.5 %.
    """
    dates = _dates(start, days)
    n = len(dates)
    doy = dates.dayofyear.to_numpy(dtype=float)
    dow = dates.dayofweek.to_numpy()
    r_weather, r_noise = np.random.default_rng(seed).spawn(2)

    rain, wet = _rain(r_weather, doy, p01=0.2, p11=0.55, shape=0.7, scale=10.0, seasonal=0.3, peak_doy=200)
    season = np.cos(_phase(doy, 200))
    tmax = 19.0 + 9.0 * season + _ar1(r_weather, n, 0.7, 3.5) - 2.5 * wet
    dtr = np.maximum(11.0 - 3.0 * wet + 1.5 * r_weather.standard_normal(n), 2.0)
    tmin = tmax - dtr
    holiday = _holidays(dates)

    weekday = np.array([1.02, 1.02, 1.02, 1.02, 1.01, 0.96, 0.95])[dow]
    trend = (1.0 + growth_per_year) ** (np.arange(n) / 365.25)
    indoor = base_mld * trend * weekday * np.where(holiday == 1, 0.93, 1.0)
    hinge = np.maximum(tmax - 22.0, 0.0)
    heat = linear_recurrence(np.full(n, 0.7), 0.3 * hinge, 0.0)
    irrigation = 30.0 * np.maximum(season, 0.0)
    wetness = linear_recurrence(np.full(n, 0.7), rain, 0.0)
    suppression = np.exp(-wetness / 15.0)
    demand = (indoor + (irrigation + 4.0 * heat) * suppression) * np.exp(_ar1(r_noise, n, 0.5, 0.015))

    return pd.DataFrame({
        "date": dates,
        "demand_mld": demand,
        "tmax_c": tmax,
        "tmin_c": tmin,
        "rain_mm": rain,
        "holiday": holiday.astype("int64"),
    })


# ----------------------------------------------------------------------------------------------
# committed samples
# ----------------------------------------------------------------------------------------------
def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.round({c: d for c, d in DECIMALS.items() if c in frame.columns})


def write_samples(directory: str | Path = "data", seed: int = 0) -> dict[str, Path]:
    """(Re)write the sample files: ``wetland_daily.csv`` (seed) and ``demand_daily.csv`` (seed + 1),
    4 years each from 2019-01-01, floats rounded to :data:`DECIMALS`, dates as YYYY-MM-DD, NaN as an
    empty field. Returns file name -> path written."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (kind, offset, days) in SAMPLE_FILES.items():
        simulate = simulate_wetland if kind == "wetland" else simulate_demand
        frame = _rounded(simulate(start=SAMPLE_START, days=days, seed=seed + offset))
        path = out / name
        frame.to_csv(path, index=False, date_format="%Y-%m-%d", lineterminator="\n")
        written[name] = path
    return written
