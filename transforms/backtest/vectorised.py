"""The vectorised engine: many configurations of one group at once, compiled with numba.

One compiled kernel runs every configuration of a chunk over every session (configurations
in parallel across cores, sessions in order), implementing the rules of
:mod:`transforms.backtest.book` step for step as the reference simulator does; a test
holds the two to 1e-9 of equity on every sleeve's daily P&L. Per configuration it keeps
a few scalars and the R-squared window, and the metrics observe each session as it
closes (:func:`transforms.backtest.metrics.observe`); the six daily series
(configurations x sessions) are written only when asked (``keep``: single runs, the
walk-forward's chosen configurations, tests), so a sweep's memory is its chunk's
accumulators and monthly sums, never configurations x sessions.

Division follows numpy (``error_model="numpy"``: 0/0 is NaN, as in the reference). The
kernel prices VIX calls with the same formulas as :mod:`transforms.options.vix` and
:func:`transforms.options.black.black76` (numba cannot call scipy): the standard normal
CDF below follows scipy's ``ndtr`` (cephes) branch for branch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

from transforms.backtest.book import EQUITY_UNIT, OPTION_MULTIPLIER, VX_MULTIPLIER, Group
from transforms.backtest.condor import LEGS
from transforms.backtest.metrics import (
    Market1D,
    Observed,
    Sessions,
    empty,
    observe,
    sessions,
    start,
)
from transforms.backtest.params import KERNEL_FIELDS, PATH_FIELDS, BacktestParams
from transforms.options.vix import base_vol, call_strike
from transforms.selection.digest import HASH_SEED, hash_step

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

# The kernel's per-configuration columns are :data:`KERNEL_FIELDS` (params.py), in that
# order; the kernel reads each by the name-derived position below, never by a literal.
COLUMNS = KERNEL_FIELDS
_AT = {name: k for k, name in enumerate(COLUMNS)}
_INITIAL_EQUITY = _AT["initial_equity"]
_EQUITY_WEIGHT = _AT["equity_weight"]
_HEDGE_RATIO = _AT["hedge_ratio"]
_HEDGE_ON_EQUITY = _AT["hedge_on_equity"]
_FUTURES_SHARE = _AT["futures_share"]
_LADDER_W2 = _AT["ladder_w2"]
_LADDER_W3 = _AT["ladder_w3"]
_LADDER_W4 = _AT["ladder_w4"]
_CONTANGO_GUARD_PCT = _AT["contango_guard_pct"]
_VX_COMMISSION = _AT["vx_commission"]
_VX_HALF_SPREAD = _AT["vx_half_spread"]
_VX_MARGIN = _AT["vx_margin"]
_CALL_DELTA = _AT["call_delta"]
_CALL_OTM_POINTS = _AT["call_otm_points"]
_CALL_SPREAD_WIDTH = _AT["call_spread_width"]
_VOL_OF_VOL = _AT["vol_of_vol"]
_VIX_CALL_SKEW = _AT["vix_call_skew"]
_CALL_COMMISSION = _AT["call_commission"]
_CALL_HALF_SPREAD = _AT["call_half_spread"]
_CALL_DELTA_FLOOR = _AT["call_delta_floor"]
_BREADTH_SCALE = _AT["breadth_scale"]
_RSI_THRESHOLD = _AT["rsi_threshold"]
_RSI_EXTRA_CALLS = _AT["rsi_extra_calls"]
_CPI_Z_THRESHOLD = _AT["cpi_z_threshold"]
_CPI_CALL_SCALE = _AT["cpi_call_scale"]
_CONTROLLER = _AT["controller"]
_CONTROLLER_HALFLIFE = _AT["controller_halflife"]
_BAND_LOW = _AT["band_low"]
_BAND_HIGH = _AT["band_high"]
_H_STEP = _AT["h_step"]
_H_MIN = _AT["h_min"]
_H_MAX = _AT["h_max"]
_RESERVE = _AT["reserve"]
_RESERVE_COUNTS_MARGIN = _AT["reserve_counts_margin"]


@dataclass(frozen=True)
class Paths:
    """Daily series per configuration (configurations x sessions; configurations x 0
    when not kept), run totals, and what the metrics observed session by session."""

    equity: F64
    pnl_equity: F64
    pnl_condor: F64  # the group's condor path, zero after a ruin
    pnl_futures: F64  # costs included
    pnl_calls: F64  # costs included
    hedge_ratio: F64
    costs: F64  # per configuration, second engine only (the condor's are shared)
    contracts_traded: F64  # futures + option contracts, second engine
    cuts: I64  # liquidity-reserve cuts
    ruin_day: I64  # session equity reached zero, -1 if never
    observed: Observed


class MarketArrays(NamedTuple):
    """The group's per-session arrays the kernel reads (sessions first)."""

    spx_return: F64
    dividend: F64
    condor_pnl: F64
    condor_vega: F64
    condor_margin: F64
    fomc: NDArray[np.bool_]
    week_start: NDArray[np.bool_]
    breadth: NDArray[np.bool_]
    vix_rsi: F64
    cpi_z: F64
    contango: F64
    vvix: F64
    rate: F64
    settle: F64  # sessions x contracts
    expiry_pos: I64  # per contract
    final: F64  # per contract
    front: I64  # the front contract per session
    ladder: I64
    term_beta: F64
    month_of: I64
    day_num: I64  # each session as days since the epoch
    expiry_day: I64  # each contract's expiry, days since the epoch


class CallArrays(NamedTuple):
    """:class:`CallTables` as the kernel reads them."""

    strike: F64
    row: I64
    value: F64
    delta: F64
    opened: I64


class MetricTable(NamedTuple):
    """The metrics' session table and R-squared window (:class:`Sessions`)."""

    table: F64
    window: int


SERIES = ("equity", "pnl_equity", "pnl_condor", "pnl_futures", "pnl_calls", "hedge_ratio")
"""The kernel's daily series, in the order of its ``series`` output (series x
configurations x sessions). Outputs are plain arrays: numba's parallel loops lose writes
to arrays reached through a tuple."""


def market_arrays(group: Group) -> MarketArrays:
    m, cp = group.market, group.condor
    return MarketArrays(
        group.spx_return, group.dividend, cp.pnl, cp.vega, cp.margin, m.fomc, m.week_start,
        m.breadth, m.vix_rsi, m.cpi_z, m.contango_pct, m.vvix, m.rate, m.settle, m.expiry_pos,
        m.final, np.ascontiguousarray(m.chain[:, 0]), group.ladder, m.term_beta, m.month_of,
        m.dates.astype("datetime64[D]").astype(np.int64),
        m.expiry.astype("datetime64[D]").astype(np.int64),
    )  # fmt: skip


def market_1d(group: Group) -> Market1D:
    """What the metrics need from the group's market and condor sleeve."""
    cp = group.condor
    legs = np.zeros(len(cp.pnl))
    for t in cp.trades:
        if t.action != "settle":
            legs[t.day] += abs(t.lots) * len(LEGS)
    return Market1D(
        dates=group.market.dates,
        spx=group.market.spx,
        rate=group.market.rate,
        calendar_days=group.market.calendar_days(),
        condor_pnl=cp.pnl,
        condor_margin=cp.margin,
        condor_costs=cp.costs,
        condor_contracts=legs,
        condor_exit_effect=cp.exit_effect,
        break_even=cp.break_even,
    )


def _check_group(configs: Sequence[BacktestParams]) -> None:
    first = configs[0]
    for c in configs[1:]:
        for name in PATH_FIELDS:
            if getattr(c, name) != getattr(first, name):
                raise ValueError(f"configurations differ in {name}: group them first")


def run_chunk(
    group: Group,
    configs: Sequence[BacktestParams],
    metric_sessions: Sessions | None = None,
    *,
    keep: bool = True,
) -> Paths:
    """Simulate ``configs`` (all sharing ``group``'s path fields) over the whole market,
    the metrics observing each session as it closes (on ``metric_sessions``, by default the
    group's with the default metric settings); ``keep``: also return the daily series."""
    _check_group(configs)
    m, p0 = group.market, configs[0]
    s = sessions(market_1d(group)) if metric_sessions is None else metric_sessions
    params = np.array([[float(getattr(c, name)) for name in COLUMNS] for c in configs])
    n, days = len(configs), m.days
    width = days if keep else 0
    series = np.empty((len(SERIES), n, width))
    totals = np.zeros((n, 2))  # costs, contracts traded
    counts = np.zeros((n, 2), dtype=np.int64)  # liquidity cuts, ruin day
    counts[:, 1] = -1
    out = Paths(
        **{name: series[j] for j, name in enumerate(SERIES)},
        costs=totals[:, 0],
        contracts_traded=totals[:, 1],
        cuts=counts[:, 0],
        ruin_day=counts[:, 1],
        observed=empty(n, s),
    )
    arrays = market_arrays(group)
    calls = _call_tables(group, arrays, params, bool(p0.fomc_rule))
    _simulate(
        params,
        CallArrays(calls.strike, calls.row, calls.value, calls.delta, calls.opened),
        arrays,
        MetricTable(s.table, s.window),
        out.observed.acc,
        out.observed.blocks,
        out.observed.hashes,
        series,
        totals,
        counts,
        (bool(p0.fomc_rule), int(p0.r2_window)),
        keep,
    )
    return out


@dataclass(frozen=True)
class CallTables:
    """Per distinct (vol_of_vol, skew, delta, points, width) of a chunk (rows) and
    session (columns): the strike a series opened that session gets, and the mark
    (value, delta) of the series held on the shared schedule, with the session that
    series was opened (-1: none held)."""

    strike: F64
    value: F64
    delta: F64
    opened: I64
    row: I64  # each configuration's row


def _call_tables(group: Group, arrays: MarketArrays, params: F64, fomc_rule: bool) -> CallTables:
    """Strikes by :func:`transforms.options.vix.call_strike`, as the reference does, and
    the marks of :func:`call_marks`, once per group and key (kept on the group for its
    other chunks)."""
    keys = [_VOL_OF_VOL, _VIX_CALL_SKEW, _CALL_DELTA, _CALL_OTM_POINTS, _CALL_SPREAD_WIDTH]
    unique, rows = np.unique(params[:, keys], axis=0, return_inverse=True)
    m = group.market
    for key in map(tuple, unique.tolist()):
        if key[:4] not in group.strikes:
            group.strikes[key[:4]] = _strikes(group, *key[:4])
        if key not in group.marks:
            vol_of_vol, skew, _, _, width = key
            value, delta = np.full(m.days, np.nan), np.full(m.days, np.nan)
            opened = np.full(m.days, -1, dtype=np.int64)
            call_marks(
                group.strikes[key[:4]], (width, skew, vol_of_vol), fomc_rule, arrays,
                value, delta, opened,
            )  # fmt: skip
            group.marks[key] = (value, delta, opened)
    tables = [group.marks[key] for key in map(tuple, unique.tolist())]
    return CallTables(
        strike=np.stack([group.strikes[key[:4]] for key in map(tuple, unique.tolist())]),
        value=np.stack([t[0] for t in tables]),
        delta=np.stack([t[1] for t in tables]),
        opened=np.stack([t[2] for t in tables]),
        row=rows.astype(np.int64).ravel(),
    )


def _strikes(group: Group, vol_of_vol: float, skew: float, target: float, points: float) -> F64:
    m = group.market
    front = m.chain[:, 0]
    days = np.flatnonzero(front >= 0)
    days = days[np.isfinite(m.settle[days, front[days]])]
    forward = m.settle[days, front[days]]
    day_num = m.dates[days].astype("datetime64[D]").astype(np.int64)
    t = (m.expiry[front[days]].astype("datetime64[D]").astype(np.int64) - day_num) / 365.0
    out = np.full(m.days, np.nan)
    out[days] = call_strike(
        forward=forward, t=t, rate=m.rate[days], base=base_vol(m.vvix[days], vol_of_vol=vol_of_vol),
        skew=skew, target_delta=target, otm_points=points,
    )  # fmt: skip
    return out


_SQRTH = math.sqrt(0.5)


@numba.njit(cache=True, error_model="numpy")
def _ndtr(a: float) -> float:
    """Standard normal CDF, as scipy.special.ndtr (cephes)."""
    x = a * _SQRTH
    z = abs(x)
    if z < _SQRTH:
        return 0.5 + 0.5 * math.erf(x)
    y = 0.5 * math.erfc(z)
    return 1.0 - y if x > 0 else y


@numba.njit(cache=True, error_model="numpy")
def _call(  # noqa: PLR0917 (numba: no keyword-only arguments)
    f: float, k: float, t: float, r: float, base: float, skew: float
) -> tuple[float, float]:
    """(price, delta) of a VIX call: Black-76 with vol(K) = base max(1 + skew ln(K/F), 0.5)."""
    vol = base * max(1.0 + skew * math.log(k / f), 0.5)
    df = math.exp(-r * t)
    sd = vol * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    n1 = _ndtr(d1)
    return df * (f * n1 - k * _ndtr(d2)), df * n1


@numba.njit(cache=True, error_model="numpy")
def _value(  # noqa: PLR0917 (numba: no keyword-only arguments)
    f: float, k: float, width: float, t: float, r: float, base: float, skew: float
) -> tuple[float, float]:
    """The call, less the short call of a debit spread when ``width`` > 0."""
    p, d = _call(f, k, t, r, base, skew)
    if width > 0:
        ps, ds = _call(f, k + width, t, r, base, skew)
        return p - ps, d - ds
    return p, d


@numba.njit(cache=True, error_model="numpy")
def call_marks(  # noqa: PLR0917 (numba: no keyword-only arguments)
    strikes: F64,
    model: tuple[float, float, float],
    fomc_rule: bool,
    market: MarketArrays,
    value_out: F64,
    delta_out: F64,
    opened_out: I64,
) -> None:
    """Marks of the calls held on the shared schedule: a front-month series opened
    whenever none is held and the session is not blocked, held to its expiry. Every
    configuration that opens on this schedule (a hedge with calls, not ruined) holds
    these series and reads their marks here; one whose series was opened another
    session prices its own, by the same :func:`_value`. ``model``: the call spread's
    width, the skew and the fallback vol of vol."""
    width, skew, vol_of_vol = model
    fomc, front, settle = market.fomc, market.front, market.settle
    expiry_pos, expiry_day, day_num = market.expiry_pos, market.expiry_day, market.day_num
    vvix, rate = market.vvix, market.rate
    held = False
    c = -1
    strike = math.nan
    opened = -1
    for i in range(front.shape[0]):
        if held and expiry_pos[c] == i:
            held = False
        if not held and not (fomc_rule and fomc[i]) and front[i] >= 0:
            held = True
            c = front[i]
            strike = strikes[i]
            opened = i
        if held:
            t = (expiry_day[c] - day_num[i]) / 365.0
            base = vvix[i] / 100.0 if math.isfinite(vvix[i]) else vol_of_vol
            value_out[i], delta_out[i] = _value(settle[i, c], strike, width, t, rate[i], base, skew)
            opened_out[i] = opened


@numba.njit(cache=True, error_model="numpy")
def _beta(i: int, c: int, term_beta: F64, month_of: I64) -> float:
    if c < 0:
        return math.nan
    month = month_of[i, c]
    return term_beta[i, month] if month >= 0 else math.nan


@numba.njit(cache=True, error_model="numpy")
def _r_squared(ring: F64, spx_ring: F64, start: int) -> float:
    """As book.r_squared on the window in chronological order (oldest at ``start``):
    two passes, summed oldest first, and nothing allocated."""
    w = ring.shape[0]
    sy = 0.0
    sx = 0.0
    for j in range(w):
        sy += ring[(start + j) % w]
        sx += spx_ring[(start + j) % w]
    my = sy / w
    mx = sx / w
    cov = 0.0
    syy = 0.0
    sxx = 0.0
    for j in range(w):
        dy = ring[(start + j) % w] - my
        dx = spx_ring[(start + j) % w] - mx
        cov += dy * dx
        syy += dy * dy
        sxx += dx * dx
    return cov * cov / (syy * sxx)


@numba.njit(cache=True, error_model="numpy")
def _ewma_r_squared(mb: float, ms: float, mbb: float, mss: float, mbs: float) -> float:
    """R-squared of exponentially weighted moments (means, second moments, cross)."""
    cov = mbs - mb * ms
    return cov * cov / ((mbb - mb * mb) * (mss - ms * ms))


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _simulate(  # noqa: PLR0912, PLR0915, PLR0917 (the reference's day loop, one config per core)
    params: F64,
    calls: CallArrays,
    market: MarketArrays,
    metrics: MetricTable,
    acc_out: F64,
    blocks_out: F64,
    hash_out: NDArray[np.uint64],
    series: F64,
    totals: F64,
    counts: I64,
    rules: tuple[bool, int],
    keep: bool,
) -> None:
    """Each configuration's day loop (one per core). Inputs come in named tuples; every
    output is a plain array argument (``series``: :data:`SERIES` x configurations x
    sessions when kept; ``totals``: costs and contracts traded; ``counts``: liquidity
    cuts and ruin day; ``acc_out``, ``blocks_out``, ``hash_out``: the metrics'). ``rules``:
    the FOMC rule and the controller's R-squared window."""
    fomc_rule, window = rules
    strike_table, strike_row = calls.strike, calls.row
    mark_value, mark_delta, mark_opened = calls.value, calls.delta, calls.opened
    spx_return, dividend = market.spx_return, market.dividend
    condor_pnl, condor_vega, condor_margin = (
        market.condor_pnl,
        market.condor_vega,
        market.condor_margin,
    )
    fomc, week_start, breadth = market.fomc, market.week_start, market.breadth
    vix_rsi, cpi_z, contango, vvix, rate = (
        market.vix_rsi,
        market.cpi_z,
        market.contango,
        market.vvix,
        market.rate,
    )
    settle, expiry_pos, final, front = market.settle, market.expiry_pos, market.final, market.front
    ladder, term_beta, month_of = market.ladder, market.term_beta, market.month_of
    day_num, expiry_day = market.day_num, market.expiry_day
    table, metric_window = metrics.table, metrics.window
    days = spx_return.shape[0]
    for k in numba.prange(params.shape[0]):
        q = params[k]
        initial_equity = q[_INITIAL_EQUITY]
        equity_weight = q[_EQUITY_WEIGHT]
        hedge_ratio = q[_HEDGE_RATIO]
        on_equity = q[_HEDGE_ON_EQUITY] > 0
        futures_share = q[_FUTURES_SHARE]
        ladder_w2 = q[_LADDER_W2]
        ladder_w3 = q[_LADDER_W3]
        ladder_w4 = q[_LADDER_W4]
        contango_guard_pct = q[_CONTANGO_GUARD_PCT]
        vx_commission = q[_VX_COMMISSION]
        vx_half_spread = q[_VX_HALF_SPREAD]
        vx_margin = q[_VX_MARGIN]
        call_spread_width = q[_CALL_SPREAD_WIDTH]
        vol_of_vol = q[_VOL_OF_VOL]
        vix_call_skew = q[_VIX_CALL_SKEW]
        call_commission = q[_CALL_COMMISSION]
        call_half_spread = q[_CALL_HALF_SPREAD]
        call_delta_floor = q[_CALL_DELTA_FLOOR]
        breadth_scale = q[_BREADTH_SCALE]
        rsi_threshold = q[_RSI_THRESHOLD]
        rsi_extra_calls = q[_RSI_EXTRA_CALLS]
        cpi_z_threshold = q[_CPI_Z_THRESHOLD]
        cpi_call_scale = q[_CPI_CALL_SCALE]
        controller = q[_CONTROLLER]
        halflife = q[_CONTROLLER_HALFLIFE]
        band_low = q[_BAND_LOW]
        band_high = q[_BAND_HIGH]
        h_step = q[_H_STEP]
        h_min = q[_H_MIN]
        h_max = q[_H_MAX]
        reserve = q[_RESERVE]
        margin_share = q[_RESERVE_COUNTS_MARGIN]  # 1 or 0
        weights = np.array([ladder_w2, ladder_w3, ladder_w4])
        control = controller > 0
        every_session = control and halflife > 0  # the EWMA controller
        alpha = 1.0 - 0.5 ** (1.0 / halflife) if every_session else 0.0
        ew_b = ew_s = ew_bb = ew_ss = ew_bs = 0.0  # exponentially weighted moments
        width = call_spread_width
        legs = 2.0 if width > 0 else 1.0
        fut_unit = vx_commission + vx_half_spread * VX_MULTIPLIER
        call_unit = legs * (call_commission + call_half_spread * OPTION_MULTIPLIER)
        equity = initial_equity
        h = hedge_ratio
        if control:
            h = min(max(h, h_min), h_max)
        shift = 0
        slot_c = np.full(3, -1, dtype=np.int64)
        slot_n = np.zeros(3)
        held = False
        call_c = -1
        strike = math.nan
        opened_at = -1
        row = strike_row[k]
        call_n = 0.0
        value = 0.0
        delta = 0.0
        fut_vega = 0.0
        call_vega = 0.0
        pending = False
        live = 1.0
        # scratch arrays, allocated once per configuration (never alias state arrays:
        # numba may hoist allocations out of loops)
        new_c = np.empty(3, dtype=np.int64)
        new_n = np.zeros(3)
        used = np.zeros(3, dtype=np.bool_)
        leaving = np.empty(3, dtype=np.int64)
        targets = np.zeros(3)
        ring = np.zeros(window)
        spx_ring = np.zeros(window)
        filled = 0
        acc = acc_out[k]
        start(acc, initial_equity)
        metric_ring = np.empty(metric_window)
        digest = HASH_SEED
        cuts = 0
        traded = 0.0
        costs = 0.0
        for i in range(days):
            previous = equity
            # 1. P&L of yesterday's positions
            eq_pnl = 0.0
            fut_pnl = 0.0
            call_pnl = 0.0
            condor = live * condor_pnl[i]
            if i > 0:
                eq_pnl = live * equity_weight * previous * (spx_return[i] + dividend[i])
                for j in range(3):
                    c = slot_c[j]
                    if c >= 0 and slot_n[j] != 0:
                        change = settle[i, c] - settle[i - 1, c]
                        if not math.isfinite(change):
                            change = 0.0
                        fut_pnl += slot_n[j] * change * VX_MULTIPLIER
            if held:
                if expiry_pos[call_c] == i:
                    fin = final[call_c]
                    settled = max(fin - strike, 0.0)
                    if width > 0:
                        settled -= max(fin - (strike + width), 0.0)
                    call_pnl = call_n * (settled - value) * OPTION_MULTIPLIER
                    held = False
                    call_c = -1
                    call_n = 0.0
                    value = 0.0
                else:
                    if mark_opened[row, i] == opened_at:  # the shared schedule's series
                        new_value, delta = mark_value[row, i], mark_delta[row, i]
                    else:
                        t = (expiry_day[call_c] - day_num[i]) / 365.0
                        base = vvix[i] / 100.0 if math.isfinite(vvix[i]) else vol_of_vol
                        new_value, delta = _value(
                            settle[i, call_c], strike, width, t, rate[i], base, vix_call_skew
                        )
                    call_pnl = call_n * (new_value - value) * OPTION_MULTIPLIER
                    value = new_value
            pre = previous + eq_pnl + fut_pnl + call_pnl + condor
            fut_cost = 0.0
            call_cost = 0.0
            # 2. schedule
            blocked = fomc_rule and fomc[i]
            due = week_start[i] or pending or every_session
            pending = due and blocked
            rehedge = due and not blocked
            # 3. re-hedge decisions
            if rehedge:
                if filled >= window:
                    if every_session:
                        r2 = _ewma_r_squared(ew_b, ew_s, ew_bb, ew_ss, ew_bs)
                    else:
                        r2 = _r_squared(ring, spx_ring, filled % window)
                    if control and r2 > band_high:
                        h = min(h + h_step, h_max)
                    elif control and r2 < band_low:
                        h = max(h - h_step, h_min)
                guard = contango_guard_pct
                shift = 1 if guard > 0 and contango[i] > guard else 0
                scale = 1.0 + breadth_scale * (1.0 if breadth[i] else 0.0)
                rsi_low = 1.0 if vix_rsi[i] < rsi_threshold else 0.0
                cpi_far = 1.0 if abs(cpi_z[i]) > cpi_z_threshold else 0.0
                call_scale = (1.0 + rsi_extra_calls * rsi_low) * (1.0 + cpi_call_scale * cpi_far)
                basis = pre / EQUITY_UNIT * VX_MULTIPLIER if on_equity else abs(condor_vega[i])
                vega = live * h * basis * scale
                fut_vega = vega * futures_share
                call_vega = vega * (1.0 - futures_share) * call_scale
            # 4. futures: kept contracts keep their position; leaving ones roll
            if not blocked:
                new_n[:] = 0.0
                used[:] = False
                n_leaving = 0
                for j in range(3):
                    new_c[j] = ladder[i, 1 + j + shift]
                for j in range(3):
                    c = slot_c[j]
                    if c < 0:
                        continue
                    inside = False
                    for s in range(3):
                        if new_c[s] == c:
                            inside = True
                    if not inside:
                        leaving[n_leaving] = j
                        n_leaving += 1
                taken = 0
                for s in range(3):
                    want = new_c[s]
                    found = -1
                    if want >= 0:
                        for j in range(3):
                            if slot_c[j] == want and not used[j]:
                                found = j
                                break
                    if found >= 0:
                        new_n[s] = slot_n[found]
                        used[found] = True
                        continue
                    if taken >= n_leaving:
                        continue
                    qty = slot_n[leaving[taken]]
                    taken += 1
                    if qty == 0:
                        continue
                    cost = abs(qty) * fut_unit
                    fut_cost += cost
                    traded += abs(qty)
                    if want >= 0 and math.isfinite(settle[i, want]):
                        fut_cost += cost
                        traded += abs(qty)
                        new_n[s] = qty
                while taken < n_leaving:
                    qty = slot_n[leaving[taken]]
                    taken += 1
                    if qty != 0:
                        fut_cost += abs(qty) * fut_unit
                        traded += abs(qty)
                slot_c[:] = new_c
                slot_n[:] = new_n
            targets[:] = slot_n
            if rehedge:
                for j in range(3):
                    c = slot_c[j]
                    beta = _beta(i, c, term_beta, month_of)
                    if c >= 0 and math.isfinite(settle[i, c]) and math.isfinite(beta):
                        targets[j] = weights[j] * fut_vega / (beta * VX_MULTIPLIER)
                    else:
                        targets[j] = 0.0
            # 5. calls: open a series when none is held, resize on re-hedges
            call_target = call_n
            opening = (not held) and (not blocked) and call_vega > 0 and front[i] >= 0
            sized = False
            if opening or (rehedge and held):
                c = front[i] if opening else call_c
                if opening:
                    strike = strike_table[row, i]
                    held = True
                    call_c = c
                    opened_at = i
                    if mark_opened[row, i] == i:
                        value, delta = mark_value[row, i], mark_delta[row, i]
                    else:
                        t = (expiry_day[c] - day_num[i]) / 365.0
                        base = vvix[i] / 100.0 if math.isfinite(vvix[i]) else vol_of_vol
                        skew = vix_call_skew
                        value, delta = _value(settle[i, c], strike, width, t, rate[i], base, skew)
                beta_c = _beta(i, c, term_beta, month_of)
                floor = call_delta_floor
                call_target = call_vega / (max(delta, floor) * beta_c * OPTION_MULTIPLIER)
                sized = True
            # 6. liquidity reserve
            if sized or rehedge:
                commit = 0.0
                for j in range(3):
                    commit += abs(targets[j])
                commit = vx_margin * commit + call_target * value * OPTION_MULTIPLIER
                room = pre * (1.0 - reserve) - margin_share * live * condor_margin[i]
                if commit > room and commit > 0:
                    factor = max(room, 0.0) / commit
                    cuts += 1
                    for j in range(3):
                        targets[j] *= factor
                    call_target *= factor
                for j in range(3):
                    if targets[j] != slot_n[j] and slot_c[j] >= 0:
                        fut_cost += abs(targets[j] - slot_n[j]) * fut_unit
                        traded += abs(targets[j] - slot_n[j])
                        slot_n[j] = targets[j]
                if held and call_target != call_n:
                    call_cost += abs(call_target - call_n) * call_unit
                    traded += abs(call_target - call_n) * legs
                    call_n = call_target
            equity = pre - fut_cost - call_cost
            if live > 0 and equity <= 0:  # ruin: everything is closed at this close
                live = 0.0
                counts[k, 1] = i
                slot_n[:] = 0.0
                held = False
                call_c = -1
                call_n = 0.0
                value = 0.0
                fut_vega = 0.0
                call_vega = 0.0
            if i > 0:
                ring[filled % window] = equity / previous - 1.0
                spx_ring[filled % window] = spx_return[i]
                filled += 1
                if every_session:
                    y = equity / previous - 1.0
                    x = spx_return[i]
                    ew_b += alpha * (y - ew_b)
                    ew_s += alpha * (x - ew_s)
                    ew_bb += alpha * (y * y - ew_bb)
                    ew_ss += alpha * (x * x - ew_ss)
                    ew_bs += alpha * (y * x - ew_bs)
            costs += fut_cost + call_cost
            fut_net = fut_pnl - fut_cost
            call_net = call_pnl - call_cost
            session = (equity, previous, eq_pnl, fut_net + call_net, condor, fut_net, call_net, h)
            ex = observe(acc, metric_ring, blocks_out[k], table, i, (band_low, band_high), session)[
                0
            ]
            if i > 0:
                digest = hash_step(digest, ex)
            if keep:
                series[0, k, i] = equity
                series[1, k, i] = eq_pnl
                series[2, k, i] = condor
                series[3, k, i] = fut_net
                series[4, k, i] = call_net
                series[5, k, i] = h
        hash_out[k] = digest
        totals[k, 0] = costs
        totals[k, 1] = traded
        counts[k, 0] = cuts
