"""Run metrics (methodology section 4), in one pass as each session closes.

:func:`observe` adds one session of one configuration to its accumulators (Welford and
Pebay moment updates, co-moments for the regressions, running sums over the rolling R^2
window, monthly sums for the selection statistics); the compiled engine calls it in its
day loop, so a sweep keeps no daily paths, and :func:`replay` calls it over stored paths
(the reference simulator's). :func:`finish` turns the accumulators into the metrics,
vectorised across configurations. Definitions:

* returns ``r[t] = E[t] / E[t-1] - 1``; excess returns subtract the T-bill accrual
  ``rate x calendar days / 365``. Annualisation: 252 sessions.
* CAGR from first to last equity over calendar years; volatility = std(r) x sqrt(252);
  Sharpe = mean(excess) / std(excess) x sqrt(252); Sortino = mean(excess) / sqrt(mean(
  min(excess, 0)^2)) x sqrt(252); max drawdown of the equity curve (a negative number);
  Calmar = CAGR / |max drawdown|.
* R^2 and beta against SPX simple returns over the whole run (OLS), and rolling
  ``window``-session R^2 and beta (the formulas of :mod:`transforms.signals.regression`):
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

import numba
import numpy as np
from numpy.typing import NDArray

from transforms.annual import SESSIONS_PER_YEAR, cagr, years_between
from transforms.backtest.metric_registry import METRICS
from transforms.selection.blocks import month_index
from transforms.selection.digest import HASH_SEED, hash_step

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class MetricParams:
    window: int = 60
    flat_window: int = 21
    flat_move: float = 0.02
    offset_min: float = 0.03
    offset_max: float = 0.05
    holdout_start: date = date(2018, 1, 1)


DEFAULT_METRICS = MetricParams()


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


SESSION_FIELDS = (
    "x", "rf", "oos", "flat", "ddw", "month", "ccost", "ccontracts", "cexit", "base_r2",
)  # fmt: skip
"""Per-session inputs of the one-pass metrics (rows of :attr:`Sessions.table`): SPX's
return, the T-bill accrual, the out-of-sample flag, the flat-market flag, the drawdown-
window flag, the month position (sessions 1..), the condor sleeve's costs, contracts and
exit effect, and the unhedged book's rolling R^2."""
_X, _RF, _OOS, _FLAT, _DDW, _MONTH, _CCOST, _CCONTRACTS, _CEXIT, _BASE_R2 = range(
    len(SESSION_FIELDS)
)

ACC_FIELDS = (
    "days", "dead", "ruined", "final", "peak", "maxdd",
    "pnl_eq", "pnl_condor", "pnl_fut", "pnl_call", "h_sum",
    "alive_cost", "alive_contracts", "alive_exit", "flat_n", "flat_sum", "ddw_hedge",
    "r_n", "r_mean", "r_m2",
    "ex_n", "ex_mean", "ex_m2", "ex_m3", "ex_m4", "down2",
    "ov_n", "ov_mean", "ov_m2", "ov_m3", "ov_m4",
    "in_n", "in_mean", "in_m2", "oos_n", "oos_mean", "oos_m2",
    "f_n", "f_mx", "f_my", "f_cxy", "f_mxx", "f_myy",
    "c_n", "c_mx", "c_my", "c_cxy", "c_mxx", "c_myy",
    "w_filled", "w_sy", "w_syy", "w_sxy", "w_sx", "w_sxx",
    "r2_n", "r2_sum", "beta_sum", "band_n", "band_in", "band_oos_n", "band_oos_in",
    "base_n", "base_in",
)  # fmt: skip
"""Per-configuration accumulators of :func:`observe`, from which :func:`finish` derives
every metric (moments by Welford/Pebay updates, regressions by co-moments, rolling sums
over the R^2 window)."""
_A = {name: k for k, name in enumerate(ACC_FIELDS)}
(_DAYS, _DEAD, _RUINED, _FINAL, _PEAK, _MAXDD, _PNL_EQ, _PNL_CONDOR, _PNL_FUT, _PNL_CALL,
 _H_SUM, _ALIVE_COST, _ALIVE_CONTRACTS, _ALIVE_EXIT, _FLAT_N, _FLAT_SUM, _DDW_HEDGE,
 _R_N, _EX_N, _DOWN2, _OV_N, _IN_N, _OOS_N, _F_N, _C_N, _W_FILLED, _W_SY, _W_SYY, _W_SXY,
 _W_SX, _W_SXX, _R2_N, _R2_SUM, _BETA_SUM, _BAND_N, _BAND_IN, _BAND_OOS_N, _BAND_OOS_IN,
 _BASE_N, _BASE_IN) = (
    _A[k] for k in (
        "days", "dead", "ruined", "final", "peak", "maxdd", "pnl_eq", "pnl_condor", "pnl_fut",
        "pnl_call", "h_sum", "alive_cost", "alive_contracts", "alive_exit", "flat_n",
        "flat_sum", "ddw_hedge", "r_n", "ex_n", "down2", "ov_n", "in_n", "oos_n", "f_n",
        "c_n", "w_filled", "w_sy", "w_syy", "w_sxy", "w_sx", "w_sxx", "r2_n", "r2_sum",
        "beta_sum", "band_n", "band_in", "band_oos_n", "band_oos_in", "base_n", "base_in",
    )
)  # fmt: skip
BLOCK_FIELDS = 7  # n, ex, ex2, ov, ov2, band, r2 (transforms.selection.blocks.FIELDS)


@dataclass(frozen=True)
class Sessions:
    """The per-session inputs of :func:`observe` for one group (``table``: fields x
    sessions) and what :func:`finish` needs besides the accumulators."""

    table: F64
    window: int
    months: NDArray[np.datetime64]  # first day of each month of sessions 1..
    market: Market1D
    in_sample_sessions: int
    out_of_sample_sessions: int
    windows: int  # drawdown windows in which the condor lost money
    condor_loss: float  # the condor's loss summed over them

    @property
    def base_r2(self) -> F64:
        """The unhedged book's rolling R^2 per session."""
        return np.asarray(self.table[_BASE_R2])

    @property
    def month(self) -> NDArray[np.intp]:
        """Each session's month position (sessions 1..; 0 for the first session)."""
        return np.asarray(self.table[_MONTH], dtype=np.intp)


def sessions(
    market: Market1D, params: MetricParams = DEFAULT_METRICS, base_r2: F64 | None = None
) -> Sessions:
    """The per-session inputs for ``market``; ``base_r2``: the unhedged book's rolling
    R^2 per session (NaN where it has none; all NaN when not yet known)."""
    days = len(market.dates)
    table = np.zeros((len(SESSION_FIELDS), days))
    table[_X, 1:] = market.spx[1:] / market.spx[:-1] - 1.0
    table[_RF] = market.rate * market.calendar_days / 365.0
    oos = market.dates >= np.datetime64(params.holdout_start)
    table[_OOS] = oos
    table[_FLAT] = flat_sessions(market.spx, params)
    losing = 0
    for a, b in drawdown_windows(market.spx, low=params.offset_min, high=params.offset_max):
        if market.condor_pnl[a + 1 : b + 1].sum() < 0:
            table[_DDW, a + 1 : b + 1] = 1.0
            losing += 1
    months, position = month_index(market.dates[1:])
    table[_MONTH, 1:] = position
    table[_CCOST] = market.condor_costs
    table[_CCONTRACTS] = market.condor_contracts
    table[_CEXIT] = market.condor_exit_effect
    table[_BASE_R2] = np.nan if base_r2 is None else base_r2
    return Sessions(
        table=table,
        window=params.window,
        months=months,
        market=market,
        in_sample_sessions=int((~oos[1:]).sum()),
        out_of_sample_sessions=int(oos[1:].sum()),
        windows=losing,
        condor_loss=-float(market.condor_pnl[table[_DDW] > 0].sum()),
    )


@numba.njit(cache=True, error_model="numpy")
def start(acc: F64, initial: float) -> None:
    """Accumulators of a configuration before its first session."""
    acc[:] = 0.0
    acc[_PEAK] = initial


@numba.njit(cache=True, error_model="numpy", inline="always")
def _welford(acc: F64, n_at: int, x: float) -> None:
    """Count, mean and second central moment (at n_at, n_at + 1, n_at + 2)."""
    acc[n_at] += 1.0
    delta = x - acc[n_at + 1]
    acc[n_at + 1] += delta / acc[n_at]
    acc[n_at + 2] += delta * (x - acc[n_at + 1])


@numba.njit(cache=True, error_model="numpy", inline="always")
def _pebay(acc: F64, n_at: int, x: float) -> None:
    """Count, mean and central moments 2-4 (n_at .. n_at + 4), Pebay's updates."""
    n1 = acc[n_at]
    n = n1 + 1.0
    delta = x - acc[n_at + 1]
    dn = delta / n
    dn2 = dn * dn
    term = delta * dn * n1
    m2, m3 = acc[n_at + 2], acc[n_at + 3]
    acc[n_at] = n
    acc[n_at + 1] += dn
    acc[n_at + 4] += term * dn2 * (n * n - 3.0 * n + 3.0) + 6.0 * dn2 * m2 - 4.0 * dn * m3
    acc[n_at + 3] += term * dn * (n - 2.0) - 3.0 * dn * m2
    acc[n_at + 2] = m2 + term


@numba.njit(cache=True, error_model="numpy", inline="always")
def _comoment(acc: F64, n_at: int, x: float, y: float) -> None:
    """Count, means of x and y, and their co-moments (n, mx, my, cxy, mxx, myy)."""
    acc[n_at] += 1.0
    n = acc[n_at]
    dx = x - acc[n_at + 1]
    dy = y - acc[n_at + 2]
    acc[n_at + 1] += dx / n
    acc[n_at + 2] += dy / n
    acc[n_at + 3] += dx * (y - acc[n_at + 2])
    acc[n_at + 4] += dx * (x - acc[n_at + 1])
    acc[n_at + 5] += dy * (y - acc[n_at + 2])


@numba.njit(cache=True, error_model="numpy", inline="always")
def observe(  # noqa: PLR0915, PLR0917 (numba: no keyword-only arguments)
    acc: F64,
    ring: F64,
    blocks: F64,
    table: F64,
    i: int,
    band: tuple[float, float],
    session: tuple[float, float, float, float, float, float, float, float],
) -> tuple[float, float, float, float]:
    """Add session ``i`` of one configuration to its accumulators, its R^2 window
    ``ring`` and its monthly ``blocks`` (months x 7); returns the session's (excess
    return, overlay return, rolling R^2, rolling beta), NaN where undefined. ``band``:
    (low, high); ``session``: its closing and opening equity, the equity sleeve's P&L,
    the hedge's, the condor's, the futures', the calls' and the hedge ratio."""
    low, high = band
    equity, previous, pnl_eq, hedge, condor, fut, call, h = session
    acc[_DAYS] += 1.0
    acc[_FINAL] = equity
    acc[_PNL_EQ] += pnl_eq
    acc[_PNL_CONDOR] += condor
    acc[_PNL_FUT] += fut
    acc[_PNL_CALL] += call
    acc[_H_SUM] += h
    if equity <= 0:
        acc[_RUINED] = 1.0
    acc[_PEAK] = max(acc[_PEAK], equity)
    acc[_MAXDD] = min(acc[_MAXDD], equity / acc[_PEAK] - 1.0)
    if previous <= 0:
        acc[_DEAD] = 1.0
    alive = acc[_DEAD] == 0.0
    if alive:
        acc[_ALIVE_COST] += table[_CCOST, i]
        acc[_ALIVE_CONTRACTS] += table[_CCONTRACTS, i]
        acc[_ALIVE_EXIT] += table[_CEXIT, i]
    r = equity / previous - 1.0 if alive else math.nan
    if table[_DDW, i] > 0:
        acc[_DDW_HEDGE] += hedge
    if alive and table[_FLAT, i] > 0:
        acc[_FLAT_N] += 1.0
        acc[_FLAT_SUM] += hedge / previous
    if i == 0:  # the first session has no return: statistics run over sessions 1..
        return math.nan, math.nan, math.nan, math.nan
    x = table[_X, i]
    rf = table[_RF, i]
    oos = table[_OOS, i] > 0
    month = int(table[_MONTH, i])
    ex = r - rf
    ov = r - pnl_eq / previous if alive else math.nan
    r2 = math.nan
    beta = math.nan
    if alive:
        _welford(acc, _R_N, r)
        _pebay(acc, _EX_N, ex)
        _pebay(acc, _OV_N, ov)
        acc[_DOWN2] += min(ex, 0.0) ** 2
        _welford(acc, _OOS_N if oos else _IN_N, ex)
        _comoment(acc, _F_N, x, r)
        _comoment(acc, _C_N, x - rf, ex)
        blocks[month, 0] += 1.0
        blocks[month, 1] += ex
        blocks[month, 2] += ex * ex
        blocks[month, 3] += ov
        blocks[month, 4] += ov * ov
        # the rolling window of the last len(ring) returns (running sums)
        w = ring.shape[0]
        s = int(acc[_W_FILLED])
        pos = s % w
        if s >= w:
            old = ring[pos]
            x_old = table[_X, i - w]
            acc[_W_SY] -= old
            acc[_W_SYY] -= old * old
            acc[_W_SXY] -= x_old * old
            acc[_W_SX] -= x_old
            acc[_W_SXX] -= x_old * x_old
        ring[pos] = r
        acc[_W_SY] += r
        acc[_W_SYY] += r * r
        acc[_W_SXY] += x * r
        acc[_W_SX] += x
        acc[_W_SXX] += x * x
        acc[_W_FILLED] = s + 1
        if s + 1 >= w:
            sx, sy = acc[_W_SX], acc[_W_SY]
            cov = w * acc[_W_SXY] - sx * sy
            var_x = w * acc[_W_SXX] - sx * sx
            var_y = w * acc[_W_SYY] - sy * sy
            beta = cov / var_x
            r2 = cov * cov / (var_x * var_y)
    if math.isfinite(r2):
        inside = 1.0 if low <= r2 <= high else 0.0
        acc[_R2_N] += 1.0
        acc[_R2_SUM] += r2
        acc[_BETA_SUM] += beta
        acc[_BAND_N] += 1.0
        acc[_BAND_IN] += inside
        if oos:
            acc[_BAND_OOS_N] += 1.0
            acc[_BAND_OOS_IN] += inside
        blocks[month, 5] += inside
        blocks[month, 6] += 1.0
    base = table[_BASE_R2, i]
    if math.isfinite(base):
        acc[_BASE_N] += 1.0
        acc[_BASE_IN] += 1.0 if low <= base <= high else 0.0
    return ex, ov, r2, beta


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _replay(  # noqa: PLR0917 (numba: no keyword-only arguments)
    paths: F64,
    config: F64,
    table: F64,
    window: int,
    acc: F64,
    blocks: F64,
    hashes: NDArray[np.uint64],
    daily: F64,
) -> None:
    """:func:`observe` over stored daily ``paths`` (equity, pnl_equity, pnl_condor,
    pnl_futures, pnl_calls, hedge_ratio x configurations x sessions) of configurations
    with ``config`` (initial equity, band low, band high x configurations); ``daily``
    (4 x configurations x sessions, or empty) receives each session's outputs."""
    keep = daily.shape[1] > 0
    equity = paths[0]
    for k in numba.prange(equity.shape[0]):
        ring = np.empty(window)
        start(acc[k], config[0, k])
        h = HASH_SEED
        previous = config[0, k]
        for i in range(equity.shape[1]):
            fut, call = paths[3, k, i], paths[4, k, i]
            session = (
                equity[k, i], previous, paths[1, k, i], fut + call, paths[2, k, i], fut, call,
                paths[5, k, i],
            )  # fmt: skip
            ex, ov, r2, beta = observe(
                acc[k], ring, blocks[k], table, i, (config[1, k], config[2, k]), session
            )
            if i > 0:
                h = hash_step(h, ex)
            if keep:
                daily[0, k, i] = ex
                daily[1, k, i] = ov
                daily[2, k, i] = r2
                daily[3, k, i] = beta
            previous = equity[k, i]
        hashes[k] = h


@dataclass(frozen=True)
class Observed:
    """What :func:`observe` left per configuration: accumulators (configurations x
    :data:`ACC_FIELDS`), monthly sums (configurations x months x 7) and the hash of each
    daily excess-return series."""

    acc: F64
    blocks: F64
    hashes: NDArray[np.uint64]


def empty(n: int, s: Sessions) -> Observed:
    return Observed(
        np.zeros((n, len(ACC_FIELDS))),
        np.zeros((n, len(s.months), BLOCK_FIELDS)),
        np.zeros(n, dtype=np.uint64),
    )


def replay(
    s: Sessions, paths: tuple[F64, ...], initial: F64, low: F64, high: F64, *, daily: bool
) -> tuple[Observed, F64]:
    """:func:`observe` over stored ``paths`` (equity, pnl_equity, pnl_condor,
    pnl_futures, pnl_calls, hedge_ratio: configurations x sessions each); with
    ``daily``, also each session's (excess, overlay, rolling R^2, rolling beta): 4 x
    configurations x sessions."""
    n, days = paths[0].shape
    out = empty(n, s)
    series = np.full((4, n, days if daily else 0), np.nan)
    stacked = np.ascontiguousarray(np.stack(paths), dtype=np.float64)
    config = np.ascontiguousarray(np.stack([initial, low, high]), dtype=np.float64)
    _replay(stacked, config, s.table, s.window, out.acc, out.blocks, out.hashes, series)
    return out, series


def _col(acc: F64, name: str) -> F64:
    return acc[:, _A[name]]


def _sd(acc: F64, prefix: str, ddof: int) -> F64:
    return np.sqrt(_col(acc, prefix + "_m2") / (_col(acc, prefix + "_n") - ddof))


def finish(  # noqa: PLR0915 (one statement per metric)
    observed: Observed,
    s: Sessions,
    *,
    initial: F64,
    costs: F64,
    contracts: F64,
    cuts: NDArray[np.int64],
    unhedged: Observed,
    stress_hedge_ratio: float = math.nan,
) -> dict[str, F64]:
    """Every metric in :data:`METRICS` per configuration from its accumulators; the
    unhedged book's (one row) give the unhedged figures. A metric undefined for a
    configuration (an empty window, a ruined book's later sessions) is NaN."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        a, m = observed.acc, s.market
        n = a.shape[0]
        root = math.sqrt(SESSIONS_PER_YEAR)
        years = years_between(m.dates[0], m.dates[-1])

        def full(value: float) -> F64:
            return np.full(n, value)

        def sharpe(prefix: str, sessions: int = 3) -> F64:
            """Annualised, sample std; NaN when the window has fewer than three sessions."""
            return (
                _col(a, prefix + "_mean") / _sd(a, prefix, 1) * root
                if sessions > 2
                else (full(math.nan))
            )

        def moments(prefix: str) -> tuple[F64, F64]:
            count = _col(a, prefix + "_n")
            m2 = _col(a, prefix + "_m2") / count
            return _col(a, prefix + "_m3") / count / m2**1.5, _col(
                a, prefix + "_m4"
            ) / count / m2**2

        out: dict[str, F64] = {}
        out["ruined"] = _col(a, "ruined")
        out["cagr"] = cagr(_col(a, "final") / initial, years)  # -1 after a ruin
        out["volatility"] = _sd(a, "r", 1) * root
        out["sharpe"] = sharpe("ex")
        out["sortino"] = _col(a, "ex_mean") / np.sqrt(_col(a, "down2") / _col(a, "ex_n")) * root
        out["max_drawdown"] = _col(a, "maxdd")
        out["calmar"] = out["cagr"] / np.abs(out["max_drawdown"])
        out["beta_full"] = _col(a, "f_cxy") / _col(a, "f_mxx")
        out["r2_full"] = _col(a, "f_cxy") ** 2 / (_col(a, "f_mxx") * _col(a, "f_myy"))
        capm_beta = _col(a, "c_cxy") / _col(a, "c_mxx")
        out["capm_alpha"] = (_col(a, "c_my") - capm_beta * _col(a, "c_mx")) * SESSIONS_PER_YEAR
        out["r2_60_mean"] = _col(a, "r2_sum") / _col(a, "r2_n")
        out["beta_60_mean"] = _col(a, "beta_sum") / _col(a, "r2_n")
        out["time_in_band"] = _col(a, "band_in") / _col(a, "band_n")
        out["time_in_band_in_sample"] = (_col(a, "band_in") - _col(a, "band_oos_in")) / (
            _col(a, "band_n") - _col(a, "band_oos_n")
        )
        out["time_in_band_out_of_sample"] = _col(a, "band_oos_in") / _col(a, "band_oos_n")
        out["sharpe_in_sample"] = sharpe("in", s.in_sample_sessions)
        out["sharpe_out_of_sample"] = sharpe("oos", s.out_of_sample_sessions)
        b = unhedged.acc
        base_r2 = _col(b, "f_cxy") ** 2 / (_col(b, "f_mxx") * _col(b, "f_myy"))
        out["unhedged_r2_full"] = full(float(base_r2[0]))
        out["unhedged_r2_60_mean"] = full(float(_col(b, "r2_sum")[0] / _col(b, "r2_n")[0]))
        out["unhedged_time_in_band"] = _col(a, "base_in") / _col(a, "base_n")
        out["hedge_cost_flat"] = _col(a, "flat_sum") / _col(a, "flat_n") * SESSIONS_PER_YEAR
        out["drawdown_offset"] = (
            _col(a, "ddw_hedge") / s.condor_loss if s.windows else full(math.nan)
        )
        out["drawdown_windows"] = full(float(s.windows))
        out["break_even_low"] = full(m.break_even[0])
        out["break_even_high"] = full(m.break_even[1])
        open_days = m.condor_margin > 0
        mean_margin = float(m.condor_margin[open_days].mean()) if open_days.any() else math.nan
        out["return_on_margin"] = full(float(m.condor_pnl.sum()) / years / mean_margin)
        # A ruined book trades no more: the condor's costs and contracts count up to the
        # session its equity reached zero (its last), as its P&L does.
        out["turnover"] = (contracts + _col(a, "alive_contracts")) / years
        out["costs_paid"] = costs + _col(a, "alive_cost")
        out["pnl_equity"] = _col(a, "pnl_eq")
        out["pnl_condor"] = _col(a, "pnl_condor")
        out["pnl_futures"] = _col(a, "pnl_fut")
        out["pnl_calls"] = _col(a, "pnl_call")
        out["final_equity"] = _col(a, "final")
        out["hedge_ratio_mean"] = _col(a, "h_sum") / _col(a, "days")
        out["liquidity_cuts"] = cuts.astype(np.float64)
        out["skewness"], out["kurtosis"] = moments("ex")
        out["stress_hedge_ratio"] = full(stress_hedge_ratio)
        out["condor_exit_effect"] = _col(a, "alive_exit")
        out["overlay_sharpe"] = sharpe("ov")
        out["overlay_skewness"], out["overlay_kurtosis"] = moments("ov")
        return {k: np.asarray(out[k], dtype=np.float64) for k in METRICS}


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


def flat_sessions(spx: F64, params: MetricParams) -> NDArray[np.bool_]:
    """Sessions where SPX moved less than ``flat_move`` over the trailing ``flat_window``."""
    move = np.full(len(spx), np.inf)
    move[params.flat_window :] = np.abs(
        spx[params.flat_window :] / spx[: -params.flat_window] - 1.0
    )
    return np.asarray(move < params.flat_move)
