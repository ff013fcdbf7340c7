"""Today's book, as a page: the engine's book at its as-of close
(:func:`transforms.backtest.step.book_today`) with its break-evens and a payoff sketch.

Break-evens are the condor's at its expiry, the numbers ``alvh backtest`` prints
(:func:`transforms.backtest.condor.break_evens`). The payoff sketch adds, over a grid of
SPX levels S, the second engine's first-order P&L to the condor's settlement P&L:
``hedge vega x dVIX``, with the VIX move implied by S through the trailing one-year
regression of daily VIX changes on SPX returns (points per 1 % of SPX). The hedge's own
decay to that date and a VIX that does not follow the regression are outside this
sketch; the page says so. The next session's actions are the engine's own trades.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from transforms.backtest.condor import settlement
from transforms.backtest.step import Today


@dataclass(frozen=True)
class TodayPage:
    as_of: date
    r2: float | None
    band: tuple[float, float]
    r2_history: pl.DataFrame  # date, r2 (the last year)
    positions: pl.DataFrame  # sleeve, instrument, quantity, detail
    greeks: dict[str, float]
    payoff: pl.DataFrame  # spx, condor, hedge, combined (dollars at the condor's expiry)
    break_evens: list[float]  # the condor's at its expiry (as alvh backtest prints them)
    combined_break_evens: list[float]  # condor plus the hedge's first-order P&L
    vix_beta: float  # VIX points per 1 % SPX move
    next_session: date | None
    actions: pl.DataFrame  # sleeve, action, instrument, quantity, reason
    inputs: pl.DataFrame  # input, required, last, expected, stale, effect
    notes: list[str]


def _crossings(x: np.ndarray, y: np.ndarray) -> list[float]:
    out = []
    for k in range(len(x) - 1):
        if y[k] == 0:
            out.append(float(x[k]))
        elif y[k] * y[k + 1] < 0:
            out.append(float(x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k])))
    return out


def vix_beta(signals: pl.DataFrame, *, as_of: date, sessions: int = 252) -> float:
    """Slope of daily VIX point changes on SPX percent returns over the trailing year."""
    s = signals.filter(pl.col("date") <= as_of).sort("date").tail(sessions + 1)
    dv = np.diff(s["vix_close"].to_numpy())
    r = np.diff(np.log(s["spx_close"].to_numpy())) * 100
    ok = np.isfinite(dv) & np.isfinite(r)
    if ok.sum() < 20:
        return float("nan")
    return float(np.polyfit(r[ok], dv[ok], 1)[0])


def today_page(
    *, today: Today, signals: pl.DataFrame, market: str, status: pl.DataFrame
) -> TodayPage:
    """The page of ``today`` (``market``: which market the warehouse holds; ``status``:
    each input's staleness for the session the page is for,
    :func:`transforms.staleness.input_staleness`)."""
    p, b = today.params, today.bound
    as_of = b.as_of
    notes = [f"{market} market; as of {as_of}, the last session on which every input the "
             f"book needs exists (bounded by {b.bounded_by})"]  # fmt: skip
    stale = [k for k, v in b.last.items() if v > as_of]
    if stale:
        notes.append(
            "inputs that run further are not used past it: "
            + ", ".join(f"{k} to {b.last[k]}" for k in stale)
        )
    if today.ruin_date is not None:
        notes.append(
            f"this book was ruined on {today.ruin_date} (equity reached zero): it holds "
            "nothing and trades no more"
        )
    d = today.run.daily
    spot = float(signals.filter(pl.col("date") == as_of)["spx_close"].item())
    beta = vix_beta(signals, as_of=as_of)
    grid = np.linspace(0.8 * spot, 1.2 * spot, 401)
    payoff = pl.DataFrame({"spx": grid})
    combined: list[float] = []
    condor = today.condor
    if condor is not None:
        strikes = np.array(condor.strikes)
        units = 100.0 * condor.lots
        c_pnl = np.array([(condor.credit - settlement(strikes, s)) * units for s in grid])
        h_pnl = (
            today.greeks["hedge_vega"] * beta * (grid / spot - 1.0) * 100
            if np.isfinite(beta)
            else 0 * grid
        )
        payoff = payoff.with_columns(
            pl.Series("condor", c_pnl),
            pl.Series("hedge", h_pnl),
            pl.Series("combined", c_pnl + h_pnl),
        )
        combined = _crossings(grid, c_pnl + h_pnl)
    elif today.ruin_date is None:
        notes.append("no condor is open at the as-of close: no break-evens to show")
    actions = today.actions
    if today.next_session is None:
        notes.append("no NYSE session ahead in the calendar: no next-session actions")
    elif actions.is_empty() and today.ruin_date is None:
        actions = pl.DataFrame(
            [{"sleeve": "-", "action": "hold", "instrument": "-", "quantity": 0.0,
              "reason": "no rule trades on the next session at unchanged prices"}],
            schema=actions.schema,
        )  # fmt: skip
    inputs = status.select("input", "required", "last", "expected", "stale", "effect")
    stale = status.filter(pl.col("stale") & ~pl.col("required"))["input"].to_list()
    if stale:
        notes.append(
            f"stale optional inputs ({', '.join(stale)}): what depends on them is off after "
            "their last date (Inputs, below)"
        )
    return TodayPage(
        as_of=as_of,
        r2=today.r2,
        band=(p.band_low, p.band_high),
        r2_history=d.tail(252).select("date", pl.col("r2_60").alias("r2")),
        positions=today.positions,
        greeks=today.greeks,
        payoff=payoff,
        break_evens=list(today.break_evens) if today.break_evens else [],
        combined_break_evens=combined,
        vix_beta=beta,
        next_session=today.next_session,
        actions=actions,
        inputs=inputs,
        notes=notes,
    )
