"""The reference simulator: one configuration, day by day, every position explicit.

It implements the rules in :mod:`transforms.backtest.book` as plainly as possible and
records positions, greeks, P&L by sleeve and every trade. It is the oracle the
vectorised engine is tested against, and it writes the daily rows of single backtests
and of a sweep's top configurations.

The day is a sequence of named steps, the methods of :class:`_Book`; the compiled
kernel (:mod:`transforms.backtest.vectorised`) has a function of each name, called in
the same order, so the two read side by side. They share only pure pricing (the VIX
call formulas), never a rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from transforms.backtest.book import (
    EQUITY_UNIT,
    F64,
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
    opened: int = -1  # the session the series was opened
    marks: tuple[F64, F64] = field(default_factory=lambda: (np.empty(0), np.empty(0)))
    # the series' value and delta per unit, each session from the one it was opened

    @property
    def held(self) -> bool:
        return self.contract >= 0


@dataclass(frozen=True)
class Result:
    daily: pl.DataFrame  # one row per session
    trades: pl.DataFrame  # every futures/call trade and condor event


@dataclass
class _Book:
    """One configuration's book: its positions, hedge state and log, and the day's steps."""

    group: Group
    p: BacktestParams
    equity: float
    h: float
    slots: list[_Slot]
    calls: _Calls = field(default_factory=_Calls)
    live: float = 1.0  # 0 once equity has reached zero: the book is flat from then on
    shift: int = 0
    pending: bool = False
    fut_vega: float = 0.0
    call_vega: float = 0.0
    trades: list[dict[str, object]] = field(default_factory=list)

    @property
    def fut_unit(self) -> float:
        return self.p.vx_commission + self.p.vx_half_spread * VX_MULTIPLIER

    @property
    def call_legs(self) -> int:
        return 2 if self.p.call_spread_width > 0 else 1

    def trade(  # noqa: PLR0917 (a row constructor, columns in order)
        self,
        i: int,
        sleeve: str,
        action: str,
        instrument: str,
        qty: float,
        price: float,
        cost: float,
        note: str = "",
    ) -> None:
        self.trades.append(
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

    def _marks(self, i: int, c: int, strike: float) -> tuple[F64, F64]:
        """(value, delta) per unit of a series opened at session ``i`` on contract ``c``
        with ``strike``, each session from ``i`` to its expiry (or the run's end): the
        call, less the short call of a debit spread."""
        m, p = self.group.market, self.p
        end = int(m.expiry_pos[c]) if m.expiry_pos[c] >= 0 else m.days
        days = np.arange(i, end)
        t = (m.expiry[c] - m.dates[days]).astype("timedelta64[D]").astype(np.int64) / 365.0
        spread = float(p.call_spread_width > 0)
        price, delta = call_value(
            strike=np.array([strike, strike + p.call_spread_width])[None, :],
            forward=m.settle[days, c][:, None],
            t=t[:, None],
            rate=m.rate[days][:, None],
            base=base_vol(m.vvix[days], vol_of_vol=p.vol_of_vol)[:, None],
            skew=p.vix_call_skew,
        )
        return price[:, 0] - spread * price[:, 1], delta[:, 0] - spread * delta[:, 1]

    def _mark(self, i: int) -> tuple[float, float]:
        """(value, delta) per unit of the calls held at session ``i``."""
        calls = self.calls
        value, delta = calls.marks
        return float(value[i - calls.opened]), float(delta[i - calls.opened])

    # 1. P&L of yesterday's positions

    def equity_carry(self, i: int, previous: float) -> float:
        if i == 0:
            return 0.0
        g = self.group
        return float(
            self.live * self.p.equity_weight * previous * (g.spx_return[i] + g.dividend[i])
        )

    def futures_carry(self, i: int) -> float:
        m, pnl = self.group.market, 0.0
        if i == 0:
            return pnl
        for s in self.slots:
            if s.contract >= 0 and s.contracts != 0:
                change = m.settle[i, s.contract] - m.settle[i - 1, s.contract]
                pnl += s.contracts * (change if np.isfinite(change) else 0.0) * VX_MULTIPLIER
        return pnl

    def calls_carry(self, i: int) -> float:
        """The calls held: settled at their expiry (the position closes), else marked."""
        m, p, calls = self.group.market, self.p, self.calls
        if not calls.held:
            return 0.0
        c = calls.contract
        if m.expiry_pos[c] == i:
            final = float(m.final[c])
            spread = float(p.call_spread_width > 0)
            short = calls.strike + p.call_spread_width
            value = max(final - calls.strike, 0.0) - spread * max(final - short, 0.0)
            pnl = calls.contracts * (value - calls.value) * OPTION_MULTIPLIER
            self.trade(
                i, "calls", "settle", m.contracts[c], -calls.contracts, value, 0.0,
                f"final settlement {final:g}",
            )  # fmt: skip
            self.calls = _Calls()
            return pnl
        value, calls.delta = self._mark(i)
        pnl = calls.contracts * (value - calls.value) * OPTION_MULTIPLIER
        calls.value = value
        return pnl

    # 2. schedule

    def schedule(self, i: int, every_session: bool) -> tuple[bool, bool]:
        """(blocked, re-hedge): a re-hedge is due each week's first session (each session
        under the EWMA controller) and waits out an FOMC-blocked session."""
        m = self.group.market
        blocked = self.p.fomc_rule and bool(m.fomc[i])
        due = bool(m.week_start[i]) or self.pending or every_session
        self.pending = due and blocked
        return blocked, due and not blocked

    # 3. re-hedge decisions

    def controller_step(self, r2: float) -> None:
        p = self.p
        if p.controller and r2 > p.band_high:
            self.h = min(self.h + p.h_step, p.h_max)
        elif p.controller and r2 < p.band_low:
            self.h = max(self.h - p.h_step, p.h_min)

    def hedge_sizing(self, i: int, pre: float) -> None:
        m, p = self.group.market, self.p
        contango = float(m.contango_pct[i])
        self.shift = 1 if p.contango_guard_pct > 0 and contango > p.contango_guard_pct else 0
        scale = 1.0 + p.breadth_scale * float(m.breadth[i])
        call_scale = (1.0 + p.rsi_extra_calls * float(m.vix_rsi[i] < p.rsi_threshold)) * (
            1.0 + p.cpi_call_scale * float(abs(m.cpi_z[i]) > p.cpi_z_threshold)
        )
        if p.hedge_on_equity:  # a VX ladder sized to the portfolio
            basis = pre / EQUITY_UNIT * VX_MULTIPLIER
        else:  # sized to the condor
            basis = abs(float(self.group.condor.vega[i]))
        vega = self.live * self.h * basis * scale
        self.fut_vega = vega * p.futures_share
        self.call_vega = vega * (1.0 - p.futures_share) * call_scale

    # 4. futures

    def ladder_roll(self, i: int) -> float:
        """The cost of the roll: a contract that stays in the ladder's months keeps its
        position (it ages from month 4 to 3 to 2); one that leaves them is rolled into
        the month that joined, contract for contract, or closed when none did."""
        m, names, cost_paid = self.group.market, self.group.market.contracts, 0.0
        wanted = [int(self.group.ladder[i, LADDER_MONTHS[j] + self.shift]) for j in range(3)]
        held = [(s.contract, s.contracts) for s in self.slots]
        kept = {c: q for c, q in held if c >= 0 and c in wanted}
        leaving = [(c, q) for c, q in held if c >= 0 and c not in wanted]
        for j, s in enumerate(self.slots):
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
            cost = abs(qty) * self.fut_unit
            self.trade(
                i, "futures", "roll_out", names[old], -qty, float(m.settle[i, old]), cost,
                f"to {new}",
            )  # fmt: skip
            cost_paid += cost
            if ok:
                self.trade(
                    i, "futures", "roll_in", new, qty, float(m.settle[i, want]), cost,
                    f"from {names[old]}",
                )  # fmt: skip
                cost_paid += cost
                s.contracts = qty
        for old, qty in leaving:  # no month left to roll into: closed
            if qty != 0:
                cost = abs(qty) * self.fut_unit
                self.trade(
                    i, "futures", "close", names[old], -qty, float(m.settle[i, old]), cost,
                    "no month to roll into",
                )  # fmt: skip
                cost_paid += cost
        return cost_paid

    def ladder_targets(self, i: int) -> list[float]:
        """Each month's contracts: its weight of the futures vega over its term beta."""
        m, targets = self.group.market, []
        for s in self.slots:
            beta = term_beta(m, i, s.contract)
            ok = s.contract >= 0 and np.isfinite(m.settle[i, s.contract]) and np.isfinite(beta)
            targets.append(s.weight * self.fut_vega / (beta * VX_MULTIPLIER) if ok else 0.0)
        return targets

    # 5. calls

    def calls_sizing(self, i: int, blocked: bool, rehedge: bool) -> tuple[float, bool, bool]:
        """(target contracts, sized, opening): a front-month series opens when none is
        held; the calls are sized on re-hedges and opens."""
        m, p = self.group.market, self.p
        opening = not self.calls.held and not blocked and self.call_vega > 0 and m.chain[i, 0] >= 0
        if not (opening or (rehedge and self.calls.held)):
            return self.calls.contracts, False, False
        c = int(m.chain[i, 0]) if opening else self.calls.contract
        if opening:
            strike = call_strike(
                forward=float(m.settle[i, c]),
                t=(m.expiry[c].item() - m.dates[i].item()).days / 365.0,
                rate=float(m.rate[i]),
                base=float(base_vol(float(m.vvix[i]), vol_of_vol=p.vol_of_vol)),
                skew=p.vix_call_skew,
                target_delta=p.call_delta,
                otm_points=p.call_otm_points,
            )[0]
            marks = self._marks(i, c, float(strike))
            self.calls = _Calls(contract=c, strike=float(strike), opened=i, marks=marks)
            self.calls.value, self.calls.delta = self._mark(i)
        beta = term_beta(m, i, c)
        delta = max(self.calls.delta, p.call_delta_floor)
        return self.call_vega / (delta * beta * OPTION_MULTIPLIER), True, opening

    # 6. liquidity reserve, then the trades to the targets

    def reserve(  # noqa: PLR0917 (the day's decisions, in order)
        self,
        i: int,
        pre: float,
        targets: list[float],
        call_target: float,
        why: tuple[bool, bool],
        paid: float,
    ) -> tuple[float, float, bool]:
        """(futures cost, calls cost, cut), the futures' after ``paid`` today.
        ``why``: (re-hedge, opening)."""
        m, p, names, calls = self.group.market, self.p, self.group.market.contracts, self.calls
        rehedge, opening = why
        commit = (
            p.vx_margin * sum(abs(x) for x in targets)
            + call_target * calls.value * OPTION_MULTIPLIER
        )
        margin = p.reserve_counts_margin * self.live * float(self.group.condor.margin[i])
        room = pre * (1.0 - p.reserve) - margin
        cut = bool(commit > room and commit > 0)
        if cut:
            factor = max(room, 0.0) / commit
            self.trade(
                i, "second_engine", "cut", "-", factor, commit, 0.0,
                f"hedge needs {commit:,.0f}, reserve leaves {room:,.0f}",
            )  # fmt: skip
            targets = [x * factor for x in targets]
            call_target *= factor
        fut_cost, call_cost = paid, 0.0
        for s, target in zip(self.slots, targets, strict=True):
            if target != s.contracts and s.contract >= 0:
                cost = abs(target - s.contracts) * self.fut_unit
                self.trade(
                    i, "futures", "resize", names[s.contract], target - s.contracts,
                    float(m.settle[i, s.contract]), cost,
                    f"re-hedge at h {self.h:.2f}" if rehedge else "resized with the calls",
                )  # fmt: skip
                fut_cost += cost
                s.contracts = target
        if calls.held and call_target != calls.contracts:
            unit = self.call_legs * (p.call_commission + p.call_half_spread * OPTION_MULTIPLIER)
            cost = abs(call_target - calls.contracts) * unit
            label = f"{names[calls.contract]} C{calls.strike:g}"
            if p.call_spread_width > 0:
                label += f"/{calls.strike + p.call_spread_width:g}"
            self.trade(
                i, "calls", "open" if opening else "resize", label, call_target - calls.contracts,
                calls.value, cost,
                "a new series: none held" if opening else f"re-hedge at h {self.h:.2f}",
            )  # fmt: skip
            call_cost += cost
            calls.contracts = call_target
        return fut_cost, call_cost, cut

    # 7. ruin

    def ruin(self, i: int) -> None:
        """Equity reached zero: everything is closed at this close."""
        m, names = self.group.market, self.group.market.contracts
        self.live = 0.0
        for s in self.slots:
            if s.contracts != 0:
                self.trade(
                    i, "futures", "ruin", names[s.contract], -s.contracts,
                    float(m.settle[i, s.contract]), 0.0,
                    "equity reached zero: closed at the settle",
                )  # fmt: skip
            s.contracts = 0.0
        if self.calls.held and self.calls.contracts != 0:
            self.trade(
                i, "calls", "ruin", names[self.calls.contract], -self.calls.contracts,
                self.calls.value, 0.0, "equity reached zero: closed at the mark",
            )  # fmt: skip
        self.calls = _Calls()
        self.fut_vega = self.call_vega = 0.0

    def hedge_vega(self, i: int) -> float:
        """The hedge's VIX vega held at the close (futures and calls, by term beta)."""
        m = self.group.market
        vega = sum(
            s.contracts * term_beta(m, i, s.contract) * VX_MULTIPLIER
            for s in self.slots
            if s.contract >= 0 and s.contracts != 0
        )
        if self.calls.held:
            beta = term_beta(m, i, self.calls.contract)
            vega += self.calls.contracts * self.calls.delta * beta * OPTION_MULTIPLIER
        return vega


def ewma_moments(moments: list[float], alpha: float, y: float, x: float) -> list[float]:
    """8. The EWMA controller's moments (book, SPX, book^2, SPX^2, book x SPX)."""
    return [
        v + alpha * (new - v) for v, new in zip(moments, (y, x, y * y, x * x, y * x), strict=True)
    ]


def _controller_r2(
    book_ret: list[float], spx_ret: list[float], moments: list[float] | None, p: BacktestParams
) -> float:
    """3. The R-squared the controller steps on: the exponentially weighted moments'
    (``moments``, under the EWMA controller), else the rolling window's."""
    if moments is not None:
        b, s, bb, ss, bs = moments
        return (bs - b * s) ** 2 / ((bb - b * b) * (ss - s * s))
    window = slice(-p.r2_window, None)
    return float(r_squared(np.array(book_ret[window]), np.array(spx_ret[window])))


def run_reference(group: Group, p: BacktestParams) -> Result:
    m, cp = group.market, group.condor
    book = _Book(
        group,
        p,
        equity=p.initial_equity,
        h=min(max(p.hedge_ratio, p.h_min), p.h_max) if p.controller else p.hedge_ratio,
        slots=[_Slot(w) for w in p.ladder],
    )
    book_ret: list[float] = []
    spx_ret: list[float] = []
    every_session = p.controller and p.controller_halflife > 0  # the EWMA controller
    alpha = 1.0 - 0.5 ** (1.0 / p.controller_halflife) if every_session else 0.0
    moments = [0.0] * 5
    days: list[tuple[object, ...]] = []  # the book's state at each close (_DAY)
    last_day = m.days - 1  # the last session the book trades: its ruin, if it is ruined
    for i in range(m.days):
        previous = book.equity
        live = book.live
        # 1. P&L of yesterday's positions
        condor_pnl = live * float(cp.pnl[i])
        eq_pnl = book.equity_carry(i, previous)
        fut_pnl = book.futures_carry(i)
        call_pnl = book.calls_carry(i)
        pre = previous + eq_pnl + fut_pnl + call_pnl + condor_pnl
        # 2. schedule
        blocked, rehedge = book.schedule(i, every_session)
        # 3. re-hedge decisions
        r2 = float("nan")
        if rehedge:
            if len(book_ret) >= p.r2_window:
                r2 = _controller_r2(book_ret, spx_ret, moments if every_session else None, p)
                book.controller_step(r2)
            book.hedge_sizing(i, pre)
        # 4. futures: the ladder rolls, then its targets on a re-hedge
        fut_cost = book.ladder_roll(i) if not blocked else 0.0
        targets = book.ladder_targets(i) if rehedge else [s.contracts for s in book.slots]
        # 5. calls: open a series when none is held, resize on re-hedges
        call_target, sized, opening = book.calls_sizing(i, blocked, rehedge)
        # 6. liquidity reserve, then the trades to the targets
        call_cost, cut = 0.0, False
        if sized or rehedge:
            fut_cost, call_cost, cut = book.reserve(
                i, pre, targets, call_target, (rehedge, opening), fut_cost
            )
        book.equity = equity = pre - fut_cost - call_cost
        # 7. ruin
        if book.live and equity <= 0:
            last_day = i
            book.ruin(i)
        # 8. the controller's returns
        if i > 0:
            book_ret.append(equity / previous - 1.0)
            spx_ret.append(float(group.spx_return[i]))
            if every_session:
                moments = ewma_moments(moments, alpha, book_ret[-1], spx_ret[-1])
        calls, slots = book.calls, book.slots
        days.append(
            (
                previous, equity, live, book.live, eq_pnl, fut_pnl - fut_cost,
                call_pnl - call_cost, fut_cost, call_cost, book.h, book.shift,
                slots[0].contracts, slots[1].contracts, slots[2].contracts, calls.contracts,
                calls.strike if calls.held else None, book.hedge_vega(i), r2, rehedge, cut,
            )
        )  # fmt: skip
    for ct in cp.trades:
        if ct.day > last_day:  # a ruined book trades no more
            continue
        k = ct.strikes
        label = f"SPX IC {ct.expiry} {k[1]:g}/{k[0]:g}/{k[2]:g}/{k[3]:g}"
        qty = -ct.lots if ct.action == "open" else ct.lots
        book.trade(ct.day, "condor", ct.action, label, qty, ct.price, ct.cost, ct.reason)
    daily = _daily(group, p, days)
    trades = pl.DataFrame(book.trades, schema=_TRADE_SCHEMA).sort("day", maintain_order=True)
    return Result(daily=daily, trades=trades)


_DAY = (
    "previous", "equity", "live", "live_at_close", "pnl_equity", "pnl_futures", "pnl_calls",
    "futures_cost", "calls_cost", "hedge_ratio", "ladder_shift", "futures_m2", "futures_m3",
    "futures_m4", "calls", "call_strike", "hedge_vega", "controller_r2", "rehedge",
    "liquidity_cut",
)  # fmt: skip
"""The book's state at a session's close, as :func:`run_reference` keeps it (``live``:
at the open, which the condor's P&L and costs follow; ``live_at_close``: after a ruin,
which its positions and greeks follow)."""


def _daily(group: Group, p: BacktestParams, days: list[tuple[object, ...]]) -> pl.DataFrame:
    """The daily rows: the book's state at each close (:data:`_DAY`), and the condor's
    and the market's columns from their arrays, as the book held them."""
    m, cp = group.market, group.condor
    state = dict(zip(_DAY, zip(*days, strict=True), strict=True))
    col = {k: np.asarray(v) for k, v in state.items() if k != "call_strike"}
    live, held = col["live"], col["live_at_close"]
    equity = col["equity"]
    return pl.DataFrame(
        {
            "day": np.arange(m.days),
            "date": pl.Series(m.dates).cast(pl.Date),
            "equity": equity,
            "pnl_equity": col["pnl_equity"],
            "pnl_condor": live * cp.pnl,
            "pnl_futures": col["pnl_futures"],
            "pnl_calls": col["pnl_calls"],
            "pnl_total": equity - col["previous"],
            "costs": live * cp.costs + col["futures_cost"] + col["calls_cost"],
            "hedge_ratio": col["hedge_ratio"],
            "ladder_shift": col["ladder_shift"].astype(np.int64),
            "futures_m2": col["futures_m2"].astype(np.float64),
            "futures_m3": col["futures_m3"].astype(np.float64),
            "futures_m4": col["futures_m4"].astype(np.float64),
            "calls": col["calls"].astype(np.float64),
            "call_strike": pl.Series(state["call_strike"], dtype=pl.Float64),
            "condor_open": (held * cp.open_count).astype(np.int64),
            "condor_margin": held * cp.margin,
            "delta": held * (cp.delta + p.equity_weight * equity / m.spx),
            "gamma": held * cp.gamma,
            "condor_vega": held * cp.vega,
            "hedge_vega": col["hedge_vega"].astype(np.float64),
            "theta": held * cp.theta,
            "controller_r2": col["controller_r2"],
            "breadth_divergence": m.breadth.astype(bool),
            "vix_rsi_low": m.vix_rsi < p.rsi_threshold,
            "cpi_ppi_divergence": np.abs(m.cpi_z) > p.cpi_z_threshold,
            "fomc_day": m.fomc.astype(bool),
            "rehedge": col["rehedge"].astype(bool),
            "liquidity_cut": col["liquidity_cut"].astype(bool),
        }
    )


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
