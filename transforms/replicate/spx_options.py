"""Cboe PUT and CNDR run through the engine's SPX option machinery.

Both indices roll on the standard monthly SPX expiry (:func:`spx_expiries`: the third
Friday, or the session before it on a holiday). On a roll day the expiring options
settle at that session's open (the engine's stand-in for the SOQ) and the new ones are
sold at the close, marked like every other day by :class:`CondorPricer` (Black-Scholes
under the VIX-driven smile, T-bill rate, the engine's dividend yield). Cash sits in a
T-bill money market: ``M_t = M_{t-1} exp(r_{t-1} days / 365)``. Index value =
money market - the short options' value.

* **PUT** (Cboe PutWrite): one short one-month put, strike the listed strike at or just
  below SPX, fully cash-secured: ``N = V / K`` puts per index unit.
* **CNDR** (Cboe Iron Condor): short 0.20-delta put and call, long 0.05-delta put and
  call (strikes by :meth:`CondorPricer.strikes`), held to expiry. Sizing is not in the
  public description; here the short options' notional equals the index value
  (``N = V / S``), an assumption reported with the results.

Cboe sells at the 11:30-12:00 VWAP on the roll day and marks with real quotes; the
engine uses closes and a model smile, so a gap is expected and is the finding.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import polars as pl
from numpy.typing import NDArray

from transforms.backtest.condor import CondorPricer, settlement, spx_expiries
from transforms.backtest.market import Market
from transforms.backtest.params import BacktestParams

F64 = NDArray[np.float64]

PUT = "PUT"
CNDR = "CNDR"


CNDR_SHORT_DELTA, CNDR_WING_DELTA = 0.20, 0.05
"""CNDR's strikes: short ~0.20-delta put and call, long ~0.05-delta wings."""


def _strikes(index: str, pricer: CondorPricer, i: int, days: float) -> F64:
    if index == PUT:  # the listed strike at or just below SPX, in every slot
        grid = pricer.p.strike_grid
        return np.full(4, np.floor(pricer.m.spx[i] / grid) * grid)
    return pricer.strikes(i, days)


def _value(index: str, pricer: CondorPricer, i: int, strikes: F64, days: float) -> float:
    if index == PUT:  # leg 0 of the pricer is a put at strikes[0]
        return float(pricer.legs(i, strikes, days)[0][0])
    return pricer.value(i, strikes, days)


def _settlement(index: str, strikes: F64, spot: float) -> float:
    """What the short position pays at expiry, per option set (index points)."""
    return max(float(strikes[0]) - spot, 0.0) if index == PUT else settlement(strikes, spot)


def write_options(
    market: Market, p: BacktestParams, *, index: str, base: float, costs: bool = False
) -> F64:
    """PUT or CNDR level per session (NaN before the first roll; ``base`` at it), with
    ``p``'s smile, dividend yield and strike grid. With ``costs``, each sale pays the
    backtest's costs per option sold: its half-spread (``p``'s cost model) and
    ``spx_commission`` (the published indices pay none)."""
    if index not in (PUT, CNDR):
        raise ValueError(f"unknown option-writing index {index!r}: expected {PUT} or {CNDR}")
    if index == CNDR:
        p = replace(p, short_delta=CNDR_SHORT_DELTA, wing_delta=CNDR_WING_DELTA, wing_pct=0.0)
    pricer = CondorPricer(market, p)
    expiries = spx_expiries(market, months_after=2)
    rolls = [(e, pos) for e, pos in expiries if pos >= 0]
    if len(rolls) < 2:
        raise ValueError("option writing needs at least two monthly SPX expiries in the run")
    dates = market.dates
    gap = market.calendar_days()
    level = np.full(market.days, np.nan)
    cash = base
    units = 0.0
    strikes = np.zeros(4)
    expiry: date | None = None
    first = rolls[0][1]
    roll_at = {pos for _, pos in rolls}
    for i in range(first, market.days):
        today: date = dates[i].item()
        if i > first:
            cash *= float(np.exp(market.rate[i - 1] * gap[i] / 365.0))
        if i in roll_at:
            if expiry is not None:
                cash -= units * _settlement(index, strikes, float(market.spx_open[i]))
            expiry = next(e for e, _ in expiries if e > today)
            days = float((expiry - today).days)
            strikes = _strikes(index, pricer, i, days)
            price = _value(index, pricer, i, strikes, days)
            units = cash / (strikes[0] if index == PUT else float(market.spx[i]))
            cash += units * price
            if costs:
                legs = pricer.legs(i, strikes, days)[0][: 1 if index == PUT else 4]
                per_unit = (
                    pricer.half_spreads(i, legs, days).sum() + len(legs) * p.spx_commission / 100
                )
                cash -= units * float(per_unit)
            level[i] = cash - units * price
            continue
        assert expiry is not None
        days = float((expiry - today).days)
        level[i] = cash - units * _value(index, pricer, i, strikes, days)
    return level


def month_ends(dates: NDArray[np.datetime64], level: F64) -> pl.DataFrame:
    """``month, ours``: the level on the last session of each month (null before the
    first roll)."""
    frame = pl.DataFrame({"date": dates.astype("datetime64[D]"), "ours": level}).with_columns(
        pl.col("date").cast(pl.Date), pl.col("ours").fill_nan(None)
    )
    return (
        frame.group_by(pl.col("date").dt.month_end().alias("month"))
        .agg(pl.col("date").last(), pl.col("ours").last())
        .sort("month")
        .select("month", "ours")
    )
