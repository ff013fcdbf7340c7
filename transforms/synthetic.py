"""A seeded synthetic market: every ingested series, mutually consistent, no network.

Model (daily steps on the sessions passed in, dt = 1/252):

* SPX: Heston stochastic variance v (annualised) with mean reversion ``kappa`` to
  ``theta``, vol-of-variance ``xi`` and correlation ``rho`` to price shocks, plus
  Poisson jumps (intensity ``jump_rate`` per year, normal log sizes) that also
  multiply the variance by ``jump_var_mult``; the drift is compensated for the jumps,
  so ``mu`` is the expected arithmetic return.
* VIX: 100 x sqrt of the model's expected average variance over the next 30 calendar
  days, times a variance risk premium ``vrp`` (>1). VIX3M the same over 93 days.
* VX futures (monthly contracts, real CFE expiry rule): 100 x sqrt of the expected
  30-day variance at expiry (plus a term premium that grows with maturity), so the curve
  is in contango when v is below theta and inverts when a shock lifts v above it.
* VVIX: rises with VIX level and recent variance shocks. T-bill: a mean-reverting rate.
* Breadth: advancing share is a logistic function of the day's SPX return plus noise.
* CPI / PPI: monthly log changes (AR(1)); released on a business day 10-16 days into
  the next month (CPI calendar emitted; PPI dated by the lag rule like real data).
* FOMC: eight scheduled announcement days a year (Wednesdays).

All randomness comes from the ``np.random.Generator`` passed in: the same seed and
sessions give identical frames.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from transforms.columns import (
    FOMC_MEETINGS,
    MACRO_MONTHLY,
    NYSE_BREADTH,
    RELEASE_DATES,
    SPX_DAILY,
    TBILL_3M_DAILY,
    VIX3M_DAILY,
    VIX_DAILY,
    VVIX_DAILY,
    VX_FUTURES,
    Series,
)
from transforms.vx import monthly_expiries


@dataclass(frozen=True)
class SyntheticParams:
    spx0: float = 1100.0
    mu: float = 0.09
    kappa: float = 4.0
    theta: float = 0.026
    xi: float = 0.55
    rho: float = -0.72
    v0: float = 0.02
    jump_rate: float = 1.0
    jump_mean: float = -0.025
    jump_sd: float = 0.03
    jump_var_mult: float = 1.8
    vrp: float = 1.45  # on variance: VIX ~ 1.2 x expected vol, the real VIX / realised ratio
    term_premium: float = 0.30
    issues: int = 3000
    cpi0: float = 215.0
    ppi0: float = 175.0
    rate0: float = 2.0


DT = 1.0 / 252.0


def _expected_avg_var(v: np.ndarray, p: SyntheticParams, days: float) -> np.ndarray:
    """E[average variance over the next ``days`` calendar days] under the model."""
    tau = days / 365.0
    decay = (1.0 - math.exp(-p.kappa * tau)) / (p.kappa * tau)
    jump_var = p.jump_rate * (p.jump_mean**2 + p.jump_sd**2)
    return p.theta + (v - p.theta) * decay + jump_var


def _ohlc(close: np.ndarray, rng: np.random.Generator, spread: np.ndarray) -> dict[str, np.ndarray]:
    prev = np.concatenate([[close[0]], close[:-1]])
    open_ = prev * np.exp(rng.normal(0.0, 0.25, close.size) * spread)
    hi = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.6, close.size)) * spread)
    lo = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.6, close.size)) * spread)
    return {"open": open_, "high": hi, "low": lo, "close": close}


def _frame(series: Series, data: dict[str, object], *, decimals: int = 2) -> pl.DataFrame:
    """A frame of ``series``' schema; floats rounded like published data, absent columns null."""
    frame = pl.DataFrame(data)
    return frame.select(
        (
            (pl.col(c).round(decimals) if t == pl.Float64() else pl.col(c)).cast(t)
            if c in frame.columns
            else pl.lit(None, dtype=t).alias(c)
        )
        for c, t in series.schema.items()
    )


def _months(first: date, last: date) -> list[date]:
    out, d = [], date(first.year, first.month, 1)
    while d <= last:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def _business_day(day: date, sessions: set[date]) -> date:
    while day not in sessions:
        day += timedelta(days=1)
    return day


def _simulate_spx(
    n: int, rng: np.random.Generator, p: SyntheticParams
) -> tuple[np.ndarray, np.ndarray]:
    """Daily SPX log returns and the annualised variance after each day."""
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    zv = p.rho * z1 + math.sqrt(1 - p.rho**2) * z2
    jumps = rng.poisson(p.jump_rate * DT, n)
    jump_size = np.where(jumps > 0, rng.normal(p.jump_mean, p.jump_sd, n), 0.0)
    # Jump compensator: ``mu`` is the expected arithmetic return including jumps.
    compensator = p.jump_rate * (math.exp(p.jump_mean + 0.5 * p.jump_sd**2) - 1.0)
    v = np.empty(n)
    logret = np.empty(n)
    v_prev = p.v0
    for i in range(n):
        sd = math.sqrt(max(v_prev, 1e-6) * DT)
        logret[i] = (p.mu - compensator - 0.5 * v_prev) * DT + sd * z1[i] + jump_size[i]
        v_next = v_prev + p.kappa * (p.theta - v_prev) * DT + p.xi * sd * zv[i]
        if jumps[i]:
            v_next *= p.jump_var_mult
        v_prev = min(max(v_next, 0.004), 1.5)
        v[i] = v_prev
    logret[0] = 0.0
    return logret, v


def _vx_futures(
    *,
    sessions: Sequence[date],
    holidays: Collection[date],
    v: np.ndarray,
    vix_open: np.ndarray,
    rng: np.random.Generator,
    p: SyntheticParams,
) -> pl.DataFrame:
    """Monthly VX contracts, each listed ~9 months before its (real-rule) expiry."""
    contracts = monthly_expiries(sessions[0], sessions[-1] + timedelta(days=300), holidays=holidays)
    rows: dict[str, list[object]] = {
        c: [] for c in ("trade_date", "contract", "expiry", "settle", "volume", "open_interest")
    }
    day_index = {d: i for i, d in enumerate(sessions)}
    for c in contracts:
        listed = c.expiry - timedelta(days=270)
        live = [d for d in sessions if listed <= d <= c.expiry]
        if not live:
            continue
        idx = np.array([day_index[d] for d in live])
        dte = np.array([(c.expiry - d).days for d in live], dtype=float)
        tau = dte / 365.0
        ev_at_expiry = p.theta + (v[idx] - p.theta) * np.exp(-p.kappa * tau)
        fut = 100.0 * np.sqrt(_expected_avg_var(ev_at_expiry, p, 30) * p.vrp)
        fut *= 1.0 + p.term_premium * (1.0 - np.exp(-4.0 * tau))
        # Final settlement is the special opening quotation: the VIX open, plus noise.
        if live[-1] == c.expiry:
            fut[-1] = vix_open[idx[-1]] * math.exp(rng.normal(0.0, 0.01))
        oi = (40000 * np.exp(-dte / 60.0) + 500).astype(np.int64)
        rows["trade_date"] += live
        rows["contract"] += [c.contract] * len(live)
        rows["expiry"] += [c.expiry] * len(live)
        rows["settle"] += list(np.round(fut, 3))
        rows["volume"] += list((oi * rng.uniform(0.05, 0.3, len(live))).astype(np.int64))
        rows["open_interest"] += list(oi)
    # A day's bar opens at the previous settle and brackets the open and the settle.
    opened = pl.coalesce(
        pl.col("settle").shift(1).over("contract", order_by="trade_date"), "settle"
    )
    vx = pl.DataFrame(rows).with_columns(
        pl.lit("monthly").alias("contract_type"),
        pl.col("settle").alias("close"),
        opened.alias("open"),
        (pl.min_horizontal(opened, "settle") * 0.99).round(3).alias("low"),
        (pl.max_horizontal(opened, "settle") * 1.01).round(3).alias("high"),
        pl.col("settle")
        .diff()
        .over("contract", order_by="trade_date")
        .fill_null(0.0)
        .round(4)
        .alias("change"),
        pl.lit(0, dtype=pl.Int64).alias("efp"),
        pl.lit(False).alias("suspect_settle"),
    )
    return vx.select(pl.col(c).cast(t) for c, t in VX_FUTURES.schema.items()).sort(
        "trade_date", "contract"
    )


def _breadth(
    days: np.ndarray,
    logret: np.ndarray,
    daily_sd: np.ndarray,
    rng: np.random.Generator,
    p: SyntheticParams,
) -> pl.DataFrame:
    """NYSE breadth: the advancing share is logistic in the day's standardised return."""
    n = days.size
    z = logret / np.maximum(daily_sd, 1e-6)
    share = 1.0 / (1.0 + np.exp(-(0.9 * z + rng.normal(0.0, 0.4, n))))
    unch = rng.integers(60, 160, n)
    active = p.issues - unch
    adv = np.round(share * active).astype(np.int64)
    dec = active - adv
    vol_total = rng.integers(800_000, 1_600_000, n)
    return _frame(
        NYSE_BREADTH,
        {
            "date": days,
            "advancing": adv,
            "declining": dec,
            "unchanged": unch,
            "adv_volume": (vol_total * share).astype(np.int64),
            "decl_volume": (vol_total * (1 - share)).astype(np.int64),
            "unch_volume": (vol_total * 0.02).astype(np.int64),
            "new_highs": rng.poisson(40 + 60 * np.clip(z, 0, None)),
            "new_lows": rng.poisson(40 + 60 * np.clip(-z, 0, None)),
            "total_issues": adv + dec + unch,
            "ad_line": np.cumsum(adv - dec),
        },
    )


def _tbill(days: np.ndarray, rng: np.random.Generator, p: SyntheticParams) -> pl.DataFrame:
    rate = np.empty(days.size)
    r = p.rate0
    for i in range(days.size):
        r = max(0.0, r + 0.5 * (p.rate0 - r) * DT + 0.6 * math.sqrt(DT) * rng.standard_normal())
        rate[i] = r
    return _frame(TBILL_3M_DAILY, {"date": days, "rate_pct": rate})


def _fomc(sessions: Sequence[date]) -> pl.DataFrame:
    """Eight scheduled announcements a year: the third Wednesday of the FOMC months."""
    start, end, session_set = sessions[0], sessions[-1], set(sessions)
    dates = []
    for year in range(start.year, end.year + 1):
        for month in (1, 3, 5, 6, 7, 9, 11, 12):
            first = date(year, month, 1)
            wednesday = first + timedelta(days=(2 - first.weekday()) % 7 + 14)
            if start <= wednesday <= end and wednesday in session_set:
                dates.append(wednesday)
    return _frame(
        FOMC_MEETINGS,
        {
            "date": dates,
            "scheduled": [True] * len(dates),
            "press_conference": [True] * len(dates),
            "sep": [d.month in (3, 6, 9, 12) for d in dates],
            "event_type": ["FOMC announcement"] * len(dates),
        },
    )


def _macro(
    sessions: Sequence[date], rng: np.random.Generator, p: SyntheticParams
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CPI/PPI levels (not yet dated) and the CPI release calendar, for months released in span."""
    start, end, session_set = sessions[0], sessions[-1], set(sessions)
    months = _months(start, end)[:-1]
    m = len(months)
    infl = np.empty(m)
    x = 0.0
    for i in range(m):
        x = 0.6 * x + rng.normal(0.0, 0.0015)
        infl[i] = 0.0021 + x
    ppi_infl = 0.0018 + 1.6 * (infl - 0.0021) + rng.normal(0.0, 0.004, m)
    cpi_sa = p.cpi0 * np.exp(np.cumsum(infl))
    season = 1.0 + 0.002 * np.sin(2 * np.pi * np.arange(m) / 12.0)
    ppi = p.ppi0 * np.exp(np.cumsum(ppi_infl))
    release = [
        _business_day(
            date(d.year + (d.month == 12), d.month % 12 + 1, 1)
            + timedelta(days=int(rng.integers(10, 16))),
            session_set,
        )
        for d in months
    ]
    keep = [i for i, r in enumerate(release) if r <= end]
    kept = [months[i] for i in keep]
    values = {
        "CPIAUCSL": cpi_sa[keep],
        "CPIAUCNSA": (cpi_sa * season)[keep],
        "PPIACO": ppi[keep],
        "PPIFIS": (ppi * 1.1 - 60.0)[keep],
    }
    macro = pl.concat(
        _frame(
            MACRO_MONTHLY,
            {"series_id": [sid] * len(kept), "reference_month": kept, "value": vals},
            decimals=3,
        )
        for sid, vals in values.items()
    )
    calendar = _frame(
        RELEASE_DATES,
        {
            "release": ["CPI"] * len(kept),
            "reference_month": kept,
            "release_date": [release[i] for i in keep],
            "note": [None] * len(kept),
        },
    )
    return macro, calendar


def synthetic_market(
    *,
    sessions: Sequence[date],
    holidays: Collection[date],
    rng: np.random.Generator,
    params: SyntheticParams = SyntheticParams(),
) -> dict[str, pl.DataFrame]:
    """Canonical frames of every ingested series, keyed by table name."""
    p = params
    days = np.array(sessions, dtype="datetime64[D]")
    n = days.size
    logret, v = _simulate_spx(n, rng, p)
    spx = p.spx0 * np.exp(np.cumsum(logret))
    daily_sd = np.sqrt(v * DT)
    vix = 100.0 * np.sqrt(_expected_avg_var(v, p, 30) * p.vrp)
    vix3m = 100.0 * np.sqrt(_expected_avg_var(v, p, 93) * p.vrp)
    shock = np.abs(np.diff(np.log(vix), prepend=np.log(vix[0])))
    vvix = 70.0 + 18.0 * np.log(vix / 12.0) + 300.0 * shock + rng.normal(0.0, 2.0, n)
    macro, cpi_calendar = _macro(sessions, rng, p)
    vix_bars = _ohlc(vix, rng, np.full(n, 0.03))
    return {
        "spx_daily": _frame(
            SPX_DAILY,
            {
                "date": days,
                **_ohlc(spx, rng, daily_sd),
                "volume": rng.integers(2_000_000_000, 6_000_000_000, n),
            },
        ),
        "vix_daily": _frame(VIX_DAILY, {"date": days, **vix_bars}),
        "vix3m_daily": _frame(VIX3M_DAILY, {"date": days, **_ohlc(vix3m, rng, np.full(n, 0.02))}),
        "vvix_daily": _frame(VVIX_DAILY, {"date": days, "close": np.maximum(vvix, 55.0)}),
        "vx_futures": _vx_futures(
            sessions=sessions, holidays=holidays, v=v, vix_open=vix_bars["open"], rng=rng, p=p
        ),
        "nyse_breadth": _breadth(days, logret, daily_sd, rng, p),
        "tbill_3m_daily": _tbill(days, rng, p),
        "fomc_meetings": _fomc(sessions),
        "macro_monthly": macro,
        "release_dates": cpi_calendar,
    }
