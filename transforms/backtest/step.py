"""Today's book: where a configuration stands at the close of its as-of session, and what
its rules do on the next session, by asking the engine, never by restating a rule.

The as-of session is the last one on which every input the book needs exists (SPX,
VIX, the monthly VX settlements and the signals built on them); :func:`as_of_bound`
says which input bounds it. The next session's actions are the trades the reference
simulator makes when the book is stepped one session forward on the exchange calendar
with the market held at the as-of close (every price, settlement, rate and signal
carried over; the next session's own calendar flags, week start and FOMC day, from the
calendar): entries, exits, settlements, the weekly re-hedge with its controller and
scalers, ladder rolls and call openings, exactly as the book trades them. A price move
on that session can trigger more (a profit take or a stop), which an unchanged market
cannot show; the page says so.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import polars as pl

from transforms.backtest.condor import Trade, break_evens
from transforms.backtest.market import inputs_last
from transforms.backtest.params import BacktestParams, as_record, config_hash
from transforms.backtest.run import Backtest, Inputs, backtest


@dataclass(frozen=True)
class Bound:
    """The as-of session and the last date each required input holds."""

    as_of: date
    bounded_by: str  # the input whose last date is the as-of session
    last: dict[str, date]  # input -> its last date


def as_of_bound(inputs: Inputs) -> Bound:
    """The last session on which SPX, VIX and a monthly VX settlement all exist (where a
    backtest ends too: :func:`transforms.backtest.market.inputs_last`)."""
    last = inputs_last(inputs.signals, inputs.vx)
    typed: dict[str, date] = {k: v for k, v in last.items() if v is not None}
    if len(typed) < len(last):
        missing = ", ".join(k for k in last if k not in typed)
        raise ValueError(f"no data for {missing}: ingest it first")
    name = min(typed, key=lambda k: (typed[k], k))
    return Bound(as_of=typed[name], bounded_by=name, last=typed)


def held_over(inputs: Inputs, *, as_of: date, next_session: date, fomc: bool) -> Inputs:
    """``inputs`` through ``as_of``, plus ``next_session`` with the as-of close carried
    over (signals, SPX open and close, VIX3M, the T-bill and the VX contracts still
    listed), its week-start and FOMC flags its own."""
    s = inputs.signals.filter(pl.col("date") <= as_of).sort("date")
    week_start = next_session.isocalendar()[:2] != as_of.isocalendar()[:2]
    row = s.tail(1).with_columns(
        pl.lit(next_session).alias("date"),
        pl.lit(week_start).alias("week_start"),
        pl.lit(fomc).alias("fomc_day"),
    )

    def extend(frame: pl.DataFrame, on: str = "date") -> pl.DataFrame:
        past = frame.filter(pl.col(on) <= as_of)
        last = past.filter(pl.col(on) == past[on].max()).with_columns(
            pl.lit(next_session).alias(on)
        )
        return pl.concat([past, last], how="vertical_relaxed")

    spx = extend(inputs.spx)
    close = spx["close"][-1]
    spx = spx.with_columns(
        pl.when(pl.col("date") == next_session)
        .then(pl.lit(close))
        .otherwise(pl.col("open"))
        .alias("open")
    )
    vx = inputs.vx.filter(pl.col("trade_date") <= as_of)
    listed = vx.filter((pl.col("trade_date") == as_of) & (pl.col("expiry") > as_of))
    vx = pl.concat(
        [vx, listed.with_columns(pl.lit(next_session).alias("trade_date"))],
        how="vertical_relaxed",
    )
    return replace(
        inputs,
        signals=pl.concat([s, row], how="vertical_relaxed"),
        spx=spx,
        vix3m=extend(inputs.vix3m),
        tbill=extend(inputs.tbill),
        vx=vx,
    )


@dataclass(frozen=True)
class Today:
    """A configuration's book at the as-of close and its next session."""

    params: BacktestParams
    bound: Bound
    next_session: date | None
    ruin_date: date | None  # the book was ruined on this session (no positions then)
    equity: float
    r2: float | None  # the book's rolling R^2 on the as-of session
    hedge_ratio: float
    positions: pl.DataFrame  # sleeve, instrument, quantity, detail
    greeks: dict[str, float]
    condor: Trade | None  # the condor open at the as-of close (its opening trade)
    break_evens: tuple[float, float] | None  # of that condor at its expiry
    actions: pl.DataFrame  # sleeve, action, instrument, quantity, reason
    run: Backtest  # the backtest through the as-of session
    snapshot: str  # the data snapshot the book was computed on


ACTIONS_SCHEMA = {
    "sleeve": pl.String,
    "action": pl.String,
    "instrument": pl.String,
    "quantity": pl.Float64,
    "reason": pl.String,
}
POSITIONS_SCHEMA = {
    "sleeve": pl.String,
    "instrument": pl.String,
    "quantity": pl.Float64,
    "detail": pl.String,
}


def book_today(
    inputs: Inputs,
    p: BacktestParams,
    *,
    next_session: date | None,
    fomc_next: bool,
    as_of: date | None = None,
) -> Today:
    """The book of ``p`` at the close of ``as_of`` (default: the last session every
    required input holds) and the engine's trades on ``next_session`` (None: no session
    ahead in the calendar, so no actions)."""
    bound = as_of_bound(inputs)
    if as_of is not None and as_of < bound.as_of:
        bound = replace(bound, as_of=as_of, bounded_by="the requested as-of date")
    day = bound.as_of
    run = backtest(inputs, replace(p, end_date=day))
    d = run.daily
    last = d.row(-1, named=True)
    metrics = run.metrics.row(0, named=True)
    ruin: date | None = metrics["ruin_date"]
    condor = None if ruin else _open_condor(run)
    actions = pl.DataFrame(schema=ACTIONS_SCHEMA)
    if next_session is not None and ruin is None:
        stepped = backtest(
            held_over(inputs, as_of=day, next_session=next_session, fomc=fomc_next),
            replace(p, end_date=next_session),
        )
        actions = (
            stepped.trades.filter(pl.col("date") == next_session)
            .sort("seq")
            .select(
                "sleeve",
                "action",
                "instrument",
                "quantity",
                pl.col("note").fill_null("").alias("reason"),
            )
        )
    positions = [] if ruin else _positions(last, condor)
    r2 = last["r2_60"]
    return Today(
        params=p,
        bound=bound,
        next_session=next_session,
        ruin_date=ruin,
        equity=float(last["equity"]),
        r2=None if r2 is None or not np.isfinite(r2) else float(r2),
        hedge_ratio=float(last["hedge_ratio"]),
        positions=pl.DataFrame(positions, schema=POSITIONS_SCHEMA),
        greeks={
            g: float(last[g]) + 0.0  # + 0.0: no negative zero
            for g in ("delta", "gamma", "condor_vega", "hedge_vega", "theta")
        },
        condor=condor,
        break_evens=None if condor is None else break_evens(condor),
        actions=actions,
        run=run,
        snapshot=run.snapshot,
    )


def _open_condor(run: Backtest) -> Trade | None:
    """The condor still open at the run's last close (opened, not closed or settled,
    expiring after that close), as its opening trade."""
    last_day = run.daily["date"][-1]
    out: dict[tuple[object, ...], Trade] = {}
    for t in run.condor_trades:
        key = (t.expiry, t.strikes)
        if t.action == "open":
            out[key] = t
        else:
            out.pop(key, None)
    alive = [t for t in out.values() if t.expiry > last_day]
    return alive[-1] if alive else None


def _positions(last: dict[str, object], condor: Trade | None) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    if condor is not None:
        sp, lp, sc, lc = condor.strikes
        rows.append(
            {
                "sleeve": "condor",
                "instrument": f"SPX iron condor {condor.expiry}",
                "quantity": -float(condor.lots),
                "detail": f"short put {sp:g} / long put {lp:g} / short call {sc:g} / "
                f"long call {lc:g}; opened at {condor.price:.2f}",
            }
        )
    for m in (2, 3, 4):
        q = float(last[f"futures_m{m}"])  # type: ignore[arg-type]
        if q:
            rows.append(
                {
                    "sleeve": "futures",
                    "instrument": f"VX month {m}",
                    "quantity": q,
                    "detail": "long futures, $1,000 per VIX point",
                }
            )
    calls = float(last["calls"])  # type: ignore[arg-type]
    if calls:
        rows.append(
            {
                "sleeve": "calls",
                "instrument": "VIX calls",
                "quantity": calls,
                "detail": f"front month, strike {last['call_strike']:g}",
            }
        )
    return rows


def inputs_digest(inputs: Inputs, *, as_of: date) -> str:
    """Hash of every input row a book as of ``as_of`` can read (dated through it): equal
    inputs, equal digest; a late revision of any of them changes it."""
    h = hashlib.sha256()
    for name, frame, on in (
        ("signals", inputs.signals, "date"),
        ("spx", inputs.spx, "date"),
        ("vix3m", inputs.vix3m, "date"),
        ("tbill", inputs.tbill, "date"),
        ("vx", inputs.vx, "trade_date"),
    ):
        part = frame.filter(pl.col(on) <= as_of)
        h.update(name.encode())
        h.update(part.sort(part.columns).write_csv().encode())
    return h.hexdigest()[:16]


def ledger_row(today: Today, *, digest: str, stale: dict[str, date | None]) -> dict[str, object]:
    """One ``results.signal_ledger`` row of ``today`` (without version, code version and
    time), its ``digest`` covering ``digest`` (the inputs') and the row's content;
    ``stale``: required inputs that end before the session the run is for."""
    p, b = today.params, today.bound
    content: dict[str, object] = {
        "config_hash": config_hash(p),
        "as_of": b.as_of,
        "next_session": today.next_session,
        "actions": json.dumps(today.actions.to_dicts(), sort_keys=True),
        "positions": json.dumps(today.positions.to_dicts(), sort_keys=True),
        "r2_now": today.r2,
        "band_low": p.band_low,
        "band_high": p.band_high,
        "hedge_ratio": today.hedge_ratio,
        "equity": today.equity,
        "ruin_date": today.ruin_date,
        "break_even_low": today.break_evens[0] if today.break_evens else None,
        "break_even_high": today.break_evens[1] if today.break_evens else None,
        "bounded_by": b.bounded_by,
        "inputs": json.dumps({k: v.isoformat() for k, v in b.last.items()}),
        "stale": ", ".join(f"{k} {v}" for k, v in stale.items()) or None,
        "params": json.dumps(as_record(p), sort_keys=True),
        "data_snapshot": today.snapshot,
    }
    text = json.dumps([digest, content], sort_keys=True, default=str)
    return {**content, "digest": hashlib.sha256(text.encode()).hexdigest()[:16]}
