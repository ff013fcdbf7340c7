"""The whole book's rules, shared by both engines (reference and vectorised).

Each session ``i`` the book first earns the P&L of what it held since the previous
close, then trades at today's close (settlements for futures, model marks for options):

1. **P&L** (dollars): equity sleeve ``equity_weight x E[i-1] x (SPX[i]/SPX[i-1] - 1 +
   div_yield x calendar days / 365)``; futures ``contracts x settle change x 1,000``;
   calls ``contracts x value change x 100`` (a series expiring today is valued at the
   expiring future's final settlement); the condor sleeve's own path
   (:mod:`transforms.backtest.condor`).
2. **Schedule**: the re-hedge runs on each week's first session; when that is an FOMC
   announcement day and ``fomc_rule`` is on, it moves to the next session, and nothing
   rolls or opens on the FOMC day itself.
3. **Re-hedge** (weekly): the R-squared controller, if on, compares the R^2 of the book's
   last ``r2_window`` daily returns (through yesterday) on SPX's with the band: above
   ``band_high`` raises h by ``h_step``, below ``band_low`` lowers it, within
   [``h_min``, ``h_max``]. Then hedge vega (dollars per VIX point) = h x |condor vega| x
   (1 + ``breadth_scale`` on a breadth divergence); ``futures_share`` of it goes to the
   ladder, the rest to calls, x (1 + ``rsi_extra_calls`` when VIX RSI < ``rsi_threshold``)
   x (1 + ``cpi_call_scale`` when |CPI-PPI z| > ``cpi_z_threshold``). The contango guard
   (when ``contango_guard_pct`` > 0 and M1->M2 contango exceeds it) moves the ladder one
   month out until the next re-hedge. The condor's vega is per SPX vol point and is
   hedged one for one with VIX points (the methodology's h x |condor vega|).
4. **Futures ladder**: slots j hold months 2, 3, 4 (shifted one out by the guard), the
   months of :func:`~transforms.backtest.market.ladder_months`. A held contract that is
   still one of the ladder's months keeps its position as it ages (month 4 -> 3 -> 2);
   one that leaves them (``roll_days`` sessions before the front expiry it counts as the
   front month; or a guard shift) is rolled, contract for contract, into the month that
   joined. On a re-hedge each slot is resized to ``w_j x futures vega / (term beta x
   1,000)``. Fractional contracts: the book is a research scale model, not an order
   ticket.
8. **Ruin**: when equity reaches zero the book is closed at that close and stays flat:
   no later trade, cost or P&L of any sleeve (the condor's included) counts, and a
   ruined configuration is never ranked among a sweep's best.
5. **Calls**: one series at a time, on the nearest monthly VX expiry after the day,
   held to expiry and settled at the final settlement. A series opens on the first
   unblocked session with none held (e.g. right after the last one settled); it is resized
   on re-hedges: ``call vega / (max(delta, call_delta_floor) x term beta x 100)``
   contracts (delta of the spread when ``call_spread_width`` > 0). Strike by
   ``call_delta`` or ``call_otm_points`` (:func:`transforms.options.vix.call_strike`).
6. **Liquidity reserve**: whenever the hedge is sized, futures margin + call premium
   may not exceed ``(1 - reserve) x equity - condor margin`` (the condor margin term
   only with ``reserve_counts_margin``, the default); a hedge that would is scaled down
   to fit and the cut is counted (and logged by the reference engine).
7. **Costs**: futures ``vx_commission + vx_half_spread x 1,000`` per contract traded,
   calls ``call_commission + call_half_spread x 100`` per contract per leg traded,
   charged to the sleeve that trades. Option expiries cost nothing. Defaults:
   ``vx_half_spread`` 0.025 = half the 0.05 tick (a one-tick market, the usual quote in
   months 2-4; the data has no VX quotes to fit, so the scale of the stress is the
   SPX spread scale's job); ``call_half_spread`` 0.05: VXTH's quoted calls (bid and ask
   in ``../shared/data/reference``) have a mean half-spread of 0.044 point over
   2011-2018 (median 0.025-0.05 by year, 1,625 quotes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from transforms.backtest.condor import CondorPath
from transforms.backtest.market import Market, ladder_months

F64 = NDArray[np.float64]
VX_MULTIPLIER = 1_000.0
OPTION_MULTIPLIER = 100.0
EQUITY_UNIT = 100_000.0  # hedge_on_equity: hedge_ratio is VIX-point contracts per this equity
LADDER_MONTHS = (1, 2, 3)  # 0-based month index of ladder slots: months 2, 3, 4


@dataclass(frozen=True)
class Group:
    """What configurations of one sweep group share: the market, the condor path and
    the ladder's month map (``roll_days``)."""

    market: Market
    condor: CondorPath
    ladder: NDArray[np.int64]
    spx_return: F64  # simple close-to-close, 0 on the first session
    dividend: F64  # div_yield x calendar days / 365 per session
    # filled by the engine: call strikes per session by (vol_of_vol, skew, delta, points),
    # and the marks of the calls a configuration holds on the shared schedule, by that key
    # and the spread width (:func:`transforms.backtest.vectorised.call_marks`)
    strikes: dict[tuple[float, ...], F64] = field(default_factory=dict, compare=False, repr=False)
    marks: dict[tuple[float, ...], tuple[F64, F64, NDArray[np.int64]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def build(
        cls, market: Market, condor: CondorPath, *, roll_days: int, div_yield: float
    ) -> Group:
        return cls(
            market=market,
            condor=condor,
            ladder=ladder_months(market, roll_days=roll_days),
            spx_return=market.spx_return(),
            dividend=div_yield * market.calendar_days() / 365.0,
        )


def r_squared(y: F64, x: F64) -> F64:
    """R^2 of y on x along the last axis (NaN when either is flat)."""
    ym = y - y.mean(axis=-1, keepdims=True)
    xm = x - x.mean(axis=-1, keepdims=True)
    cov = (ym * xm).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(cov * cov / ((ym * ym).sum(axis=-1) * (xm * xm).sum(axis=-1)))


def term_beta(market: Market, i: int, contract: int) -> float:
    """Term beta (VX points per VIX point) of ``contract`` on session ``i`` (NaN for none)."""
    month = int(market.month_of[i, contract]) if contract >= 0 else -1
    return float(market.term_beta[i, month]) if month >= 0 else math.nan
