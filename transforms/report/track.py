"""The track record of a saved book: what its signal ledger said each day, and the P&L
the ledger recorded since its first day against the book's latest backtest over the same
days.

The ledger's P&L on day d is its equity as first recorded for d (version 1: what the
book said that day) less its equity on the ledger's first day; the backtest's is the same
difference on the backtest's equity curve. They agree unless an input was revised after
the ledger wrote a day (the day then has a later version) or the backtest ran on other
code or data; each difference names which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

TOLERANCE = 1e-6
"""Relative difference of equity under which the ledger and the backtest agree."""


@dataclass(frozen=True)
class TrackPage:
    book: str  # configuration hash
    days: pl.DataFrame  # as_of, version, next_session, actions, r2_now, equity, stale
    pnl: pl.DataFrame  # date, ledger, backtest (dollars since the first ledger day), why
    revised: int  # days with more than one version
    differing: int  # days where the ledger and the backtest differ
    run_id: str


def _summary(actions: str) -> str:
    rows = json.loads(actions)
    if not rows:
        return "hold"
    return "; ".join(
        f"{r['sleeve']} {r['action']} {r['instrument']} {r['quantity']:+,.2f}" for r in rows
    )


def track_page(*, ledger: pl.DataFrame, daily: pl.DataFrame, run_id: str) -> TrackPage:
    """``ledger``: every version of every day of one book (results.signal_ledger);
    ``daily``: its latest backtest's sessions (date, equity)."""
    versions = ledger.group_by("as_of").agg(pl.col("version").max().alias("versions"))
    first = ledger.filter(pl.col("version") == 1).sort("as_of")
    days = (
        ledger.sort("as_of", "version")
        .join(versions, on="as_of")
        .select(
            "as_of",
            "version",
            "next_session",
            pl.col("actions").map_elements(_summary, return_dtype=pl.String).alias("actions"),
            "r2_now",
            "equity",
            "bounded_by",
            "stale",
            "data_snapshot",
        )
    )
    base_ledger = float(first["equity"][0])
    bt = daily.select(pl.col("date").alias("as_of"), pl.col("equity").alias("bt_equity"))
    joined = first.join(bt, on="as_of", how="left").join(versions, on="as_of")
    base_bt = joined["bt_equity"][0]
    pnl = joined.select(
        pl.col("as_of").alias("date"),
        (pl.col("equity") - base_ledger).alias("ledger"),
        (pl.col("bt_equity") - (base_bt if base_bt is not None else float("nan"))).alias(
            "backtest"
        ),
        pl.col("versions"),
        pl.col("equity"),
        pl.col("bt_equity"),
    )
    gap = (pl.col("equity") - pl.col("bt_equity")).abs() > TOLERANCE * pl.col("equity").abs()
    pnl = pnl.with_columns(
        pl.when(pl.col("bt_equity").is_null())
        .then(pl.lit("not in the backtest (it ends earlier)"))
        .when(gap & (pl.col("versions") > 1))
        .then(pl.lit("an input was revised after this day was written (a later version)"))
        .when(gap)
        .then(pl.lit("the backtest ran on other code or data than the ledger's day"))
        .otherwise(pl.lit(""))
        .alias("why")
    ).drop("equity", "bt_equity", "versions")
    return TrackPage(
        book=str(ledger["config_hash"][0]),
        days=days,
        pnl=pnl,
        revised=int((versions["versions"] > 1).sum()),
        differing=int((pnl["why"] != "").sum()),
        run_id=run_id,
    )
