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
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

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

PARAMS = np.dtype([(name, np.float64) for name in KERNEL_FIELDS])
"""The kernel's per-configuration record: one float64 field per :data:`KERNEL_FIELDS`
name (params.py), read by name (``q.hedge_ratio``); :func:`pack` fills it."""
Record = Any
"""One :data:`PARAMS` record (numpy types a structured scalar as ``void``, without its
fields; numba types it exactly)."""
CALL_KEY = ("vol_of_vol", "vix_call_skew", "call_delta", "call_otm_points", "call_spread_width")
"""The fields that fix a configuration's call series: its strikes (the first four) and marks."""


def pack(configs: Sequence[BacktestParams]) -> NDArray[np.void]:
    """The configurations as :data:`PARAMS` records."""
    out = np.empty(len(configs), dtype=PARAMS)
    for name in KERNEL_FIELDS:
        out[name] = list(map(operator.attrgetter(name), configs))
    return out


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


_PATH_NAMES = tuple(sorted(PATH_FIELDS))
_PATH = operator.attrgetter(*_PATH_NAMES)


def _check_group(configs: Sequence[BacktestParams]) -> None:
    first = _PATH(configs[0])
    for c in configs[1:]:
        path = _PATH(c)
        if path != first:
            name = next(n for n, a, b in zip(_PATH_NAMES, path, first, strict=True) if a != b)
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
    params = pack(configs)
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


def _call_tables(
    group: Group, arrays: MarketArrays, params: NDArray[np.void], fomc_rule: bool
) -> CallTables:
    """Strikes by :func:`transforms.options.vix.call_strike`, as the reference does, and
    the marks of :func:`call_marks`, once per group and key (:data:`CALL_KEY`, kept on
    the group for its other chunks)."""
    m = group.market
    flat = (params["hedge_ratio"] == 0) & (params["controller"] == 0)
    if np.all(flat | (params["futures_share"] >= 1)):  # no call is ever held: none priced
        none = np.full((1, m.days), np.nan)
        never = np.full((1, m.days), -1, dtype=np.int64)
        return CallTables(none, none, none, never, np.zeros(len(params), dtype=np.int64))
    keys = np.stack([params[name] for name in CALL_KEY], axis=1)
    unique, rows = np.unique(keys, axis=0, return_inverse=True)
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


@numba.njit(cache=True, error_model="numpy", inline="always")
def _beta(i: int, c: int, term_beta: F64, month_of: I64) -> float:
    if c < 0:
        return math.nan
    month = month_of[i, c]
    return term_beta[i, month] if month >= 0 else math.nan


@numba.njit(cache=True, error_model="numpy")
def _r_squared(ring: F64, spx_ring: F64, start: int) -> float:
    """As book.r_squared on the window in chronological order (oldest at ``start``):
    two passes, summed oldest first, and nothing allocated (no modulo either: it cost
    as much as the rest of the day loop)."""
    w = ring.shape[0]
    sy = 0.0
    sx = 0.0
    j = start
    for _ in range(w):
        sy += ring[j]
        sx += spx_ring[j]
        j = j + 1 if j + 1 < w else 0
    my = sy / w
    mx = sx / w
    cov = 0.0
    syy = 0.0
    sxx = 0.0
    for _ in range(w):
        dy = ring[j] - my
        dx = spx_ring[j] - mx
        cov += dy * dx
        syy += dy * dy
        sxx += dx * dx
        j = j + 1 if j + 1 < w else 0
    return cov * cov / (syy * sxx)


@numba.njit(cache=True, error_model="numpy")
def _ewma_r_squared(mb: float, ms: float, mbb: float, mss: float, mbs: float) -> float:
    """R-squared of exponentially weighted moments (means, second moments, cross)."""
    cov = mbs - mb * ms
    return cov * cov / ((mbb - mb * mb) * (mss - ms * ms))


class CallPosition(NamedTuple):
    """The VIX calls held: the series (``contract`` -1: none), its strike, the session it
    was opened, the contracts held and the mark per unit (value and delta)."""

    contract: int
    strike: float
    opened: int
    contracts: float
    value: float
    delta: float


@numba.njit(cache=True, error_model="numpy", inline="always")
def _no_calls() -> CallPosition:
    return CallPosition(-1, math.nan, -1, 0.0, 0.0, 0.0)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _mark(i: int, q: Record, market: MarketArrays, c: int, strike: float) -> tuple[float, float]:
    """(value, delta) per unit of the call series on contract ``c`` at session ``i``."""
    t = (market.expiry_day[c] - market.day_num[i]) / 365.0
    vvix = market.vvix[i]
    base = vvix / 100.0 if math.isfinite(vvix) else q.vol_of_vol
    f, r = market.settle[i, c], market.rate[i]
    return _value(f, strike, q.call_spread_width, t, r, base, q.vix_call_skew)


# The day's steps, in the order of the day loop; the reference simulator has a method of
# each name (transforms/backtest/reference.py), so the two read side by side.


@numba.njit(cache=True, error_model="numpy", inline="always")
def equity_carry(i: int, q: Record, market: MarketArrays, live: float, previous: float) -> float:
    """1. The SPX sleeve's P&L over the session (none on the first)."""
    if i == 0:
        return 0.0
    return float(live * q.equity_weight * previous * (market.spx_return[i] + market.dividend[i]))


@numba.njit(cache=True, error_model="numpy", inline="always")
def futures_carry(i: int, market: MarketArrays, slot_c: I64, slot_n: F64) -> float:
    """1. The futures held since the last close, marked to today's settles."""
    pnl = 0.0
    if i == 0:
        return pnl
    for j in range(3):
        c = slot_c[j]
        if c >= 0 and slot_n[j] != 0:
            change = market.settle[i, c] - market.settle[i - 1, c]
            if not math.isfinite(change):
                change = 0.0
            pnl += slot_n[j] * change * VX_MULTIPLIER
    return pnl


@numba.njit(cache=True, error_model="numpy", inline="always")
def calls_carry(  # noqa: PLR0917 (numba: no keyword-only arguments)
    i: int, q: Record, market: MarketArrays, calls: CallArrays, row: int, pos: CallPosition
) -> tuple[float, CallPosition]:
    """1. The calls held: settled at their expiry, else marked (the shared schedule's
    mark when the series is the one it holds, else priced here)."""
    c = pos.contract
    if c < 0:
        return 0.0, pos
    if market.expiry_pos[c] == i:
        final = market.final[c]
        settled = max(final - pos.strike, 0.0)
        width = q.call_spread_width
        if width > 0:
            settled -= max(final - (pos.strike + width), 0.0)
        return pos.contracts * (settled - pos.value) * OPTION_MULTIPLIER, _no_calls()
    if calls.opened[row, i] == pos.opened:
        value, delta = calls.value[row, i], calls.delta[row, i]
    else:
        value, delta = _mark(i, q, market, c, pos.strike)
    pnl = pos.contracts * (value - pos.value) * OPTION_MULTIPLIER
    return pnl, CallPosition(c, pos.strike, pos.opened, pos.contracts, value, delta)


@numba.njit(cache=True, error_model="numpy", inline="always")
def schedule(
    i: int, market: MarketArrays, fomc_rule: bool, pending: bool, every_session: bool
) -> tuple[bool, bool, bool]:
    """2. (blocked, pending, re-hedge): a re-hedge is due each week's first session (each
    session under the EWMA controller) and waits out an FOMC-blocked session."""
    blocked = fomc_rule and market.fomc[i]
    due = market.week_start[i] or pending or every_session
    return blocked, due and blocked, due and not blocked


@numba.njit(cache=True, error_model="numpy", inline="always")
def controller_step(q: Record, h: float, r2: float) -> float:
    """3. The controller steps h toward the R-squared band."""
    if q.controller > 0 and r2 > q.band_high:
        return float(min(h + q.h_step, q.h_max))
    if q.controller > 0 and r2 < q.band_low:
        return float(max(h - q.h_step, q.h_min))
    return h


@numba.njit(cache=True, error_model="numpy", inline="always")
def hedge_sizing(  # noqa: PLR0917 (numba: no keyword-only arguments)
    i: int, q: Record, market: MarketArrays, h: float, pre: float, live: float
) -> tuple[int, float, float]:
    """3. (ladder shift, futures vega, calls vega): h times the basis (the condor's vega,
    or the portfolio's), scaled by breadth, the calls also by VIX RSI and CPI-PPI."""
    guard = q.contango_guard_pct
    shift = 1 if guard > 0 and market.contango[i] > guard else 0
    scale = 1.0 + q.breadth_scale * (1.0 if market.breadth[i] else 0.0)
    rsi_low = 1.0 if market.vix_rsi[i] < q.rsi_threshold else 0.0
    cpi_far = 1.0 if abs(market.cpi_z[i]) > q.cpi_z_threshold else 0.0
    call_scale = (1.0 + q.rsi_extra_calls * rsi_low) * (1.0 + q.cpi_call_scale * cpi_far)
    if q.hedge_on_equity > 0:  # a VX ladder sized to the portfolio
        basis = pre / EQUITY_UNIT * VX_MULTIPLIER
    else:  # sized to the condor
        basis = abs(market.condor_vega[i])
    vega = live * h * basis * scale
    return shift, vega * q.futures_share, vega * (1.0 - q.futures_share) * call_scale


@numba.njit(cache=True, error_model="numpy", inline="always")
def ladder_roll(  # noqa: PLR0912, PLR0915, PLR0917 (the reference's roll, branch for branch)
    i: int,
    market: MarketArrays,
    shift: int,
    slot_c: I64,
    slot_n: F64,
    scratch: tuple[I64, F64],
    paid: tuple[float, float],
    fut_unit: float,
) -> tuple[float, float]:
    """4. (cost, contracts traded) after ``paid`` (so far: cost today, traded in the run):
    a contract that stays in the ladder's months keeps
    its position; one that leaves them rolls into the month that joined, contract for
    contract, or is closed when none did. ``scratch``: room for 9 integers and 3 numbers
    (read and written here only: the kernel's own outputs never travel in a tuple).
    On most sessions the ladder's months are the ones held, in order: every slot then
    finds itself below, and nothing changes, so that case returns at once."""
    if (
        market.ladder[i, 1 + shift] == slot_c[0]
        and market.ladder[i, 2 + shift] == slot_c[1]
        and market.ladder[i, 3 + shift] == slot_c[2]
    ):
        return paid
    cost, traded = paid
    room, new_n = scratch
    new_c = room[0:3]
    leaving = room[3:6]
    used = room[6:9]
    new_n[:] = 0.0
    used[:] = 0
    n_leaving = 0
    for j in range(3):
        new_c[j] = market.ladder[i, 1 + j + shift]
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
                if slot_c[j] == want and used[j] == 0:
                    found = j
                    break
        if found >= 0:
            new_n[s] = slot_n[found]
            used[found] = 1
            continue
        if taken >= n_leaving:
            continue
        qty = slot_n[leaving[taken]]
        taken += 1
        if qty == 0:
            continue
        unit = abs(qty) * fut_unit
        cost += unit
        traded += abs(qty)
        if want >= 0 and math.isfinite(market.settle[i, want]):
            cost += unit
            traded += abs(qty)
            new_n[s] = qty
    while taken < n_leaving:
        qty = slot_n[leaving[taken]]
        taken += 1
        if qty != 0:
            cost += abs(qty) * fut_unit
            traded += abs(qty)
    slot_c[:] = new_c
    slot_n[:] = new_n
    return cost, traded


@numba.njit(cache=True, error_model="numpy", inline="always")
def ladder_targets(  # noqa: PLR0917 (numba: no keyword-only arguments)
    i: int, q: Record, market: MarketArrays, slot_c: I64, targets: F64, fut_vega: float
) -> None:
    """4. On a re-hedge, each month's contracts: its weight of the futures vega over its
    term beta (none where the contract has no settle or beta)."""
    weights = (q.ladder_w2, q.ladder_w3, q.ladder_w4)
    for j in range(3):
        c = slot_c[j]
        beta = _beta(i, c, market.term_beta, market.month_of)
        if c >= 0 and math.isfinite(market.settle[i, c]) and math.isfinite(beta):
            targets[j] = weights[j] * fut_vega / (beta * VX_MULTIPLIER)
        else:
            targets[j] = 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def calls_sizing(  # noqa: PLR0917 (numba: no keyword-only arguments)
    i: int,
    q: Record,
    market: MarketArrays,
    calls: CallArrays,
    row: int,
    pos: CallPosition,
    call_vega: float,
    due: tuple[bool, bool],
) -> tuple[CallPosition, float, bool]:
    """5. (position, target contracts, sized): a front-month series opens when none is
    held (and the session is not blocked); the calls are sized on re-hedges and opens.
    ``due``: (blocked, re-hedge)."""
    blocked, rehedge = due
    opening = pos.contract < 0 and not blocked and call_vega > 0 and market.front[i] >= 0
    if not (opening or (rehedge and pos.contract >= 0)):
        return pos, pos.contracts, False
    if opening:
        c = market.front[i]
        strike = calls.strike[row, i]
        if calls.opened[row, i] == i:
            value, delta = calls.value[row, i], calls.delta[row, i]
        else:
            value, delta = _mark(i, q, market, c, strike)
        pos = CallPosition(c, strike, i, pos.contracts, value, delta)
    beta = _beta(i, pos.contract, market.term_beta, market.month_of)
    target = call_vega / (max(pos.delta, q.call_delta_floor) * beta * OPTION_MULTIPLIER)
    return pos, target, True


@numba.njit(cache=True, error_model="numpy", inline="always")
def reserve(  # noqa: PLR0917 (numba: no keyword-only arguments)
    i: int,
    q: Record,
    market: MarketArrays,
    book: tuple[float, float],
    slot_c: I64,
    slot_n: F64,
    targets: F64,
    pos: CallPosition,
    call_target: float,
    paid: tuple[float, float],
) -> tuple[float, float, float, bool, CallPosition]:
    """6. (futures cost, calls cost, contracts traded, cut, position) after ``paid`` (so
    far: futures cost today, traded in the run): what the hedge commits may not exceed
    the equity less the reserve (and the condor's margin when it counts): above it,
    futures and calls are cut by the same factor; then both trade to their targets.
    ``book``: (equity before costs, live)."""
    pre, live = book
    legs = 2.0 if q.call_spread_width > 0 else 1.0
    fut_unit = q.vx_commission + q.vx_half_spread * VX_MULTIPLIER
    call_unit = legs * (q.call_commission + q.call_half_spread * OPTION_MULTIPLIER)
    commit = 0.0
    for j in range(3):
        commit += abs(targets[j])
    commit = q.vx_margin * commit + call_target * pos.value * OPTION_MULTIPLIER
    room = pre * (1.0 - q.reserve) - q.reserve_counts_margin * live * market.condor_margin[i]
    cut = commit > room and commit > 0
    if cut:
        factor = max(room, 0.0) / commit
        for j in range(3):
            targets[j] *= factor
        call_target *= factor
    fut_cost, traded = paid
    for j in range(3):
        if targets[j] != slot_n[j] and slot_c[j] >= 0:
            fut_cost += abs(targets[j] - slot_n[j]) * fut_unit
            traded += abs(targets[j] - slot_n[j])
            slot_n[j] = targets[j]
    call_cost = 0.0
    if pos.contract >= 0 and call_target != pos.contracts:
        change = abs(call_target - pos.contracts)
        call_cost = change * call_unit
        traded += change * legs
        pos = CallPosition(pos.contract, pos.strike, pos.opened, call_target, pos.value, pos.delta)
    return fut_cost, call_cost, traded, cut, pos


@numba.njit(cache=True, error_model="numpy", inline="always")
def ruin(slot_n: F64) -> CallPosition:
    """7. Equity reached zero: everything is closed at this close."""
    slot_n[:] = 0.0
    return _no_calls()


@numba.njit(cache=True, error_model="numpy", inline="always")
def ewma_moments(
    moments: tuple[float, float, float, float, float], alpha: float, y: float, x: float
) -> tuple[float, float, float, float, float]:
    """8. The EWMA controller's moments (book, SPX, book^2, SPX^2, book x SPX) after a
    session's returns ``y`` (book) and ``x`` (SPX)."""
    b, s, bb, ss, bs = moments
    return (
        b + alpha * (y - b),
        s + alpha * (x - s),
        bb + alpha * (y * y - bb),
        ss + alpha * (x * x - ss),
        bs + alpha * (y * x - bs),
    )


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _simulate(  # noqa: PLR0912, PLR0915, PLR0917 (the day loop; inputs, then outputs)
    params: NDArray[np.void],
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
    """Each configuration's day loop (one per core), step by step as the reference
    simulator's. Inputs come in records and named tuples; every output is a plain array
    argument (``series``: :data:`SERIES` x configurations x sessions when kept;
    ``totals``: costs and contracts traded; ``counts``: liquidity cuts and ruin day;
    ``acc_out``, ``blocks_out``, ``hash_out``: the metrics'). ``rules``: the FOMC rule
    and the controller's R-squared window."""
    fomc_rule, window = rules
    table, metric_window = metrics.table, metrics.window
    days = market.spx_return.shape[0]
    for k in numba.prange(params.shape[0]):
        q = params[k]
        row = calls.row[k]
        every_session = q.controller > 0 and q.controller_halflife > 0  # the EWMA controller
        alpha = 1.0 - 0.5 ** (1.0 / q.controller_halflife) if every_session else 0.0
        moments = (0.0, 0.0, 0.0, 0.0, 0.0)
        fut_unit = q.vx_commission + q.vx_half_spread * VX_MULTIPLIER
        h = q.hedge_ratio
        if q.controller > 0:
            h = min(max(h, q.h_min), q.h_max)
        equity = q.initial_equity
        live = 1.0
        shift = 0
        pending = False
        fut_vega = 0.0
        call_vega = 0.0
        pos = _no_calls()
        # state and scratch arrays, allocated once per configuration (never aliased:
        # numba may hoist allocations out of loops)
        slot_c = np.full(3, -1, dtype=np.int64)
        slot_n = np.zeros(3)
        targets = np.zeros(3)
        scratch = (np.empty(9, dtype=np.int64), np.zeros(3))
        ring = np.zeros(window)
        spx_ring = np.zeros(window)
        filled = 0
        acc = acc_out[k]
        blocks = blocks_out[k]
        start(acc, q.initial_equity)
        metric_ring = np.empty(metric_window)
        digest = HASH_SEED
        cuts = 0
        traded = 0.0
        costs = 0.0
        for i in range(days):
            previous = equity
            # 1. P&L of yesterday's positions
            condor = live * market.condor_pnl[i]
            eq_pnl = equity_carry(i, q, market, live, previous)
            fut_pnl = futures_carry(i, market, slot_c, slot_n)
            call_pnl, pos = calls_carry(i, q, market, calls, row, pos)
            pre = previous + eq_pnl + fut_pnl + call_pnl + condor
            # 2. schedule
            blocked, pending, rehedge = schedule(i, market, fomc_rule, pending, every_session)
            # 3. re-hedge decisions
            if rehedge:
                if filled >= window and q.controller > 0:  # else h stays
                    if every_session:
                        r2 = _ewma_r_squared(*moments)
                    else:
                        r2 = _r_squared(ring, spx_ring, filled % window)
                    h = controller_step(q, h, r2)
                shift, fut_vega, call_vega = hedge_sizing(i, q, market, h, pre, live)
            # 4. futures: the ladder rolls, then its targets on a re-hedge
            fut_cost = 0.0
            if not blocked:
                fut_cost, traded = ladder_roll(
                    i, market, shift, slot_c, slot_n, scratch, (fut_cost, traded), fut_unit
                )
            targets[:] = slot_n
            if rehedge:
                ladder_targets(i, q, market, slot_c, targets, fut_vega)
            # 5. calls: open a series when none is held, resize on re-hedges
            pos, call_target, sized = calls_sizing(
                i, q, market, calls, row, pos, call_vega, (blocked, rehedge)
            )
            # 6. liquidity reserve, then the trades to the targets
            call_cost = 0.0
            if sized or rehedge:
                fut_cost, call_cost, traded, cut, pos = reserve(
                    i, q, market, (pre, live), slot_c, slot_n, targets, pos, call_target,
                    (fut_cost, traded),
                )  # fmt: skip
                cuts += 1 if cut else 0
            equity = pre - fut_cost - call_cost
            # 7. ruin
            if live > 0 and equity <= 0:
                live = 0.0
                counts[k, 1] = i
                pos = ruin(slot_n)
                fut_vega = 0.0
                call_vega = 0.0
            # 8. the controller's returns
            if i > 0:
                y = equity / previous - 1.0
                ring[filled % window] = y
                spx_ring[filled % window] = market.spx_return[i]
                filled += 1
                if every_session:
                    moments = ewma_moments(moments, alpha, y, market.spx_return[i])
            costs += fut_cost + call_cost
            fut_net = fut_pnl - fut_cost
            call_net = call_pnl - call_cost
            session = (equity, previous, eq_pnl, fut_net + call_net, condor, fut_net, call_net, h)
            band = (q.band_low, q.band_high)
            ex = observe(acc, metric_ring, blocks, table, i, band, session)[0]
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
