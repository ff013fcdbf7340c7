"""The vectorised engine: many configurations of one group at once.

A loop over sessions with numpy arrays across configurations, implementing the rules of
:mod:`transforms.backtest.book` exactly as the reference simulator does (a test holds
the two to 1e-9 on every sleeve's daily P&L). Memory is configurations x sessions for a
handful of daily series per chunk: the caller chunks large grids (``chunk`` in
:func:`run_many`), never configurations x sessions x instruments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from transforms.backtest.book import (
    LADDER_MONTHS,
    OPTION_MULTIPLIER,
    VX_MULTIPLIER,
    Group,
    r_squared,
    term_beta,
)
from transforms.backtest.params import PATH_FIELDS, BacktestParams
from transforms.options.vix import base_vol, call_strike, call_value

F64 = NDArray[np.float64]
Progress = Callable[[int], None]
"""Called with the number of configurations just finished."""


@dataclass(frozen=True)
class Paths:
    """Daily series per configuration (configurations x sessions) and run totals."""

    equity: F64
    pnl_equity: F64
    pnl_condor: F64  # the group's condor path, zero after a ruin
    pnl_futures: F64  # costs included
    pnl_calls: F64  # costs included
    hedge_ratio: F64
    costs: F64  # per configuration, second engine only (the condor's are shared)
    contracts_traded: F64  # futures + option contracts, second engine
    cuts: NDArray[np.int64]  # liquidity-reserve cuts
    ruin_day: NDArray[np.int64]  # session equity reached zero, -1 if never


def _column(configs: Sequence[BacktestParams], name: str) -> F64:
    return np.array([float(getattr(c, name)) for c in configs])


def _check_group(configs: Sequence[BacktestParams]) -> None:
    first = configs[0]
    for c in configs[1:]:
        for name in PATH_FIELDS:
            if getattr(c, name) != getattr(first, name):
                raise ValueError(f"configurations differ in {name}: group them first")


def run_chunk(group: Group, configs: Sequence[BacktestParams]) -> Paths:  # noqa: PLR0912, PLR0915 (mirrors the reference day loop)
    """Simulate ``configs`` (all of ``group``'s path fields) over the whole market."""
    _check_group(configs)
    m, cp = group.market, group.condor
    p0 = configs[0]
    n, days = len(configs), m.days
    col = {
        name: _column(configs, name)
        for name in (
            "initial_equity",
            "equity_weight",
            "hedge_ratio",
            "futures_share",
            "contango_guard_pct",
            "vx_commission",
            "vx_half_spread",
            "vx_margin",
            "call_delta",
            "call_otm_points",
            "call_spread_width",
            "vol_of_vol",
            "vix_call_skew",
            "call_commission",
            "call_half_spread",
            "call_delta_floor",
            "breadth_scale",
            "rsi_threshold",
            "rsi_extra_calls",
            "cpi_z_threshold",
            "cpi_call_scale",
            "controller",
            "band_low",
            "band_high",
            "h_step",
            "h_min",
            "h_max",
            "reserve",
        )
    }
    weights = np.stack([_column(configs, f"ladder_w{k}") for k in (2, 3, 4)], axis=1)
    controller = col["controller"] > 0
    spread = (col["call_spread_width"] > 0).astype(np.float64)
    fut_unit_cost = col["vx_commission"] + col["vx_half_spread"] * VX_MULTIPLIER
    call_unit_cost = (1.0 + spread) * (
        col["call_commission"] + col["call_half_spread"] * OPTION_MULTIPLIER
    )
    months = np.array(LADDER_MONTHS)

    equity = col["initial_equity"].copy()
    h = np.where(
        controller, np.clip(col["hedge_ratio"], col["h_min"], col["h_max"]), col["hedge_ratio"]
    )
    shift = np.zeros(n, dtype=np.int64)
    slot_c = np.full((n, 3), -1, dtype=np.int64)
    slot_n = np.zeros((n, 3))
    held = np.zeros(n, dtype=bool)
    call_c = -1
    strike = np.full(n, np.nan)
    call_n = np.zeros(n)
    value = np.zeros(n)
    delta = np.zeros(n)
    fut_vega = np.zeros(n)
    call_vega = np.zeros(n)
    pending = False
    window = p0.r2_window
    ring = np.zeros((n, window))
    spx_ring = np.zeros(window)
    filled = 0

    out = Paths(
        equity=np.empty((n, days)),
        pnl_equity=np.zeros((n, days)),
        pnl_condor=np.zeros((n, days)),
        pnl_futures=np.zeros((n, days)),
        pnl_calls=np.zeros((n, days)),
        hedge_ratio=np.empty((n, days)),
        costs=np.zeros(n),
        contracts_traded=np.zeros(n),
        cuts=np.zeros(n, dtype=np.int64),
        ruin_day=np.full(n, -1, dtype=np.int64),
    )

    def price(i: int, c: int, k: F64) -> tuple[F64, F64]:
        t = (m.expiry[c] - m.dates[i]).astype(np.int64) / 365.0
        base = base_vol(float(m.vvix[i]), vol_of_vol=col["vol_of_vol"])
        f = float(m.settle[i, c])
        p_long, d_long = call_value(
            strike=k, forward=f, t=t, rate=float(m.rate[i]), base=base, skew=col["vix_call_skew"]
        )
        p_short, d_short = call_value(
            strike=k + col["call_spread_width"],
            forward=f,
            t=t,
            rate=float(m.rate[i]),
            base=base,
            skew=col["vix_call_skew"],
        )
        return p_long - spread * p_short, d_long - spread * d_short

    alive = np.ones(n)  # 0 once a configuration's equity reached zero: flat from then on
    for i in range(days):
        previous = equity
        # 1. P&L of yesterday's positions
        eq_pnl = np.zeros(n)
        fut_pnl = np.zeros(n)
        call_pnl = np.zeros(n)
        if i > 0:
            eq_pnl = (
                alive * col["equity_weight"] * previous * (group.spx_return[i] + group.dividend[i])
            )
            live = (slot_c >= 0) & (slot_n != 0)
            cc = np.maximum(slot_c, 0)
            change = m.settle[i, cc] - m.settle[i - 1, cc]
            change = np.where(live & np.isfinite(change), change, 0.0)
            fut_pnl = (slot_n * change).sum(axis=1) * VX_MULTIPLIER
        if call_c >= 0 and held.any():
            if m.expiry_pos[call_c] == i:
                final = float(m.final[call_c])
                new_value = np.maximum(final - strike, 0.0) - spread * np.maximum(
                    final - strike - col["call_spread_width"], 0.0
                )
                call_pnl = np.where(held, call_n * (new_value - value) * OPTION_MULTIPLIER, 0.0)
                held[:] = False
                call_n[:] = 0.0
                value[:] = 0.0
                call_c = -1
            else:
                new_value, new_delta = price(i, call_c, np.where(held, strike, 1.0))
                call_pnl = np.where(held, call_n * (new_value - value) * OPTION_MULTIPLIER, 0.0)
                value = np.where(held, new_value, 0.0)
                delta = np.where(held, new_delta, 0.0)
        condor_pnl = alive * cp.pnl[i]
        pre = previous + eq_pnl + fut_pnl + call_pnl + condor_pnl
        fut_cost = np.zeros(n)
        call_cost = np.zeros(n)
        # 2. schedule
        blocked = p0.fomc_rule and bool(m.fomc[i])
        due = bool(m.week_start[i]) or pending
        pending = due and blocked
        rehedge = due and not blocked
        # 3. re-hedge decisions
        if rehedge:
            if filled >= window:
                order = (np.arange(window) + filled) % window
                r2 = r_squared(ring[:, order], spx_ring[order])
                up = controller & (r2 > col["band_high"])
                down = controller & (r2 < col["band_low"])
                h = np.where(up, np.minimum(h + col["h_step"], col["h_max"]), h)
                h = np.where(down, np.maximum(h - col["h_step"], col["h_min"]), h)
            contango = float(m.contango_pct[i])
            shift = (
                (col["contango_guard_pct"] > 0) & (contango > col["contango_guard_pct"])
            ).astype(np.int64)
            scale = 1.0 + col["breadth_scale"] * float(m.breadth[i])
            call_scale = (1.0 + col["rsi_extra_calls"] * (m.vix_rsi[i] < col["rsi_threshold"])) * (
                1.0 + col["cpi_call_scale"] * (abs(m.cpi_z[i]) > col["cpi_z_threshold"])
            )
            vega = alive * h * abs(float(cp.vega[i])) * scale
            fut_vega = vega * col["futures_share"]
            call_vega = vega * (1.0 - col["futures_share"]) * call_scale
        # 4. futures: kept contracts keep their position, leaving ones roll into the
        # months that joined (k-th leaving slot into k-th open slot, as the reference)
        if not blocked:
            want = group.ladder[i][months[None, :] + shift[:, None]]
            if (want != slot_c).any():
                held_ok = slot_c >= 0
                match = (want[:, :, None] == slot_c[:, None, :]) & (want[:, :, None] >= 0)
                match &= held_ok[:, None, :]
                kept = match.any(axis=2)
                leaving = held_ok & ~match.any(axis=1)
                open_slot = ~kept
                pair = (
                    leaving[:, None, :]
                    & open_slot[:, :, None]
                    & (
                        (np.cumsum(leaving, axis=1) - 1)[:, None, :]
                        == (np.cumsum(open_slot, axis=1) - 1)[:, :, None]
                    )
                )
                rolled = (pair * slot_n[:, None, :]).sum(axis=2)
                ok = (want >= 0) & np.isfinite(m.settle[i, np.maximum(want, 0)])
                traded = np.where(leaving, np.abs(slot_n), 0.0).sum(axis=1)
                traded += np.where(open_slot & ok, np.abs(rolled), 0.0).sum(axis=1)
                fut_cost += traded * fut_unit_cost
                out.contracts_traded[:] += traded
                slot_n = np.where(
                    kept, (match * slot_n[:, None, :]).sum(axis=2), np.where(ok, rolled, 0.0)
                )
                slot_c = want
        targets = slot_n
        if rehedge:
            beta = np.stack([term_beta(m, i, slot_c[:, j]) for j in range(3)], axis=1)
            ok = (slot_c >= 0) & np.isfinite(m.settle[i, np.maximum(slot_c, 0)]) & np.isfinite(beta)
            with np.errstate(invalid="ignore", divide="ignore"):
                targets = np.where(ok, weights * fut_vega[:, None] / (beta * VX_MULTIPLIER), 0.0)
        # 5. calls
        front = int(m.chain[i, 0])
        opening = ~held & (call_vega > 0) & (front >= 0) & (not blocked)
        resizing = held & rehedge
        call_target = call_n
        if opening.any() or resizing.any():
            c = front if opening.any() else call_c
            if opening.any():
                t = (m.expiry[c] - m.dates[i]).astype(np.int64) / 365.0
                base = base_vol(float(m.vvix[i]), vol_of_vol=col["vol_of_vol"])
                picked = call_strike(
                    forward=float(m.settle[i, c]),
                    t=t,
                    rate=float(m.rate[i]),
                    base=base[opening],
                    skew=col["vix_call_skew"][opening],
                    target_delta=col["call_delta"][opening],
                    otm_points=col["call_otm_points"][opening],
                )
                strike[opening] = picked
                held = held | opening
                call_c = c
                new_value, new_delta = price(i, c, np.where(held, strike, 1.0))
                value = np.where(opening, new_value, value)
                delta = np.where(opening, new_delta, delta)
            beta_c = float(term_beta(m, i, np.array([c]))[0])
            sized = opening | resizing
            target = call_vega / (
                np.maximum(delta, col["call_delta_floor"]) * beta_c * OPTION_MULTIPLIER
            )
            call_target = np.where(sized, target, call_n)
        else:
            sized = np.zeros(n, dtype=bool)
        # 6. liquidity reserve
        sizing = sized | rehedge
        if sizing.any():
            commit = (
                col["vx_margin"] * np.abs(targets).sum(axis=1)
                + call_target * value * OPTION_MULTIPLIER
            )
            room = pre * (1.0 - col["reserve"]) - alive * float(cp.margin[i])
            cut = sizing & (commit > room) & (commit > 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = np.where(cut, np.maximum(room, 0.0) / commit, 1.0)
            out.cuts[:] += cut
            targets = np.where(sizing[:, None], targets * factor[:, None], slot_n)
            call_target = np.where(sizing, call_target * factor, call_n)
            fut_traded = np.where(
                (slot_c >= 0) & sizing[:, None], np.abs(targets - slot_n), 0.0
            ).sum(axis=1)
            call_traded = np.where(held & sizing, np.abs(call_target - call_n), 0.0)
            fut_cost += fut_traded * fut_unit_cost
            call_cost += call_traded * call_unit_cost
            out.contracts_traded[:] += fut_traded + call_traded * (1.0 + spread)
            slot_n = np.where((slot_c >= 0) & sizing[:, None], targets, slot_n)
            call_n = np.where(held & sizing, call_target, call_n)
        equity = pre - fut_cost - call_cost
        ruin = (alive > 0) & (equity <= 0)
        if ruin.any():  # everything is closed at this close
            alive[ruin] = 0.0
            out.ruin_day[ruin] = i
            slot_n[ruin] = 0.0
            call_n[ruin] = 0.0
            held[ruin] = False
            fut_vega[ruin] = 0.0
            call_vega[ruin] = 0.0
        if i > 0:
            slot = filled % window
            ring[:, slot] = equity / previous - 1.0
            spx_ring[slot] = group.spx_return[i]
            filled += 1
        out.equity[:, i] = equity
        out.pnl_equity[:, i] = eq_pnl
        out.pnl_condor[:, i] = condor_pnl
        out.pnl_futures[:, i] = fut_pnl - fut_cost
        out.pnl_calls[:, i] = call_pnl - call_cost
        out.hedge_ratio[:, i] = h
        out.costs[:] += fut_cost + call_cost
    return out


def run_many(
    group: Group,
    configs: Sequence[BacktestParams],
    *,
    chunk: int = 1000,
    consume: Callable[[int, Paths], None],
    progress: Progress | None = None,
) -> None:
    """Run ``configs`` in chunks; ``consume(offset, paths)`` receives each chunk's paths
    (then they are dropped, so memory stays at one chunk)."""
    for lo in range(0, len(configs), chunk):
        part = configs[lo : lo + chunk]
        consume(lo, run_chunk(group, part))
        if progress is not None:
            progress(len(part))
