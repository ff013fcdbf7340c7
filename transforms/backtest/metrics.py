"""Run metrics (methodology section 4), vectorised across configurations.

Inputs are daily series per configuration (configurations x sessions). Definitions:

* returns ``r[t] = E[t] / E[t-1] - 1``; excess returns subtract the T-bill accrual
  ``rate x calendar days / 365``. Annualisation: 252 sessions.
* CAGR from first to last equity over calendar years; volatility = std(r) x sqrt(252);
  Sharpe = mean(excess) / std(excess) x sqrt(252); Sortino = mean(excess) / sqrt(mean(
  min(excess, 0)^2)) x sqrt(252); max drawdown of the equity curve (a negative number);
  Calmar = CAGR / |max drawdown|.
* R^2 and beta against SPX simple returns over the whole run (OLS), and rolling
  ``window``-session R^2 and beta (:func:`transforms.signals.regression.rolling_ols`):
  mean rolling R^2, and ``time_in_band`` = share of sessions with a rolling R^2 whose R^2
  lies in the configuration's [band_low, band_high]. CAPM alpha: the annualised intercept
  (x 252) of excess returns on SPX excess returns.
* Hedge cost in flat markets: on sessions where SPX moved less than ``flat_move`` over the
  trailing ``flat_window`` sessions, the second engine's mean daily P&L as a fraction of
  equity, x 252 (negative = an annual drag).
* Drawdown offset ratio: over every SPX peak-to-trough window with a depth between
  ``offset_min`` and ``offset_max`` (from a closing high to the lowest close before SPX
  regains that high) in which the condor lost money, the second engine's P&L summed over
  those windows / the condor's loss summed over them (1 = a full offset); NaN without
  such a window. ``drawdown_windows`` counts them. (In slow 3-5 % declines theta often
  outweighs the move and the condor gains; those windows have no loss to offset.)
* ``ruined``: 1 when equity touched zero (fixed condor lots can outgrow a shrinking
  account); CAGR is then NaN.
* Return on margin: the condor sleeve's P&L per year / its mean margin while open (the
  methodology's "IRR on margin" for a book that posts margin continuously).
* Turnover: contracts traded per year (condor legs, futures and VIX options); costs paid.
* Out of sample: Sharpe and time in band before and from ``holdout_start``.
* Skewness and kurtosis (non-excess) of daily excess returns, for the deflated Sharpe.
* ``stress_hedge_ratio``: the stress-calibrated h of the group's condor
  (:mod:`transforms.backtest.stress`), reported beside the configuration's own.
* ``condor_exit_effect``: dollars the exit rules (profit take, stop, time exit) gained
  against holding the same condors to expiry (:mod:`transforms.backtest.condor`);
  ``pnl_condor - condor_exit_effect`` is the premium the entries earned held to expiry.
* The overlay against the null: the default null is the equity sleeve alone. The
  overlay's daily return is the book's return less the equity sleeve's share of it
  (``pnl_equity / previous equity``): what the options book (condor, futures, calls,
  their costs) adds. ``overlay_sharpe`` (annualised, no risk-free rate: both books hold
  the same cash) is the statistic the selection tests (:mod:`transforms.selection`);
  ``overlay_skewness`` and ``overlay_kurtosis`` (non-excess) feed its deflated Sharpe.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from transforms.signals.regression import rolling_ols

F64 = NDArray[np.float64]
YEAR = 252.0


@dataclass(frozen=True)
class MetricParams:
    window: int = 60
    flat_window: int = 21
    flat_move: float = 0.02
    offset_min: float = 0.03
    offset_max: float = 0.05
    holdout_start: date = date(2018, 1, 1)


DEFAULT_METRICS = MetricParams()

METRICS: tuple[str, ...] = (
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "ruined",
    "r2_full",
    "beta_full",
    "capm_alpha",
    "r2_60_mean",
    "beta_60_mean",
    "time_in_band",
    "unhedged_r2_full",
    "unhedged_r2_60_mean",
    "unhedged_time_in_band",
    "hedge_cost_flat",
    "drawdown_offset",
    "drawdown_windows",
    "break_even_low",
    "break_even_high",
    "return_on_margin",
    "turnover",
    "costs_paid",
    "pnl_equity",
    "pnl_condor",
    "pnl_futures",
    "pnl_calls",
    "final_equity",
    "hedge_ratio_mean",
    "liquidity_cuts",
    "sharpe_in_sample",
    "sharpe_out_of_sample",
    "time_in_band_in_sample",
    "time_in_band_out_of_sample",
    "skewness",
    "kurtosis",
    "stress_hedge_ratio",
    "condor_exit_effect",
    "overlay_sharpe",
    "overlay_skewness",
    "overlay_kurtosis",
)
"""Every metric a run reports, in the column order of the result tables."""


@dataclass(frozen=True)
class Market1D:
    """What metrics need from the market and the shared condor sleeve (length sessions)."""

    dates: NDArray[np.datetime64]
    spx: F64
    rate: F64
    calendar_days: F64
    condor_pnl: F64
    condor_margin: F64
    condor_costs: F64  # the sleeve's trading costs per session
    condor_contracts: F64  # option contracts (legs x lots) traded per session
    condor_exit_effect: F64  # early closes' gain against holding to expiry, per session
    break_even: tuple[float, float]


def _previous(equity: F64, initial: F64) -> F64:
    """Each session's opening equity: the previous close (``initial`` on the first)."""
    return np.concatenate([initial[:, None], equity[:, :-1]], axis=1)


def _returns(equity: F64, initial: F64) -> F64:
    """Daily returns; NaN after a ruin (the session equity reached zero is the last)."""
    prev = _previous(equity, initial)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.asarray(equity / prev - 1.0)
    if (prev <= 0).any():
        r[np.cumsum(prev <= 0, axis=1) > 0] = np.nan
    return r


def _rows_with_nan(a: F64, axis: int) -> NDArray[np.intp]:
    return np.flatnonzero(np.isnan(a).any(axis=axis))


def _mean(a: F64, axis: int, *, keepdims: bool = False) -> F64:
    """Mean over ``axis`` ignoring NaN (sessions after a ruin). Decided per output row,
    so a configuration's figure never depends on the rows it is computed beside (and
    the reduced axis is made contiguous: numpy's summation order depends on layout)."""
    a = np.ascontiguousarray(a if axis == a.ndim - 1 else np.moveaxis(a, axis, -1))
    axis = a.ndim - 1
    out = np.asarray(a.mean(axis=axis, keepdims=True), dtype=np.float64)
    bad = _rows_with_nan(a, axis)
    if len(bad):
        other = 1 - axis
        fixed = np.nanmean(np.take(a, bad, axis=other), axis=axis, keepdims=True)
        np.put_along_axis(out, np.expand_dims(bad, axis), fixed, axis=other)
    return out if keepdims else out.squeeze(axis)


def _std(a: F64, axis: int, *, ddof: int = 0, keepdims: bool = False) -> F64:
    a = np.ascontiguousarray(a if axis == a.ndim - 1 else np.moveaxis(a, axis, -1))
    axis = a.ndim - 1
    out = np.asarray(a.std(axis=axis, ddof=ddof, keepdims=True), dtype=np.float64)
    bad = _rows_with_nan(a, axis)
    if len(bad):
        other = 1 - axis
        fixed = np.nanstd(np.take(a, bad, axis=other), axis=axis, ddof=ddof, keepdims=True)
        np.put_along_axis(out, np.expand_dims(bad, axis), fixed, axis=other)
    return out if keepdims else out.squeeze(axis)


def _sharpe(excess: F64) -> F64:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(_mean(excess, 1) / _std(excess, 1, ddof=1) * math.sqrt(YEAR))


def _ols(y: F64, x: F64) -> tuple[F64, F64, F64]:
    """(alpha, beta, R^2) of each row of y on x, over the row's non-NaN sessions.

    Row sums, never BLAS products, and the NaN-aware path only for rows with NaN: a
    row's result never depends on the rows beside it (a sweep's chunking)."""
    xm = x - x.mean()
    ym = y - y.mean(axis=1, keepdims=True)
    sxx = float((xm * xm).sum())
    sxy = (ym * xm[None, :]).sum(axis=1)
    beta = sxy / sxx
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = sxy * sxy / (sxx * (ym * ym).sum(axis=1))
    alpha = y.mean(axis=1) - beta * x.mean()
    bad = _rows_with_nan(y, 1)
    if len(bad):
        alpha[bad], beta[bad], r2[bad] = _ols_masked(y[bad], x)
    return alpha, beta, r2


def _ols_masked(y: F64, x: F64) -> tuple[F64, F64, F64]:
    ok = ~np.isnan(y)
    n = ok.sum(axis=1)
    xs = np.where(ok, x[None, :], 0.0)
    ys = np.where(ok, y, 0.0)
    xm = np.where(ok, xs - (xs.sum(axis=1) / n)[:, None], 0.0)
    ym = np.where(ok, ys - (ys.sum(axis=1) / n)[:, None], 0.0)
    sxx = (xm * xm).sum(axis=1)
    sxy = (ym * xm).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = sxy / sxx
        alpha = ys.sum(axis=1) / n - beta * xs.sum(axis=1) / n
        r2 = sxy * sxy / (sxx * (ym * ym).sum(axis=1))
    return alpha, beta, r2


def _in_band(r2: F64, low: F64, high: F64, mask: NDArray[np.bool_]) -> F64:
    """Share of sessions under ``mask`` with a rolling R^2, inside [low, high]."""
    have = ~np.isnan(r2) & mask[:, None]
    inside = have & (r2 >= low[None, :]) & (r2 <= high[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(inside.sum(axis=0) / have.sum(axis=0))


def drawdown_windows(spx: F64, *, low: float, high: float) -> list[tuple[int, int]]:
    """(peak, trough) sessions of every SPX decline whose depth (closing high to lowest
    close before SPX regains the high; an unfinished one at the end counts) lies in
    [low, high]."""
    out = []

    def record(peak: int, trough: int) -> None:
        if trough > peak and low <= 1.0 - spx[trough] / spx[peak] <= high:
            out.append((peak, trough))

    peak = trough = 0
    for i in range(1, len(spx)):
        if spx[i] >= spx[peak]:
            record(peak, trough)
            peak = trough = i
        elif spx[i] < spx[trough]:
            trough = i
    record(peak, trough)
    return out


def compute(**inputs: Any) -> dict[str, F64]:
    """Every metric in :data:`METRICS` per configuration (keywords of :func:`_compute`).

    A metric undefined for a configuration (a ruined book's later sessions, an empty
    out-of-sample window) is NaN; numpy's warnings about empty slices are expected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _compute(**inputs)


def _compute(  # noqa: PLR0915 (one statement per metric)
    *,
    equity: F64,
    pnl_equity: F64,
    pnl_condor: F64,
    pnl_futures: F64,
    pnl_calls: F64,
    hedge_ratio: F64,
    initial: F64,
    band_low: F64,
    band_high: F64,
    costs: F64,
    contracts: F64,
    cuts: NDArray[np.int64],
    market: Market1D,
    unhedged_equity: F64,
    stress_hedge_ratio: float = math.nan,
    params: MetricParams = DEFAULT_METRICS,
    daily: dict[str, Any] | None = None,
) -> dict[str, F64]:
    """Every metric in :data:`METRICS` per configuration (row of the inputs). With
    ``daily``, it also receives the per-session series the selection statistics sum
    (sessions 1..; configurations x sessions): ``excess``, ``overlay``, ``in_band`` and
    ``has_r2``."""
    n, days = equity.shape
    r = _returns(equity, initial)
    spx_r = np.concatenate([[0.0], market.spx[1:] / market.spx[:-1] - 1.0])
    rf = market.rate * market.calendar_days / 365.0
    ex = r - rf[None, :]
    spx_ex = spx_r - rf
    # the first session has no return: statistics run over sessions 1..
    # contiguous copies: row reductions then do not depend on the number of rows
    r1, ex1 = np.ascontiguousarray(r[:, 1:]), np.ascontiguousarray(ex[:, 1:])
    x1, xe1 = spx_r[1:], spx_ex[1:]
    years = float((market.dates[-1] - market.dates[0]).astype(np.int64)) / 365.25
    out: dict[str, F64] = {}
    out["ruined"] = np.asarray((equity <= 0).any(axis=1), dtype=np.float64)
    growth = np.maximum(equity[:, -1] / initial, 0.0)
    out["cagr"] = np.asarray(np.power(growth, 1.0 / years) - 1.0)  # -1 after a ruin
    with np.errstate(invalid="ignore", divide="ignore"):
        out["volatility"] = _std(r1, 1, ddof=1) * math.sqrt(YEAR)
        out["sharpe"] = _sharpe(ex1)
        downside = np.sqrt(_mean(np.minimum(ex1, 0.0) ** 2, 1))
        out["sortino"] = _mean(ex1, 1) / downside * math.sqrt(YEAR)
    peak = np.maximum.accumulate(np.concatenate([initial[:, None], equity], axis=1), axis=1)[:, 1:]
    out["max_drawdown"] = (equity / peak - 1.0).min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["calmar"] = out["cagr"] / np.abs(out["max_drawdown"])
    _, out["beta_full"], out["r2_full"] = _ols(r1, x1)
    alpha, _, _ = _ols(ex1, xe1)
    out["capm_alpha"] = alpha * YEAR
    roll = rolling_ols(r1.T, x1, window=params.window)
    with np.errstate(invalid="ignore"):
        warm = params.window - 1  # rows before a full window are NaN
        out["r2_60_mean"] = _mean(roll.r2[warm:], 0)
        out["beta_60_mean"] = _mean(roll.beta[warm:], 0)
    everywhere = np.ones(days - 1, dtype=bool)
    out["time_in_band"] = _in_band(roll.r2, band_low, band_high, everywhere)
    oos = market.dates[1:] >= np.datetime64(params.holdout_start)
    out["time_in_band_in_sample"] = _in_band(roll.r2, band_low, band_high, ~oos)
    out["time_in_band_out_of_sample"] = _in_band(roll.r2, band_low, band_high, oos)
    out["sharpe_in_sample"] = _sharpe(ex1[:, ~oos]) if (~oos).sum() > 2 else np.full(n, np.nan)
    out["sharpe_out_of_sample"] = _sharpe(ex1[:, oos]) if oos.sum() > 2 else np.full(n, np.nan)
    # The same book without the second engine (hedge ratio 0), one path for the group.
    base = _returns(unhedged_equity[None, :], initial[:1])[:, 1:]
    _, _, base_r2 = _ols(base, x1)
    base_roll = rolling_ols(base.T, x1, window=params.window).r2
    out["unhedged_r2_full"] = np.full(n, float(base_r2[0]))
    out["unhedged_r2_60_mean"] = np.full(n, float(np.nanmean(base_roll)))
    out["unhedged_time_in_band"] = _in_band(
        np.broadcast_to(base_roll, (days - 1, n)), band_low, band_high, everywhere
    )
    hedge = pnl_futures + pnl_calls
    prev_equity = np.concatenate([initial[:, None], equity[:, :-1]], axis=1)
    flat = flat_sessions(market.spx, params)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(np.isnan(r), np.nan, hedge / prev_equity)
        out["hedge_cost_flat"] = _mean(share[:, flat], 1) * YEAR
    in_window = np.zeros(days, dtype=bool)
    losing = 0
    for a, b in drawdown_windows(market.spx, low=params.offset_min, high=params.offset_max):
        if market.condor_pnl[a + 1 : b + 1].sum() < 0:
            in_window[a + 1 : b + 1] = True
            losing += 1
    condor_loss = -float(market.condor_pnl[in_window].sum())
    out["drawdown_offset"] = (
        hedge[:, in_window].sum(axis=1) / condor_loss if losing else np.full(n, np.nan)
    )
    out["drawdown_windows"] = np.full(n, float(losing))
    out["break_even_low"] = np.full(n, market.break_even[0])
    out["break_even_high"] = np.full(n, market.break_even[1])
    open_days = market.condor_margin > 0
    mean_margin = float(market.condor_margin[open_days].mean()) if open_days.any() else math.nan
    out["return_on_margin"] = np.full(n, float(market.condor_pnl.sum()) / years / mean_margin)
    # A ruined book trades no more: the condor's costs and contracts count up to the
    # session its equity reached zero (its last), as its P&L does.
    alive = np.asarray(np.cumsum(_previous(equity, initial) <= 0, axis=1) == 0, dtype=np.float64)
    out["turnover"] = (contracts + (alive * market.condor_contracts).sum(axis=1)) / years
    out["costs_paid"] = costs + (alive * market.condor_costs).sum(axis=1)
    out["pnl_equity"] = pnl_equity.sum(axis=1)
    out["pnl_condor"] = pnl_condor.sum(axis=1)
    out["pnl_futures"] = pnl_futures.sum(axis=1)
    out["pnl_calls"] = pnl_calls.sum(axis=1)
    out["final_equity"] = equity[:, -1]
    out["hedge_ratio_mean"] = hedge_ratio.mean(axis=1)
    out["liquidity_cuts"] = cuts.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (ex1 - _mean(ex1, 1, keepdims=True)) / _std(ex1, 1, keepdims=True)
        z2 = z * z
        out["skewness"] = _mean(z2 * z, 1)
        out["kurtosis"] = _mean(z2 * z2, 1)
    out["stress_hedge_ratio"] = np.full(n, stress_hedge_ratio)
    out["condor_exit_effect"] = (alive * market.condor_exit_effect).sum(axis=1)
    overlay = overlay_returns(equity, pnl_equity, initial)[:, 1:]
    if daily is not None:
        r2 = roll.r2.T
        daily["excess"] = ex1
        daily["overlay"] = overlay
        daily["has_r2"] = ~np.isnan(r2)
        daily["in_band"] = (r2 >= band_low[:, None]) & (r2 <= band_high[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        out["overlay_sharpe"] = _sharpe(overlay)
        z = (overlay - _mean(overlay, 1, keepdims=True)) / _std(overlay, 1, keepdims=True)
        z2 = z * z
        out["overlay_skewness"] = _mean(z2 * z, 1)
        out["overlay_kurtosis"] = _mean(z2 * z2, 1)
    return out


def flat_sessions(spx: F64, params: MetricParams) -> NDArray[np.bool_]:
    """Sessions where SPX moved less than ``flat_move`` over the trailing ``flat_window``."""
    move = np.full(len(spx), np.inf)
    move[params.flat_window :] = np.abs(
        spx[params.flat_window :] / spx[: -params.flat_window] - 1.0
    )
    return np.asarray(move < params.flat_move)


def overlay_returns(equity: F64, pnl_equity: F64, initial: F64) -> F64:
    """Daily return of the book less its equity sleeve's part (configurations x
    sessions; NaN on the first session and after a ruin, as the book's returns)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _returns(equity, initial) - pnl_equity / _previous(equity, initial)
