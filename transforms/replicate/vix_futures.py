"""S&P 500 VIX futures indices (excess return), rebuilt from the per-contract settlements.

S&P's rules (S&P VIX Futures Indices methodology), as implemented here:

* **Roll period**: from the business day before one monthly VX settlement date (the
  "Tuesday prior") to the business day before the next. On day ``t`` of the period,
  ``dt`` = business days from the starting settlement date (inclusive) to the next one
  (exclusive), ``dr`` = business days from ``t + 1`` (inclusive) to the next settlement
  date (exclusive); at the period's first close ``dr = dt``.
* **Months**: month 1 is the contract settling at the end of the period, month ``k`` the
  monthly contract ``k - 1`` calendar months later (serial months, not the ``k``-th
  listed).
* **Weights** (``span`` months from ``first``): the first month carries ``dr / dt``, the
  last ``1 - dr / dt``, the ones between 1, all divided by ``span - 1``. Short-Term:
  months 1-2; Mid-Term: months 4-7 (4 rolls into 7, 5 and 6 held).
* **Level**: ``ER_t = ER_{t-1} x sum_k w_{k,t-1} P_{k,t} / sum_k w_{k,t-1} P_{k,t-1}``
  (yesterday's weights, the same contracts priced today and yesterday).

Two conventions are not spelled out in the methodology and were matched to the published
history (each is what moves the tracking error from ~1.5 %/yr to ~0.01 %/yr):

* **Business days** are the exchange's *scheduled* days: the unscheduled closures
  (2007-01-02, Hurricane Sandy 2012-10-29/30, 2018-12-05) still count in ``dr``/``dt``;
  the index simply is not computed on them.
* **Unlisted serial months** (2006: the CFE listed the next serial month only after the
  front expiry) are priced by linear interpolation in expiry date between the nearest
  listed contracts; the S&P back-history before 2009 does the same.

Prices are :attr:`Market.settle` (settlements carried over days without a print, the
three suspect prints excluded): the engine's own VX machinery.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from transforms.backtest.market import Market
from transforms.vx import vx_expiry

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class FuturesIndex:
    """A constant-maturity VX index: ``span`` serial months from month ``first``."""

    name: str
    first: int
    span: int


SHORT_TERM = FuturesIndex("SPVXSP", first=1, span=2)
MID_TERM = FuturesIndex("SPVXMP", first=4, span=4)


@dataclass(frozen=True)
class Holdings:
    """Per session: the serial-month expiries held (days x span) and their weights."""

    expiry: NDArray[np.datetime64]
    weight: F64


def business_days(market: Market, *, unscheduled: Collection[date]) -> NDArray[np.datetime64]:
    """The exchange's scheduled business days: its sessions plus unscheduled closures."""
    extra = np.array(sorted(unscheduled), dtype="datetime64[D]")
    return np.unique(np.concatenate([market.calendar.astype("datetime64[D]"), extra]))


def _serial_expiry(first: date, months: int, holidays: Collection[date]) -> date:
    y, m = first.year, first.month + months
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return vx_expiry(y, m, holidays=holidays)


def holdings(market: Market, index: FuturesIndex, *, unscheduled: Collection[date]) -> Holdings:
    """The contracts (by expiry) and weights the index holds at each session's close."""
    bdays = business_days(market, unscheduled=unscheduled)
    weekdays = np.arange(bdays[0], bdays[-1] + 1, dtype="datetime64[D]")
    weekdays = weekdays[np.is_busday(weekdays)]
    holidays = {d.item() for d in np.setdiff1d(weekdays, bdays)}
    settlements = np.unique(market.expiry.astype("datetime64[D]"))
    day_no = np.searchsorted(bdays, market.dates.astype("datetime64[D]"))
    settle_no = np.searchsorted(bdays, settlements)
    # Period of day t: the next settlement at least two business days ahead (t < its
    # "Tuesday prior"), and the settlement before it.
    nxt = np.searchsorted(settle_no, day_no + 2, side="left")
    outside = (nxt == 0) | (nxt >= len(settlements))
    if outside.any():
        day = market.dates[np.argmax(outside)]
        raise ValueError(
            f"{day}: no VX roll period (before the first or after the last settlement)"
        )
    dt = settle_no[nxt] - settle_no[nxt - 1]
    dr = settle_no[nxt] - day_no - 1
    roll = dr / dt
    span = index.span
    weight = np.ones((market.days, span)) / (span - 1)
    weight[:, 0] = roll / (span - 1)
    weight[:, -1] = (1 - roll) / (span - 1)
    expiry = np.empty((market.days, span), dtype="datetime64[D]")
    cache: dict[tuple[int, int], date] = {}
    for i, j in enumerate(nxt):
        month1 = settlements[j].item()
        for k in range(span):
            key = (j, index.first - 1 + k)
            if key not in cache:
                cache[key] = _serial_expiry(month1, key[1], holidays)
            expiry[i, k] = cache[key]
    return Holdings(expiry=expiry, weight=weight)


def contract_price(market: Market, i: int, expiry: np.datetime64) -> float:
    """Settlement of the monthly contract with ``expiry`` at session ``i``; where it is not
    listed, linear interpolation in expiry date between the nearest listed contracts
    (NaN beyond the listed curve)."""
    live = np.isfinite(market.settle[i]) & (market.expiry >= market.dates[i])
    listed = market.expiry[live]
    at = np.flatnonzero(listed == expiry)
    if at.size:
        return float(market.settle[i, live][at[0]])
    if listed.size == 0 or expiry < listed.min():
        return float("nan")
    order = np.argsort(listed)
    x = listed[order].astype(np.int64).astype(np.float64)
    return float(np.interp(float(expiry.astype(np.int64)), x, market.settle[i, live][order]))


def index_level(
    market: Market, index: FuturesIndex, *, unscheduled: Collection[date], base: float
) -> F64:
    """The index level at each session's close, ``base`` at the first session. A day
    whose return cannot be computed (a held contract has no price) keeps the level."""
    held = holdings(market, index, unscheduled=unscheduled)
    level = np.empty(market.days)
    level[0] = base
    for i in range(1, market.days):
        held_yesterday = held.weight[i - 1] > 0  # a zero weight needs no price
        w, exp = held.weight[i - 1, held_yesterday], held.expiry[i - 1, held_yesterday]
        now = np.array([contract_price(market, i, e) for e in exp])
        before = np.array([contract_price(market, i - 1, e) for e in exp])
        growth = float(w @ now) / float(w @ before)
        level[i] = level[i - 1] * (growth if np.isfinite(growth) else 1.0)
    return level
