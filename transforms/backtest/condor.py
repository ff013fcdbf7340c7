"""The core sleeve: short SPX iron condors, simulated day by day (one path per
condor configuration; every second-engine configuration shares it).

Rules (methodology section 2; parameters in :class:`~transforms.backtest.params.BacktestParams`):

* Expiries: SPX standard monthly options, the third Friday (the session before it when
  that Friday is a holiday), AM-settled: settlement = that session's SPX open (the
  published SOQ is not in the data; the open is its closest proxy).
* Entry at the close of each week's first session (the next session when it is an FOMC
  day and ``fomc_rule`` is on), while fewer than ``max_open`` condors are open, into the
  expiry whose calendar DTE is nearest ``target_dte`` among those beyond ``exit_dte``.
  Short put and call at ``short_delta`` (Black-Scholes spot delta under the smile), long
  wings ``wing_width`` points further out, or ``wing_pct`` of spot further out, or at
  ``wing_delta``, whichever is positive; all on the ``strike_grid``. Credit received = mid
  - the four legs' half-spreads.
* Size: ``lots``, or with ``margin_target`` > 0, the whole lots whose margin is nearest
  below that fraction of the condor's capital: the equity the book would have without
  its second engine (initial equity, compounded by the equity sleeve at
  ``equity_weight``, plus the condor sleeve's own P&L). It grows with the account, so
  the condor's weight does not shrink as equity compounds, and the hedge never resizes
  it, so one path serves a group.
* Each close, first trigger wins: profit take (mid <= (1 - profit_take) x credit); stop
  (loss >= ``stop_multiple`` x credit, i.e. mid >= (1 + stop_multiple) x credit); time exit
  (calendar DTE <= ``exit_dte``); none with ``hold_to_expiry``. Closing pays mid + the
  legs' half-spreads. Otherwise the condor cash-settles at expiry at its intrinsic value
  (no spread).
* Costs: ``spx_commission`` per contract per leg on every open and close, and each leg's
  half-spread: the model fitted on four eras of quotes (:mod:`transforms.options.costs`:
  the leg's price and days to expiry, the day's VIX close and the era in force on the
  day) or a flat ``spx_half_spread``, times ``spx_spread_scale`` times ``spx_fill``.
* Attribution: each early close records its ``exit_effect``, what closing gained against
  holding the same condor to its expiry settlement (closing costs included; 0 for
  condors that expire, or whose expiry lies after the run). The sleeve's P&L less the
  exit effects is what the premium earned held to expiry.
* Marks: Black-Scholes with the T-bill rate, ``div_yield`` and the VIX-driven smile
  (:func:`transforms.options.smile.spx_smile_vol`), at each close.
* Margin: max wing width x 100 x lots - credit x 100 x lots (risk of the wider side).

Sign conventions: P&L and greeks are the position's (short the condor), in dollars:
delta per SPX point, gamma per point squared, vega per vol point, theta per day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import NDArray

from transforms.backtest.market import Market
from transforms.backtest.params import BacktestParams
from transforms.options.black import Greeks, black_scholes, strike_for_delta
from transforms.options.costs import SPREAD_MODEL, leg_half_spreads
from transforms.options.smile import spx_smile_vol
from transforms.vx import third_friday

F64 = NDArray[np.float64]
MULTIPLIER = 100.0
LEGS = ("short_put", "long_put", "short_call", "long_call")
_SIGN = np.array([-1.0, 1.0, -1.0, 1.0])  # position per leg, per condor
_IS_CALL = np.array([False, False, True, True])


@dataclass(frozen=True)
class Trade:
    """One condor event: open, close (with its reason) or settle, per condor unit."""

    day: int
    action: str
    reason: str
    expiry: date
    strikes: tuple[float, float, float, float]  # short put, long put, short call, long call
    price: float  # condor mid value per unit (index points); fills differ by the half-spreads
    lots: int
    cost: float  # commissions + half-spreads, dollars (P&L = mid changes - costs)
    credit: float  # what the condor took in per unit at its opening (mid - half-spreads)


@dataclass
class _Open:
    expiry_pos: int
    expiry: date
    strikes: F64
    credit: float
    mark: float
    lots: int
    opened: int = -1  # the session it opened
    life: tuple[int, Greeks] | None = None  # from a session to its expiry: CondorPricer.held


@dataclass(frozen=True)
class CondorPath:
    """Daily arrays for the sleeve (length = sessions) and its trades."""

    pnl: F64  # dollars, costs included
    costs: F64
    delta: F64
    gamma: F64
    vega: F64
    theta: F64
    margin: F64
    open_count: NDArray[np.int64]
    exit_effect: F64  # dollars, on each early close's session
    trades: list[Trade] = field(default_factory=list)
    break_even: tuple[float, float] = (float("nan"), float("nan"))  # of the last open condor


def spx_expiries(market: Market, *, months_after: int = 4) -> list[tuple[date, int]]:
    """(expiry, session index or -1 when after the run) for every monthly expiry.

    Holidays come from the exchange calendar (which runs past the data), so a run cut
    short sees the same expiries as a longer one."""
    first, last = market.dates[0].item(), market.dates[-1].item()
    in_run = {d.item(): i for i, d in enumerate(market.dates)}
    calendar = {d.item() for d in market.calendar}
    calendar_end = market.calendar[-1].item()
    out = []
    y, m = first.year, first.month
    for _ in range((last.year - first.year) * 12 + last.month - first.month + 1 + months_after):
        day = third_friday(y, m)
        while day <= calendar_end and day not in calendar:
            day = date.fromordinal(day.toordinal() - 1)
        if day >= first:
            out.append((day, in_run.get(day, -1)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def settlement(strikes: F64, spot: float) -> float:
    """What the short condor pays at expiry per unit (index points), settled at ``spot``."""
    k = strikes
    return float(
        max(k[0] - spot, 0) - max(k[1] - spot, 0) + max(spot - k[2], 0) - max(spot - k[3], 0)
    )


class CondorPricer:
    """Condor legs under the VIX-driven smile, at a session's close (optionally shocked)."""

    def __init__(self, market: Market, p: BacktestParams) -> None:
        self.m, self.p, self.smile = market, p, p.smile

    def _greeks(
        self, sessions: NDArray[np.int64], strikes: F64, days: F64, shock: tuple[float, float]
    ) -> Greeks:
        """Each leg's greeks (sessions x legs) at the sessions' closes, ``days`` to expiry
        each; ``shock``: SPX moved by a fraction, VIX and VIX3M by points."""
        m, p = self.m, self.p
        spot_move, vix_move = shock
        s, r, t = m.spx[sessions] * (1.0 + spot_move), m.rate[sessions], days / 365.0
        fwd = s * np.exp((r - p.div_yield) * t)
        vix, vix3m = m.vix[sessions] + vix_move, m.vix3m[sessions] + vix_move
        vols = spx_smile_vol(
            strike=strikes[None, :], forward=fwd[:, None], days=days[:, None], vix=vix[:, None],
            vix3m=vix3m[:, None], params=self.smile,
        )  # fmt: skip
        return black_scholes(
            spot=s[:, None], strike=strikes[None, :], t=t[:, None], rate=r[:, None],
            div_yield=p.div_yield, vol=vols, is_call=_IS_CALL,
        )  # fmt: skip

    def legs(
        self, i: int, strikes: F64, days: float, *, spot_move: float = 0.0, vix_move: float = 0.0
    ) -> tuple[F64, ...]:
        """(price, delta, gamma, vega, theta) per leg at session ``i``'s close; with SPX
        moved by ``spot_move`` (a fraction) and VIX and VIX3M by ``vix_move`` points."""
        g = self._greeks(np.array([i]), strikes, np.array([days]), (spot_move, vix_move))
        return g.price[0], g.delta[0], g.gamma[0], g.vega[0], g.theta[0]

    def held(self, i: int, pos: _Open) -> tuple[F64, ...]:
        """As :meth:`legs`, for the condor ``pos`` held at session ``i``: the first
        session it is marked prices it at every close to its expiry (or the run's end)
        in one call."""
        if pos.life is None:
            end = pos.expiry_pos if pos.expiry_pos >= 0 else self.m.days
            sessions = np.arange(i, end)
            days = np.array([_days_between(self.m, int(j), pos.expiry) for j in sessions])
            pos.life = (i, self._greeks(sessions, pos.strikes, days, (0.0, 0.0)))
        first, g = pos.life
        j = i - first
        return g.price[j], g.delta[j], g.gamma[j], g.vega[j], g.theta[j]

    def values(
        self, sessions: NDArray[np.int64], strikes: F64, days: F64, shock: tuple[float, float]
    ) -> F64:
        """What the short condor costs to close at each of ``sessions``, per unit (index
        points, mid), ``days`` to expiry each; ``shock`` as :meth:`_greeks`'."""
        return np.asarray(-(self._greeks(sessions, strikes, days, shock).price @ _SIGN), np.float64)

    def value(
        self, i: int, strikes: F64, days: float, *, spot_move: float = 0.0, vix_move: float = 0.0
    ) -> float:
        """What the short condor costs to close, per unit (index points, mid)."""
        price = self.legs(i, strikes, days, spot_move=spot_move, vix_move=vix_move)[0]
        return float(-(_SIGN @ price))

    def strikes(self, i: int, days: float) -> F64:
        """Condor strikes (short put, long put, short call, long call) for an entry at
        session ``i`` into an expiry ``days`` away: shorts at ``short_delta``, wings
        ``wing_width`` further out or at ``wing_delta`` (at least one grid step out)."""
        p = self.p
        sp, sc = self.strike(i, days, -p.short_delta), self.strike(i, days, p.short_delta)
        if p.wing_delta > 0:
            lp = min(self.strike(i, days, -p.wing_delta), sp - p.strike_grid)
            lc = max(self.strike(i, days, p.wing_delta), sc + p.strike_grid)
        elif p.wing_pct > 0:
            width = max(round(p.wing_pct * float(self.m.spx[i]) / p.strike_grid), 1)
            lp, lc = sp - width * p.strike_grid, sc + width * p.strike_grid
        else:
            lp, lc = sp - p.wing_width, sc + p.wing_width
        return np.array([sp, lp, sc, lc])

    def half_spreads(self, i: int, prices: F64, days: float) -> F64:
        """Half-spread of each leg (points) paid at session ``i``'s close under the run's
        cost parameters: the quoted half-spread times the stress scale times the fill."""
        p, m = self.p, self.m
        return leg_half_spreads(
            prices,
            days,
            model=SPREAD_MODEL if p.spx_spread_model else None,
            flat=p.spx_half_spread,
            scale=p.spx_spread_scale * p.spx_fill,
            vix=float(m.vix[i]),
            day=m.dates[i].astype("datetime64[D]").item(),
        )

    def strike(self, i: int, days: float, target: float) -> float:
        m, p = self.m, self.p
        s, r, t = float(m.spx[i]), float(m.rate[i]), days / 365.0
        growth = float(np.exp((r - p.div_yield) * t))
        vix3m = float(m.vix3m[i])

        def vol_at(k: F64) -> F64:
            return spx_smile_vol(
                strike=k, forward=s * growth, days=days, vix=float(m.vix[i]), vix3m=vix3m,
                params=self.smile,
            )  # fmt: skip

        return strike_for_delta(
            target=target,
            forward=s * growth,
            t=t,
            rate=r,
            vol_at=vol_at,
            growth=growth,
            grid=p.strike_grid,
        )


def _days_between(market: Market, i: int, expiry: date) -> float:
    return float((expiry - market.dates[i].item()).days)


def simulate_condor(market: Market, p: BacktestParams) -> CondorPath:  # noqa: PLR0915 (one day loop, in order)
    """Run the condor sleeve over the market (independent of the second engine)."""
    n = market.days
    out = {
        k: np.zeros(n)
        for k in ("pnl", "costs", "delta", "gamma", "vega", "theta", "margin", "exit_effect")
    }
    count = np.zeros(n, dtype=np.int64)
    trades: list[Trade] = []
    expiries = spx_expiries(market)
    pricer = CondorPricer(market, p)
    book: list[_Open] = []
    pending = False
    capital = p.initial_equity  # the unhedged book's equity, for margin_target sizing
    growth = p.equity_weight * _equity_return(market, p.div_yield)

    def add_greeks(i: int, pos: _Open, greeks: tuple[F64, ...]) -> None:
        units = MULTIPLIER * pos.lots
        for name, g in zip(("delta", "gamma", "vega", "theta"), greeks, strict=True):
            out[name][i] += float(_SIGN @ g) * units
        out["margin"][i] += _margin(pos, units)

    for i in range(n):
        today = market.dates[i].item()
        keep: list[_Open] = []
        for pos in book:
            units = MULTIPLIER * pos.lots
            days = _days_between(market, i, pos.expiry)
            if pos.expiry_pos == i:
                value = settlement(pos.strikes, float(market.spx_open[i]))
                out["pnl"][i] -= (value - pos.mark) * units
                trades.append(_trade(i, "settle", "expiry", pos, value, 0.0))
                continue
            price, delta, gamma, vega, theta = pricer.held(i, pos)
            mark = float(-(_SIGN @ price))  # what the short condor is worth to close
            out["pnl"][i] -= (mark - pos.mark) * units
            pos.mark = mark
            reason = "" if p.hold_to_expiry else _exit_reason(p, pos, mark, days)
            if reason:
                cost = _leg_cost(p, pricer.half_spreads(i, price, days), pos.lots)
                out["pnl"][i] -= cost
                out["costs"][i] += cost
                if pos.expiry_pos >= 0:
                    held = settlement(pos.strikes, float(market.spx_open[pos.expiry_pos]))
                    out["exit_effect"][i] += (held - mark) * units - cost
                trades.append(_trade(i, "close", reason, pos, mark, cost))
                continue
            keep.append(pos)
            add_greeks(i, pos, (delta, gamma, vega, theta))
        book = keep
        capital += capital * growth[i] + out["pnl"][i]
        blocked = p.fomc_rule and bool(market.fomc[i])
        due = bool(market.week_start[i]) or pending
        pending = due and blocked
        if due and not blocked and len(book) < p.max_open:
            entry = _enter(
                market=market, i=i, p=p, pricer=pricer, expiries=expiries, today=today,
                capital=capital,
            )  # fmt: skip
            if entry is not None:
                pos, greeks, cost = entry
                book.append(pos)
                out["pnl"][i] -= cost
                out["costs"][i] += cost
                capital -= cost
                trades.append(_trade(i, "open", "schedule", pos, pos.mark, cost))
                add_greeks(i, pos, greeks[1:])
        count[i] = len(book)
    be = (float("nan"), float("nan"))
    if book:  # the last condor still open, as its opening trade
        last = book[-1]
        be = break_evens(
            next(t for t in reversed(trades) if t.action == "open" and t.day == last.opened)
        )
    return CondorPath(**out, open_count=count, trades=trades, break_even=be)


def break_evens(opened: Trade) -> tuple[float, float]:
    """SPX levels at which the condor ``opened`` breaks even at its expiry (index points):
    the short put less and the short call plus the credit it took in."""
    return (opened.strikes[0] - opened.credit, opened.strikes[2] + opened.credit)


def _equity_return(market: Market, div_yield: float) -> F64:
    """The equity sleeve's return per unit of weight on each session: SPX close to
    close plus the dividend accrual (0 on the first session), as the book earns it."""
    return market.spx_return() + div_yield * market.calendar_days() / 365.0


def _exit_reason(p: BacktestParams, pos: _Open, mark: float, days: float) -> str:
    if mark <= (1 - p.profit_take) * pos.credit:
        return "profit_take"
    if mark - pos.credit >= p.stop_multiple * pos.credit:
        return "stop"
    if days <= p.exit_dte:
        return "time_exit"
    return ""


def _leg_cost(p: BacktestParams, half_spreads: F64, lots: int) -> float:
    """Dollars to open or close ``lots`` condors: commissions and the legs' half-spreads."""
    return float((len(LEGS) * p.spx_commission + half_spreads.sum() * MULTIPLIER) * lots)


def _margin(pos: _Open, units: float) -> float:
    k = pos.strikes
    return float(max(k[0] - k[1], k[3] - k[2]) * units - pos.credit * units)


def _trade(  # noqa: PLR0917 (a row constructor, columns in order)
    i: int, action: str, reason: str, pos: _Open, price: float, cost: float
) -> Trade:
    k = pos.strikes
    strikes = (float(k[0]), float(k[1]), float(k[2]), float(k[3]))
    return Trade(
        i, action, reason, pos.expiry, strikes, float(price), pos.lots, float(cost), pos.credit
    )


def _enter(
    *,
    market: Market,
    i: int,
    p: BacktestParams,
    pricer: CondorPricer,
    expiries: list[tuple[date, int]],
    today: date,
    capital: float,
) -> tuple[_Open, tuple[F64, ...], float] | None:
    """A new condor, its legs' (price, delta, gamma, vega, theta) and its opening cost
    (dollars), or None: no expiry, no VIX, no credit after the half-spreads, or no
    whole lot to size."""
    choices = [(e, pos) for e, pos in expiries if (e - today).days > p.exit_dte]
    if not choices or not np.isfinite(market.vix[i]):
        return None
    expiry, epos = min(choices, key=lambda c: (abs((c[0] - today).days - p.target_dte), c[0]))
    days = float((expiry - today).days)
    strikes = pricer.strikes(i, days)
    legs = pricer.legs(i, strikes, days)
    mid = float(-(_SIGN @ legs[0]))
    half = pricer.half_spreads(i, legs[0], days)
    credit = mid - float(half.sum())
    if credit <= 0:
        return None
    lots = p.lots
    if p.margin_target > 0:
        per_lot = float(max(strikes[0] - strikes[1], strikes[3] - strikes[2]) - credit) * MULTIPLIER
        lots = int(max(p.margin_target * capital, 0.0) // per_lot)
    if lots <= 0:
        return None
    pos = _Open(
        expiry_pos=epos,
        expiry=expiry,
        strikes=strikes,
        credit=credit,
        mark=mid,
        lots=lots,
        opened=i,
    )
    return pos, legs, _leg_cost(p, half, lots)
