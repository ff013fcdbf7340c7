"""The reference simulator: one configuration, day by day, every position explicit.

It implements the rules in :mod:`transforms.backtest.book` as plainly as possible and
records positions, greeks, P&L by sleeve and every trade. It is the oracle the
vectorised engine is tested against, and it writes the daily rows of single backtests
and of a sweep's top configurations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from transforms.backtest.book import (
    EQUITY_UNIT,
    LADDER_MONTHS,
    OPTION_MULTIPLIER,
    VX_MULTIPLIER,
    Group,
    r_squared,
    term_beta,
)
from transforms.backtest.params import BacktestParams
from transforms.options.vix import base_vol, call_strike, call_value


@dataclass
class _Slot:
    weight: float
    contract: int = -1
    contracts: float = 0.0


@dataclass
class _Calls:
    contract: int = -1
    strike: float = float("nan")
    contracts: float = 0.0
    value: float = 0.0  # per unit, index points
    delta: float = 0.0

    @property
    def held(self) -> bool:
        return self.contract >= 0


@dataclass
class _Log:
    days: list[dict[str, object]] = field(default_factory=list)
    trades: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    daily: pl.DataFrame  # one row per session
    trades: pl.DataFrame  # every futures/call trade and condor event


def _spread(
    *, calls: _Calls, forward: float, t: float, rate: float, base: float, p: BacktestParams
) -> tuple[float, float]:
    """(value, delta) per unit: the call, less the short call of a debit spread."""
    spread = float(p.call_spread_width > 0)
    strikes = np.array([calls.strike, calls.strike + p.call_spread_width])
    price, delta = call_value(
        strike=strikes, forward=forward, t=t, rate=rate, base=base, skew=p.vix_call_skew
    )
    return float(price[0] - spread * price[1]), float(delta[0] - spread * delta[1])


def run_reference(group: Group, p: BacktestParams) -> Result:  # noqa: PLR0912, PLR0915 (the day loop, step by step, is the point)
    m, cp = group.market, group.condor
    names = m.contracts
    equity = p.initial_equity
    h = min(max(p.hedge_ratio, p.h_min), p.h_max) if p.controller else p.hedge_ratio
    shift = 0
    slots = [_Slot(w) for w in p.ladder]
    calls = _Calls()
    fut_vega = call_vega = 0.0
    pending = False
    book_ret: list[float] = []
    spx_ret: list[float] = []
    every_session = p.controller and p.controller_halflife > 0  # the EWMA controller
    alpha = 1.0 - 0.5 ** (1.0 / p.controller_halflife) if every_session else 0.0
    moments = [0.0] * 5  # exponentially weighted: book, SPX, book^2, SPX^2, book x SPX
    log = _Log()
    legs = 2 if p.call_spread_width > 0 else 1
    fut_unit_cost = p.vx_commission + p.vx_half_spread * VX_MULTIPLIER
    call_unit_cost = legs * (p.call_commission + p.call_half_spread * OPTION_MULTIPLIER)

    def trade(  # noqa: PLR0917 (a row constructor, columns in order)
        i: int,
        sleeve: str,
        action: str,
        instrument: str,
        qty: float,
        price: float,
        cost: float,
        note: str = "",
    ) -> None:
        log.trades.append(
            {
                "day": i,
                "sleeve": sleeve,
                "action": action,
                "instrument": instrument,
                "quantity": qty,
                "price": price,
                "cost": cost,
                "note": note,
            }
        )

    live = 1.0  # 0 once equity has reached zero: the book is flat from then on
    last_day = m.days - 1  # the last session the book trades: its ruin, if it is ruined
    for i in range(m.days):
        today = m.dates[i].item()
        previous = equity
        # 1. P&L of yesterday's positions
        eq_pnl = fut_pnl = call_pnl = 0.0
        condor_pnl = live * float(cp.pnl[i])
        condor_costs = live * float(cp.costs[i])
        if i > 0:
            eq_pnl = live * p.equity_weight * previous * (group.spx_return[i] + group.dividend[i])
            for s in slots:
                if s.contract >= 0 and s.contracts != 0:
                    change = m.settle[i, s.contract] - m.settle[i - 1, s.contract]
                    fut_pnl += (
                        s.contracts * (change if np.isfinite(change) else 0.0) * VX_MULTIPLIER
                    )
        settled = False
        if calls.held:
            c = calls.contract
            if m.expiry_pos[c] == i:
                final = float(m.final[c])
                spread = float(p.call_spread_width > 0)
                short = calls.strike + p.call_spread_width
                value = max(final - calls.strike, 0.0) - spread * max(final - short, 0.0)
                settled = True
            else:
                t = (m.expiry[c].item() - today).days / 365.0
                value, calls.delta = _spread(
                    calls=calls,
                    forward=float(m.settle[i, c]),
                    t=t,
                    rate=float(m.rate[i]),
                    base=float(base_vol(float(m.vvix[i]), vol_of_vol=p.vol_of_vol)),
                    p=p,
                )
            call_pnl = calls.contracts * (value - calls.value) * OPTION_MULTIPLIER
            calls.value = value
            if settled:
                trade(
                    i,
                    "calls",
                    "settle",
                    names[c],
                    -calls.contracts,
                    value,
                    0.0,
                    f"final settlement {final:g}",
                )
                calls = _Calls()
        pre = previous + eq_pnl + fut_pnl + call_pnl + condor_pnl
        fut_cost = call_cost = 0.0
        cut = False
        # 2. schedule
        blocked = p.fomc_rule and bool(m.fomc[i])
        due = bool(m.week_start[i]) or pending or every_session
        pending = due and blocked
        rehedge = due and not blocked
        r2 = float("nan")
        # 3. re-hedge decisions
        if rehedge:
            if len(book_ret) >= p.r2_window:
                if every_session:  # R-squared of the exponentially weighted moments
                    b, s_, bb, ss, bs = moments
                    r2 = (bs - b * s_) ** 2 / ((bb - b * b) * (ss - s_ * s_))
                else:  # the rolling window's
                    r2 = float(
                        r_squared(
                            np.array(book_ret[-p.r2_window :]), np.array(spx_ret[-p.r2_window :])
                        )
                    )
                if p.controller and r2 > p.band_high:
                    h = min(h + p.h_step, p.h_max)
                elif p.controller and r2 < p.band_low:
                    h = max(h - p.h_step, p.h_min)
            contango = float(m.contango_pct[i])
            shift = 1 if p.contango_guard_pct > 0 and contango > p.contango_guard_pct else 0
            scale = 1.0 + p.breadth_scale * float(m.breadth[i])
            call_scale = (1.0 + p.rsi_extra_calls * float(m.vix_rsi[i] < p.rsi_threshold)) * (
                1.0 + p.cpi_call_scale * float(abs(m.cpi_z[i]) > p.cpi_z_threshold)
            )
            if p.hedge_on_equity:  # a VX ladder sized to the portfolio
                basis = pre / EQUITY_UNIT * VX_MULTIPLIER
            else:  # sized to the condor
                basis = abs(float(cp.vega[i]))
            vega = live * h * basis * scale
            fut_vega = vega * p.futures_share
            call_vega = vega * (1.0 - p.futures_share) * call_scale
        # 4. futures: a contract that stays in the ladder's months keeps its position (it
        # ages from month 4 to 3 to 2); one that leaves them is rolled into the month that
        # joined, contract for contract.
        if not blocked:
            wanted = [int(group.ladder[i, LADDER_MONTHS[j] + shift]) for j in range(3)]
            held = [(s.contract, s.contracts) for s in slots]
            kept = {c: q for c, q in held if c >= 0 and c in wanted}
            leaving = [(c, q) for c, q in held if c >= 0 and c not in wanted]
            for j, s in enumerate(slots):
                want = wanted[j]
                if want >= 0 and want in kept:
                    s.contract, s.contracts = want, kept.pop(want)
                    continue
                s.contract, s.contracts = want, 0.0
                if not leaving:
                    continue
                old, qty = leaving.pop(0)
                if qty == 0:
                    continue
                ok = want >= 0 and bool(np.isfinite(m.settle[i, want]))
                new = names[want] if want >= 0 else "-"
                cost = abs(qty) * fut_unit_cost
                trade(
                    i,
                    "futures",
                    "roll_out",
                    names[old],
                    -qty,
                    float(m.settle[i, old]),
                    cost,
                    f"to {new}",
                )
                fut_cost += cost
                if ok:
                    trade(
                        i,
                        "futures",
                        "roll_in",
                        new,
                        qty,
                        float(m.settle[i, want]),
                        cost,
                        f"from {names[old]}",
                    )
                    fut_cost += cost
                    s.contracts = qty
            for old, qty in leaving:  # no month left to roll into: closed
                if qty != 0:
                    cost = abs(qty) * fut_unit_cost
                    trade(
                        i,
                        "futures",
                        "close",
                        names[old],
                        -qty,
                        float(m.settle[i, old]),
                        cost,
                        "no month to roll into",
                    )
                    fut_cost += cost
        sizing = rehedge
        targets = [s.contracts for s in slots]
        if rehedge:
            for j, s in enumerate(slots):
                beta = (
                    float(term_beta(m, i, np.array([s.contract]))[0]) if s.contract >= 0 else np.nan
                )
                ok = s.contract >= 0 and np.isfinite(m.settle[i, s.contract]) and np.isfinite(beta)
                targets[j] = s.weight * fut_vega / (beta * VX_MULTIPLIER) if ok else 0.0
        # 5. calls: open a series when none is held, resize on re-hedges
        call_target = calls.contracts
        opening = not calls.held and not blocked and call_vega > 0 and m.chain[i, 0] >= 0
        if opening or (rehedge and calls.held):
            c = int(m.chain[i, 0]) if opening else calls.contract
            forward = float(m.settle[i, c])
            t = (m.expiry[c].item() - today).days / 365.0
            base = float(base_vol(float(m.vvix[i]), vol_of_vol=p.vol_of_vol))
            if opening:
                strike = float(
                    call_strike(
                        forward=forward,
                        t=t,
                        rate=float(m.rate[i]),
                        base=base,
                        skew=p.vix_call_skew,
                        target_delta=p.call_delta,
                        otm_points=p.call_otm_points,
                    )[0]
                )
                calls = _Calls(contract=c, strike=strike)
                calls.value, calls.delta = _spread(
                    calls=calls, forward=forward, t=t, rate=float(m.rate[i]), base=base, p=p
                )
            beta = float(term_beta(m, i, np.array([c]))[0])
            call_target = call_vega / (
                max(calls.delta, p.call_delta_floor) * beta * OPTION_MULTIPLIER
            )
            sizing = True
        # 6. liquidity reserve
        if sizing:
            commit = (
                p.vx_margin * sum(abs(x) for x in targets)
                + call_target * calls.value * OPTION_MULTIPLIER
            )
            room = pre * (1.0 - p.reserve) - p.reserve_counts_margin * live * float(cp.margin[i])
            if commit > room and commit > 0:
                factor = max(room, 0.0) / commit
                trade(
                    i,
                    "second_engine",
                    "cut",
                    "-",
                    factor,
                    commit,
                    0.0,
                    f"hedge needs {commit:,.0f}, reserve leaves {room:,.0f}",
                )
                targets = [x * factor for x in targets]
                call_target *= factor
                cut = True
            for s, target in zip(slots, targets, strict=True):
                if target != s.contracts and s.contract >= 0:
                    cost = abs(target - s.contracts) * fut_unit_cost
                    trade(
                        i,
                        "futures",
                        "resize",
                        names[s.contract],
                        target - s.contracts,
                        float(m.settle[i, s.contract]),
                        cost,
                        f"re-hedge at h {h:.2f}" if rehedge else "resized with the calls",
                    )
                    fut_cost += cost
                    s.contracts = target
            if calls.held and call_target != calls.contracts:
                cost = abs(call_target - calls.contracts) * call_unit_cost
                label = f"{names[calls.contract]} C{calls.strike:g}"
                if p.call_spread_width > 0:
                    label += f"/{calls.strike + p.call_spread_width:g}"
                trade(
                    i,
                    "calls",
                    "open" if opening else "resize",
                    label,
                    call_target - calls.contracts,
                    calls.value,
                    cost,
                    "a new series: none held" if opening else f"re-hedge at h {h:.2f}",
                )
                call_cost += cost
                calls.contracts = call_target
        equity = pre - fut_cost - call_cost
        if live and equity <= 0:  # ruin: everything is closed at this close
            live, last_day = 0.0, i
            for s in slots:
                if s.contracts != 0:
                    trade(
                        i,
                        "futures",
                        "ruin",
                        names[s.contract],
                        -s.contracts,
                        float(m.settle[i, s.contract]),
                        0.0,
                        "equity reached zero: closed at the settle",
                    )
                s.contracts = 0.0
            if calls.held and calls.contracts != 0:
                trade(
                    i,
                    "calls",
                    "ruin",
                    names[calls.contract],
                    -calls.contracts,
                    calls.value,
                    0.0,
                    "equity reached zero: closed at the mark",
                )
            calls = _Calls()
            fut_vega = call_vega = 0.0
        if i > 0:
            book_ret.append(equity / previous - 1.0)
            spx_ret.append(float(group.spx_return[i]))
            if every_session:
                y, x = book_ret[-1], spx_ret[-1]
                for j, v in enumerate((y, x, y * y, x * x, y * x)):
                    moments[j] += alpha * (v - moments[j])
        hedge_vega = sum(
            s.contracts * float(term_beta(m, i, np.array([s.contract]))[0]) * VX_MULTIPLIER
            for s in slots
            if s.contract >= 0 and s.contracts != 0
        )
        if calls.held:
            hedge_vega += (
                calls.contracts
                * calls.delta
                * float(term_beta(m, i, np.array([calls.contract]))[0])
                * OPTION_MULTIPLIER
            )
        log.days.append(
            {
                "day": i,
                "date": today,
                "equity": equity,
                "pnl_equity": eq_pnl,
                "pnl_condor": condor_pnl,
                "pnl_futures": fut_pnl - fut_cost,
                "pnl_calls": call_pnl - call_cost,
                "pnl_total": equity - previous,
                "costs": condor_costs + fut_cost + call_cost,
                "hedge_ratio": h,
                "ladder_shift": shift,
                "futures_m2": slots[0].contracts,
                "futures_m3": slots[1].contracts,
                "futures_m4": slots[2].contracts,
                "calls": calls.contracts,
                "call_strike": calls.strike if calls.held else None,
                "condor_open": int(live * cp.open_count[i]),
                "condor_margin": live * float(cp.margin[i]),
                "delta": live * (float(cp.delta[i]) + p.equity_weight * equity / float(m.spx[i])),
                "gamma": live * float(cp.gamma[i]),
                "condor_vega": live * float(cp.vega[i]),
                "hedge_vega": hedge_vega,
                "theta": live * float(cp.theta[i]),
                "controller_r2": r2,
                "breadth_divergence": bool(m.breadth[i]),
                "vix_rsi_low": bool(m.vix_rsi[i] < p.rsi_threshold),
                "cpi_ppi_divergence": bool(abs(m.cpi_z[i]) > p.cpi_z_threshold),
                "fomc_day": bool(m.fomc[i]),
                "rehedge": rehedge,
                "liquidity_cut": cut,
            }
        )
    for ct in cp.trades:
        if ct.day > last_day:  # a ruined book trades no more
            continue
        k = ct.strikes
        label = f"SPX IC {ct.expiry} {k[1]:g}/{k[0]:g}/{k[2]:g}/{k[3]:g}"
        qty = -ct.lots if ct.action == "open" else ct.lots
        trade(ct.day, "condor", ct.action, label, qty, ct.price, ct.cost, ct.reason)
    daily = pl.DataFrame(log.days, infer_schema_length=None)
    trades = pl.DataFrame(log.trades, schema=_TRADE_SCHEMA).sort("day", maintain_order=True)
    return Result(daily=daily, trades=trades)


_TRADE_SCHEMA = {
    "day": pl.Int64,
    "sleeve": pl.String,
    "action": pl.String,
    "instrument": pl.String,
    "quantity": pl.Float64,
    "price": pl.Float64,
    "cost": pl.Float64,
    "note": pl.String,
}
