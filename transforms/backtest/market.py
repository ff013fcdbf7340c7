"""The market a backtest sees: daily arrays on NYSE sessions, VX settlements per contract.

Alignment: index ``i`` is the ``i``-th SPX session of the run; every array value at ``i``
is known by that session's close (settlements by that day's settlement). Missing values:

* VIX3M and VVIX are NaN where absent (the pricers fall back to documented parameters);
  the T-bill rate is carried forward over bond-market holidays;
* a VX contract's settlement is carried forward over a session with no print (CFE closed)
  and is NaN before its first and after its last print; settlements flagged
  ``suspect_settle`` are treated as no print (the three known bad prints would otherwise
  book a P&L spike and its reversal).

The term beta of each month (VX settle change per one-point VIX change) is an OLS slope
over the trailing ``beta_window`` sessions of roll-adjusted changes (each change compares
one contract with itself), clipped to [0.1, 1.5], and ``beta_fallback`` before a full
window exists. It is keyed by month on the unfiltered chain (month 1 = nearest expiry
after the day) and looked up per contract through :attr:`Market.month_of`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import cached_property

import numpy as np
import polars as pl
from numpy.typing import NDArray

from transforms.signals.regression import rolling_ols

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]

MONTHS = 7
"""Monthly contracts kept per day in the month maps (the ladder reaches month 4 + 1)."""
BETA_CLIP = (0.1, 1.5)
"""Bounds of a month's term beta (its settle's daily change per point of VIX's): a guard
against a degenerate window, not a fit. Measured on the real history (2004-2026,
60-session windows): months 2-5 lie in 0.04-0.77 (medians 0.40, 0.31, 0.26, 0.23; 99 %
of days within 0.09-0.76); the floor binds on about 1 % of days of months 3-5 and on
none of month 2's, the ceiling never."""


@dataclass(frozen=True)
class Market:
    dates: NDArray[np.datetime64]
    spx: F64
    spx_open: F64
    vix: F64
    vix3m: F64
    vvix: F64
    rate: F64  # 3-month T-bill, continuously compounded decimal (approximated by the yield)
    fomc: B
    week_start: B
    breadth: B  # breadth divergence in force (null -> False)
    vix_rsi: F64
    cpi_z: F64
    contango_pct: F64  # 100 (M2 / M1 - 1)
    calendar: NDArray[np.datetime64]  # every NYSE session of the exchange calendar
    session_no: I64  # per day: its position in ``calendar``
    contracts: tuple[str, ...]
    expiry: NDArray[np.datetime64]  # per contract
    expiry_pos: I64  # session index of the expiry, -1 outside the run
    expiry_session: I64  # position of the expiry in ``calendar`` (huge beyond it)
    settle: F64  # sessions x contracts
    final: F64  # final settlement per contract (NaN if it expires after the run)
    chain: I64  # sessions x MONTHS: contract of month k+1 (expiry after the day), -1 none
    month_of: I64  # sessions x contracts: 0-based month on the chain, -1 if not on it
    term_beta: F64  # sessions x MONTHS

    @property
    def days(self) -> int:
        return len(self.dates)

    def calendar_days(self) -> F64:
        """Calendar days from the previous session (0 on the first)."""
        d = self.dates.astype("datetime64[D]").astype(np.int64)
        return np.concatenate([[0.0], np.diff(d).astype(np.float64)])

    def spx_return(self) -> F64:
        """SPX's simple close-to-close return per session (0 on the first)."""
        return np.concatenate([[0.0], self.spx[1:] / self.spx[:-1] - 1.0])

    @cached_property
    def snapshot(self) -> str:
        """Hash of every array: the data snapshot a result was computed on (hashed once
        per market: a market's arrays are never written after it is built)."""
        h = hashlib.sha256()
        for f in fields(self):
            value = getattr(self, f.name)
            h.update(f.name.encode())
            h.update(repr(value).encode() if isinstance(value, tuple) else value.tobytes())
        return h.hexdigest()[:16]


def ladder_months(market: Market, *, roll_days: int) -> I64:
    """Contract of month k+1 (sessions x MONTHS), counting only contracts more than
    ``roll_days`` sessions from expiry: a ladder slot rolls out of a contract
    ``roll_days`` sessions before the front contract's expiry (0: on the expiry day)."""
    days = market.days
    # Sessions to expiry come from the exchange calendar, never from the run's own days:
    # a run cut at day t must see the same distances as a longer one.
    left = market.expiry_session[None, :] - market.session_no[:, None]
    live = (left > roll_days) & ~np.isnan(market.settle)
    out = np.full((days, MONTHS), -1, dtype=np.int64)
    order = np.argsort(market.expiry, kind="stable")
    for i in range(days):
        ok = order[live[i, order]][:MONTHS]
        out[i, : len(ok)] = ok
    return out


def inputs_last(signals: pl.DataFrame, vx: pl.DataFrame) -> dict[str, date | None]:
    """The last date of each input a book cannot be priced without: SPX and VIX closes
    (from the signal table) and a monthly VX settlement (None: the input has no row)."""
    monthly = vx.filter((pl.col("contract_type") == "monthly") & pl.col("settle").is_not_null())
    last = {
        "SPX": signals.filter(pl.col("spx_close").is_not_null())["date"].max(),
        "VIX": signals.filter(pl.col("vix_close").is_not_null())["date"].max(),
        "VX futures": monthly["trade_date"].max(),
    }
    return {k: v if isinstance(v, date) else None for k, v in last.items()}


def _column(frame: pl.DataFrame, name: str, dates: pl.DataFrame, on: str = "date") -> F64:
    joined = dates.join(frame.select(on, name), left_on="date", right_on=on, how="left")
    return joined[name].cast(pl.Float64).to_numpy().astype(np.float64)


def build_market(
    *,
    signals: pl.DataFrame,
    spx: pl.DataFrame,
    vix3m: pl.DataFrame,
    tbill: pl.DataFrame,
    vx: pl.DataFrame,
    calendar: pl.DataFrame,
    start: date,
    end: date | None = None,
    beta_window: int = 60,
    beta_fallback: float = 0.6,
) -> Market:
    """Arrays for sessions from ``start`` to ``end`` (default, and at the latest: the last
    session with SPX, VIX and VX data, :func:`inputs_last`; nothing after it is priced).

    ``calendar`` is the exchange calendar (``date``, ``nyse_open``), which runs past the
    data: session counts to an expiry never depend on where the data stops."""
    monthly = vx.filter(pl.col("contract_type") == "monthly")
    if monthly.is_empty():
        raise ValueError("no monthly VX settlements: ingest VX futures first")
    bounds = inputs_last(signals, vx)
    missing = [k for k, v in bounds.items() if v is None]
    if missing:
        raise ValueError(f"no {' or '.join(missing)} data: ingest it first")
    last = min(v for v in bounds.values() if v is not None)
    end = last if end is None else min(end, last)
    days = signals.filter(pl.col("date").is_between(start, end)).sort("date")
    if days.height < 2:
        raise ValueError(f"no SPX sessions between {start} and {end}")
    dates = days.select("date")
    rate = (
        dates.join_asof(tbill.select("date", "rate_pct").sort("date"), on="date")["rate_pct"]
        .fill_null(strategy="forward")
        .to_numpy()
        / 100.0
    )

    def flag(name: str) -> B:
        return days[name].fill_null(False).to_numpy().astype(bool)

    def num(name: str) -> F64:
        return days[name].cast(pl.Float64).to_numpy().astype(np.float64)

    day_list = days["date"].to_list()
    pos = {d: i for i, d in enumerate(day_list)}
    contracts = monthly.select("contract", "expiry").unique().sort("expiry", "contract")
    names = tuple(contracts["contract"].to_list())
    col = {c: j for j, c in enumerate(names)}
    expiry = contracts["expiry"].to_numpy().astype("datetime64[D]")
    expiry_pos = np.array([pos.get(e, -1) for e in contracts["expiry"].to_list()], dtype=np.int64)
    sessions = np.sort(
        calendar.filter(pl.col("nyse_open"))["date"].to_numpy().astype("datetime64[D]")
    )
    session_no = np.searchsorted(sessions, days["date"].to_numpy().astype("datetime64[D]"))
    expiry_session = np.searchsorted(sessions, expiry).astype(np.int64)
    expiry_session[expiry >= sessions[-1]] = 10**6  # beyond the calendar: far away

    settle = np.full((len(day_list), len(names)), np.nan)
    prints = monthly.filter(
        ~pl.col("suspect_settle").fill_null(False) & pl.col("settle").is_not_null()
    ).filter(pl.col("trade_date").is_between(start, end))
    for d, c, s in prints.select("trade_date", "contract", "settle").iter_rows():
        if d in pos:
            settle[pos[d], col[c]] = s
    # Carry a settlement over sessions without a print, inside the contract's life only.
    first = np.where(~np.isnan(settle).all(axis=0), np.argmax(~np.isnan(settle), axis=0), -1)
    idx = np.arange(len(day_list))
    for j in range(len(names)):
        if first[j] < 0:
            continue
        lastrow = expiry_pos[j] if expiry_pos[j] >= 0 else len(day_list) - 1
        seg = settle[first[j] : lastrow + 1, j]
        have = ~np.isnan(seg)
        carry = np.maximum.accumulate(np.where(have, np.arange(len(seg)), 0))
        settle[first[j] : lastrow + 1, j] = seg[carry]
    final = np.full(len(names), np.nan)
    expired = np.flatnonzero(expiry_pos >= 0)
    final[expired] = settle[expiry_pos[expired], expired]

    base = Market(
        dates=days["date"].to_numpy().astype("datetime64[D]"),
        spx=num("spx_close"),
        spx_open=np.where(np.isnan(op := _column(spx, "open", dates)), num("spx_close"), op),
        vix=num("vix_close"),
        vix3m=_column(vix3m, "close", dates),
        vvix=num("vvix_close"),
        rate=np.asarray(rate, dtype=np.float64),
        fomc=flag("fomc_day"),
        week_start=flag("week_start"),
        breadth=flag("breadth_divergence"),
        vix_rsi=num("vix_rsi_14"),
        cpi_z=num("cpi_ppi_z"),
        contango_pct=num("contango_pct"),
        calendar=sessions,
        session_no=session_no.astype(np.int64),
        contracts=names,
        expiry=expiry,
        expiry_pos=expiry_pos,
        expiry_session=expiry_session,
        settle=settle,
        final=final,
        chain=np.zeros((0, MONTHS), dtype=np.int64),
        month_of=np.zeros((0, 0), dtype=np.int64),
        term_beta=np.zeros((0, MONTHS)),
    )
    chain = ladder_months(base, roll_days=0)
    month_of = np.full(settle.shape, -1, dtype=np.int64)
    for k in range(MONTHS):
        has = chain[:, k] >= 0
        month_of[idx[has], chain[has, k]] = k
    return _with_betas(base, chain, month_of, window=beta_window, fallback=beta_fallback)


def _with_betas(base: Market, chain: I64, month_of: I64, *, window: int, fallback: float) -> Market:
    days = base.days
    change = np.full((days, MONTHS), np.nan)
    prev = chain[:-1]
    rows = np.arange(1, days)
    for k in range(MONTHS):
        c = prev[:, k]
        ok = c >= 0
        cc = np.where(ok, c, 0)
        diff = base.settle[rows, cc] - base.settle[rows - 1, cc]
        change[1:, k] = np.where(ok, diff, np.nan)
    dvix = np.concatenate([[np.nan], np.diff(base.vix)])
    window = min(window, days)
    beta = rolling_ols(change, dvix, window=window).beta
    beta = np.where(np.isnan(beta), fallback, np.clip(beta, *BETA_CLIP))
    return replace(base, chain=chain, month_of=month_of, term_beta=beta)
